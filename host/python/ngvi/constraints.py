"""Constrained parameters: bijections from unconstrained coordinates onto positive reals, intervals and
simplexes, with the log-Jacobians that make a density on the constrained parameters a density on the
coordinates ngvi fits (the transforms of Stan and NumPyro), and Parameters, the layout of a model's
named parameters in one point z.

    space = ngvi.Parameters(beta=3, sigma=ngvi.positive(), weights=ngvi.simplex(4))
    space.dimension                           # 3 + 1 + 3
    values, log_jacobian = space.constrain(z) # values["sigma"] = exp(z[3]), ...
    log p(data, z) = log p(data, values) + log_jacobian

The transforms work on NumPy arrays, JAX arrays (traced too) and PyTorch tensors alike, and on points
with leading batch axes (z of shape (..., dimension)).
"""
import math

import numpy as np


class _Ops:
    """The few array functions the transforms need, from the library that owns the array."""

    def __init__(self, x):
        module = type(x).__module__
        if module.startswith("torch"):
            import torch
            self.exp, self.log1p, self.sigmoid = torch.exp, torch.log1p, torch.sigmoid
            self.log_sigmoid = torch.nn.functional.logsigmoid
            self.cumsum = lambda a: torch.cumsum(a, -1)
            self.concatenate = lambda parts: torch.cat(parts, -1)
            self.constant = lambda a: torch.as_tensor(a, dtype=x.dtype, device=x.device)
        elif module.startswith("jax"):
            import jax
            import jax.numpy as jnp
            self.exp, self.log1p, self.sigmoid = jnp.exp, jnp.log1p, jax.nn.sigmoid
            self.log_sigmoid = jax.nn.log_sigmoid
            self.cumsum = lambda a: jnp.cumsum(a, -1)
            self.concatenate = lambda parts: jnp.concatenate(parts, -1)
            self.constant = lambda a: jnp.asarray(a, dtype=x.dtype)
        else:
            self.exp, self.log1p = np.exp, np.log1p
            self.sigmoid = lambda a: np.exp(-np.logaddexp(0.0, -a))
            self.log_sigmoid = lambda a: -np.logaddexp(0.0, -a)
            self.cumsum = lambda a: np.cumsum(a, -1)
            self.concatenate = lambda parts: np.concatenate(parts, -1)
            self.constant = lambda a: np.asarray(a, dtype=x.dtype)


class Transform:
    """A bijection from unconstrained coordinates u onto a constrained set, for a block of `shape`.

    size: the number of coordinates; forward(u) -> (x, log|det dx/du|) with u of shape (..., size),
    x of shape (...,) + shape and the log-Jacobian of shape (...,); inverse(x) -> u (NumPy)."""

    def __init__(self, shape=()):
        self.shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        if any(n < 1 for n in self.shape):
            raise ValueError(f"ngvi: shape must have positive entries, not {self.shape}")

    @property
    def size(self):
        """The number of unconstrained coordinates of the block."""
        return math.prod(self.shape)

    def forward(self, u):
        """(x, log|det dx/du|) for u of shape (..., size), in u's framework (NumPy, JAX or PyTorch)."""
        x, log_jacobian = self._forward(u, _Ops(u))
        lead = tuple(u.shape[:-1])
        return x.reshape(lead + self.shape), log_jacobian.reshape(lead + (-1,)).sum(-1)

    def inverse(self, x):
        """The unconstrained u (NumPy, (..., size)) of constrained values x (..., *shape)."""
        x = np.asarray(x, dtype=np.float64)
        return self._inverse(x.reshape(x.shape[:x.ndim - len(self.shape)] + (-1,)))

    def __repr__(self):
        return f"ngvi.{type(self).__name__.lower()}({self.shape})"


class Real(Transform):
    """Unconstrained: x = u."""

    def _forward(self, u, ops):
        return u, 0.0 * u

    def _inverse(self, x):
        return x


class Positive(Transform):
    """x > lower: x = lower + exp(u), log-Jacobian u."""

    def __init__(self, shape=(), lower=0.0):
        super().__init__(shape)
        self.lower = float(lower)

    def _forward(self, u, ops):
        return self.lower + ops.exp(u), u

    def _inverse(self, x):
        if np.any(x <= self.lower):
            raise ValueError(f"ngvi.positive: values must exceed {self.lower}")
        return np.log(x - self.lower)


class Interval(Transform):
    """lower < x < upper: x = lower + (upper - lower) sigmoid(u), log-Jacobian
    log(upper - lower) + log sigmoid(u) + log sigmoid(-u)."""

    def __init__(self, shape=(), lower=0.0, upper=1.0):
        super().__init__(shape)
        self.lower, self.upper = float(lower), float(upper)
        if not self.lower < self.upper:
            raise ValueError(f"ngvi.interval: lower ({lower}) must be below upper ({upper})")

    def _forward(self, u, ops):
        width = self.upper - self.lower
        return (self.lower + width * ops.sigmoid(u),
                math.log(width) + ops.log_sigmoid(u) + ops.log_sigmoid(-u))

    def _inverse(self, x):
        if np.any((x <= self.lower) | (x >= self.upper)):
            raise ValueError(f"ngvi.interval: values must lie in ({self.lower}, {self.upper})")
        p = (x - self.lower) / (self.upper - self.lower)
        return np.log(p) - np.log1p(-p)


