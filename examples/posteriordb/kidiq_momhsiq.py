"""posteriordb kidiq-kidscore_momhsiq: kid_score ~ normal(b1 + b2 mom_hs + b3 mom_iq, sigma),
flat b, sigma ~ half-Cauchy(0, 2.5)."""
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import cauchy, norm

import ngvi
from reference import compare, half_cauchy, load, regression_posterior

data = load("kidiq-kidscore_momhsiq")
X = np.column_stack([np.ones_like(data["mom_hs"]), data["mom_hs"], data["mom_iq"]])
y = data["kid_score"]


def log_density(p, X, y):
    return jnp.sum(norm.logpdf(y, X @ p["beta"], p["sigma"])) + cauchy.logpdf(p["sigma"], 0, 2.5)


space = ngvi.Parameters(beta=3, sigma=ngvi.positive())
q = ngvi.Batch(1, space.dimension)
print(ngvi.fit_log_density(log_density, q, data=(X[None], y[None]), parameters=space, provides="hessian", seed=1))
compare(q, regression_posterior(X, y, half_cauchy(2.5)), ["b1", "b2", "b3", "log sigma"])
