#!/usr/bin/env python3
"""Accuracy of ngvi's fits on real posteriors, against reference moments computed independently.

For every posteriordb model of models.py (log densities and gradients written in NumPy) and for a
batch of logistic regressions (ngvi's built-in GLM; reference: the exact Gaussian VI optimum by
ngvi's quadrature estimator, which converges to rounding), and for several seeds, fits q from N(0, I)
through the Python ask/tell Optimizer with:
  defaults  ngvi's defaults, seed only (Stein, iBLR, S = max(16, 2 d), adaptive schedule, averaging)
  tuned     the same with S = 64
  constant  a constant step 0.5, S = 16, no trust region and 500 steps, as before issue 16 (the
            averaging and the MCSE-based convergence still apply)
and reports per model: the largest |mean error| in sd and the largest |sd error| in % over the
coordinates, the steps, the time, the status and the diagnostics (MCSE of the mean in sd, Pareto
k-hat, ELBO +- MCSE). The posteriordb reference is the Gaussian VI optimum q* (vi_optimum.py), the
best a Gaussian fit can do; its distance to the posterior moments is recorded beside it
(optimum_vs_posterior: eight schools' log tau is far from Gaussian, and k-hat says so).

With --numpyro-seeds N, where NumPyro is importable, its SVI (AutoMultivariateNormal, Adam(0.01),
20000 steps) on the same posteriors, with its error against the same q* and its time.

Run from the repository root after building, with the library and the package on the paths:
  NGVI_LIBRARY=build/libngvi.so PYTHONPATH=host/python python3 bench/accuracy/run.py \
      --seeds 3 --settings defaults,tuned --json bench/results/accuracy-cpu.json
and the side-by-side, from a Python with NumPyro (e.g. build/venv-jax with numpyro installed):
  NGVI_LIBRARY=build/libngvi.so PYTHONPATH=host/python build/venv-jax/bin/python bench/accuracy/run.py \
      --settings '' --numpyro-seeds 1 --json bench/results/accuracy-numpyro-cpu.json
"""
import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402

import ngvi  # noqa: E402

NUMPYRO_STEPS = 20000

SETTINGS = {
    "defaults": {},
    "tuned": {"samples": 64},
    "constant": {"schedule": "constant", "samples": 16, "max_steps": 500, "max_step_kl": 0.0},
}


def errors(mean, covariance, ref_mean, ref_cov):
    ref_sd = np.sqrt(np.diag(ref_cov))
    sd = np.sqrt(np.diag(covariance))
    with np.errstate(invalid="ignore"):
        return float(np.max(np.abs(mean - ref_mean) / ref_sd)), float(np.max(np.abs(sd / ref_sd - 1)) * 100)


def fit_posteriordb(model, seed, options):
    q = ngvi.Batch(1, model.d)
    optimizer = ngvi.Optimizer(q, provides="gradient", seed=seed, **options)
    start = time.perf_counter()
    with np.errstate(all="ignore"):  # a wild sample may overflow: ngvi reports it per distribution
        while not optimizer.done:
            ask = optimizer.ask()
            points = ask.points.reshape(-1, model.d)
            f, g = model.value_and_gradient(points)
            S = ask.points.shape[1]
            optimizer.tell(f.reshape(-1, S), g.reshape(-1, S, model.d) if ask.needs_gradients else None)
    seconds = time.perf_counter() - start
    return q, optimizer.summary(), seconds


def record(summary, b, mean, covariance, ref_mean, ref_cov, seconds):
    mean_error, sd_error = errors(mean, covariance, ref_mean, ref_cov)
    return {"status": ngvi.FIT_STATUSES[summary.status[b]], "steps": int(summary.steps[b]), "seconds": seconds,
            "mean_error_sd": mean_error, "sd_error_percent": sd_error,
            "mean_mcse_sd": float(summary.mean_mcse_sd[b]), "pareto_k": float(summary.pareto_k[b]),
            "elbo": float(summary.elbo[b]), "elbo_mcse": float(summary.elbo_mcse[b])}


def run_glm(seeds, settings):
    """16 logistic regressions (d = 6, 100-200 rows) fitted with Stein through ngvi.fit; the
    reference is the exact VI optimum (quadrature)."""
    B, d = 16, 6
    rng = np.random.default_rng(2026)
    counts = rng.integers(100, 201, B)
    offsets = np.r_[0, np.cumsum(counts)]
    x = rng.normal(size=(offsets[-1], d))
    beta = rng.normal(size=(B, d))
    problem = np.repeat(np.arange(B), counts)
    y = (rng.random(offsets[-1]) < 1 / (1 + np.exp(-(x * beta[problem]).sum(1)))).astype(float)
    model = ngvi.logistic(x, y, offsets=offsets)
    exact = ngvi.Batch(B, d)
    ngvi.fit(model, exact, estimator="quadrature", tolerance=1e-24)
    ref_mean, ref_cov = exact.mean, exact.covariance
    out = {}
    for name, options in settings.items():
        runs = []
        for seed in range(seeds):
            q = ngvi.Batch(B, d)
            start = time.perf_counter()
            summary = ngvi.fit(model, q, estimator="stein", seed=seed, **options)
            seconds = time.perf_counter() - start
            for b in range(B):
                runs.append(record(summary, b, q.mean[b], q.covariance[b], ref_mean[b], ref_cov[b], seconds / B))
        out[name] = runs
    return out


