"""ngvi.dask on a distributed LocalCluster of 2 worker processes: the per-problem results equal the
in-process ngvi.fit of all problems bit for bit whatever the partitioning; a bad problem fails alone;
a worker that dies fails only the partition it was fitting, which is then refitted. Skipped without
dask.distributed (CTest runs it as python.dask with the Python of build/venv-dask)."""
import os
import sys
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
dd = pytest.importorskip("dask.dataframe")
da = pytest.importorskip("dask.array")
pd = pytest.importorskip("pandas")

import cloudpickle  # noqa: E402
import dask  # noqa: E402
import ngvi  # noqa: E402
import ngvi.dask  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this module

FEATURES = ["x0", "x1", "x2"]
# Stein: Monte Carlo samples and minibatch rows, both keyed by the problem's global index.
OPTIONS = dict(estimator="stein", samples=8, minibatch_rows=12, max_steps=60, final_samples=64, seed=5,
               num_threads=1)


def events(problems=11, seed=0):
    """One row per event, sorted by user (sparse ids) and event: the users' frame and their ragged arrays."""
    rng = np.random.default_rng(seed)
    users = np.sort(rng.choice(10_000, problems, replace=False)) * 7 + 3
    rows = rng.integers(15, 40, problems)
    user = np.repeat(users, rows)
    x = rng.normal(size=(rows.sum(), len(FEATURES)))
    w = rng.normal(size=(problems, len(FEATURES)))
    p = 1 / (1 + np.exp(-np.einsum("nd,nd->n", x, np.repeat(w, rows, axis=0))))
    y = (rng.random(rows.sum()) < p).astype(np.float64)
    frame = pd.DataFrame({"user": user, **{f: x[:, k] for k, f in enumerate(FEATURES)}, "clicked": y})
    offsets = np.concatenate([[0], np.cumsum(rows)])
    return frame, x, y, offsets


def in_process(x, y, offsets, **options):
    """ngvi.fit on every problem at once: the oracle."""
    q = ngvi.Batch(len(offsets) - 1, x.shape[1])
    s = ngvi.fit(ngvi.logistic(x, y, offsets), q, **{**OPTIONS, **options})
    return q, s


def assert_frame_matches(result, users, q, s, skip=()):
    """Every column of the computed result equals the in-process fit's, bit for bit (NaN equal to NaN)."""
    assert list(result.index) == list(users)
    keep = np.array([u not in skip for u in users])
    d = len(FEATURES)
    np.testing.assert_array_equal(result[[f"mean_{f}" for f in FEATURES]].to_numpy()[keep], q.mean[keep])
    cov = result[[f"cov_{f}_{g}" for f in FEATURES for g in FEATURES]].to_numpy().reshape(-1, d, d)
    np.testing.assert_array_equal(cov[keep], q.covariance[keep])
    for name in ("status", "steps", "elbo", "elbo_mcse", "mean_mcse_sd", "pareto_k"):
        np.testing.assert_array_equal(result[name].to_numpy()[keep], getattr(s, name)[keep], err_msg=name)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.mark.parametrize("partitions", [1, 3, 5])
def test_a_frame_gives_the_in_process_fit_bit_for_bit_whatever_the_partitioning(client, partitions):
    frame, x, y, offsets = events()
    q, s = in_process(x, y, offsets)
    ddf = dd.from_pandas(frame.set_index("user"), npartitions=partitions, sort=True)
    assert ddf.npartitions == partitions and ddf.known_divisions
    result = ngvi.dask.fit(ddf, features=FEATURES, response="clicked", **OPTIONS)
    assert isinstance(result, dd.DataFrame) and result.npartitions == partitions
    assert_frame_matches(result.compute(), np.unique(frame.user), q, s)


def test_without_its_problem_offset_a_partition_would_draw_other_numbers(client):
    """What the test above guards: a partition fitted alone from problem 0 differs from the whole fit."""
    frame, x, y, offsets = events()
    q, _ = in_process(x, y, offsets)
    alone = ngvi.dask.fit_block(x[offsets[4]:], y[offsets[4]:], offsets[4:] - offsets[4], 0, **OPTIONS)
    assert not np.array_equal(alone["mean"], q.mean[4:])
    at_4 = ngvi.dask.fit_block(x[offsets[4]:], y[offsets[4]:], offsets[4:] - offsets[4], 4, **OPTIONS)
    np.testing.assert_array_equal(at_4["mean"], q.mean[4:])


def test_an_unsorted_frame_is_shuffled_so_that_partitions_hold_whole_problems(client):
    frame, x, y, offsets = events()
    q, s = in_process(x, y, offsets, estimator="quadrature")  # exact: the order of a problem's rows is rounding only
    shuffled = frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    ddf = dd.from_pandas(shuffled, npartitions=4)
    result = ngvi.dask.fit(ddf, problem="user", features=FEATURES, response="clicked",
                           **{**OPTIONS, "estimator": "quadrature"}).compute().sort_index()
    assert list(result.index) == list(np.unique(frame.user))
    np.testing.assert_array_equal(result.status.to_numpy(), s.status)
    np.testing.assert_allclose(result[[f"mean_{f}" for f in FEATURES]].to_numpy(), q.mean, rtol=1e-9, atol=1e-12)


