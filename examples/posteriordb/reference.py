"""What the posteriordb examples check against: the exact posterior moments of models that are linear
and Gaussian given one positive scale (a regression given its noise sigma, eight schools given tau),
by conjugate algebra given the scale and quadrature over its logarithm. NumPy only: independent of
ngvi and of the JAX log densities the examples fit.

    exact = regression_posterior(X, y, log_prior_sigma, prior_sd=10.0)   # moments of (beta, log sigma)
    compare(q, exact, names)                                             # prints, and asserts
"""
import gzip
import json
import os

import numpy as np

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def load(name):
    """The data set `name` (e.g. "kidiq-kidscore_momhsiq"; data/NAME.json, or .json.gz) as a dict of
    NumPy arrays."""
    path = os.path.join(DATA, name + ".json")
    with (open(path) if os.path.exists(path) else gzip.open(path + ".gz", "rt")) as f:
        return {k: np.asarray(v, dtype=np.float64) for k, v in json.load(f).items()}


def half_cauchy(scale):
    """The log density of a half-Cauchy(0, scale) prior on the scale."""
    return lambda s: np.log(2 / (np.pi * scale)) - np.log1p((s / scale) ** 2)


def half_normal(scale):
    """The log density of a half-normal(0, scale) prior on the scale, up to a constant."""
    return lambda s: -0.5 * (s / scale) ** 2


def flat(s):
    """A flat prior on the scale."""
    return 0.0 * s


def _conditional(likelihood, prior_mean, prior_precision, u):
    """Given u: the Gaussian posterior (mean, covariance) of beta and log p(y | u) up to a constant."""
    gram, projection, sum_of_squares, log_det_noise = likelihood(u)
    precision = gram + prior_precision
    shift = projection + prior_precision @ prior_mean
    mean = np.linalg.solve(precision, shift)
    log_evidence = -log_det_noise - 0.5 * (sum_of_squares - mean @ shift) - 0.5 * np.linalg.slogdet(precision)[1]
    return mean, np.linalg.inv(precision), log_evidence


def scale_mixture_posterior(likelihood, prior_mean, prior_precision, log_prior_u, points=801, scalar=None):
    """The exact mean and standard deviation of (beta, u) when y | beta, u is Gaussian, linear in
    beta, beta ~ N(prior_mean, prior_precision^-1) (a singular precision: flat directions) and u has the
    log density log_prior_u. likelihood(u) -> (X^T W X, X^T W y, y^T W y, log det W^-1/2) with W the
    noise precision given u. scalar(u) -> (log evidence, mean, variance) adds a parameter independent
    of beta given u, placed after beta. Quadrature: a coarse grid finds where the mass of u lies, a
    fine one (trapezoid weights on a uniform grid are uniform) integrates."""
    def weights(grid):
        parts = [_conditional(likelihood, prior_mean, prior_precision, u) for u in grid]
        if scalar is not None:  # beta extended by the independent scalar
            parts = [(np.append(m, s[1]), np.pad(C, (0, 1)) + np.pad([[s[2]]], (len(m), 0)), e + s[0])
                     for (m, C, e), s in zip(parts, map(scalar, grid))]
        log_w = np.array([p[2] for p in parts]) + np.array([log_prior_u(u) for u in grid])
        w = np.exp(log_w - log_w.max())
        return w / w.sum(), parts

    coarse = np.linspace(-15.0, 15.0, 1201)
    w, _ = weights(coarse)
    centre = w @ coarse
    spread = max(np.sqrt(w @ (coarse - centre) ** 2), coarse[1] - coarse[0])
    fine = np.linspace(centre - 12 * spread, centre + 12 * spread, points)
    w, parts = weights(fine)
    means = np.array([p[0] for p in parts])
    second = np.array([p[1] + np.outer(p[0], p[0]) for p in parts])
    mean_beta = w @ means
    var_beta = np.diagonal(np.tensordot(w, second, 1)) - mean_beta ** 2
    mean_u = w @ fine
    var_u = w @ (fine - mean_u) ** 2
    return np.append(mean_beta, mean_u), np.sqrt(np.append(var_beta, var_u))