def run_numpyro(model, seed, steps=NUMPYRO_STEPS):
    """NumPyro SVI, AutoMultivariateNormal and Adam(0.01), one particle per step, on the same
    unconstrained density: f and grad f come from the NumPy model through a callback, its gradient
    given to JAX by a custom VJP."""
    import jax
    import jax.numpy as jnp
    import numpyro
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoMultivariateNormal

    jax.config.update("jax_enable_x64", True)
    shapes = (jax.ShapeDtypeStruct((), jnp.float64), jax.ShapeDtypeStruct((model.d,), jnp.float64))

    def value_and_gradient(z):
        f, g = model.value_and_gradient(np.asarray(z, np.float64)[None, :])
        return np.float64(f[0]), g[0]

    @jax.custom_vjp
    def potential(z):
        return jax.pure_callback(value_and_gradient, shapes, z)[0]

    def forward(z):
        f, g = jax.pure_callback(value_and_gradient, shapes, z)
        return f, g

    potential.defvjp(forward, lambda g, cotangent: (cotangent * g,))

    def numpyro_model():
        z = numpyro.sample("z", numpyro.distributions.ImproperUniform(
            numpyro.distributions.constraints.real_vector, (), (model.d,)))
        numpyro.factor("f", -potential(z))

    guide = AutoMultivariateNormal(numpyro_model)
    svi = SVI(numpyro_model, guide, numpyro.optim.Adam(0.01), Trace_ELBO())
    start = time.perf_counter()
    with np.errstate(all="ignore"):
        result = svi.run(jax.random.PRNGKey(seed), steps, progress_bar=False)
    seconds = time.perf_counter() - start
    mean = np.asarray(result.params["auto_loc"])
    scale_tril = np.asarray(result.params["auto_scale_tril"])
    return mean, scale_tril @ scale_tril.T, seconds


def summarize(runs):
    finite = [r for r in runs if math.isfinite(r["mean_error_sd"])]
    worst = lambda key: max((r[key] for r in finite), default=float("nan"))  # noqa: E731
    return {"runs": len(runs), "converged": sum(r["status"] == "converged" for r in runs),
            "failed": len(runs) - len(finite),
            "mean_error_sd_max": worst("mean_error_sd"), "sd_error_percent_max": worst("sd_error_percent"),
            "steps_median": float(np.median([r["steps"] for r in runs])),
            "seconds_median": float(np.median([r["seconds"] for r in runs])),
            "mean_mcse_sd_max": worst("mean_mcse_sd"), "pareto_k_max": worst("pareto_k")}


