"""The Gaussian variational optimum of a posterior, computed without ngvi and without Monte Carlo.

The optimum q* = N(m, S) of KL(q || p) satisfies (Opper & Archambeau 2009)
    E_q[grad f] = 0  and  S^-1 = E_q[hess f] = S^-1 E_q[(z - m) grad f^T]   (Stein's lemma),
with f = -log p. Every benchmark model is quadratic in its coordinates r given a few others u (the
log scale; diamonds also its intercept). Given u, r is Gaussian under q and (z - m) grad f^T is a
polynomial of degree <= 3 in r, so the spherical-radial cubature with the 2 dim(r) points
E[r] +- sqrt(dim r) chol(Cov[r | u]) e_i integrates it exactly; over u, a tensor Gauss-Hermite rule
of the q-marginal of u. The fixed point iterates those exact expectations (Newton's method on the
stationarity conditions, damped where needed) until those hold to ~1e-11 in whitened units (or,
where rounding stops it first, 1e-6).
"""
import numpy as np


def expectations(model, mean, covariance, nodes):
    """E_q[grad f] (d) and E_q[(z - m) grad f^T] (d, d) for q = N(mean, covariance)."""
    d = model.d
    u = list(model.nonlinear)
    r = [i for i in range(d) if i not in u]
    k, n = len(u), len(r)
    t, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    grids = np.meshgrid(*([t] * k), indexing="ij")
    t_u = np.stack([g.ravel() for g in grids], 1)  # (nodes^k, k)
    w_u = np.prod(np.stack(np.meshgrid(*([w] * k), indexing="ij"), -1).reshape(-1, k), 1)
    S_uu, S_ru, S_rr = covariance[np.ix_(u, u)], covariance[np.ix_(r, u)], covariance[np.ix_(r, r)]
    x_u = mean[u] + t_u @ np.linalg.cholesky(S_uu).T
    gain = np.linalg.solve(S_uu, S_ru.T).T  # Cov[r, u] Cov[u]^-1
    conditional_mean = mean[r] + (x_u - mean[u]) @ gain.T  # (nodes^k, n)
    spread = np.sqrt(n) * np.linalg.cholesky(S_rr - gain @ S_ru.T)  # columns: the cubature's directions
    offsets = np.concatenate([spread.T, -spread.T])  # (2n, n)
    z = np.empty((len(x_u), 2 * n, d))
    z[:, :, u] = x_u[:, None, :]
    z[:, :, r] = conditional_mean[:, None, :] + offsets[None]
    z = z.reshape(-1, d)
    weights = np.repeat(w_u / (2 * n), 2 * n)
    grad_mean, cross = np.zeros(d), np.zeros((d, d))
    for start in range(0, len(z), 2048):  # in chunks: a model may hold (points x rows) residuals
        zc, wc = z[start:start + 2048], weights[start:start + 2048]
        _, g = model.value_and_gradient(zc)
        grad_mean += wc @ g
        cross += (wc[:, None] * (zc - mean)).T @ g
    return grad_mean, cross


def _residual(model, mean, covariance, nodes):
    """The stationarity conditions at q: E[grad f] and E[hess f] - S^-1, whitened by S, as one number;
    and E[grad f], E[hess f]. Infinite where q is not a Gaussian."""
    try:
        root = np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        return np.inf, None, None
    grad_mean, cross = expectations(model, mean, covariance, nodes)
    hessian = np.linalg.solve(covariance, cross)
    hessian = 0.5 * (hessian + hessian.T)
    whitened = root.T @ hessian @ root - np.eye(len(mean))
    return float(np.sum((root.T @ grad_mean) ** 2) + np.sum(whitened**2)), grad_mean, hessian


def gaussian_vi_optimum(model, mean, covariance, nodes=32, max_iterations=500):
    """(mean, covariance) of the Gaussian VI optimum, from a start near it (e.g. the posterior
    moments). Each iteration is a BLR step with exact expectations (Khan & Rue 2021, eq. 6):
    precision <- (1 - rho) precision + rho E[hess f], mean <- mean - rho precision^-1 E[grad f]. rho = 1 is
    Newton's method on the stationarity conditions; a step that does not lower their whitened residual
    is retried with rho halved (eight schools' funnel makes Newton oscillate), and rho doubles back
    after one that does. Raises if the fixed point is not reached."""
    mean, covariance = np.array(mean, float), np.array(covariance, float)
    residual, grad_mean, hessian = _residual(model, mean, covariance, nodes)
    rho = 1.0
    for _ in range(max_iterations):
        precision = (1 - rho) * np.linalg.inv(covariance) + rho * hessian
        new_covariance = np.linalg.inv(precision)
        new_mean = mean - rho * new_covariance @ grad_mean
        new_residual, new_grad, new_hessian = _residual(model, new_mean, new_covariance, nodes)
        if not new_residual < residual and residual > 1e-26:
            rho *= 0.5
            if rho < 1e-6:  # no step lowers the residual: rounding (diamonds' ill-conditioned X^T X)
                break
            continue
        mean, covariance, residual, grad_mean, hessian = new_mean, new_covariance, new_residual, new_grad, new_hessian
        if residual < 1e-22:  # the whitened conditions hold to ~1e-11
            return mean, covariance
        rho = min(1.0, 2 * rho)
    if residual < 1e-12:  # the conditions hold to 1e-6 whitened: the moments to ~1e-6 sd
        return mean, covariance
    raise RuntimeError(f"{model.name}: the Gaussian VI optimum's fixed point not reached (residual {residual:.1e})")
