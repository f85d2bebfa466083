"""Throughput of ngvi.dask with 1 and 2 Dask workers on a CPU-sized standard workload, and the
overhead of the engine: the time outside ngvi's steps (counting the problems, scheduling, moving the
partitions and the results, gathering them), as a fraction of the workers' time.

The workload is bench/README.md's standard one at d = 16 cut to CPU size: B logistic regressions of
N = 256 rows, one row per event in a Dask DataFrame of P partitions indexed by problem, the Stein
estimator with S = 16 antithetic samples and iBLR, every distribution taking every step (tolerance_sd
too small to converge), one CPU thread per worker. For each engine it records the wall time and the
problems per second; "ngvi seconds" is the sum over partitions of the fit's own Summary.seconds, run
alone in this process (ngvi's steps and final draws, no Dask); overhead = 1 - ngvi seconds / (workers
x wall). The results are checked equal to the in-process fit, bit for bit.

    PYTHONPATH=host/python NGVI_LIBRARY=build/libngvi.so build/venv-dask/bin/python bench/dask_scaling.py \
        --output bench/results/scaling-dask.json
"""
import argparse
import json
import os
import platform
import time

import dask.dataframe as dd
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster

import ngvi
import ngvi.dask


def workload(B, N, d, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B * N, d)) / np.sqrt(d)
    w = rng.normal(size=(B, d))
    y = (rng.random(B * N) < 1 / (1 + np.exp(-np.einsum("nd,nd->n", x, np.repeat(w, N, axis=0))))).astype(float)
    features = [f"x{k}" for k in range(d)]
    frame = pd.DataFrame(x, columns=features)
    frame["y"], frame["problem"] = y, np.repeat(np.arange(B), N)
    return frame.set_index("problem"), x, y, features


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
    frame, x, y, features = workload(B, N, d)
    offsets = np.arange(B + 1, dtype=np.int64) * N

    start = time.perf_counter()
    q = ngvi.Batch(B, d)
    whole = ngvi.fit(ngvi.logistic(x, y, offsets), q, **options)
    in_process = {"wall_seconds": time.perf_counter() - start, "ngvi_seconds": whole.seconds}
    in_process["problems_per_second"] = B / in_process["wall_seconds"]

    ddf = dd.from_pandas(frame, npartitions=a.partitions, sort=True)
    # ngvi's own time per partition, in this process: the work the workers must do whatever the engine.
    ngvi_seconds, first = 0.0, 0
    for k in range(ddf.npartitions):
        n = ddf.partitions[k].index.nunique().compute()
        rows = slice(first * N, (first + n) * N)
        s = ngvi.fit(ngvi.logistic(x[rows], y[rows], offsets[:n + 1]), ngvi.Batch(n, d), problem_offset=first,
                     **options)
        ngvi_seconds += s.seconds
        first += n

    engines = []
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
                Client(cluster) as client:
            client.run(lambda: __import__("ngvi.dask"))  # the workers' imports are not the engine's cost
            start = time.perf_counter()
            result = ngvi.dask.fit(ddf, features=features, response="y", **options).compute()
            wall = time.perf_counter() - start
        same = np.array_equal(result[[f"mean_{f}" for f in features]].to_numpy(), q.mean)
        engines.append({"workers": workers, "wall_seconds": wall, "problems_per_second": B / wall,
                        "ngvi_seconds": ngvi_seconds, "overhead_fraction": 1 - ngvi_seconds / (workers * wall),
                        "speedup_over_one_worker": None, "equal_to_in_process": bool(same)})
        print(f"{workers} worker(s): {wall:.2f} s, {B / wall:.0f} problems/s, overhead "
              f"{engines[-1]['overhead_fraction']:.1%}, equal to the in-process fit: {same}")
    engines[1]["speedup_over_one_worker"] = engines[0]["wall_seconds"] / engines[1]["wall_seconds"]

    record = {
        "benchmark": "bench/dask_scaling.py",
        "workload": {"problems": B, "rows_per_problem": N, "dimension": d, "partitions": ddf.npartitions,
                     "options": options, "what": "bench/README.md's standard workload at d = 16, CPU-sized"},
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg(), "platform": platform.platform(),
                    "note": "2 cores shared with other jobs (about 8 agents building and testing): wall times "
                            "are inflated and noisy; read the overheads as fractions"},
        "versions": {"ngvi": ngvi.__version__, "numpy": np.__version__, "dask": __import__("dask").__version__,
                     "distributed": __import__("distributed").__version__},
        "in_process": in_process,
        "ngvi_seconds_per_partition_sum": ngvi_seconds,
        "dask": engines,
    }
    print(f"in process: {in_process['wall_seconds']:.2f} s; speedup 2 workers / 1: "
          f"{engines[1]['speedup_over_one_worker']:.2f}; load average {os.getloadavg()}")
    if a.output:
        with open(a.output, "w") as f:
            json.dump(record, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
