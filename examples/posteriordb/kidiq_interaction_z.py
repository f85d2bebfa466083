"""posteriordb kidiq_with_mom_work-kidscore_interaction_z: kid_score ~ normal(b1 + b2 z_hs + b3 z_iq
+ b4 z_hs z_iq, sigma) on inputs standardized by two sds, flat b and sigma."""
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm

import ngvi
from reference import compare, flat, load, regression_posterior

data = load("kidiq_with_mom_work-kidscore_interaction_z")
hs, iq = ((v - v.mean()) / (2 * v.std(ddof=1)) for v in (data["mom_hs"], data["mom_iq"]))
X, y = np.column_stack([np.ones_like(hs), hs, iq, hs * iq]), data["kid_score"]


def log_density(p, X, y):
    return jnp.sum(norm.logpdf(y, X @ p["beta"], p["sigma"]))


space = ngvi.Parameters(beta=4, sigma=ngvi.positive())
q = ngvi.Batch(1, space.dimension)
print(ngvi.fit_log_density(log_density, q, data=(X[None], y[None]), parameters=space, provides="hessian", seed=1))
compare(q, regression_posterior(X, y, flat), ["b1", "b2", "b3", "b4", "log sigma"])
