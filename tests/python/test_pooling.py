"""ngvi.fit_pooled against the closed-form empirical-Bayes prior of linear-Gaussian problems with orthogonal
designs (X_b^T X_b = n I): the least-squares estimates beta_b ~ N(m, C + s^2/n I) marginally, so the
marginal likelihood is maximal at m = mean(beta), C = cov(beta) - s^2/n I."""
import numpy as np
import pytest

import ngvi


def orthogonal_problems(B=30, d=2, n=10, noise_sd=0.5, seed=3):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=d)
    C_factor = np.linalg.cholesky(np.array([[2.0, 0.5], [0.5, 1.0]]))
    x = np.empty((B, n, d))
    y = np.empty((B, n))
    for b in range(B):
        q, _ = np.linalg.qr(rng.normal(size=(n, d)))
        x[b] = np.sqrt(n) * q
        y[b] = x[b] @ (m + C_factor @ rng.normal(size=d)) + noise_sd * rng.normal(size=n)
    beta = np.einsum("bnd,bn->bd", x, y) / n
    mean = beta.mean(axis=0)
    covariance = (beta - mean).T @ (beta - mean) / B - noise_sd**2 / n * np.eye(d)
    return x, y, noise_sd, mean, covariance


def test_fit_pooled_reaches_the_empirical_bayes_prior():
    x, y, noise_sd, mean, covariance = orthogonal_problems()
    assert np.all(np.linalg.eigvalsh(covariance) > 0.1)  # an interior maximum
    q = ngvi.Batch(*x.shape[::2])
    result = ngvi.fit_pooled(ngvi.linear(x, y, noise_sd=noise_sd), q, {"tolerance": 1e-15},
                             estimator="quadrature", rule="blr", step_size=1.0, num_threads=1)
    assert result.converged and result.summary.failures == 0
    np.testing.assert_allclose(result.prior_mean, mean, atol=1e-8)
    np.testing.assert_allclose(np.linalg.inv(result.prior_precision), covariance, atol=1e-8)
    assert np.all(np.diff(result.elbo) >= -1e-9 * np.abs(result.elbo[1:]))


def test_fit_pooled_rejects_unknown_and_invalid_pooling_options():
    x, y, noise_sd, _, _ = orthogonal_problems(B=3)
    model, q = ngvi.linear(x, y, noise_sd=noise_sd), ngvi.Batch(3, 2)
    with pytest.raises(TypeError, match="hyperprior"):
        ngvi.fit_pooled(model, q, {"hyperprior": 1.0})
    with pytest.raises(ngvi.NgviError, match=r"pooling.max_rounds = 0"):
        ngvi.fit_pooled(model, q, {"max_rounds": 0})


def test_online_rounds_give_the_closed_form_posterior_with_forgetting():
    rng = np.random.default_rng(5)
    B, d, noise_sd, forgetting = 4, 2, 0.8, 0.7
    chunks = [(rng.normal(size=(B, n, d)), rng.normal(size=(B, n))) for n in (3, 5)]
    q = ngvi.Batch(B, d)  # N(0, I)
    precision, eta = np.broadcast_to(np.eye(d), (B, d, d)), np.zeros((B, d))
    for x, y in chunks:
        summary = ngvi.fit_online_round(ngvi.linear(x, y, noise_sd=noise_sd), q, forgetting, estimator="quadrature",
                                        rule="blr", step_size=1.0, num_threads=1)
        assert summary.failures == 0
        # Bayesian linear regression, round by round, with the old precision scaled by the forgetting factor.
        precision = forgetting * precision + np.einsum("bni,bnj->bij", x, x) / noise_sd**2
        eta = forgetting * eta + np.einsum("bni,bn->bi", x, y) / noise_sd**2
    np.testing.assert_allclose(q.precision, precision, rtol=1e-10)
    np.testing.assert_allclose(q.mean, np.linalg.solve(precision, eta[..., None])[..., 0], rtol=1e-9, atol=1e-12)
    with pytest.raises(ngvi.NgviError, match="forgetting"):
        ngvi.fit_online_round(ngvi.linear(*chunks[0]), q, 1.5)
