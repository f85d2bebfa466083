"""The posteriordb models of the accuracy benchmark: negative log densities f(z) on the unconstrained
scale (scales as logs, Jacobians included) with their gradients, vectorized over points z (S, d), and
reference posterior moments computed independently of ngvi.

Every model is Gaussian given its scale (sigma, or tau for eight schools): the reference integrates
the exact conditional Gaussian moments over the log scale on a fine grid (trapezoid rule over
+-12 posterior sd of the log scale, 4001 nodes; exact to ~1e-8 relative). The models follow the
Stan programs of posteriordb (Magnusson et al. 2023, github.com/stan-dev/posteriordb) as noted per
model; constants of f are dropped.
"""
import json
import math
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "posteriordb"


def _load(name):
    return json.loads((DATA / name / "data.json").read_text())


class LinearRegression:
    """y ~ N(X beta, sigma), beta ~ N(m0, diag(s0^2)) (s0 = inf: flat), and a prior on sigma > 0
    (`sigma_prior`: "flat", or ("half_normal", s)); z = (beta, log sigma)."""

    def __init__(self, name, X, y, prior_mean=None, prior_sd=None, sigma_prior="flat"):
        self.name, self.X, self.y = name, np.asarray(X, float), np.asarray(y, float)
        self.N, self.p = self.X.shape
        self.d = self.p + 1
        sd = np.full(self.p, np.inf) if prior_sd is None else np.asarray(prior_sd, float)
        self.P0 = np.where(np.isfinite(sd), 1 / sd**2, 0.0)  # prior precision (diagonal)
        self.m0 = np.zeros(self.p) if prior_mean is None else np.asarray(prior_mean, float)
        self.sigma_prior = sigma_prior
        self.XtX, self.Xty, self.yty = self.X.T @ self.X, self.X.T @ self.y, self.y @ self.y

    def _log_prior_sigma(self, sigma):  # log p(sigma) and its derivative in log sigma
        if self.sigma_prior == "flat":
            return 0.0 * sigma, 0.0 * sigma
        _, s = self.sigma_prior
        return -0.5 * (sigma / s) ** 2, -((sigma / s) ** 2)

    def value_and_gradient(self, z):
        beta, log_sigma = z[:, :self.p], z[:, self.p]
        sigma2 = np.exp(2 * log_sigma)
        r = self.y[None, :] - beta @ self.X.T
        rss = np.einsum("sn,sn->s", r, r)
        prior, dprior = self._log_prior_sigma(np.exp(log_sigma))
        db = beta - self.m0
        f = self.N * log_sigma + rss / (2 * sigma2) + 0.5 * (db**2 * self.P0).sum(1) - prior - log_sigma
        g = np.empty_like(z)
        g[:, :self.p] = -(r @ self.X) / sigma2[:, None] + db * self.P0
        g[:, self.p] = self.N - rss / sigma2 - dprior - 1
        return f, g

    def conditional(self, log_sigma):
        """beta | sigma, y ~ N(m, V) and log p(log sigma | y) up to a constant."""
        s2 = math.exp(2 * log_sigma)
        precision = self.XtX / s2 + np.diag(self.P0)
        V = np.linalg.inv(precision)
        m = V @ (self.Xty / s2 + self.P0 * self.m0)
        _, logdet = np.linalg.slogdet(precision)
        quad = self.yty / s2 + (self.P0 * self.m0**2).sum() - m @ precision @ m
        prior, _ = self._log_prior_sigma(math.exp(log_sigma))
        return m, V, -self.N * log_sigma - 0.5 * quad - 0.5 * logdet + prior + log_sigma

    def mode_of_log_scale(self):
        beta = np.linalg.lstsq(self.X, self.y, rcond=None)[0]
        return math.log(max(np.linalg.norm(self.y - self.X @ beta) / math.sqrt(self.N), 1e-8))


