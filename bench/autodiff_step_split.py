"""The time of one step of ngvi.fit_log_density split into ngvi's part (ask and tell: sampling, the
natural-gradient update, the copies in and out) and the model's part (the log density with its
gradients, vectorized by JAX or PyTorch, and the conversions to NumPy), at d = 10, B = 1000, S = 16.

    NGVI_LIBRARY=build/libngvi.so PYTHONPATH=host/python python3 bench/autodiff_step_split.py [--out FILE]
    python3 bench/autodiff_step_split.py --show bench/results/autodiff-step-split.json   # a recorded run

The model: Bayesian logistic regression, 50 rows per problem, prior N(0, I), written for one point in
each framework installed (--frameworks to choose). Each order of derivatives runs with the library's
default threads and with one thread, --repeats times in turn (the figures are the medians: on a
machine shared with other jobs single runs scatter widely); the framework keeps its own threads.
"""
import argparse
import importlib
import importlib.util
import json
import os
import platform
import time

import numpy as np


def jax_log_density(z, x, y):
    import jax.numpy as jnp
    logits = x @ z
    return jnp.sum(y * logits - jnp.logaddexp(0.0, logits)) - 0.5 * jnp.sum(z ** 2)


def torch_log_density(z, x, y):
    import torch
    logits = x @ z
    return (y * logits - torch.nn.functional.softplus(logits)).sum() - 0.5 * (z ** 2).sum()


LOG_DENSITIES = {"jax": jax_log_density, "torch": torch_log_density}


def measure(framework, provides, B=1000, d=10, N=50, S=16, steps=60, warmup=5, **options):
    """ngvi's and the model's seconds per step, after `warmup` steps (JAX compiles in the first)."""
    import ngvi
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, N, d)) / np.sqrt(d)
    y = (rng.random((B, N)) < 0.5).astype(np.float64)
    q = ngvi.Batch(B, d)
    target = ngvi.NegativeLogDensity(LOG_DENSITIES[framework], q, data=(x, y), framework=framework)
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
        if step >= warmup:
            ngvi_seconds += (t1 - t0) + (t3 - t2)
            model_seconds += t2 - t1
    assert len(ask.distributions) == B
    return optimizer.summary().estimator, ngvi_seconds / steps, model_seconds / steps


def measure_all(frameworks, orders, repeats, steps):
    """Every configuration `repeats` times, in turn, so that the machine's load falls on all alike."""
    configurations = [(f, p, threads) for f in frameworks for p in orders for threads in ({}, {"num_threads": 1})]
    samples = {k: [] for k in range(len(configurations))}
    for _ in range(repeats):
        for k, (framework, provides, threads) in enumerate(configurations):
            samples[k].append(measure(framework, provides, steps=steps, **threads))
    runs = []
    for k, (framework, provides, threads) in enumerate(configurations):
        estimator = samples[k][0][0]
        ngvi_ms = [1e3 * s[1] for s in samples[k]]
        model_ms = [1e3 * s[2] for s in samples[k]]
        fractions = [n / (n + m) for n, m in zip(ngvi_ms, model_ms)]
        runs.append({"framework": framework, "provides": provides, "num_threads": threads.get("num_threads", "default"),
                     "estimator": estimator, "steps": steps, "repeats": repeats,
                     "ngvi_ms_per_step": float(np.median(ngvi_ms)), "model_ms_per_step": float(np.median(model_ms)),
                     "ngvi_fraction": float(np.median(fractions)),
                     "ngvi_fraction_range": [min(fractions), max(fractions)],
                     "ngvi_ms_samples": ngvi_ms, "model_ms_samples": model_ms})
    return runs


def show(results):
    print(f"B = {results['B']}, d = {results['d']}, S = {results['S']}, {results['rows_per_problem']} rows per "
          f"problem; {results['cpu_count']} CPUs, load average {results['load_average']:.1f} at the start, "
          f"{results.get('load_average_end', float('nan')):.1f} at the end; "
          f"OMP_WAIT_POLICY {results.get('omp_wait_policy', 'default')}")
    if "note" in results:
        print(results["note"])
    for run in results["runs"]:
        low, high = run.get("ngvi_fraction_range", [run["ngvi_fraction"]] * 2)
        print(f"{run.get('framework', 'jax'):5} provides={run['provides']:8} ({run['estimator']}), "
              f"num_threads={run['num_threads']:7}: ngvi {run['ngvi_ms_per_step']:.2f} ms, model "
              f"{run['model_ms_per_step']:.2f} ms per step; ngvi's share {100 * run['ngvi_fraction']:.1f}% "
              f"(runs {100 * low:.1f}-{100 * high:.1f}%, median of {run.get('repeats', 1)})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--show", metavar="FILE", help="print the results recorded in FILE, measuring nothing")
    parser.add_argument("--frameworks", nargs="+", choices=sorted(LOG_DENSITIES),
                        help="the frameworks to measure (default: those installed)")
    parser.add_argument("--provides", nargs="+", choices=["gradient", "hessian"], default=["gradient", "hessian"],
                        help="the orders of derivatives to measure (default both)")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each configuration (default 5)")
    parser.add_argument("--steps", type=int, default=60, help="timed steps per run (default 60)")
    args = parser.parse_args()
    if args.show:
        with open(args.show) as f:
            return show(json.load(f))
    import ngvi
    frameworks = args.frameworks or [f for f in LOG_DENSITIES if importlib.util.find_spec(f) is not None]
    if not frameworks:
        parser.error("neither jax nor torch is installed")
    versions = {f: importlib.import_module(f).__version__ for f in frameworks}
    results = {"B": 1000, "d": 10, "S": 16, "rows_per_problem": 50, **versions, "ngvi": ngvi.__version__,
               "cpu_count": os.cpu_count(), "machine": platform.machine(), "load_average": os.getloadavg()[0],
               "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default")}
    results["runs"] = measure_all(frameworks, args.provides, args.repeats, args.steps)
    results["load_average_end"] = os.getloadavg()[0]
    show(results)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
