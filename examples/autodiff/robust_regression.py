"""Robust regression on a batch: 100 data sets, each 40 points of a line with 10% gross outliers,
y ~ student_t(4, a + b x, sigma), a, b ~ normal(0, 10), sigma ~ half-normal(0, 5); checked on a few
problems against the exact posterior by quadrature on a grid."""
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm, t

import ngvi
from grid import grid_posterior

rng = np.random.default_rng(7)
B, N = 100, 40
x = rng.uniform(-2, 2, size=(B, N))
y = 1.0 + 2.0 * x + 0.5 * rng.normal(size=(B, N))
y[:, : N // 10] += rng.choice([-1, 1], size=(B, N // 10)) * rng.uniform(5, 15, size=(B, N // 10))  # outliers


def log_density(p, x, y):
    return (jnp.sum(t.logpdf(y, 4, p["a"] + p["b"] * x, p["sigma"])) + norm.logpdf(p["a"], 0, 10)
            + norm.logpdf(p["b"], 0, 10) + norm.logpdf(p["sigma"], 0, 5))


space = ngvi.Parameters(a=(), b=(), sigma=ngvi.positive())
q = ngvi.Batch(B, space.dimension)
print(ngvi.fit_log_density(log_density, q, data=(x, y), parameters=space, provides="hessian", seed=1))


def exact_log_density(z, x, y):  # in (a, b, log sigma), NumPy, with the Jacobian of sigma = e^u
    a, b, u = z[..., 0, None], z[..., 1, None], z[..., 2, None]
    r = (y - a - b * x) / np.exp(u)
    return (-2.5 * np.log1p(r * r / 4).sum(-1) - N * z[..., 2] - (z[..., 0] ** 2 + z[..., 1] ** 2) / 200
            - np.exp(2 * z[..., 2]) / 50 + z[..., 2])


for problem in range(3):
    sd = np.sqrt(np.diagonal(q.covariance[problem]))
    mean, exact_sd = grid_posterior(lambda z: exact_log_density(z, x[problem], y[problem]),
                                    q.mean[problem] - 10 * sd, q.mean[problem] + 10 * sd, points=81)
    print(f"problem {problem}: fit mean {q.mean[problem]}, exact {mean}; fit sd {sd}, exact {exact_sd}")
    assert np.all(np.abs(q.mean[problem] - mean) <= 0.15 * exact_sd) and np.allclose(sd, exact_sd, rtol=0.15)
print("agrees with the exact posterior")
