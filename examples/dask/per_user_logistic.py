"""Per-user logistic regressions from a partitioned Parquet dataset, one row per event, fitted by
ngvi.dask on a LocalCluster of 2 workers, and checked against the in-process ngvi.fit of every user
at once (bit for bit) and against the weights the clicks were drawn from.

    PYTHONPATH=host/python NGVI_LIBRARY=build/libngvi.so build/venv-dask/bin/python examples/dask/per_user_logistic.py

The dataset (600 users, 20 to 120 events each, 3 features and an intercept) is generated first into
a temporary folder: 6 Parquet files of 100 users each, every file sorted by user, as an export of an
events table partitioned by user range would be.
"""
import sys
import tempfile
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from distributed import Client, LocalCluster

import ngvi
import ngvi.dask

FEATURES = ["intercept", "price", "position", "recency"]


def write_events(folder, users=600, per_file=100, seed=0):
    """One row per event: user, the features and clicked (0 or 1); returns the users' true weights."""
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(1_000_000, users, replace=False))
    weights = rng.normal(0.0, 1.0, (users, len(FEATURES)))
    for f, first in enumerate(range(0, users, per_file)):
        block = slice(first, first + per_file)
        rows = rng.integers(20, 121, len(ids[block]))
        x = np.column_stack([np.ones(rows.sum()), rng.normal(size=(rows.sum(), len(FEATURES) - 1))])
        logit = np.einsum("nd,nd->n", x, np.repeat(weights[block], rows, axis=0))
        clicked = (rng.random(rows.sum()) < 1 / (1 + np.exp(-logit))).astype(np.float64)
        table = pa.table({"user": np.repeat(ids[block], rows), **{c: x[:, k] for k, c in enumerate(FEATURES)},
                          "clicked": clicked})
        pq.write_table(table, folder / f"part-{f:03d}.parquet")
    return ids, weights


def in_process(folder, **options):
    """ngvi.fit on every user at once, from the same files: the oracle."""
    events = pq.read_table(folder).to_pandas()  # the files in name order: users sorted, their events in order
    users, starts = np.unique(events.user.to_numpy(), return_index=True)
    offsets = np.append(starts, len(events))
    q = ngvi.Batch(len(users), len(FEATURES))
    summary = ngvi.fit(ngvi.logistic(events[FEATURES].to_numpy(), events.clicked.to_numpy(), offsets), q, **options)
    return users, q, summary


def main():
    options = dict(seed=7, num_threads=1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "events"
        folder.mkdir()
        ids, weights = write_events(folder)
        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, Client(cluster):
            events = dd.read_parquet(folder, index="user", calculate_divisions=True)  # a partition per file
            posteriors = ngvi.dask.fit(events, features=FEATURES, response="clicked", **options).compute()
        users, q, summary = in_process(folder, **options)

    means = posteriors[[f"mean_{f}" for f in FEATURES]].to_numpy()
    covariances = posteriors[[f"cov_{f}_{g}" for f in FEATURES for g in FEATURES]].to_numpy()
    same = (np.array_equal(posteriors.index.to_numpy(), users) and np.array_equal(means, q.mean)
            and np.array_equal(covariances.reshape(q.covariance.shape), q.covariance)
            and np.array_equal(posteriors.status.to_numpy(), summary.status)
            and np.array_equal(posteriors.pareto_k.to_numpy(), summary.pareto_k, equal_nan=True))
    sd = np.sqrt(np.diagonal(covariances.reshape(q.covariance.shape), axis1=1, axis2=2))
    z = np.abs(means - weights) / sd
    print(f"{len(users)} users from {events.npartitions} Parquet partitions on 2 Dask workers; "
          f"statuses {dict((ngvi.FIT_STATUSES[k], int(n)) for k, n in posteriors.status.value_counts().items())}")
    print(f"equal to the in-process fit bit for bit: {same}")
    print(f"true weights within 3 posterior sd: {np.mean(z < 3):.1%} (a Gaussian would put 99.7% there)")
    if not same or np.mean(z < 3) < 0.97:
        sys.exit(1)


if __name__ == "__main__":
    main()
