"""posteriordb eight_schools-eight_schools_noncentered: y_j ~ normal(mu + tau theta_j, sigma_j),
theta_j ~ normal(0, 1), mu ~ normal(0, 5), tau ~ half-Cauchy(0, 5)."""
import jax.numpy as jnp
from jax.scipy.stats import cauchy, norm

import ngvi
from reference import compare, eight_schools_posterior, load

data = load("eight_schools-eight_schools_noncentered")
y, sigma = data["y"], data["sigma"]


def log_density(p, y, sigma):
    return (jnp.sum(norm.logpdf(y, p["mu"] + p["tau"] * p["theta"], sigma)) + jnp.sum(norm.logpdf(p["theta"]))
            + norm.logpdf(p["mu"], 0, 5) + cauchy.logpdf(p["tau"], 0, 5))


space = ngvi.Parameters(theta=8, mu=(), tau=ngvi.positive())
q = ngvi.Batch(1, space.dimension)
print(ngvi.fit_log_density(log_density, q, data=(y[None], sigma[None]), parameters=space, provides="hessian", seed=1))

exact = eight_schools_posterior(y, sigma, mu_sd=5.0, tau_scale=5.0)
# log tau: its posterior is skewed, so the best Gaussian (KL(q || p)) misses its moments: fits ended 0.3 sd
# off and 26% narrow with a constant step, 0.08 sd off and 39% narrow with the averaged defaults. That
# optimum is not computed independently here (issue 16): log tau is checked only loosely.
compare(q, exact, [f"theta[{j}]" for j in range(8)] + ["mu", "log tau"],
        mean_tolerance=[0.1] * 9 + [0.4], sd_tolerance=[0.05] * 9 + [0.45])
