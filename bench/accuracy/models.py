"""The posteriordb models of the accuracy benchmark: negative log densities f(z) on the unconstrained
scale (scales as logs, Jacobians included) with their gradients, vectorized over points z (S, d), and
reference posterior moments computed independently of ngvi.

Two references per model, both without ngvi and without Monte Carlo. The Gaussian VI optimum, what
a fit must reach (vi_optimum.py: exact expectations by Gauss-Hermite quadrature over the log scale,
and diamonds' intercept, and exact cubature given them). And the posterior moments: every model but
diamonds is Gaussian given its scale (sigma, or tau for eight schools), so the exact conditional
Gaussian moments are integrated over the log scale on a fine grid (trapezoid rule over +-12
posterior sd of the log scale, 4001 nodes; exact to ~1e-8 relative); the gap between the two says
how far from Gaussian the posterior is. The models follow the
Stan programs of posteriordb (Magnusson et al. 2023, github.com/stan-dev/posteriordb) as noted per
model; constants of f are dropped.
"""
import copy
import gzip
import json
import math
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "examples" / "posteriordb" / "data"


def _load(name):
    path = DATA / (name + ".json")
    return json.loads(path.read_text() if path.exists() else gzip.open(str(path) + ".gz", "rt").read())


def _log_student_t(x, nu, location, scale):
    """log student_t(x | nu, location, scale) up to a constant, and its derivative in x."""
    v = (x - location) / scale
    return -(nu + 1) / 2 * np.log1p(v**2 / nu), -(nu + 1) * v / (scale * (nu + v**2))


class LinearRegression:
    """y ~ N(X beta, sigma), beta ~ N(m0, diag(s0^2)) (s0 = inf: flat), and a prior on sigma > 0
    (`sigma_prior`: "flat", ("half_normal", s), ("half_cauchy", s) or ("half_t", nu, s)); z = (beta,
    log sigma). `t_prior` = (i, nu, location, scale) puts a Student-t prior on beta_i instead (then
    beta_i is not Gaussian given sigma: the reference integrates over it too)."""

    def __init__(self, name, X, y, prior_mean=None, prior_sd=None, sigma_prior="flat", t_prior=None):
        self.name, self.X, self.y = name, np.asarray(X, float), np.asarray(y, float)
        self.N, self.p = self.X.shape
        self.d = self.p + 1
        sd = np.full(self.p, np.inf) if prior_sd is None else np.asarray(prior_sd, float)
        self.P0 = np.where(np.isfinite(sd), 1 / sd**2, 0.0)  # prior precision (diagonal)
        self.m0 = np.zeros(self.p) if prior_mean is None else np.asarray(prior_mean, float)
        self.sigma_prior, self.t_prior = sigma_prior, t_prior
        self.scale_index = self.p
        # The coordinates given which the log density is quadratic in the others (vi_optimum.py).
        self.nonlinear = (self.p,) if t_prior is None else (t_prior[0], self.p)
        self.XtX, self.Xty, self.yty = self.X.T @ self.X, self.X.T @ self.y, self.y @ self.y
        self.least_squares = np.linalg.lstsq(self.X, self.y, rcond=None)[0]
        residual = self.y - self.X @ self.least_squares
        self.rss0 = residual @ residual

    def _log_prior_sigma(self, sigma):  # log p(sigma) and its derivative in log sigma
        if self.sigma_prior == "flat":
            return 0.0 * sigma, 0.0 * sigma
        if self.sigma_prior[0] == "half_normal":
            s = self.sigma_prior[1]
            return -0.5 * (sigma / s) ** 2, -((sigma / s) ** 2)
        if self.sigma_prior[0] == "half_cauchy":
            s = self.sigma_prior[1]
            return -np.log1p((sigma / s) ** 2), -2 * (sigma / s) ** 2 / (1 + (sigma / s) ** 2)
        _, nu, s = self.sigma_prior
        value, derivative = _log_student_t(sigma, nu, 0.0, s)
        return value, derivative * sigma

    def value_and_gradient(self, z):
        beta, log_sigma = z[:, :self.p], z[:, self.p]
        sigma2 = np.exp(2 * log_sigma)
        # |y - X beta|^2 = rss0 + (beta - b0)^T X^T X (beta - b0) about the least-squares b0 (X^T r0 = 0):
        # O(p^2) a point, and no cancellation.
        shifted = (beta - self.least_squares) @ self.XtX
        rss = self.rss0 + np.einsum("sp,sp->s", shifted, beta - self.least_squares)
        prior, dprior = self._log_prior_sigma(np.exp(log_sigma))
        db = beta - self.m0
        f = self.N * log_sigma + rss / (2 * sigma2) + 0.5 * (db**2 * self.P0).sum(1) - prior - log_sigma
        g = np.empty_like(z)
        g[:, :self.p] = shifted / sigma2[:, None] + db * self.P0
        g[:, self.p] = self.N - rss / sigma2 - dprior - 1
        if self.t_prior is not None:
            i, nu, location, scale = self.t_prior
            value, derivative = _log_student_t(z[:, i], nu, location, scale)
            f -= value
            g[:, i] -= derivative
        return f, g

    def conditional(self, log_sigma):
        if self.t_prior is not None:
            raise NotImplementedError("a Student-t coefficient: no conditional Gaussian given sigma")
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
        self.nonlinear = (1,)

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
    scale_index = model.scale_index
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


