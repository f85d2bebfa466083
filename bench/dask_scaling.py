"""Throughput of ngvi.dask with 1 and 2 Dask workers on a CPU-sized standard workload, and the
overhead of the engine: the time outside ngvi's fits (listing the problem ids, reading the Parquet
files, scheduling, moving the results, gathering them), as a fraction of the workers' time.

The workload is bench/README.md's standard one at d = 16 cut to CPU size: B logistic regressions of
N = 256 rows, one row per event in P Parquet files sorted by problem, read by
dd.read_parquet(index="problem", calculate_divisions=True); the Stein estimator with S = 16
antithetic samples and iBLR, every distribution taking every step (tolerance_sd too small to
converge), one CPU thread per worker. For each engine it records the wall time from the call of
ngvi.dask.fit to the gathered result, the problems per second, and from Dask's task stream the
workers' time in the partitions' fits (ngvi.fit and its model's copy of the rows), in the Parquet
reads and elsewhere: overhead = 1 - fit time / (workers x wall). The in-process fit (the same files
read by pyarrow, one ngvi.fit) is the reference; the results are checked equal to it, bit for bit.

    PYTHONPATH=host/python NGVI_LIBRARY=build/libngvi.so build/venv-dask/bin/python bench/dask_scaling.py \
        --output bench/results/scaling-dask.json
"""
import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import dask
import dask.dataframe as dd
import distributed
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from distributed import Client, LocalCluster, get_task_stream

import ngvi
import ngvi.dask


def write_workload(folder, B, N, d, files, seed=0):
    """B problems of N rows, d features, in `files` Parquet files sorted by problem."""
    rng = np.random.default_rng(seed)
    features = [f"x{k}" for k in range(d)]
    for f, problems in enumerate(np.array_split(np.arange(B), files)):
        x = rng.normal(size=(len(problems) * N, d)) / np.sqrt(d)
        w = np.repeat(rng.normal(size=(len(problems), d)), N, axis=0)
        y = (rng.random(len(x)) < 1 / (1 + np.exp(-np.einsum("nd,nd->n", x, w)))).astype(np.float64)
        pq.write_table(pa.table({"problem": np.repeat(problems, N), **{c: x[:, k] for k, c in enumerate(features)},
                                 "y": y}), folder / f"part-{f:03d}.parquet")
    return features


def task_seconds(stream, prefix):
    """Compute seconds of the tasks whose key starts with `prefix`, summed over workers."""
    def name(key):
        return str(key[0] if isinstance(key, tuple) else key)
    return sum(s["stop"] - s["start"] for t in stream for s in t["startstops"]
               if s["action"] == "compute" and name(t["key"]).startswith(prefix))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=1024)
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--dimension", type=int, default=16)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--output", help="JSON file to write")
    a = parser.parse_args()
    B, N, d = a.problems, a.rows, a.dimension
    options = dict(estimator="stein", rule="iblr", samples=16, max_steps=a.steps, tolerance_sd=1e-12,
                   final_samples=64, seed=1, num_threads=1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        features = write_workload(folder, B, N, d, a.partitions)

        start = time.perf_counter()
        events = pq.read_table(folder).to_pandas()
        read = time.perf_counter() - start
        q = ngvi.Batch(B, d)
        whole = ngvi.fit(ngvi.logistic(events[features].to_numpy(), events.y.to_numpy(), np.arange(B + 1) * N), q,
                         **options)
        in_process = {"wall_seconds": time.perf_counter() - start, "read_seconds": read, "ngvi_seconds": whole.seconds}
        in_process["problems_per_second"] = B / in_process["wall_seconds"]
        print(f"in process: {in_process['wall_seconds']:.2f} s, {B / in_process['wall_seconds']:.0f} problems/s")

        engines = []
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=":0") as cluster, Client(cluster) as client:
                client.run(lambda: __import__("ngvi.dask"))  # the workers' imports are not the engine's cost
                start = time.perf_counter()
                with get_task_stream() as stream:
                    frame = dd.read_parquet(folder, index="problem", calculate_divisions=True)
                    lazy = ngvi.dask.fit(frame, features=features, response="y", **options)
                    listed = time.perf_counter() - start
                    result = lazy.compute()
                wall = time.perf_counter() - start
            fit_seconds = task_seconds(stream.data, "_fit_partition")
            busy = task_seconds(stream.data, "")
            same = np.array_equal(result[[f"mean_{f}" for f in features]].to_numpy(), q.mean)
            engines.append({
                "workers": workers, "partitions": lazy.npartitions, "wall_seconds": wall,
                "problems_per_second": B / wall, "listing_ids_seconds": listed,
                "worker_seconds": {"fits": fit_seconds, "other_tasks": busy - fit_seconds,
                                   "idle_or_outside_tasks": workers * wall - busy},
                "overhead_fraction": 1 - fit_seconds / (workers * wall), "equal_to_in_process": bool(same)})
            print(f"{workers} worker(s): {wall:.2f} s, {B / wall:.0f} problems/s, overhead "
                  f"{engines[-1]['overhead_fraction']:.1%}, equal to the in-process fit: {same}")
    speedup = engines[0]["wall_seconds"] / engines[1]["wall_seconds"]
    print(f"speedup 2 workers / 1: {speedup:.2f}; load average {os.getloadavg()}")
    record = {
        "benchmark": "bench/dask_scaling.py",
        "workload": {"problems": B, "rows_per_problem": N, "dimension": d, "parquet_files": a.partitions,
                     "options": options, "what": "bench/README.md's standard workload at d = 16, CPU-sized"},
        "machine": {"cpus": os.cpu_count(), "load_average_after": os.getloadavg(), "platform": platform.platform(),
                    "note": "2 cores shared with other jobs (about 8 agents building and testing; load average "
                            "above 20): wall times are inflated and noisy, the speedup of a second worker is "
                            "not measurable here; read the overheads as fractions"},
        "versions": {"ngvi": ngvi.__version__, "numpy": np.__version__, "dask": dask.__version__,
                     "distributed": distributed.__version__, "pyarrow": pa.__version__},
        "in_process": in_process,
        "dask": engines,
        "speedup_two_workers_over_one": speedup,
    }
    if a.output:
        with open(a.output, "w") as f:
            json.dump(record, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
