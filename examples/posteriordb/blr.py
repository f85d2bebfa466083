"""posteriordb sblrc-blr and sblri-blr, one batch of two problems: y ~ normal(X beta, sigma),
beta ~ normal(0, 10), sigma ~ half-normal(0, 10)."""
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm

import ngvi
from reference import compare, half_normal, load, regression_posterior

sets = [load(name) for name in ("sblrc-blr", "sblri-blr")]
X, y = np.stack([s["X"] for s in sets]), np.stack([s["y"] for s in sets])  # (2, 100, 5), (2, 100)


def log_density(p, X, y):
    return (jnp.sum(norm.logpdf(y, X @ p["beta"], p["sigma"])) + jnp.sum(norm.logpdf(p["beta"], 0, 10))
            + norm.logpdf(p["sigma"], 0, 10))


space = ngvi.Parameters(beta=5, sigma=ngvi.positive())
q = ngvi.Batch(2, space.dimension)
print(ngvi.fit_log_density(log_density, q, data=(X, y), parameters=space, provides="hessian", seed=1))
for b in range(2):
    exact = regression_posterior(X[b], y[b], half_normal(10.0), prior_sd=10.0)
    compare(q, exact, [f"beta[{k}]" for k in range(5)] + ["log sigma"], problem=b)
