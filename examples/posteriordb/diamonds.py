"""posteriordb diamonds-diamonds (brms): Y ~ normal(Intercept + Xc b, sigma) on the centred columns Xc
of X without its intercept, b ~ normal(0, 1), Intercept ~ student_t(3, 8, 10), sigma ~ half-student_t(3, 0, 10)."""
import jax.numpy as jnp
from jax.scipy.stats import norm, t

import ngvi
from reference import compare, diamonds_posterior, load

data = load("diamonds-diamonds")
Xc, Y = data["X"][:, 1:] - data["X"][:, 1:].mean(0), data["Y"]


def log_density(p, Xc, Y):
    return (jnp.sum(norm.logpdf(Y, p["Intercept"] + Xc @ p["b"], p["sigma"])) + jnp.sum(norm.logpdf(p["b"]))
            + t.logpdf(p["Intercept"], 3, 8, 10) + t.logpdf(p["sigma"], 3, 0, 10))


space = ngvi.Parameters(b=24, Intercept=(), sigma=ngvi.positive())
q = ngvi.Batch(1, space.dimension)
print(ngvi.fit_log_density(log_density, q, data=(Xc[None], Y[None]), parameters=space, provides="hessian", seed=1))
compare(q, diamonds_posterior(Xc, Y), [f"b[{k}]" for k in range(1, 25)] + ["Intercept", "log sigma"])
