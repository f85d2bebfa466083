"""ngvi.fit_log_density and ngvi.NegativeLogDensity: log densities written for one point in JAX (or
PyTorch, when installed), vectorized and differentiated by the framework. Oracles: the closed-form
derivatives and posterior of linear-Gaussian models, and the exact posterior of a normal scale."""
import collections

import numpy as np
import pytest

import ngvi

jax = pytest.importorskip("jax")
jnp = jax.numpy
special = pytest.importorskip("scipy.special")

FakeAsk = collections.namedtuple("FakeAsk", "distributions points needs_values needs_gradients needs_hessians")


def linear_gaussian_data(B=5, N=30, d=3, seed=0):
    """y_b = x_b beta + noise, unit noise, prior N(0, I): posterior precision x^T x + I, mean
    (x^T x + I)^-1 x^T y."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, N, d))
    y = x @ rng.normal(size=d) + rng.normal(size=(B, N))
    precision = np.einsum("bni,bnj->bij", x, x) + np.eye(d)
    mean = np.linalg.solve(precision, np.einsum("bni,bn->bi", x, y)[..., None])[..., 0]
    return x, y, precision, mean


def jax_log_joint(z, x, y):
    return -0.5 * jnp.sum((y - x @ z) ** 2) - 0.5 * jnp.sum(z ** 2)


def torch_log_joint(z, x, y):
    return -0.5 * ((y - x @ z) ** 2).sum() - 0.5 * (z ** 2).sum()


FRAMEWORKS = {"jax": jax_log_joint, "torch": torch_log_joint}


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("family", ["full", "diagonal"])
def test_derivatives_are_those_of_the_closed_form_on_a_subset_of_problems(framework, family):
    if framework == "torch":
        pytest.importorskip("torch")
    x, y, precision, mean = linear_gaussian_data()
    B, d = mean.shape
    target = ngvi.NegativeLogDensity(FRAMEWORKS[framework], ngvi.Batch(B, d, family=family), data=(x, y),
                                     framework=framework)
    distributions = np.array([4, 1, 2], dtype=np.uint32)  # three running problems: padded to four
    points = np.random.default_rng(1).normal(size=(3, 7, d))
    values, gradients, hessians = target(FakeAsk(distributions, points, True, True, True))
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
def test_a_second_order_fit_reaches_the_closed_form_posterior(family):
    x, y, precision, mean = linear_gaussian_data()
    B, d = mean.shape
    q = ngvi.Batch(B, d, family=family)
    summary = ngvi.fit_log_density(jax_log_joint, q, data=(x, y), provides="hessian", seed=3)
    assert summary.estimator == "price" and summary.status_counts["converged"] == B
    np.testing.assert_allclose(q.mean, mean, atol=1e-4)
    if family == "full":  # a Gaussian target is matched exactly; mean field keeps the diagonal precision
        np.testing.assert_allclose(q.precision, precision, rtol=1e-4)
    else:
        np.testing.assert_allclose(q.precision, np.diagonal(precision, 0, 1, 2), rtol=1e-4)


def test_a_first_order_fit_finds_the_posterior_mean_and_float32_works():
    x, y, precision, mean = linear_gaussian_data(seed=4)
    B, d = mean.shape
    q = ngvi.Batch(B, d, dtype=np.float32)
    summary = ngvi.fit_log_density(jax_log_joint, q, data=(x, y), seed=5, max_steps=300)
    assert summary.estimator == "stein" and summary.failures == 0
    np.testing.assert_allclose(q.mean, mean, atol=0.05)


def test_constrained_parameters_fit_the_exact_posterior_of_a_normal_scale():
    """y_n ~ N(0, sigma^2) with the prior p(sigma) = 1/sigma: 1/sigma^2 ~ Gamma(N/2, sum y^2 / 2), so
    E[log sigma] = (log(sum y^2 / 2) - digamma(N/2)) / 2, sd[log sigma] = sqrt(trigamma(N/2)) / 2."""
    rng = np.random.default_rng(6)
    B, N = 4, 200
    scales = np.array([0.1, 1.0, 3.0, 20.0])
    y = scales[:, None] * rng.normal(size=(B, N))

    def log_density(p, y):
        return -N * jnp.log(p["sigma"]) - 0.5 * jnp.sum(y ** 2) / p["sigma"] ** 2 - jnp.log(p["sigma"])

    q = ngvi.Batch(B, 1)
    ngvi.fit_log_density(log_density, q, data=(y,), parameters=ngvi.Parameters(sigma=ngvi.positive()),
                         provides="hessian", seed=7)
    exact_mean = 0.5 * (np.log(0.5 * (y ** 2).sum(1)) - special.digamma(N / 2))
    exact_sd = 0.5 * np.sqrt(special.polygamma(1, N / 2))
    np.testing.assert_allclose(q.mean[:, 0], exact_mean, atol=0.05 * exact_sd)
    np.testing.assert_allclose(np.sqrt(q.covariance[:, 0, 0]), exact_sd, rtol=0.05)


def test_arguments_are_checked_by_name():
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


@pytest.mark.parametrize("transform", [ngvi.positive(2, lower=1.0), ngvi.interval(-1.0, 3.0, 2), ngvi.simplex(4)],
                         ids=repr)
def test_transforms_in_jax_agree_with_numpy_and_with_jaxs_own_jacobian(transform):
    u = np.random.default_rng(8).normal(size=transform.size)
    with jax.enable_x64(True):
        x, log_jacobian = jax.jit(transform.forward)(jnp.asarray(u))
        jacobian = jax.jacfwd(lambda u: transform.forward(u)[0].ravel()[:transform.size])(jnp.asarray(u))
    want_x, want_log_jacobian = transform.forward(u)
    np.testing.assert_allclose(np.asarray(x), want_x, rtol=1e-13)
    assert float(log_jacobian) == pytest.approx(want_log_jacobian, rel=1e-12)
    assert float(log_jacobian) == pytest.approx(np.linalg.slogdet(np.asarray(jacobian))[1], rel=1e-12)
