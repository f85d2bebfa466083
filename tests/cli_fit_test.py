"""`ngvi fit` on datasets written by NumPy: every layout and dtype, results against closed forms and an
independent quadrature oracle, summary.json, outputs, progress display."""
import json
import math
import os
import pty
import subprocess

import numpy as np
import pytest

from cli_support import (NGVI, assert_ok, leftovers, linear_posterior, load_outputs, logistic_batch, logistic_first,
                         logistic_second, optimality_residuals, run)


@pytest.mark.parametrize("rule", ["iblr", "blr", "cholesky"])
def test_linear_dense_float64_is_the_exact_posterior(tmp_path, rule):
    rng = np.random.default_rng(1)
    B, N, d, noise_sd, prior_precision = 6, 25, 3, 0.7, 2.5
    x = rng.normal(size=(B, N, d))
    y = np.einsum("bnd,d->bn", x, [1.0, -2.0, 0.5]) + noise_sd * rng.normal(size=(B, N))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    assert_ok(run("fit", "--model", "linear", "--x", "x.npy", "--y", "y.npy", "--noise-sd", noise_sd,
                  "--prior-precision", prior_precision, "--rule", rule, "--out", "out", cwd=tmp_path))
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["resolved"]["rule"] == rule
    o = load_outputs(tmp_path / "out")
    assert o["mean"].shape == (B, d) and o["covariance"].shape == (B, d, d) and o["precision_cholesky"].shape == (B, d, d)
    assert all(a.dtype == np.float64 for k, a in o.items() if k not in ("status", "steps"))
    assert o["status"].dtype == np.int32 and o["steps"].dtype == np.int32
    assert (o["status"] == 0).all()
    for b in range(B):
        mean, covariance, evidence = linear_posterior(x[b], y[b], noise_sd, prior_precision)
        np.testing.assert_allclose(o["mean"][b], mean, atol=1e-5)
        np.testing.assert_allclose(o["covariance"][b], covariance, atol=1e-6)
        L = o["precision_cholesky"][b]
        np.testing.assert_allclose(L @ L.T, np.linalg.inv(o["covariance"][b]), rtol=1e-9, atol=1e-9)
        assert np.allclose(L, np.tril(L)) and (np.diag(L) > 0).all()
        # The ELBO of the fully normalised joint equals the log evidence at the exact posterior.
        assert abs(o["elbo"][b] - evidence) < 1e-6


def test_linear_ragged_float32_input_with_an_empty_problem(tmp_path):
    rng = np.random.default_rng(2)
    d, rows = 4, [30, 0, 7, 55]
    offsets = np.concatenate([[0], np.cumsum(rows)]).astype(np.int32)
    x = rng.normal(size=(offsets[-1], d)).astype(np.float32)
    y = (x @ np.arange(1, d + 1) + rng.normal(size=offsets[-1])).astype(np.float32)
    for name, a in (("x", x), ("y", y), ("offsets", offsets)):
        np.save(tmp_path / f"{name}.npy", a)
    assert_ok(run("fit", "--model", "linear", "--x", "x.npy", "--y", "y.npy", "--offsets", "offsets.npy", "--out",
                  "out", cwd=tmp_path))
    o = load_outputs(tmp_path / "out")
    assert o["mean"].shape == (len(rows), d) and (o["status"] == 0).all()
    for b in range(len(rows)):
        s = slice(offsets[b], offsets[b + 1])
        mean, covariance, evidence = linear_posterior(x[s].astype(np.float64), y[s].astype(np.float64), 1.0, 1.0)
        np.testing.assert_allclose(o["mean"][b], mean, atol=1e-5)
        np.testing.assert_allclose(o["covariance"][b], covariance, atol=1e-6)
        assert abs(o["elbo"][b] - evidence) < 1e-6
    np.testing.assert_allclose(o["mean"][1], 0, atol=1e-12)  # no rows: the prior N(0, I)
    np.testing.assert_allclose(o["covariance"][1], np.eye(d), atol=1e-9)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["data"]["layout"] == "ragged" and summary["data"]["rows"] == offsets[-1]


