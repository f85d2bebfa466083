"""ngvi.Optimizer: a model written in NumPy drives the ask/tell loop and ends where ngvi.fit ends on the
library's own model. Bit for bit where NumPy computes the very numbers the library's model computes
(gradients of a quadratic with diagonal curvatures: one rounded product each, whatever the order or the
fused multiply-adds of the library's build); to rounding otherwise (the logistic model, whose library
code uses vectorized exp and log1p and blocked matrix products, and values, which the library
accumulates with fused multiply-adds where the CPU has them)."""
import numpy as np
import pytest

import ngvi


def drive(optimizer, evaluate):
    """Answers every request with evaluate(distributions, points) -> (values, gradients)."""
    requests = 0
    while not optimizer.done:
        ask = optimizer.ask()
        values, gradients = evaluate(ask.distributions, ask.points)
        optimizer.tell(values, gradients if ask.needs_gradients else None)
        requests += 1
    return requests


def diagonal_quadratic(centers, scales):
    """f_b(z) = 1/2 sum_i s_bi (z_i - a_bi)^2 and its gradient s_b * (z - a_b): the library's
    QuadraticModel with curvature diag(s_b) computes each gradient entry as the same single rounded
    product (its other terms are exact zeros)."""
    def evaluate(distributions, points):
        r = points - centers[distributions][:, None, :]
        gradients = scales[distributions][:, None, :] * r
        return 0.5 * (r * gradients).sum(-1), gradients
    return evaluate


def logistic_in_numpy(x, y):
    """f_b(z) = sum_n softplus(a_n) - y_n a_n, a_n = x_n^T z, on dense rows x (B, N, d), y (B, N)."""
    def evaluate(distributions, points):
        X, t = x[distributions], y[distributions][:, None, :]
        a = np.einsum("ksd,knd->ksn", points, X)
        values = (np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a))) - a * t).sum(-1)
        e = np.exp(-np.abs(a))
        sigmoid = np.where(a >= 0, 1 / (1 + e), e / (1 + e))
        return values, np.einsum("ksn,knd->ksd", sigmoid - t, X)
    return evaluate


