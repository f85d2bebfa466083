"""The time of one step of ngvi.fit_log_density split into ngvi's part (ask and tell: sampling, the
natural-gradient update, the copies in and out) and the model's part (the JAX log density with its
gradients, vectorized and compiled, and the conversions to NumPy), at d = 10, B = 1000, S = 16.

    NGVI_LIBRARY=build/libngvi.so PYTHONPATH=host/python python3 bench/autodiff_step_split.py [--out FILE]
    python3 bench/autodiff_step_split.py --show bench/results/autodiff-step-split.json   # a recorded run

The model: Bayesian logistic regression, 50 rows per problem, prior N(0, I), written for one point.
Each order of derivatives runs with the library's default threads and with one thread (JAX keeps its
own threads either way: on a busy machine the two pools contend, and OpenMP's waiting threads spin
unless OMP_WAIT_POLICY=passive).
"""
import argparse
import json
import os
import platform
import time

import numpy as np


def log_density(z, x, y):
    import jax.numpy as jnp
    logits = x @ z
    return jnp.sum(y * logits - jnp.logaddexp(0.0, logits)) - 0.5 * jnp.sum(z ** 2)


def measure(provides, B=1000, d=10, N=50, S=16, steps=60, warmup=5, **options):
    import ngvi
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, N, d)) / np.sqrt(d)
    y = (rng.random((B, N)) < 0.5).astype(np.float64)
    q = ngvi.Batch(B, d)
    target = ngvi.NegativeLogDensity(log_density, q, data=(x, y))
    # tolerance 0: every problem runs every step, so each step is a whole batch of B.
    optimizer = ngvi.Optimizer(q, provides=provides, samples=S, max_steps=warmup + steps, tolerance=0.0,
                               seed=1, **options)
    ngvi_seconds = model_seconds = 0.0
    for step in range(warmup + steps):
        t0 = time.perf_counter()
        ask = optimizer.ask()
        t1 = time.perf_counter()
        answer = target(ask)
        t2 = time.perf_counter()
        optimizer.tell(*answer)
        t3 = time.perf_counter()
        if step >= warmup:  # after the compilation
            ngvi_seconds += (t1 - t0) + (t3 - t2)
            model_seconds += t2 - t1
    assert len(ask.distributions) == B
    return {"provides": provides, "num_threads": options.get("num_threads", "default"),
            "estimator": optimizer.summary().estimator, "steps": steps,
            "ngvi_ms_per_step": 1e3 * ngvi_seconds / steps, "model_ms_per_step": 1e3 * model_seconds / steps,
            "ngvi_fraction": ngvi_seconds / (ngvi_seconds + model_seconds)}


def show(results):
    print(f"B = {results['B']}, d = {results['d']}, S = {results['S']}, {results['rows_per_problem']} rows per "
          f"problem; {results['cpu_count']} CPUs, load average {results['load_average']:.1f}, "
          f"OMP_WAIT_POLICY {results.get('omp_wait_policy', 'default')}")
    for run in results["runs"]:
        print(f"provides={run['provides']:8} ({run['estimator']}), num_threads={run['num_threads']:7}: "
              f"ngvi {run['ngvi_ms_per_step']:.2f} ms, model {run['model_ms_per_step']:.2f} ms per step; "
              f"ngvi's share {100 * run['ngvi_fraction']:.1f}%")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--show", metavar="FILE", help="print the results recorded in FILE, measuring nothing")
    args = parser.parse_args()
    if args.show:
        with open(args.show) as f:
            return show(json.load(f))
    import jax
    import ngvi
    results = {"B": 1000, "d": 10, "S": 16, "rows_per_problem": 50, "jax": jax.__version__, "ngvi": ngvi.__version__,
               "cpu_count": os.cpu_count(), "machine": platform.machine(),
               "load_average": os.getloadavg()[0], "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
               "runs": [measure(p, **threads) for p in ("gradient", "hessian") for threads in ({}, {"num_threads": 1})]}
    show(results)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