def test_logistic_layouts_agree_and_reach_the_quadrature_optimum(tmp_path):
    """Dense, ragged and CSV copies of one dataset give the same posteriors, which satisfy the optimality
    conditions checked by an independent Gauss-Hermite computation in NumPy."""
    rng = np.random.default_rng(3)
    B, N, d = 8, 60, 3
    x, y = logistic_batch(rng, B, N, d)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y.astype(np.int64))  # integer labels are accepted for y
    np.save(tmp_path / "xr.npy", x.reshape(B * N, d).astype(np.float32).astype(np.float64))
    np.save(tmp_path / "yr.npy", y.reshape(B * N))
    np.save(tmp_path / "offsets.npy", np.arange(0, B * N + 1, N, dtype=np.int64))
    with open(tmp_path / "data.csv", "w") as f:
        f.write("unit,x0,x1,y,x2\n")
        for b in reversed(range(B)):  # problems numbered by first appearance: this file lists them backwards
            for n in range(N):
                f.write(f"u{b},{x[b, n, 0]:.17g},{x[b, n, 1]:.17g},{int(y[b, n])},{x[b, n, 2]:.17g}\n")
    common = ["--model", "logistic", "--tol", "1e-12"]
    assert_ok(run("fit", *common, "--x", "x.npy", "--y", "y.npy", "--out", "dense", cwd=tmp_path))
    assert_ok(run("fit", *common, "--x", "x.npy", "--y", "y.npy", "--out", "dense32", "--precision", "float32",
                  cwd=tmp_path))
    assert_ok(run("fit", *common, "--csv", "data.csv", "--problem-column", "unit", "--out", "csv", cwd=tmp_path))
    assert_ok(run("fit", *common, "--x", "xr.npy", "--y", "yr.npy", "--offsets", "offsets.npy", "--out", "ragged",
                  cwd=tmp_path))
    dense, csv = load_outputs(tmp_path / "dense"), load_outputs(tmp_path / "csv")
    order = [B - 1 - b for b in range(B)]
    for key in ("mean", "covariance", "precision_cholesky", "elbo", "status"):
        np.testing.assert_allclose(csv[key], dense[key][order], rtol=1e-12, atol=1e-12)
    summary = json.loads((tmp_path / "csv" / "summary.json").read_text())
    assert summary["data"]["problem_labels"] == [f"u{b}" for b in order]
    assert summary["data"]["covariates"] == ["x0", "x1", "x2"]
    # float32 rounding of x in the ragged copy and float32 computation move the result only slightly.
    ragged, dense32 = load_outputs(tmp_path / "ragged"), load_outputs(tmp_path / "dense32")
    np.testing.assert_allclose(ragged["mean"], dense["mean"], atol=1e-5)
    np.testing.assert_allclose(dense32["mean"], dense["mean"], atol=2e-3)
    assert dense32["mean"].dtype == np.float64
    for b in range(B):
        g, h = optimality_residuals(x[b], y[b], dense["mean"][b], dense["covariance"][b], 1.0, logistic_first,
                                    logistic_second)
        assert g < 1e-6 and h < 1e-6, (b, g, h)


def test_poisson_reaches_its_closed_form_optimum(tmp_path):
    rng = np.random.default_rng(4)
    B, N, d, prior_precision = 5, 40, 2, 3.0
    x = rng.normal(size=(B, N, d)) * 0.5
    y = rng.poisson(np.exp(x @ np.array([0.8, -0.4])))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    assert_ok(run("fit", "--model", "poisson", "--x", "x.npy", "--y", "y.npy", "--prior-precision", prior_precision,
                  "--tol", "1e-12", "--out", "out", cwd=tmp_path))
    o = load_outputs(tmp_path / "out")
    for b in range(B):
        mu, sigma = o["mean"][b], o["covariance"][b]
        w = np.exp(x[b] @ mu + 0.5 * np.einsum("nd,de,ne->n", x[b], sigma, x[b]))  # E_q[exp(x^T z)]
        precision = np.linalg.inv(sigma)
        np.testing.assert_allclose(x[b].T @ (w - y[b]) + prior_precision * mu, 0, atol=1e-6 * np.abs(precision).max())
        np.testing.assert_allclose((x[b] * w[:, None]).T @ x[b] + prior_precision * np.eye(d), precision,
                                   atol=1e-6 * np.abs(precision).max())


