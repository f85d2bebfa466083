"""Small fits with the default threads against one thread (issue 17: a tiny batch must not pay for idle
threads). Fits B logistic regressions (d = 4, 20 rows each, the default exact estimator) for a few
small B, alternating num_threads = 0 (the default) and 1, and records the median wall time of each in
a JSON file under `label` (other labels in the file are kept, so that two libraries can be compared
side by side: run it once per library, NGVI_LIBRARY pointing at each).

    NGVI_LIBRARY=build/libngvi.so python3 bench/small_fit_threads.py --label after
"""
import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

import ngvi


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default="bench/results/small-fit-threads.json")
    parser.add_argument("--label", required=True)
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    rng = np.random.default_rng(17)
    d, rows = 4, 20
    results = {}
    for B in (1, 4, 16, 64, 256):
        x = rng.normal(size=(B, rows, d))
        y = (rng.random((B, rows)) < 0.5).astype(np.float64)
        model = ngvi.logistic(x, y)
        seconds = {0: [], 1: []}
        for _ in range(args.repeats):
            for threads in (0, 1):
                q = ngvi.Batch(B, d)
                start = time.perf_counter()
                ngvi.fit(model, q, seed=1, num_threads=threads)
                seconds[threads].append(time.perf_counter() - start)
        results[str(B)] = {"default_threads_s": statistics.median(seconds[0]),
                           "one_thread_s": statistics.median(seconds[1])}
        print(f"B = {B:4d}: default threads {results[str(B)]['default_threads_s'] * 1e3:8.2f} ms, "
              f"one thread {results[str(B)]['one_thread_s'] * 1e3:8.2f} ms")
    path = Path(args.json)
    record = json.loads(path.read_text()) if path.exists() else {}
    record[args.label] = {"library": os.environ.get("NGVI_LIBRARY", "installed"), "ngvi": ngvi.__version__,
                          "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                          "load_average": os.getloadavg(), "dimension": d, "rows": rows,
                          "repeats": args.repeats, "median_seconds_by_batch_size": results}
    path.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