def test_dask_arrays_give_the_in_process_fit_bit_for_bit(client):
    rng = np.random.default_rng(3)
    B, N, d = 13, 30, 3
    x = rng.normal(size=(B, N, d))
    y = (rng.random((B, N)) < 0.4).astype(np.float64)
    q = ngvi.Batch(B, d)
    s = ngvi.fit(ngvi.logistic(x, y), q, **OPTIONS)
    post = ngvi.dask.fit(da.from_array(x, chunks=((4, 6, 3), N, d)), da.from_array(y, chunks=(5, N)), **OPTIONS)
    assert post.mean.chunks[0] == (4, 6, 3)
    mean, cov, status, elbo, pareto_k = dask.compute(post.mean, post.covariance, post.status, post.elbo, post.pareto_k)
    np.testing.assert_array_equal(mean, q.mean)
    np.testing.assert_array_equal(cov, q.covariance)
    np.testing.assert_array_equal(status, s.status)
    np.testing.assert_array_equal(elbo, s.elbo)
    np.testing.assert_array_equal(pareto_k, s.pareto_k)
    diagonal = ngvi.dask.fit(da.from_array(x, chunks=(7, N, d)), da.from_array(y, chunks=(7, N)), family="diagonal",
                             **OPTIONS)
    qd = ngvi.Batch(B, d, family="diagonal")
    ngvi.fit(ngvi.logistic(x, y), qd, **OPTIONS)
    np.testing.assert_array_equal(diagonal.covariance.compute(), qd.variance)
    x32 = ngvi.dask.fit(da.from_array(x.astype(np.float32), chunks=7), da.from_array(y.astype(np.float32), chunks=7),
                        **OPTIONS)
    assert x32.mean.dtype == np.float32 and x32.mean.compute().dtype == np.float32


def test_a_bad_problem_fails_alone_and_the_others_are_unchanged(client):
    frame, x, y, offsets = events()
    q, s = in_process(x, y, offsets)
    users = np.unique(frame.user)
    bad = frame.copy()
    bad.loc[bad.user == users[2], "x1"] = np.nan     # not finite
    bad.loc[bad.user == users[8], "clicked"] = 2.0   # not a label
    ddf = dd.from_pandas(bad.set_index("user"), npartitions=3, sort=True)
    result = ngvi.dask.fit(ddf, features=FEATURES, response="clicked", **OPTIONS).compute()
    invalid = ngvi.FIT_STATUSES.index("invalid_data")
    assert result.status[users[2]] == invalid and result.status[users[8]] == invalid
    assert_frame_matches(result, users, q, s, skip={users[2], users[8]})


def test_misuse_is_refused_with_a_message_naming_the_argument(client):
    frame, _, _, _ = events()
    ddf = dd.from_pandas(frame.set_index("user"), npartitions=2, sort=True)
    with pytest.raises(TypeError, match="'problem_offset'"):
        ngvi.dask.fit(ddf, features=FEATURES, response="clicked", problem_offset=3)
    with pytest.raises(TypeError, match="'checkpoint_path'"):
        ngvi.dask.fit(ddf, features=FEATURES, response="clicked", checkpoint_path="x.ckpt")
    with pytest.raises(ValueError, match=r"columns \['nope'\]"):
        ngvi.dask.fit(ddf, features=["x0", "nope"], response="clicked")
    with pytest.raises(ValueError, match="unknown divisions"):
        ngvi.dask.fit(dd.from_pandas(frame, npartitions=2).set_index("user", sort=False),
                      features=FEATURES, response="clicked")
    with pytest.raises(ValueError, match="per-problem priors"):
        ngvi.dask.fit(ddf, features=FEATURES, response="clicked", prior=ngvi.Prior.isotropic(np.ones(11)))
    with pytest.raises(ngvi.NgviError, match="options.samples = -1"):
        ngvi.dask.fit(ddf, features=FEATURES, response="clicked", samples=-1).compute()
    with pytest.raises(TypeError, match="Dask DataFrame or a Dask array"):
        ngvi.dask.fit(frame, features=FEATURES, response="clicked")


def die_on_second_call(part, marker, user):
    """Ends this worker's process while it holds the partition of `user`, the second time it is asked for
    it: the first call is ngvi.dask.fit listing the problem ids, the second the partition's fit, the third
    the refit."""
    if user in part.index:
        calls = int(open(marker).read()) + 1 if os.path.exists(marker) else 1
        with open(marker, "w") as f:
            f.write(str(calls))
        if calls == 2:
            os._exit(1)
    return part


def test_a_worker_that_dies_fails_only_its_partition_which_is_then_refitted(tmp_path):
    frame, x, y, offsets = events()
    q, s = in_process(x, y, offsets)
    users = np.unique(frame.user)
    marker = str(tmp_path / "calls")
    ddf = dd.from_pandas(frame.set_index("user"), npartitions=4, sort=True)
    doomed = next(k for k in range(4) if users[6] in ddf.partitions[k].index.compute())
    ddf = ddf.map_partitions(die_on_second_call, marker, users[6], meta=ddf._meta)
    # No automatic retry, so that the death shows: by default Dask reruns the partition elsewhere.
    # One task at a time per worker, so that only the one running dies with it.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0, "distributed.scheduler.worker-saturation": 1.0}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
            result = ngvi.dask.fit(ddf, features=FEATURES, response="clicked", **OPTIONS)
            futures = client.compute(result.to_delayed())
            distributed.wait(futures)
            assert [f.status for f in futures] == ["error" if k == doomed else "finished" for k in range(4)]
            assert isinstance(futures[doomed].exception(), distributed.KilledWorker)
            kept = {k: f.result() for k, f in enumerate(futures) if k != doomed}  # the others' results, in hand
            futures[doomed].release()  # once the scheduler has forgotten the failure, the refit of that partition
            while client.run_on_scheduler(lambda dask_scheduler: any(
                    t.state == "erred" for t in dask_scheduler.tasks.values())):
                time.sleep(0.05)
            kept[doomed] = client.compute(result.to_delayed()[doomed]).result()
    assert int(open(marker).read()) == 3
    assert_frame_matches(pd.concat([kept[k] for k in range(4)]), users, q, s)