def test_probit_reaches_the_quadrature_optimum(tmp_path):
    erfc = np.vectorize(math.erfc)
    phi = lambda a: np.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)  # noqa: E731
    Phi = lambda a: 0.5 * erfc(-a / math.sqrt(2))  # noqa: E731

    def first(a, t):  # d/da of -log Phi(s a), s = 2 t - 1
        s = 2 * t - 1
        return -s * phi(a) / Phi(s * a)

    def second(a, t):
        s = 2 * t - 1
        ratio = phi(a) / Phi(s * a)
        return s * a * ratio + ratio**2

    rng = np.random.default_rng(5)
    x, y = logistic_batch(rng, 4, 50, 2)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    result = run("fit", "--model", "probit", "--x", "x.npy", "--y", "y.npy", "--tol", "1e-12", "--out", "out",
                 cwd=tmp_path)
    assert_ok(result)
    o = load_outputs(tmp_path / "out")
    for b in range(4):
        g, h = optimality_residuals(x[b], y[b], o["mean"][b], o["covariance"][b], 1.0, first, second)
        assert g < 1e-6 and h < 1e-6, (b, g, h)


def test_diagonal_family_writes_variances(tmp_path):
    """Mean-field VI of a Gaussian target has the exact mean and the exact precision's diagonal."""
    rng = np.random.default_rng(6)
    B, N, d = 3, 40, 3
    x = rng.normal(size=(B, N, d)) + 0.5 * rng.normal(size=(B, N, 1))  # correlated covariates
    y = x.sum(axis=2) + rng.normal(size=(B, N))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    assert_ok(run("fit", "--model", "linear", "--family", "diagonal", "--x", "x.npy", "--y", "y.npy", "--tol", "1e-14",
                  "--max-steps", "2000", "--out", "out", cwd=tmp_path))
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["elbo.npy", "mean.npy", "precision_cholesky.npy", "status.npy", "steps.npy", "summary.json",
                     "variance.npy"]
    o = load_outputs(tmp_path / "out")
    assert o["variance"].shape == (B, d) and o["precision_cholesky"].shape == (B, d)
    for b in range(B):
        mean, covariance, _ = linear_posterior(x[b], y[b], 1.0, 1.0)
        np.testing.assert_allclose(o["mean"][b], mean, atol=1e-5)
        np.testing.assert_allclose(1 / o["variance"][b], np.diag(np.linalg.inv(covariance)), rtol=1e-6)
        np.testing.assert_allclose(o["precision_cholesky"][b] ** 2, 1 / o["variance"][b], rtol=1e-12)


def test_monte_carlo_estimators_land_near_the_exact_posterior(tmp_path):
    rng = np.random.default_rng(7)
    x, y = logistic_batch(rng, 10, 80, 2)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    assert_ok(run("fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy", "--out", "exact", cwd=tmp_path))
    exact = load_outputs(tmp_path / "exact")
    sd = np.sqrt(np.diagonal(exact["covariance"], axis1=1, axis2=2))
    for estimator in ("stein", "price"):
        assert_ok(run("fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy", "--estimator", estimator,
                      "--samples", "64", "--step-size", "0.2", "--max-steps", "200", "--seed", "3", "--out", estimator,
                      cwd=tmp_path))
        mc = load_outputs(tmp_path / estimator)
        assert (np.abs(mc["mean"] - exact["mean"]) / sd).max() < 0.1, estimator
        np.testing.assert_allclose(np.sqrt(np.diagonal(mc["covariance"], axis1=1, axis2=2)), sd, rtol=0.15)
        summary = json.loads((tmp_path / estimator / "summary.json").read_text())
        assert summary["resolved"]["estimator"] == estimator and summary["options"]["samples"] == 64


