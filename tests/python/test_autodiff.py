"""ngvi.fit_log_density and ngvi.NegativeLogDensity: log densities written for one point in JAX or
PyTorch (each test runs for each framework installed, and skips for the others), vectorized and
differentiated by the framework. Oracles: the closed-form derivatives and posterior of
linear-Gaussian models, the exact posterior of a normal scale, the frameworks' own Jacobians of the
transforms, and the exact posteriors of two posteriordb models (examples/posteriordb/reference.py)."""
import collections
import os
import sys

import numpy as np
import pytest

import ngvi

special = pytest.importorskip("scipy.special")

FakeAsk = collections.namedtuple("FakeAsk", "distributions points needs_values needs_gradients needs_hessians")


@pytest.fixture(params=["jax", "torch"])
def framework(request):
    """The framework's name, the test skipped where it is not installed."""
    pytest.importorskip(request.param)
    return request.param


class Ops:
    """The few functions the tests' log densities need, from one framework: log densities written
    once for both."""

    def __init__(self, framework):
        if framework == "jax":
            import jax.numpy as jnp
            from jax.scipy.stats import cauchy, norm
            self.sum, self.log = jnp.sum, jnp.log
            self.normal_logpdf, self.cauchy_logpdf = norm.logpdf, cauchy.logpdf
        else:
            import torch
            self.sum, self.log = torch.sum, torch.log
            log = lambda a: torch.log(a) if torch.is_tensor(a) else np.log(a)  # noqa: E731
            self.normal_logpdf = lambda x, loc=0.0, scale=1.0: (-0.5 * ((x - loc) / scale) ** 2 - log(scale)
                                                                - 0.5 * np.log(2 * np.pi))
            self.cauchy_logpdf = lambda x, loc, scale: (-np.log(np.pi * scale)
                                                        - torch.log1p(((x - loc) / scale) ** 2))