class Simplex(Transform):
    """x_1..x_K > 0 summing to 1, from K - 1 coordinates by Stan's stick-breaking: stick k takes the
    fraction sigmoid(u_k - log(K - 1 - k)) of what remains (u = 0 is the uniform simplex)."""

    def __init__(self, components):
        if components < 2:
            raise ValueError(f"ngvi.simplex: needs at least 2 components, not {components}")
        self.shape = (int(components),)
        self._offsets = np.log(np.arange(components - 1, 0, -1, dtype=np.float64))

    @property
    def size(self):
        return self.shape[0] - 1

    def forward(self, u):
        ops = _Ops(u)
        a = u - ops.constant(self._offsets)
        log_taken, log_left = ops.log_sigmoid(a), ops.log_sigmoid(-a)
        log_remaining = ops.cumsum(log_left) - log_left  # of the stick before break k
        x = ops.exp(ops.concatenate([log_remaining + log_taken, (log_remaining + log_left)[..., -1:]]))
        return x, (log_taken + log_left + log_remaining).sum(-1)

    def inverse(self, x):
        """The unconstrained u (NumPy, (..., size)) of constrained values x (..., *shape)."""
        x = np.asarray(x, dtype=np.float64)
        if np.any(x <= 0) or not np.allclose(x.sum(-1), 1.0):
            raise ValueError("ngvi.simplex: values must be positive and sum to 1")
        remaining = 1.0 - (np.cumsum(x, -1) - x)[..., :-1]
        p = x[..., :-1] / remaining
        return np.log(p) - np.log1p(-p) + self._offsets

    def __repr__(self):
        return f"ngvi.simplex({self.shape[0]})"


def real(shape=()):
    """Unconstrained parameters of `shape` (() for a scalar, n for a vector)."""
    return Real(shape)


def positive(shape=(), lower=0.0):
    """Parameters above `lower` (scales, rates): x = lower + exp(u)."""
    return Positive(shape, lower)


def interval(lower, upper, shape=()):
    """Parameters in (lower, upper): x = lower + (upper - lower) sigmoid(u)."""
    return Interval(shape, lower, upper)


def unit_interval(shape=()):
    """Parameters in (0, 1) (probabilities): x = sigmoid(u)."""
    return Interval(shape, 0.0, 1.0)


def simplex(components):
    """A probability vector of `components` entries, from components - 1 coordinates."""
    return Simplex(components)


class Parameters:
    """The named parameters of a model laid out in one unconstrained point z, in the order given.

    Each keyword is a Transform (ngvi.positive(), ngvi.simplex(3), ...) or a shape (an int n or a
    tuple) for unconstrained parameters: Parameters(beta=4, sigma=ngvi.positive()) is z = (beta,
    log sigma), dimension 5.
    """

    def __init__(self, **blocks):
        if not blocks:
            raise ValueError("ngvi.Parameters: give at least one parameter")
        self.transforms, self.slices, start = {}, {}, 0
        for name, block in blocks.items():
            transform = block if isinstance(block, Transform) else Real(block)
            self.transforms[name] = transform
            self.slices[name] = slice(start, start + transform.size)
            start += transform.size
        self.dimension = start

    def constrain(self, z):
        """(values, log_jacobian): the parameters at z (..., dimension) as a dict of arrays of the
        array library of z, and the log-Jacobian of the map z -> values, (...,)."""
        if z.shape[-1] != self.dimension:
            raise ValueError(f"ngvi.Parameters: z has {z.shape[-1]} coordinates, the layout {self.dimension}")
        values, log_jacobian = {}, 0.0
        for name, transform in self.transforms.items():
            values[name], log_det = transform.forward(z[..., self.slices[name]])
            log_jacobian = log_jacobian + log_det
        return values, log_jacobian

    def unconstrain(self, **values):
        """The point z (NumPy, float64) of the given parameter values (every parameter, leading batch
        axes allowed): for a starting mean, say."""
        missing = set(self.transforms) - set(values)
        if missing or set(values) - set(self.transforms):
            raise ValueError(f"ngvi.Parameters.unconstrain: needs exactly {', '.join(self.transforms)}")
        return np.concatenate([np.atleast_1d(t.inverse(values[n])) for n, t in self.transforms.items()], -1)

    def __repr__(self):
        return "ngvi.Parameters(" + ", ".join(f"{n}={t!r}" for n, t in self.transforms.items()) + ")"
