"""The accuracy benchmark's references (bench/accuracy): its models' gradients, and the Gaussian VI
optimum of vi_optimum.py against closed forms and a dense quadrature rule."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "accuracy"))
import models  # noqa: E402
import vi_optimum  # noqa: E402


@pytest.mark.parametrize("model", models.posteriordb_models(), ids=lambda m: m.name)
def test_gradients_are_those_of_the_log_density(model):
    rng = np.random.default_rng(7)
    z = rng.normal(scale=0.3, size=(4, model.d))
    if hasattr(model, "least_squares"):  # near the mass, where the benchmark evaluates
        z[:, :model.p] += model.least_squares
        z[:, model.p] += 0.5 * np.log(model.rss0 / model.N)
    _, g = model.value_and_gradient(z)
    h = 1e-6 * np.maximum(1, np.abs(z))
    numeric = np.empty_like(g)
    for i in range(model.d):
        e = np.zeros_like(z)
        e[:, i] = h[:, i]
        numeric[:, i] = (model.value_and_gradient(z + e)[0] - model.value_and_gradient(z - e)[0]) / (2 * h[:, i])
    np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-6 * np.abs(g).max())


class Gaussian:
    """f = (z - c)^T P (z - c) / 2: q* is N(c, P^-1) exactly."""
    name, nonlinear = "gaussian", (1,)

    def __init__(self, c, P):
        self.c, self.P, self.d = c, P, len(c)

    def value_and_gradient(self, z):
        g = (z - self.c) @ self.P
        return 0.5 * np.einsum("sd,sd->s", g, z - self.c), g


class Funnel:
    """A funnel in 2-D: u ~ N(0, 1), r | u ~ N(0, e^{2u}); z = (u, r), quadratic in r given u."""
    name, nonlinear, d = "funnel", (0,), 2

    def value_and_gradient(self, z):
        u, r = z[:, 0], z[:, 1]
        f = u**2 / 2 + u + 0.5 * r**2 * np.exp(-2 * u)
        return f, np.stack([u + 1 - r**2 * np.exp(-2 * u), r * np.exp(-2 * u)], 1)


def test_optimum_of_a_gaussian_target_is_the_target():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(4, 4))
    P = A @ A.T + 0.5 * np.eye(4)
    c = rng.normal(size=4)
    mean, covariance = vi_optimum.gaussian_vi_optimum(Gaussian(c, P), np.zeros(4), np.eye(4))
    np.testing.assert_allclose(mean, c, atol=1e-9)
    np.testing.assert_allclose(covariance, np.linalg.inv(P), rtol=1e-9, atol=1e-12)


def test_optimum_of_a_funnel_meets_the_conditions_under_a_dense_rule():
    mean, covariance = vi_optimum.gaussian_vi_optimum(Funnel(), np.zeros(2), np.eye(2))
    # Independent of the cubature: a 100 x 100 Gauss-Hermite product rule over q, at the optimum.
    t, w = np.polynomial.hermite_e.hermegauss(100)
    w = w / w.sum()
    eps = np.stack(np.meshgrid(t, t, indexing="ij"), -1).reshape(-1, 2)
    weights = np.outer(w, w).ravel()
    z = mean + eps @ np.linalg.cholesky(covariance).T
    _, g = Funnel().value_and_gradient(z)
    grad_mean = weights @ g
    hessian = np.linalg.solve(covariance, (weights[:, None] * (z - mean)).T @ g)
    sd = np.sqrt(np.diag(covariance))
    assert np.all(np.abs(grad_mean * sd) < 1e-8)
    root = np.linalg.cholesky(covariance)  # E[hess f] = S^-1, whitened: the identity
    np.testing.assert_allclose(root.T @ (0.5 * (hessian + hessian.T)) @ root, np.eye(2), atol=1e-8)
    # Closed form: with q = N(0, diag(a, b)), E[hess f] = diag(1 + 2 b e^{2a}, e^{2a}) = diag(1/a, 1/b)
    # gives b = e^{-2a} and a = 1/3 (the posterior's var u is 1: q* is narrow, as KL(q || p) makes it).
    np.testing.assert_allclose(mean, 0, atol=1e-9)
    np.testing.assert_allclose(covariance, np.diag([1 / 3, np.exp(-2 / 3)]), rtol=1e-9, atol=1e-12)


def test_regression_optimum_is_near_its_gaussian_posterior():
    """A regression with 434 rows is nearly Gaussian: q* within 0.01 sd and 1% of the exact posterior
    moments (computed by the other route, quadrature of the conditional Gaussians)."""
    model = next(m for m in models.posteriordb_models() if m.name == "kidiq-kidscore_momhsiq")
    (mean, covariance), (post_mean, post_cov) = models.references(model)
    post_sd = np.sqrt(np.diag(post_cov))
    assert np.max(np.abs(mean - post_mean) / post_sd) < 0.01
    assert np.max(np.abs(np.sqrt(np.diag(covariance)) / post_sd - 1)) < 0.01