def linear_gaussian_data(B=5, N=30, d=3, seed=0):
    """y_b = x_b beta + noise, unit noise, prior N(0, I): posterior precision x^T x + I, mean
    (x^T x + I)^-1 x^T y."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, N, d))
    y = x @ rng.normal(size=d) + rng.normal(size=(B, N))
    precision = np.einsum("bni,bnj->bij", x, x) + np.eye(d)
    mean = np.linalg.solve(precision, np.einsum("bni,bn->bi", x, y)[..., None])[..., 0]
    return x, y, precision, mean


def log_joint(framework):
    """y ~ N(x z, I), z ~ N(0, I), for one problem."""
    ops = Ops(framework)
    return lambda z, x, y: -0.5 * ops.sum((y - x @ z) ** 2) - 0.5 * ops.sum(z ** 2)


@pytest.mark.parametrize("family", ["full", "diagonal"])
def test_derivatives_are_those_of_the_closed_form_on_a_subset_of_problems(framework, family):
    x, y, precision, mean = linear_gaussian_data()
    B, d = mean.shape
    target = ngvi.NegativeLogDensity(log_joint(framework), ngvi.Batch(B, d, family=family), data=(x, y),
                                     framework=framework)
    distributions = np.array([4, 1, 2], dtype=np.uint32)  # three running problems: JAX pads them to four
    points = np.random.default_rng(1).normal(size=(3, 7, d))
    values, gradients, hessians = target(FakeAsk(distributions, points, True, True, True))
    assert values.dtype == gradients.dtype == hessians.dtype == np.float64
    for k, b in enumerate(distributions):
        residual = y[b] - points[k] @ x[b].T
        np.testing.assert_allclose(values[k], 0.5 * (residual ** 2).sum(-1) + 0.5 * (points[k] ** 2).sum(-1),
                                   rtol=1e-12)
        np.testing.assert_allclose(gradients[k], (points[k] - mean[b]) @ precision[b], rtol=1e-10, atol=1e-10)
        want = np.broadcast_to(precision[b], (7, d, d))
        np.testing.assert_allclose(hessians[k], want if family == "full" else np.diagonal(want, 0, 1, 2),
                                   rtol=1e-12)
    values, gradients, hessians = target(FakeAsk(distributions, points, True, True, False))
    assert gradients.shape == (3, 7, d) and hessians is None
    values, gradients, hessians = target(FakeAsk(distributions, points, True, False, False))
    assert values.shape == (3, 7) and gradients is None


@pytest.mark.parametrize("family", ["full", "diagonal"])
def test_a_second_order_fit_reaches_the_closed_form_posterior(framework, family):
    x, y, precision, mean = linear_gaussian_data()
    B, d = mean.shape
    q = ngvi.Batch(B, d, family=family)
    summary = ngvi.fit_log_density(log_joint(framework), q, data=(x, y), framework=framework, provides="hessian",
                                   seed=3)
    assert summary.estimator == "price" and summary.status_counts["converged"] == B
    np.testing.assert_allclose(q.mean, mean, atol=1e-4)
    if family == "full":  # a Gaussian target is matched exactly; mean field keeps the diagonal precision
        np.testing.assert_allclose(q.precision, precision, rtol=1e-4)
    else:
        np.testing.assert_allclose(q.precision, np.diagonal(precision, 0, 1, 2), rtol=1e-4)


def test_a_first_order_fit_finds_the_posterior_mean_and_float32_works(framework):
    x, y, precision, mean = linear_gaussian_data(seed=4)
    B, d = mean.shape
    q = ngvi.Batch(B, d, dtype=np.float32)
    # float64 data and an int32 y: the floating-point data are evaluated in the batch's float32
    summary = ngvi.fit_log_density(log_joint(framework), q, data=(x, y.round().astype(np.int32)),
                                   framework=framework, seed=5, max_steps=300)
    assert summary.estimator == "stein" and summary.failures == 0
    rounded_mean = np.linalg.solve(precision, np.einsum("bni,bn->bi", x, y.round())[..., None])[..., 0]
    np.testing.assert_allclose(q.mean, rounded_mean, atol=0.05)


def test_float32_batches_are_evaluated_in_float32(framework):
    x, y, precision, mean = linear_gaussian_data()
    B, d = mean.shape
    target = ngvi.NegativeLogDensity(log_joint(framework), ngvi.Batch(B, d, dtype=np.float32), data=(x, y),
                                     framework=framework)
    points = np.random.default_rng(2).normal(size=(B, 3, d)).astype(np.float32)
    values, gradients, hessians = target(FakeAsk(np.arange(B, dtype=np.uint32), points, True, True, True))
    assert values.dtype == gradients.dtype == hessians.dtype == np.float32
    for b in range(B):
        np.testing.assert_allclose(gradients[b], (points[b] - mean[b]) @ precision[b], rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(hessians[b], np.broadcast_to(precision[b], (3, d, d)), rtol=1e-5)


def test_constrained_parameters_fit_the_exact_posterior_of_a_normal_scale(framework):
    """y_n ~ N(0, sigma^2) with the prior p(sigma) = 1/sigma: 1/sigma^2 ~ Gamma(N/2, sum y^2 / 2), so
    E[log sigma] = (log(sum y^2 / 2) - digamma(N/2)) / 2, sd[log sigma] = sqrt(trigamma(N/2)) / 2."""
    rng = np.random.default_rng(6)
    B, N = 4, 200
    scales = np.array([0.1, 1.0, 3.0, 20.0])
    y = scales[:, None] * rng.normal(size=(B, N))

    ops = Ops(framework)

    def log_density(p, y):
        return -N * ops.log(p["sigma"]) - 0.5 * ops.sum(y ** 2) / p["sigma"] ** 2 - ops.log(p["sigma"])

    q = ngvi.Batch(B, 1)
    ngvi.fit_log_density(log_density, q, data=(y,), parameters=ngvi.Parameters(sigma=ngvi.positive()),
                         framework=framework, provides="hessian", seed=7)
    exact_mean = 0.5 * (np.log(0.5 * (y ** 2).sum(1)) - special.digamma(N / 2))
    exact_sd = 0.5 * np.sqrt(special.polygamma(1, N / 2))
    np.testing.assert_allclose(q.mean[:, 0], exact_mean, atol=0.05 * exact_sd)
    np.testing.assert_allclose(np.sqrt(q.covariance[:, 0, 0]), exact_sd, rtol=0.05)


def test_arguments_are_checked_by_name():
    pytest.importorskip("jax")
    jax_log_joint = log_joint("jax")
    q = ngvi.Batch(3, 2)
    with pytest.raises(ValueError, match=r"data\[1\] must have a leading batch axis of 3"):
        ngvi.NegativeLogDensity(jax_log_joint, q, data=(np.zeros((3, 4)), np.zeros((2, 4))))
    with pytest.raises(TypeError, match="data must be a tuple"):
        ngvi.NegativeLogDensity(jax_log_joint, q, data=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="framework must be one of jax, torch"):
        ngvi.NegativeLogDensity(jax_log_joint, q, framework="numpy")
    with pytest.raises(ValueError, match="parameters lay out 3 coordinates, the batch has dimension 2"):
        ngvi.NegativeLogDensity(jax_log_joint, q, parameters=ngvi.Parameters(beta=3))
    with pytest.raises(TypeError, match="unexpected keyword argument 'step'"):
        ngvi.fit_log_density(jax_log_joint, q, step=0.1)


def framework_jacobian(framework, transform, u):
    """The transform's value, log-Jacobian and Jacobian (by the framework's forward mode) at u, as NumPy,
    in float64."""
    def coordinates(u):  # a simplex drops its last entry: a square Jacobian
        return transform.forward(u)[0].reshape(-1)[:transform.size]
    if framework == "jax":
        import jax
        with jax.enable_x64(True):
            u = jax.numpy.asarray(u)
            x, log_jacobian = jax.jit(transform.forward)(u)
            jacobian = jax.jacfwd(coordinates)(u)
    else:
        import torch
        u = torch.as_tensor(u)
        x, log_jacobian = transform.forward(u)
        jacobian = torch.func.jacfwd(coordinates)(u)
    return np.asarray(x), float(log_jacobian), np.asarray(jacobian)


@pytest.mark.parametrize("transform", [ngvi.positive(2, lower=1.0), ngvi.interval(-1.0, 3.0, 2), ngvi.simplex(4)],
                         ids=repr)
def test_transforms_agree_with_numpy_and_with_the_frameworks_own_jacobian(framework, transform):
    u = np.random.default_rng(8).normal(size=transform.size)
    x, log_jacobian, jacobian = framework_jacobian(framework, transform, u)
    want_x, want_log_jacobian = transform.forward(u)
    np.testing.assert_allclose(x, want_x, rtol=1e-13)
    assert log_jacobian == pytest.approx(want_log_jacobian, rel=1e-12)
    assert log_jacobian == pytest.approx(np.linalg.slogdet(jacobian)[1], rel=1e-12)


# A posteriordb posterior in PyTorch against the exact moments of examples/posteriordb/reference.py
# (the examples there fit all twelve in JAX; eight schools in PyTorch takes minutes, 1800 steps at about
# 0.1 s of torch.func dispatch each on a loaded 2-core machine).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "posteriordb"))
import reference  # noqa: E402


def test_posteriordb_kidiq_momhsiq_in_torch_fits_its_exact_posterior():
    """kid_score ~ normal(X beta, sigma), flat beta, sigma ~ half-Cauchy(0, 2.5)."""
    pytest.importorskip("torch")
    ops = Ops("torch")
    data = reference.load("kidiq-kidscore_momhsiq")
    X = np.column_stack([np.ones_like(data["mom_hs"]), data["mom_hs"], data["mom_iq"]])
    y = data["kid_score"]

    def log_density(p, X, y):
        return ops.sum(ops.normal_logpdf(y, X @ p["beta"], p["sigma"])) + ops.cauchy_logpdf(p["sigma"], 0.0, 2.5)

    space = ngvi.Parameters(beta=3, sigma=ngvi.positive())
    q = ngvi.Batch(1, space.dimension)
    ngvi.fit_log_density(log_density, q, data=(X[None], y[None]), parameters=space, framework="torch",
                         provides="hessian", seed=1)
    reference.compare(q, reference.regression_posterior(X, y, reference.half_cauchy(2.5)),
                      ["b1", "b2", "b3", "log sigma"])