def references(model):
    """The reference moments of a model: (the Gaussian VI optimum's mean and covariance, the posterior
    mean and covariance). The optimum is found by vi_optimum.py from the posterior moments; for a
    model with a Student-t coefficient (diamonds) the posterior moments are not computed (None) and
    the optimum starts from those of the model with that coefficient's prior flat."""
    import vi_optimum
    if getattr(model, "t_prior", None) is None:
        posterior = reference_moments(model)
        start = posterior
    else:
        flat = copy.copy(model)
        flat.t_prior, flat.nonlinear = None, (model.p,)
        posterior, start = None, reference_moments(flat)
    return vi_optimum.gaussian_vi_optimum(model, *start), posterior


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
    kw = _load("kidiq_with_mom_work-kidscore_interaction_z")
    hs, iq = ((v - v.mean()) / (2 * v.std(ddof=1)) for v in (np.array(kw["mom_hs"], float), np.array(kw["mom_iq"], float)))
    models.append(LinearRegression("kidiq_with_mom_work-kidscore_interaction_z",
                                   np.column_stack([np.ones_like(hs), hs, iq, hs * iq]), kw["kid_score"]))
    ms = _load("mesquite-logmesquite")
    logs = [np.log(np.array(ms[k], float)) for k in ("diam1", "diam2", "canopy_height", "total_height", "density")]
    models.append(LinearRegression("mesquite-logmesquite", np.column_stack([np.ones(ms["N"])] + logs + [ms["group"]]),
                                   np.log(np.array(ms["weight"], float))))
    ak = _load("arK-arK")
    series, K = np.array(ak["y"], float), ak["K"]
    T = len(series)
    X = np.column_stack([np.ones(T - K)] + [series[K - k:T - k] for k in range(1, K + 1)])  # lags 1..K
    models.append(LinearRegression("arK-arK", X, series[K:], prior_sd=np.full(K + 1, 10.0),
                                   sigma_prior=("half_cauchy", 2.5)))
    ns = _load("nes2000-nes")
    age = [(np.array(ns["age_discrete"]) == k).astype(float) for k in (2, 3, 4)]
    X = np.column_stack([np.ones(ns["N"]), ns["real_ideo"], ns["race_adj"], *age, ns["educ1"], ns["gender"],
                         ns["income"]])
    models.append(LinearRegression("nes2000-nes", X, ns["partyid7"]))
    models.append(EightSchools())
    # brms' diamonds: Y ~ N(Intercept + Xc b, sigma) on the centred columns Xc, b ~ N(0, 1),
    # Intercept ~ student_t(3, 8, 10), sigma ~ half-student_t(3, 0, 10); z = (b, Intercept, log sigma).
    dm = _load("diamonds-diamonds")
    Xc = np.array(dm["X"], float)[:, 1:]
    Xc -= Xc.mean(0)
    K = Xc.shape[1]
    models.append(LinearRegression("diamonds-diamonds", np.column_stack([Xc, np.ones(dm["N"])]), dm["Y"],
                                   prior_sd=np.r_[np.ones(K), np.inf], sigma_prior=("half_t", 3, 10.0),
                                   t_prior=(K, 3, 8.0, 10.0)))
    return models