class EightSchools:
    """eight_schools_noncentered: mu ~ N(0, 5), tau ~ half-Cauchy(0, 5), theta_tilde_j ~ N(0, 1),
    y_j ~ N(mu + tau theta_tilde_j, sigma_j); z = (mu, log tau, theta_tilde_1..8)."""

    def __init__(self):
        data = _load("eight_schools-eight_schools_noncentered")
        self.name, self.y, self.sigma = "eight_schools_noncentered", np.array(data["y"], float), np.array(
            data["sigma"], float)
        self.J = len(self.y)
        self.d = self.J + 2

    def value_and_gradient(self, z):
        mu, log_tau, tt = z[:, 0], z[:, 1], z[:, 2:]
        tau = np.exp(log_tau)
        r = (self.y[None, :] - mu[:, None] - tau[:, None] * tt) / self.sigma**2
        resid2 = ((self.y[None, :] - mu[:, None] - tau[:, None] * tt) ** 2 / self.sigma**2).sum(1)
        f = 0.5 * resid2 + mu**2 / 50 + 0.5 * (tt**2).sum(1) + np.log1p((tau / 5) ** 2) - log_tau
        g = np.empty_like(z)
        g[:, 0] = -r.sum(1) + mu / 25
        g[:, 1] = -(r * tt).sum(1) * tau + 2 * (tau / 5) ** 2 / (1 + (tau / 5) ** 2) - 1
        g[:, 2:] = -r * tau[:, None] + tt
        return f, g

    def conditional(self, log_tau):
        """(mu, theta_tilde) | tau, y ~ N(m, V), in the order of z without log tau."""
        tau = math.exp(log_tau)
        A = np.hstack([np.ones((self.J, 1)), tau * np.eye(self.J)])
        W = 1 / self.sigma**2
        P0 = np.diag(np.r_[1 / 25, np.ones(self.J)])
        precision = A.T @ (W[:, None] * A) + P0
        V = np.linalg.inv(precision)
        b = A.T @ (W * self.y)
        m = V @ b
        _, logdet = np.linalg.slogdet(precision)
        log_marginal = -0.5 * ((W * self.y**2).sum() - m @ precision @ m) - 0.5 * logdet
        return m, V, log_marginal - math.log1p((tau / 5) ** 2) + log_tau

    def mode_of_log_scale(self):
        return math.log(3.0)

    scale_index = 1


def reference_moments(model):
    """Posterior mean (d) and covariance (d, d) of z by quadrature over the log scale."""
    scale_index = getattr(model, "scale_index", model.d - 1)
    center = model.mode_of_log_scale()
    # Locate the bulk of log p(s | y), then integrate over +-12 sd of it.
    grid = np.linspace(center - 15, center + 15, 3001)
    logp = np.array([model.conditional(s)[2] for s in grid])
    w = np.exp(logp - logp.max())
    mean_s = (w * grid).sum() / w.sum()
    sd_s = math.sqrt((w * (grid - mean_s) ** 2).sum() / w.sum())
    grid = np.linspace(mean_s - 12 * sd_s, mean_s + 12 * sd_s, 4001)
    parts = [model.conditional(s) for s in grid]
    logp = np.array([p[2] for p in parts])
    w = np.exp(logp - logp.max())
    w[0] *= 0.5
    w[-1] *= 0.5
    w /= w.sum()
    others = [i for i in range(model.d) if i != scale_index]
    first = np.zeros(model.d)
    second = np.zeros((model.d, model.d))
    for wk, s, (m, V, _) in zip(w, grid, parts):
        z = np.empty(model.d)
        z[others], z[scale_index] = m, s
        block = np.zeros((model.d, model.d))
        block[np.ix_(others, others)] = V
        first += wk * z
        second += wk * (block + np.outer(z, z))
    return first, second - np.outer(first, first)


def posteriordb_models():
    """The benchmark's models, smallest first."""
    models = []
    sblr = _load("sblri-blr")
    models.append(LinearRegression("sblri-blr", sblr["X"], sblr["y"], prior_sd=np.full(5, 10.0),
                                   sigma_prior=("half_normal", 10.0)))
    sblr = _load("sblrc-blr")
    models.append(LinearRegression("sblrc-blr", sblr["X"], sblr["y"], prior_sd=np.full(5, 10.0),
                                   sigma_prior=("half_normal", 10.0)))
    k = _load("kidiq-kidscore_momhsiq")
    X = np.column_stack([np.ones(k["N"]), k["mom_hs"], k["mom_iq"]])
    models.append(LinearRegression("kidiq-kidscore_momhsiq", X, k["kid_score"]))
    hs, iq = np.array(k["mom_hs"], float), np.array(k["mom_iq"], float)
    X = np.column_stack([np.ones(k["N"]), hs, iq, hs * iq])
    models.append(LinearRegression("kidiq-kidscore_interaction", X, k["kid_score"]))
    kp = _load("kilpisjarvi_mod-kilpisjarvi")
    X = np.column_stack([np.ones(kp["N"]), kp["x"]])
    models.append(LinearRegression("kilpisjarvi_mod-kilpisjarvi", X, kp["y"], prior_mean=[kp["pmualpha"], kp["pmubeta"]],
                                   prior_sd=[kp["psalpha"], kp["psbeta"]]))
    e = _load("earnings-logearn_interaction_z")
    height, male = np.array(e["height"], float), np.array(e["male"], float)
    zh = (height - height.mean()) / height.std()
    X = np.column_stack([np.ones(e["N"]), zh, male, zh * male])
    models.append(LinearRegression("earnings-logearn_interaction_z", X, np.log(np.array(e["earn"], float))))
    models.append(EightSchools())
    return models
