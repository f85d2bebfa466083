"""`ngvi fit --pooled`: the shared prior learned from the whole batch against the closed-form empirical-Bayes
maximiser of linear-Gaussian problems, the per-round ELBO against the log marginal likelihood, the outputs and
summary.json, a logistic batch against the M-step fixed point, and bad input."""
import json
import math

import numpy as np
import pytest

from cli_support import assert_ok, assert_one_line_error, leftovers, load_outputs, logistic_batch, run


def orthogonal_linear(rng, B, n, d, noise_sd):
    """B linear problems with X_b^T X_b = n I (X_b = sqrt(n) Q_b), coefficients z_b ~ N(m, C). The least-squares
    estimates beta_b = X_b^T y_b / n are then sufficient and beta_b ~ N(m, C + noise_sd^2 / n I) marginally, so the
    marginal likelihood is maximal at m = mean beta_b, C = cov(beta) - noise_sd^2 / n I (diagonal: its diagonal)."""
    m = rng.normal(size=d)
    A = rng.normal(size=(d, d))
    C = A @ A.T / d + np.eye(d)
    x = np.stack([math.sqrt(n) * np.linalg.qr(rng.normal(size=(n, d)))[0] for _ in range(B)])
    z = m + rng.normal(size=(B, d)) @ np.linalg.cholesky(C).T
    y = np.einsum("bnd,bd->bn", x, z) + noise_sd * rng.normal(size=(B, n))
    return x, y


def empirical_bayes(x, y, noise_sd, diagonal):
    B, n, d = x.shape
    beta = np.einsum("bnd,bn->bd", x, y) / n
    m = beta.mean(axis=0)
    K = (beta - m).T @ (beta - m) / B
    if diagonal:
        K = np.diag(np.diag(K))
    return m, K - noise_sd**2 / n * np.eye(d)


def log_marginal_likelihood(x, y, noise_sd, m, C):
    total = 0.0
    for xb, yb in zip(x, y):
        K = noise_sd**2 * np.eye(len(yb)) + xb @ C @ xb.T
        r = yb - xb @ m
        total += -0.5 * r @ np.linalg.solve(K, r) - 0.5 * np.linalg.slogdet(K)[1] - 0.5 * len(yb) * math.log(2 * math.pi)
    return total


EXACT = ["--estimator", "quadrature", "--rule", "blr", "--step-size", 1, "--threads", 1]


@pytest.mark.parametrize("precision", ["full", "diagonal"])
def test_linear_gaussian_prior_is_the_marginal_likelihood_maximum(tmp_path, precision):
    rng = np.random.default_rng(11)
    B, n, d, noise_sd = 40, 12, 3, 0.5
    x, y = orthogonal_linear(rng, B, n, d, noise_sd)
    m, C = empirical_bayes(x, y, noise_sd, precision == "diagonal")
    assert np.linalg.eigvalsh(C).min() > 0.1, "the oracle needs an interior maximum"
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    result = assert_ok(run("fit", "--model", "linear", "--x", "x.npy", "--y", "y.npy", "--noise-sd", noise_sd,
                           *EXACT, "--pooled", "--pooled-precision", precision, "--pooled-tol", 1e-15,
                           "--pooled-max-rounds", 2000, "--out", "out", cwd=tmp_path))
    assert "pooled prior" in result.stdout and "converged" in result.stdout
    o = load_outputs(tmp_path / "out")
    assert o["prior_mean"].shape == (d,) and o["prior_precision"].shape == (d, d)
    assert o["prior_mean"].dtype == np.float64 and o["pooled_elbo"].dtype == np.float64
    np.testing.assert_allclose(o["prior_mean"], m, atol=1e-8)
    covariance = np.linalg.inv(o["prior_precision"])
    assert np.linalg.norm(covariance - C) < 1e-8 * np.linalg.norm(C)
    if precision == "diagonal":
        assert (o["prior_precision"][~np.eye(d, dtype=bool)] == 0).all()
    # Exact posteriors: each round's ELBO is the log marginal likelihood under that round's prior, so the last
    # equals it under the learned prior, and the rounds never decrease it (EM).
    elbo = o["pooled_elbo"]
    lml = log_marginal_likelihood(x, y, noise_sd, o["prior_mean"], covariance)
    assert abs(elbo[-1] - lml) < 1e-9 * abs(lml)
    assert (np.diff(elbo) >= -1e-9 * abs(lml)).all()
    assert abs(elbo[0] - log_marginal_likelihood(x, y, noise_sd, np.zeros(d), np.eye(d))) < 1e-9 * abs(lml)
    # The per-problem posteriors are the exact ones under the learned prior.
    P = o["prior_precision"]
    for b in range(B):
        precision_b = x[b].T @ x[b] / noise_sd**2 + P
        mean_b = np.linalg.solve(precision_b, x[b].T @ y[b] / noise_sd**2 + P @ o["prior_mean"])
        np.testing.assert_allclose(o["mean"][b], mean_b, atol=1e-8)
    s = json.loads((tmp_path / "out" / "summary.json").read_text())["pooling"]
    assert s["precision"] == precision and s["converged"] and s["rounds"] == len(elbo)
    np.testing.assert_array_equal(s["elbo"], elbo)
    assert s["objective"] == s["elbo"]  # no hyperprior
    assert s["tolerance"] == 1e-15 and s["max_rounds"] == 2000 and s["hyperprior_scale"] == 0


