"""Per-user hierarchical logistic regression: 300 users, each with 5 to 60 clicks (ragged, padded with
a mask), p(click) = sigmoid(w0 + w1 x), w ~ normal(0, tau^2 I) with the user's own scale tau ~
half-normal(0, 2) learned from the user's data; checked on a few users against the exact posterior of
(w, log tau) by quadrature on a grid."""
import jax.numpy as jnp
import numpy as np
from jax.nn import log_sigmoid
from jax.scipy.stats import norm

import ngvi
from grid import grid_posterior

rng = np.random.default_rng(3)
B, most = 300, 60
rows = rng.integers(5, most + 1, size=B)
mask = (np.arange(most) < rows[:, None]).astype(np.float64)  # row n of user b is real if n < rows[b]
x = rng.normal(size=(B, most))
w_true = rng.normal(size=(B, 2)) * rng.uniform(0.2, 2.0, size=(B, 1))
y = (rng.random((B, most)) < 1 / (1 + np.exp(-(w_true[:, :1] + w_true[:, 1:] * x)))).astype(np.float64)


def log_density(p, x, y, mask):
    logit = p["w"][0] + p["w"][1] * x
    return (jnp.sum(mask * (y * log_sigmoid(logit) + (1 - y) * log_sigmoid(-logit)))
            + jnp.sum(norm.logpdf(p["w"], 0, p["tau"])) + norm.logpdf(p["tau"], 0, 2))


space = ngvi.Parameters(w=2, tau=ngvi.positive())
q = ngvi.Batch(B, space.dimension)
print(ngvi.fit_log_density(log_density, q, data=(x, y, mask), parameters=space, provides="hessian", seed=1))


def exact_log_density(v, x, y, mask):
    """In the coordinates (v, u) = (w / tau, log tau), where the funnel of small tau is straight: the
    grid resolves it. NumPy, with the Jacobian of (v, u) -> (w, tau), tau^2 * tau."""
    u = v[..., 2]
    logit = np.exp(u)[..., None] * (v[..., :1] + v[..., 1:2] * x)
    log_likelihood = (mask * (y * logit - np.logaddexp(0, logit))).sum(-1)
    return log_likelihood - (v[..., 0] ** 2 + v[..., 1] ** 2) / 2 - np.exp(2 * u) / 8 + u


def to_fitted(v):  # (v, u) -> (w, u), the fitted coordinates
    return np.concatenate([np.exp(v[..., 2:]) * v[..., :2], v[..., 2:]], -1)


for user in np.argsort(rows)[[0, B // 2, -1]]:  # the fewest clicks, a median user, the most
    sd = np.sqrt(np.diagonal(q.covariance[user]))
    mean, exact_sd = grid_posterior(lambda v: exact_log_density(v, x[user], y[user], mask[user]),
                                    [-7, -7, -15], [7, 7, 4], points=101, transform=to_fitted)
    print(f"user {user} ({rows[user]} clicks): fit mean {q.mean[user]}, exact {mean}; fit sd {sd}, exact {exact_sd}")
    # The posterior is a funnel in (w, log tau): the Gaussian closest in KL(q || p) is narrower than it,
    # most in log tau and for users with few clicks, while the means of w stay close.
    error = np.abs(q.mean[user] - mean) / exact_sd
    assert np.all(error[:2] <= 0.25) and error[2] <= 0.5 and np.all((sd > 0.4 * exact_sd) & (sd < 1.1 * exact_sd))
print("agrees with the exact posterior")
