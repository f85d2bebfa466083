"""posteriordb nes2000-nes: partyid7 ~ normal(b1 + b2 real_ideo + b3 race_adj + b4..b6 age groups
+ b7 educ1 + b8 gender + b9 income, sigma), flat b and sigma."""
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm

import ngvi
from reference import compare, flat, load, regression_posterior

data = load("nes2000-nes")
age = [(data["age_discrete"] == k).astype(np.float64) for k in (2, 3, 4)]
columns = [np.ones_like(data["partyid7"]), data["real_ideo"], data["race_adj"], *age, data["educ1"],
           data["gender"], data["income"]]
X, y = np.column_stack(columns), data["partyid7"]


def log_density(p, X, y):
    return jnp.sum(norm.logpdf(y, X @ p["beta"], p["sigma"]))


space = ngvi.Parameters(beta=9, sigma=ngvi.positive())
q = ngvi.Batch(1, space.dimension)
print(ngvi.fit_log_density(log_density, q, data=(X[None], y[None]), parameters=space, provides="hessian", seed=1))
compare(q, regression_posterior(X, y, flat), [f"b{k}" for k in range(1, 10)] + ["log sigma"])