def regression_posterior(X, y, log_prior_sigma, prior_mean=0.0, prior_sd=None):
    """(mean, sd) of (beta, log sigma) for y ~ N(X beta, sigma^2), beta ~ N(prior_mean, prior_sd^2)
    independently (prior_sd None: flat; scalars or one per coefficient), sigma with the log density
    log_prior_sigma."""
    N, d = X.shape
    gram, projection, sum_of_squares = X.T @ X, X.T @ y, y @ y
    prior_precision = np.zeros((d, d)) if prior_sd is None else np.diag(np.broadcast_to(prior_sd, d) ** -2.0)
    prior_mean = np.broadcast_to(prior_mean, d).astype(np.float64)

    def likelihood(u):
        w = np.exp(-2 * u)
        return w * gram, w * projection, w * sum_of_squares, N * u
    return scale_mixture_posterior(likelihood, prior_mean, prior_precision,
                                   lambda u: log_prior_sigma(np.exp(u)) + u)  # + log-Jacobian of sigma = e^u


def _student_t(x, nu, location, scale):
    """The log density of student_t(nu, location, scale) up to a constant."""
    return -(nu + 1) / 2 * np.log1p(((x - location) / scale) ** 2 / nu)


def diamonds_posterior(Xc, Y):
    """(mean, sd) of (b, Intercept, log sigma) of posteriordb's diamonds: with centred columns the
    intercept and b are independent given sigma, b conjugate (prior N(0, I)) and the intercept, of
    prior student_t(3, 8, 10), integrated on a grid about its likelihood's peak."""
    N, K = Xc.shape
    centred = Y - Y.mean()
    gram, projection, sum_of_squares = Xc.T @ Xc, Xc.T @ centred, centred @ centred

    def likelihood(u):
        w = np.exp(-2 * u)
        return w * gram, w * projection, w * sum_of_squares, N * u

    def intercept(u):  # the factor N(a; mean Y, sigma^2 / N) times the prior, on a grid of a
        sd = np.exp(u) / np.sqrt(N)
        a = Y.mean() + sd * np.linspace(-12, 12, 2001)
        log_f = -0.5 * ((a - Y.mean()) / sd) ** 2 + _student_t(a, 3, 8, 10)
        f = np.exp(log_f - log_f.max())
        mean = f @ a / f.sum()
        return log_f.max() + np.log(f.sum() * (a[1] - a[0]) / sd), mean, f @ (a - mean) ** 2 / f.sum()

    def log_prior_u(u):
        return _student_t(np.exp(u), 3, 0, 10) + u
    return scale_mixture_posterior(likelihood, np.zeros(K), np.eye(K), log_prior_u, scalar=intercept)


def eight_schools_posterior(y, sigma, mu_sd, tau_scale):
    """(mean, sd) of (theta, mu, log tau) for y_j ~ N(mu + tau theta_j, sigma_j^2), theta_j ~ N(0, 1),
    mu ~ N(0, mu_sd^2), tau ~ half-Cauchy(0, tau_scale): given tau, y = [tau I, 1] (theta, mu) + noise."""
    J, w = len(y), sigma ** -2.0

    def likelihood(u):
        X = np.column_stack([np.exp(u) * np.eye(J), np.ones(J)])
        return X.T @ (w[:, None] * X), X.T @ (w * y), y @ (w * y), np.log(sigma).sum()
    return scale_mixture_posterior(likelihood, np.zeros(J + 1), np.diag([1.0] * J + [mu_sd ** -2.0]),
                                   lambda u: half_cauchy(tau_scale)(np.exp(u)) + u)


def compare(q, exact, names, mean_tolerance=0.1, sd_tolerance=0.1, problem=0):
    """Prints the fitted q (its distribution `problem`) beside the exact moments in the fitted
    coordinates, and asserts |mean error| <= mean_tolerance exact sds and |sd / exact sd - 1| <=
    sd_tolerance (scalars, or one per coordinate)."""
    exact_mean, exact_sd = exact
    mean, sd = q.mean[problem], np.sqrt(np.diagonal(q.covariance[problem]))
    mean_error, sd_error = np.abs(mean - exact_mean) / exact_sd, np.abs(sd / exact_sd - 1)
    print(f"{'':>14} {'mean':>11} {'exact':>11} {'sd':>9} {'exact':>9} {'error/sd':>9} {'sd error':>9}")
    for row in zip(names, mean, exact_mean, sd, exact_sd, mean_error, 100 * sd_error):
        print("{:>14} {:11.4g} {:11.4g} {:9.3g} {:9.3g} {:9.3f} {:8.1f}%".format(*row))
    passed = np.all(mean_error <= mean_tolerance) and np.all(sd_error <= sd_tolerance)
    print("agrees with the exact posterior" if passed else "DISAGREES with the exact posterior")
    assert passed, "the fit is not the exact posterior within the tolerances"
