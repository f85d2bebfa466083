"""posteriordb kilpisjarvi_mod-kilpisjarvi: y ~ normal(alpha + beta x, sigma) with x the year,
alpha ~ normal(pmualpha, psalpha), beta ~ normal(pmubeta, psbeta), flat sigma."""
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm

import ngvi
from reference import compare, flat, load, regression_posterior

data = load("kilpisjarvi_mod-kilpisjarvi")
X, y = np.column_stack([np.ones_like(data["x"]), data["x"]]), data["y"]
prior_mean, prior_sd = np.array([data["pmualpha"], data["pmubeta"]]), np.array([data["psalpha"], data["psbeta"]])


def log_density(p, X, y):
    return jnp.sum(norm.logpdf(y, X @ p["beta"], p["sigma"])) + jnp.sum(norm.logpdf(p["beta"], prior_mean, prior_sd))


space = ngvi.Parameters(beta=2, sigma=ngvi.positive())
q = ngvi.Batch(1, space.dimension)
print(ngvi.fit_log_density(log_density, q, data=(X[None], y[None]), parameters=space, provides="hessian", seed=1))
compare(q, regression_posterior(X, y, flat, prior_mean, prior_sd), ["alpha", "beta", "log sigma"])
