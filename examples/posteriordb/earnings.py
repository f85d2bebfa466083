"""posteriordb earnings-logearn_interaction_z: log(earn) ~ normal(b1 + b2 z_height + b3 male
+ b4 z_height male, sigma), height standardized, flat b and sigma."""
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm

import ngvi
from reference import compare, flat, load, regression_posterior

data = load("earnings-logearn_interaction_z")
height, male = data["height"], data["male"]
z = (height - height.mean()) / height.std(ddof=1)
X, y = np.column_stack([np.ones_like(z), z, male, z * male]), np.log(data["earn"])


def log_density(p, X, y):
    return jnp.sum(norm.logpdf(y, X @ p["beta"], p["sigma"]))


space = ngvi.Parameters(beta=4, sigma=ngvi.positive())
q = ngvi.Batch(1, space.dimension)
print(ngvi.fit_log_density(log_density, q, data=(X[None], y[None]), parameters=space, provides="hessian", seed=1))
compare(q, regression_posterior(X, y, flat), ["b1", "b2", "b3", "b4", "log sigma"])
