"""Throughput of `ngvi fit` in one process and under `mpirun -n 2` on a CPU-sized version of the standard
workload (bench/README.md: logistic regressions, N = 256 rows, S = 16 antithetic samples, iBLR, Stein, full
covariance, float, every distribution taking every step), and the overhead of the job outside ngvi's steps:
reading the files, sharding, the gather to rank 0 and writing the outputs, plus the launcher's start.

For each configuration the wall time of the whole command is measured, and summary.json gives the fit's own
time (the slowest rank's steps and final ELBOs); overhead = 1 - fit seconds / wall seconds. Each configuration
runs `--repeats` times, alternating, and the median is kept. The machine may be shared: the load average is
recorded before and after, and the fraction of overhead is the figure to compare, not the absolute times.

    python3 bench/scaling_mpi.py --ngvi build/bin/ngvi --json bench/results/scaling-mpi.json
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ngvi", default="build/bin/ngvi")
    parser.add_argument("--mpirun", default="mpirun")
    parser.add_argument("--json", default="bench/results/scaling-mpi.json")
    parser.add_argument("--problems", type=int, default=4000)
    parser.add_argument("--dimension", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="threads per process")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    B, N, d = args.problems, 256, args.dimension
    ngvi = str(Path(args.ngvi).resolve())
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        rng = np.random.default_rng(20)
        x = (rng.normal(size=(B, N, d)) / np.sqrt(d)).astype(np.float32)
        z = rng.normal(size=(B, d)).astype(np.float32)
        p = 1 / (1 + np.exp(-np.einsum("bnd,bd->bn", x, z)))
        np.save(folder / "x.npy", x)
        np.save(folder / "y.npy", (rng.random((B, N)) < p).astype(np.float32))
        fit = [ngvi, "fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy", "--precision", "float32",
               "--estimator", "stein", "--rule", "iblr", "--samples", "16", "--max-steps", str(args.steps),
               "--tol", "0", "--tol-sd", "1e-30", "--final-samples", "32", "--seed", "1",
               "--threads", str(args.threads), "--quiet", "--overwrite"]
        configurations = {1: fit, 2: [args.mpirun, "--oversubscribe", "-n", "2", *fit]}
        runs = {ranks: [] for ranks in configurations}
        load_before = os.getloadavg()
        for _ in range(args.repeats):
            for ranks, command in configurations.items():
                out = f"out{ranks}"
                start = time.perf_counter()
                subprocess.run([*command, "--out", out], cwd=folder, env=MPI_ENV, check=True)
                wall = time.perf_counter() - start
                summary = json.loads((folder / out / "summary.json").read_text())
                runs[ranks].append({"wall_seconds": wall, "fit_seconds": summary["seconds"],
                                    "distribution_steps": summary["distribution_steps"]})
        load_after = os.getloadavg()
        same = all((folder / "out1" / f).read_bytes() == (folder / "out2" / f).read_bytes()
                   for f in ("mean.npy", "covariance.npy", "elbo.npy", "status.npy"))

    results = []
    for ranks, measured in runs.items():
        wall = statistics.median(r["wall_seconds"] for r in measured)
        fit_seconds = statistics.median(r["fit_seconds"] for r in measured)
        steps = measured[0]["distribution_steps"]
        results.append({"processes": ranks, "threads_per_process": args.threads,
                        "distribution_steps": steps,
                        "wall_seconds_median": wall, "fit_seconds_median": fit_seconds,
                        "throughput_wall": steps / wall, "throughput_fit": steps / fit_seconds,
                        "overhead_fraction": 1 - fit_seconds / wall, "runs": measured})
    record = {
        "benchmark": "scaling_mpi",
        "workload": {"model": "logistic", "problems": B, "rows": N, "dimension": d, "samples": 16,
                     "estimator": "stein", "rule": "iblr", "family": "full", "precision": "float32",
                     "steps": args.steps, "final_samples": 32,
                     "note": "the standard workload of bench/README.md at CPU size: fewer problems and steps, d = 16"},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_average_before": load_before,
                    "load_average_after": load_after,
                    "note": "a development machine shared with other jobs: absolute times are noisy, compare the "
                            "overhead fractions and the ratio of the two throughputs"},
        "outputs_identical": same,
        "results": results,
        "speedup_wall": results[0]["wall_seconds_median"] / results[1]["wall_seconds_median"],
    }
    Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: record[k] for k in ("outputs_identical", "speedup_wall")}, indent=2))
    for r in results:
        print(f"{r['processes']} process(es): {r['throughput_wall']:.4g} distribution-steps/s over the wall, "
              f"{r['throughput_fit']:.4g} in the fit; overhead {100 * r['overhead_fraction']:.1f} %")


if __name__ == "__main__":
    main()
