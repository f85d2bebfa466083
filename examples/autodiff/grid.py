"""The exact reference of the autodiff examples: posterior moments by brute-force quadrature on a
regular grid, NumPy only, for posteriors of a few dimensions.

    mean, sd = grid_posterior(log_density, lower, upper, points=61)
"""
import numpy as np


def grid_posterior(log_density, lower, upper, points=61, transform=lambda z: z):
    """The mean and standard deviation of transform(z) (default z itself) under the density
    proportional to exp(log_density(z)) on the box [lower, upper] (per coordinate), by the midpoint
    rule on points^d cells. log_density and transform take z of shape (..., d). The box must hold the
    mass: the density on its faces is checked to be negligible."""
    axes = [np.linspace(a, b, points) for a, b in zip(lower, upper)]
    z = np.stack(np.meshgrid(*axes, indexing="ij"), -1)
    log_p = log_density(z)
    p = np.exp(log_p - log_p.max())
    faces = max(np.take(p, [0, -1], axis=k).max() for k in range(len(axes)))
    assert faces < 1e-6, f"the grid's box cuts off mass (density {faces:.1e} of the peak on a face)"
    p /= p.sum()
    value = transform(z)
    mean = np.tensordot(p, value, p.ndim)
    return mean, np.sqrt(np.tensordot(p, (value - mean) ** 2, p.ndim))