def test_logistic_pooled_prior_is_the_m_step_of_its_posteriors(tmp_path):
    """At convergence the learned prior is the M-step of the returned posteriors under it: m = mean mu_b,
    P^-1 = (Psi + S) / (nu + B + d + 1) with the inverse-Wishart hyperprior IW(Psi = s I, nu)."""
    rng = np.random.default_rng(12)
    B, N, d, scale, dof = 30, 8, 3, 0.5, 6.0
    x, y = logistic_batch(rng, B, N, d)
    x += 0.7  # a prior mean away from 0
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    assert_ok(run("fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy", "--pooled", "--pooled-tol", 1e-13,
                  "--pooled-max-rounds", 500, "--hyperprior-scale", scale, "--hyperprior-dof", dof, "--out", "out",
                  "--quiet", cwd=tmp_path))
    o = load_outputs(tmp_path / "out")
    assert (o["status"] == 0).all()
    mu, Sigma = o["mean"], o["covariance"]
    m = mu.mean(axis=0)
    S = Sigma.sum(axis=0) + (mu - m).T @ (mu - m)
    np.testing.assert_allclose(o["prior_mean"], m, atol=1e-5)
    np.testing.assert_allclose(np.linalg.inv(o["prior_precision"]), (scale * np.eye(d) + S) / (dof + B + d + 1),
                               atol=1e-5)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())["pooling"]
    assert summary["converged"] and summary["hyperprior_dof"] == dof
    # The objective adds the log hyperprior (nu + d + 1)/2 log det P - tr(Psi P)/2 to the ELBO.
    P = o["prior_precision"]
    extra = 0.5 * (dof + d + 1) * np.linalg.slogdet(P)[1] - 0.5 * scale * np.trace(P)
    assert abs(summary["objective"][-1] - summary["elbo"][-1] - extra) < 1e-8 * (1 + abs(extra))
    # Pooling shrinks: the fitted means spread less than the independent fits' under N(0, I).
    assert_ok(run("fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy", "--out", "alone", "--quiet",
                  cwd=tmp_path))
    alone = load_outputs(tmp_path / "alone")
    assert np.linalg.norm(mu - m) < np.linalg.norm(alone["mean"] - alone["mean"].mean(axis=0))


def test_float32_pooled_agrees_with_float64(tmp_path):
    rng = np.random.default_rng(13)
    x, y = orthogonal_linear(rng, 20, 10, 2, 0.5)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    for p in ("float32", "float64"):
        assert_ok(run("fit", "--model", "linear", "--x", "x.npy", "--y", "y.npy", "--noise-sd", 0.5, *EXACT,
                      "--pooled", "--pooled-tol", 1e-9, "--precision", p, "--out", p, "--quiet", cwd=tmp_path))
    single, double = load_outputs(tmp_path / "float32"), load_outputs(tmp_path / "float64")
    np.testing.assert_allclose(single["prior_mean"], double["prior_mean"], atol=1e-4)
    np.testing.assert_allclose(single["prior_precision"], double["prior_precision"], rtol=1e-3)


@pytest.mark.parametrize("args, fragments", [
    (["--hyperprior-scale", 1], ["--hyperprior-scale", "only with --pooled"]),
    (["--pooled-tol", 1e-6], ["--pooled-tol", "only with --pooled"]),
    (["--pooled-max-rounds", 3], ["--pooled-max-rounds", "only with --pooled"]),
    (["--pooled-precision", "diagonal"], ["--pooled-precision", "only with --pooled"]),
    (["--pooled", "--pooled-precision", "banded"], ["--pooled-precision", "banded", "full|diagonal"]),
    (["--pooled", "--pooled-tol", -1], ["--pooled-tol"]),
    (["--pooled", "--pooled-tol", "nan"], ["--pooled-tol"]),
    (["--pooled", "--pooled-max-rounds", 0], ["--pooled-max-rounds"]),
    (["--pooled", "--hyperprior-scale", -2], ["--hyperprior-scale"]),
    (["--pooled", "--hyperprior-dof", 5], ["--hyperprior-dof 5", "needs --hyperprior-scale"]),
    (["--pooled", "--hyperprior-scale", 1, "--hyperprior-dof", 1.5], ["--hyperprior-dof 1.5", "d = 3", "more than 2"]),
    (["--pooled", "--hyperprior-scale", 1], ["--hyperprior-dof 0", "d = 3"]),
    (["--pooled", "--checkpoint", "c.ckpt"], ["--checkpoint", "cannot be combined with --pooled"]),
    (["--pooled", "--resume", "c.ckpt"], ["--resume", "cannot be combined with --pooled"]),
    (["--pooled", "--trace"], ["--trace", "cannot be combined with --pooled"]),
])
def test_bad_pooled_options_are_one_line_errors(tmp_path, args, fragments):
    rng = np.random.default_rng(14)
    x, y = logistic_batch(rng, 4, 10, 3)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    result = run("fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy", *args, "--out", "out", cwd=tmp_path)
    assert_one_line_error(result, *fragments)
    assert result.returncode == 2
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_diagonal_hyperprior_dof_only_needs_to_be_positive(tmp_path):
    rng = np.random.default_rng(15)
    x, y = logistic_batch(rng, 3, 10, 3)  # B = 3 problems: the hyperprior keeps the prior proper
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    assert_ok(run("fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy", "--pooled", "--pooled-precision",
                  "diagonal", "--hyperprior-scale", 1, "--hyperprior-dof", 0.5, "--out", "out", "--quiet",
                  cwd=tmp_path))
    o = load_outputs(tmp_path / "out")
    assert np.isfinite(o["prior_precision"]).all() and (np.diag(o["prior_precision"]) > 0).all()