def test_summary_json_describes_the_run(tmp_path):
    rng = np.random.default_rng(8)
    x, y = logistic_batch(rng, 12, 30, 2)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    assert_ok(run("fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy", "--seed", "11", "--max-steps", "40",
                  "--prior-precision", "0.5", "--rule", "blr", "--step-size", "0.7", "--trace", "--threads", "1",
                  "--backend", "cpu", "--out", "out", cwd=tmp_path))
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    o = load_outputs(tmp_path / "out")
    assert s["model"] == "logistic" and s["command"].startswith("ngvi fit --model logistic")
    assert s["data"] == {"layout": "dense", "problems": 12, "dimension": 2, "rows": 360, "x": "x.npy", "y": "y.npy",
                         "offsets": None}
    opt = s["options"]
    assert (opt["seed"], opt["max_steps"], opt["prior_precision"], opt["rule"], opt["step_size"], opt["threads"]) == \
        (11, 40, 0.5, "blr", 0.7, 1)
    assert opt["estimator"] == "auto" and s["resolved"]["estimator"] == "quadrature"
    assert opt["precision"] == "float64" and opt["family"] == "full" and opt["noise_sd"] is None
    assert s["resolved"]["backend"] == "cpu" and s["device"] == "CPU (1 thread)"
    assert sum(s["status_counts"].values()) == 12 and s["status_counts"]["converged"] == int((o["status"] == 0).sum())
    assert s["failures"] == 0
    assert s["iterations"] == o["steps"].max() and s["distribution_steps"] == o["steps"].sum()
    assert s["seconds"] > 0 and s["distribution_steps_per_second"] == pytest.approx(s["distribution_steps"] / s["seconds"])
    assert s["mean_elbo"] == pytest.approx(o["elbo"].mean(), rel=1e-12)
    assert sorted(s["outputs"]) == sorted(p.name for p in (tmp_path / "out").iterdir())
    # The trace holds the mean ELBO before each step; it ends where the fit converged.
    assert o["elbo_trace"].shape == (s["iterations"],)
    assert o["elbo_trace"][-1] == pytest.approx(s["mean_elbo"], abs=1e-6)


def test_overwrite_replaces_a_previous_output(tmp_path):
    rng = np.random.default_rng(9)
    x, y = logistic_batch(rng, 2, 20, 2)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "stale.txt").write_text("from an earlier run")
    assert_ok(run("fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy", "--out", "out", "--overwrite",
                  cwd=tmp_path))
    assert not (tmp_path / "out" / "stale.txt").exists() and (tmp_path / "out" / "summary.json").exists()
    assert leftovers(tmp_path) == []
    (tmp_path / "empty").mkdir()  # an empty directory may be written without --overwrite
    assert_ok(run("fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy", "--out", "empty", cwd=tmp_path))
    assert (tmp_path / "empty" / "mean.npy").exists()


def test_output_verbosity(tmp_path):
    rng = np.random.default_rng(10)
    x, y = logistic_batch(rng, 3, 20, 2)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    args = ["fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy"]
    normal = assert_ok(run(*args, cwd=tmp_path))
    assert "ngvi fit summary" in normal.stdout and normal.stderr == ""  # stderr is not a terminal: no progress
    quiet = assert_ok(run(*args, "--quiet", cwd=tmp_path))
    assert quiet.stdout == "" and quiet.stderr == ""
    verbose = assert_ok(run(*args, "--verbose", cwd=tmp_path))
    assert verbose.stderr.startswith("ngvi: step ") and "active" in verbose.stderr


def test_progress_bar_when_stderr_is_a_terminal(tmp_path):
    rng = np.random.default_rng(11)
    x, y = logistic_batch(rng, 3, 20, 2)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    master, slave = pty.openpty()
    try:
        result = subprocess.run([NGVI, "fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy"], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=slave, text=True, timeout=60)
        os.close(slave)
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal is closed once everything was read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(master)
    assert result.returncode == 0
    text = drawn.decode()
    assert "\r" in text and "step " in text and "mean ELBO" in text and "distribution-steps/s" in text
    assert text.endswith("\r\x1b[K")  # the bar is erased at the end
    assert "ngvi fit summary" in result.stdout