@pytest.mark.parametrize("family", ["full", "diagonal"])
def test_a_numpy_quadratic_drives_the_optimizer_bit_for_bit_like_fit(family):
    rng = np.random.default_rng(21)
    B, d = 5, 3
    centers, scales = rng.normal(size=(B, d)), rng.uniform(0.5, 3.0, size=(B, d))
    options = dict(estimator="stein", samples=8, max_steps=40, seed=5, trace_elbo=True)
    fitted, asked = ngvi.Batch(B, d, family=family), ngvi.Batch(B, d, family=family)
    model = ngvi.quadratic(centers, np.stack([np.diag(s) for s in scales]), prior=ngvi.Prior.isotropic(0.5))
    want = ngvi.fit(model, fitted, **options)
    optimizer = ngvi.Optimizer(asked, provides="gradient", prior=ngvi.Prior.isotropic(0.5), **options)
    requests = drive(optimizer, diagonal_quadratic(centers, scales))
    got = optimizer.summary()
    assert requests == got.iterations + 1  # the steps, then the final ELBOs
    assert got.estimator == "stein" and got.failures == 0
    # The states and every step's bookkeeping: bit for bit.
    assert np.array_equal(asked.mean, fitted.mean) and np.array_equal(asked.precision_cholesky, fitted.precision_cholesky)
    for name in ("status", "steps", "rejected_steps", "last_kl"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    # The ELBOs, from values summed in another order: to rounding.
    np.testing.assert_allclose(got.elbo, want.elbo, rtol=1e-14)
    np.testing.assert_allclose(got.elbo_trace, want.elbo_trace, rtol=1e-14)
    np.testing.assert_allclose(asked.mean, centers * scales / (scales + 0.5), atol=0.1)  # near the posterior mean


def test_a_numpy_logistic_model_drives_the_optimizer_to_fits_result():
    rng = np.random.default_rng(22)
    B, N, d = 12, 40, 3
    x = rng.normal(size=(B, N, d)) / np.sqrt(d)
    y = (rng.random((B, N)) < 1 / (1 + np.exp(-x @ np.array([1.0, -2.0, 0.5])))).astype(np.float64)
    options = dict(estimator="stein", samples=16, max_steps=60, seed=3, trace_elbo=True)
    fitted, asked = ngvi.Batch(B, d), ngvi.Batch(B, d)
    want = ngvi.fit(ngvi.logistic(x, y), fitted, **options)  # the library's model, prior N(0, I)
    optimizer = ngvi.Optimizer(asked, provides="gradient", prior=ngvi.Prior.isotropic(1.0), **options)
    drive(optimizer, logistic_in_numpy(x, y))
    got = optimizer.summary()
    # The same steps on the same points: only the rounding of exp, log1p and the products differs.
    assert np.array_equal(got.status, want.status) and np.array_equal(got.steps, want.steps)
    np.testing.assert_allclose(asked.mean, fitted.mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(asked.covariance, fitted.covariance, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.elbo, want.elbo, rtol=1e-11)
    np.testing.assert_allclose(got.elbo_trace, want.elbo_trace, rtol=1e-11)
    assert np.abs(asked.mean).max() > 0.3  # it fitted something


def test_price_and_hessians_and_the_score_estimator():
    # f = 1/2 |z - c|^2 with exact Hessians: Price with BLR at step 1 lands on N(c, I) at once.
    B, d = 4, 2
    c = np.arange(B * d, dtype=np.float64).reshape(B, d) / 4
    q = ngvi.Batch(B, d)
    optimizer = ngvi.Optimizer(q, provides="hessian", rule="blr", step_size=1.0, samples=4)
    while not optimizer.done:
        ask = optimizer.ask()
        r = ask.points - c[ask.distributions][:, None, :]
        hessians = np.broadcast_to(np.eye(d), r.shape + (d,)) if ask.needs_hessians else None
        optimizer.tell(0.5 * (r**2).sum(-1), r if ask.needs_gradients else None, hessians)
    summary = optimizer.summary()
    assert summary.estimator == "price" and summary.status_counts["converged"] == B
    np.testing.assert_allclose(q.mean, c, atol=1e-14)
    np.testing.assert_allclose(q.covariance, np.broadcast_to(np.eye(d), (B, d, d)), atol=1e-14)

    # Values only: the score estimator (evolution strategies), here minimising the same function.
    p = ngvi.Batch(B, d, family="diagonal")
    optimizer = ngvi.Optimizer(p, provides="value", rule="cholesky", samples=32, step_size=0.2, max_steps=300,
                               schedule="robbins_monro", seed=1)
    while not optimizer.done:
        ask = optimizer.ask()
        assert ask.needs_values and not ask.needs_gradients
        optimizer.tell(0.5 * ((ask.points - c[ask.distributions][:, None, :])**2).sum(-1))
    assert optimizer.summary().estimator == "score"
    np.testing.assert_allclose(p.mean, c, atol=0.15)


def test_misuse_is_an_error_with_the_librarys_message():
    q = ngvi.Batch(3, 2)
    with pytest.raises(ValueError, match="provides = 'jacobian'"):
        ngvi.Optimizer(q, provides="jacobian")
    with pytest.raises(ngvi.NgviError, match="quadrature"):
        ngvi.Optimizer(q, estimator="quadrature")
    with pytest.raises(ngvi.NgviError, match="needs Hessians"):
        ngvi.Optimizer(q, provides="gradient", estimator="price")
    with pytest.raises(TypeError, match="unexpected keyword argument 'step'"):
        ngvi.Optimizer(q, step=0.1)

    optimizer = ngvi.Optimizer(q, provides="gradient", samples=4, max_steps=3)
    with pytest.raises(ngvi.NgviError, match="no request is pending") as e:
        optimizer.tell(np.zeros((3, 4)), np.zeros((3, 4, 2)))
    assert e.value.status_name == "invalid_operation"
    ask = optimizer.ask()
    assert ask.points.shape == (3, 4, 2) and ask.distributions.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match=r"gradients has shape \(3, 4\), expected \(3, 4, 2\)"):
        optimizer.tell(np.zeros((3, 4)), np.zeros((3, 4)))
    with pytest.raises(ngvi.NgviError, match="`gradients` is absent") as e:
        optimizer.tell(np.zeros((3, 4)))
    assert e.value.status_name == "null_pointer"
    # The batch is being fitted: it can be read, not changed.
    assert q.mean.shape == (3, 2)
    with pytest.raises(ngvi.NgviError, match="ngvi_optimizer") as e:
        q.set_moments(np.zeros((3, 2)), np.stack([np.eye(2)] * 3))
    assert e.value.status_name == "invalid_operation"
    optimizer.tell(np.zeros((3, 4)), np.zeros((3, 4, 2)))  # the refused tells left the request pending
    optimizer.close()
    assert q.set_moments(np.zeros((3, 2)), np.stack([np.eye(2)] * 3)).tolist() == [0, 0, 0]


def test_non_finite_outputs_fail_only_their_distribution_and_callback_errors_propagate():
    q = ngvi.Batch(3, 1)
    optimizer = ngvi.Optimizer(q, provides="gradient", prior=ngvi.Prior.isotropic(1.0), max_steps=5)
    while not optimizer.done:
        ask = optimizer.ask()
        z = ask.points[..., 0]
        gradients = z[..., None].copy()
        gradients[ask.distributions == 1] = np.nan
        optimizer.tell(0.5 * z**2, gradients)
    summary = optimizer.summary()
    assert [ngvi.FIT_STATUSES[s] for s in summary.status] == ["step_budget", "non_finite_gradient", "step_budget"]
    assert np.isfinite(q.mean).all() and np.isfinite(summary.elbo[[0, 2]]).all()

    def stop(p):
        raise RuntimeError("stop here")
    optimizer = ngvi.Optimizer(ngvi.Batch(2, 1), provides="gradient", progress=stop)
    ask = optimizer.ask()
    with pytest.raises(RuntimeError, match="stop here"):
        optimizer.tell(np.zeros((2, 16)), np.zeros((2, 16, 1)))
    assert optimizer.ask().final  # the callback stopped the steps