def summarize_numpyro(runs):
    finite = [r for r in runs if math.isfinite(r["mean_error_sd"])]
    return {"runs": len(runs), "failed": len(runs) - len(finite),
            "mean_error_sd_max": max((r["mean_error_sd"] for r in finite), default=float("nan")),
            "sd_error_percent_max": max((r["sd_error_percent"] for r in finite), default=float("nan")),
            "steps_median": NUMPYRO_STEPS, "seconds_median": float(np.median([r["seconds"] for r in runs]))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--settings", default=",".join(SETTINGS), help="ngvi's settings to run ('': none)")
    parser.add_argument("--numpyro-seeds", type=int, default=0,
                        help="seeds of the NumPyro side-by-side, where NumPyro is importable (default: none)")
    parser.add_argument("--models", default="", help="comma-separated names (default: all)")
    parser.add_argument("--json", help="write the results there")
    parser.add_argument("--markdown", help="write the table (README) there")
    args = parser.parse_args()
    settings = {k: SETTINGS[k] for k in args.settings.split(",") if k}
    results = {"machine": platform.platform(), "seeds": args.seeds, "settings": settings, "models": {}}
    chosen = [m for m in models.posteriordb_models() if not args.models or m.name in args.models.split(",")]
    have_numpyro = False
    if args.numpyro_seeds:
        try:
            import numpyro
            have_numpyro = True
            results["numpyro"] = f"numpyro {numpyro.__version__}, {args.numpyro_seeds} seeds"
        except ImportError:
            results["numpyro"] = "not installed: no side-by-side"
    for model in chosen:
        (ref_mean, ref_cov), posterior = models.references(model)
        entry = {"d": model.d, "reference": "Gaussian VI optimum by quadrature and exact cubature (vi_optimum.py)"}
        if posterior is not None:  # how far the best Gaussian is from the posterior's moments
            gap_mean, gap_sd = errors(ref_mean, ref_cov, *posterior)
            entry["optimum_vs_posterior"] = {"mean_error_sd": gap_mean, "sd_error_percent": gap_sd}
        for name, options in settings.items():
            runs = []
            for seed in range(args.seeds):
                q, summary, seconds = fit_posteriordb(model, seed, options)
                runs.append(record(summary, 0, q.mean[0], q.covariance[0], ref_mean, ref_cov, seconds))
            entry[name] = {"summary": summarize(runs), "runs": runs}
        if have_numpyro:
            runs = []
            for seed in range(args.numpyro_seeds):
                mean, cov, seconds = run_numpyro(model, seed)
                mean_error, sd_error = errors(mean, cov, ref_mean, ref_cov)
                runs.append({"mean_error_sd": mean_error, "sd_error_percent": sd_error, "seconds": seconds,
                             "steps": NUMPYRO_STEPS})
            entry["numpyro"] = {"summary": summarize_numpyro(runs), "runs": runs}
        results["models"][model.name] = entry
        print_row(model.name, model.d, entry, settings)
        if args.json:  # after every model: a long run that is stopped keeps what it measured
            Path(args.json).write_text(json.dumps(results, indent=1, allow_nan=True) + "\n")
    if not args.models and settings:
        glm = run_glm(args.seeds, settings)
        entry = {"d": 6, "reference": "exact Gaussian VI optimum (quadrature)"}
        for name in settings:
            entry[name] = {"summary": summarize(glm[name]), "runs": glm[name]}
        results["models"]["logistic GLM (16 problems, Stein)"] = entry
        print_row("logistic GLM x16 (Stein)", 6, entry, settings)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, allow_nan=True) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(markdown(results, settings))


def markdown(results, settings):
    """The README's table: per model, each setting's worst errors against q* over seeds and
    coordinates, and (first row) how far q* itself is from the posterior moments."""
    lines = ["| model | d | q* vs posterior | settings | converged | mean error (sd) | sd error | steps (median) | "
             "time (median) | mean MCSE (sd) | Pareto k (max) |", "|" + " --- |" * 11]
    for name, entry in results["models"].items():
        gap = entry.get("optimum_vs_posterior")
        first = f"| {name} | {entry['d']} | " + ("-" if gap is None else
                                                  f"{gap['mean_error_sd']:.3f} sd, {gap['sd_error_percent']:.1f}%")
        rows = []
        for setting in settings:
            s = entry[setting]["summary"]
            rows.append(f" | {setting} | {s['converged']}/{s['runs']} | {s['mean_error_sd_max']:.3f} | "
                        f"{s['sd_error_percent_max']:.1f}% | {s['steps_median']:.0f} | {s['seconds_median']:.2f} s | "
                        f"{s['mean_mcse_sd_max']:.3f} | {s['pareto_k_max']:.2f} |")
        if "numpyro" in entry:
            s = entry["numpyro"]["summary"]
            rows.append(f" | NumPyro SVI | - | {s['mean_error_sd_max']:.3f} | {s['sd_error_percent_max']:.1f}% | "
                        f"{s['steps_median']:.0f} | {s['seconds_median']:.2f} s | - | - |")
        lines += [(first if i == 0 else "| | |") + row for i, row in enumerate(rows)]
    return "\n".join(lines) + "\n"


def print_row(name, d, entry, settings):
    for setting in settings:
        s = entry[setting]["summary"]
        print(f"{name:34s} d={d:2d} {setting:8s} conv {s['converged']}/{s['runs']} failed {s['failed']}  "
              f"mean err {s['mean_error_sd_max']:.3f} sd  sd err {s['sd_error_percent_max']:.1f}%  "
              f"steps {s['steps_median']:.0f}  {s['seconds_median']:.2f} s  "
              f"mcse {s['mean_mcse_sd_max']:.3f}  k {s['pareto_k_max']:.2f}", flush=True)
    if "numpyro" in entry:
        s = entry["numpyro"]["summary"]
        print(f"{name:34s} d={d:2d} NumPyro  failed {s['failed']}  mean err {s['mean_error_sd_max']:.3f} sd  "
              f"sd err {s['sd_error_percent_max']:.1f}%  steps {s['steps_median']}  {s['seconds_median']:.2f} s", flush=True)


if __name__ == "__main__":
    main()
