"""posteriordb arK-arK: an autoregression of order K = 5, y_t ~ normal(alpha + sum_k beta_k y_{t-k},
sigma), alpha, beta ~ normal(0, 10), sigma ~ half-Cauchy(0, 2.5)."""
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import cauchy, norm

import ngvi
from reference import compare, half_cauchy, load, regression_posterior

data = load("arK-arK")
series, K = data["y"], int(data["K"])
T = len(series)
X = np.column_stack([np.ones(T - K)] + [series[K - k:T - k] for k in range(1, K + 1)])  # lags 1..K
y = series[K:]


def log_density(p, X, y):
    return (jnp.sum(norm.logpdf(y, X @ p["beta"], p["sigma"])) + jnp.sum(norm.logpdf(p["beta"], 0, 10))
            + cauchy.logpdf(p["sigma"], 0, 2.5))


space = ngvi.Parameters(beta=K + 1, sigma=ngvi.positive())
q = ngvi.Batch(1, space.dimension)
print(ngvi.fit_log_density(log_density, q, data=(X[None], y[None]), parameters=space, provides="hessian", seed=1))
compare(q, regression_posterior(X, y, half_cauchy(2.5), prior_sd=10.0),
        ["alpha"] + [f"beta[{k}]" for k in range(1, K + 1)] + ["log sigma"])
