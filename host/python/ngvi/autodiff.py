"""fit_log_density(): variational inference on a log density written for one point in JAX or PyTorch.

    def log_density(p, x, y):                         # one problem's data, one point
        return (jax.scipy.stats.norm.logpdf(y, x @ p["beta"], p["sigma"]).sum()
                + jax.scipy.stats.norm.logpdf(p["beta"], 0, 10).sum())
    q = ngvi.Batch(B, 4)
    space = ngvi.Parameters(beta=3, sigma=ngvi.positive())
    summary = ngvi.fit_log_density(log_density, q, data=(x, y), parameters=space)  # x (B, N, 3), y (B, N)

The framework vectorizes the function over the samples and the problems (jax.vmap and jax.jit;
torch.func.vmap) and differentiates it: gradients by reverse mode, Hessians (provides="hessian", for
the Price estimator and the Newton warm start) by forward over reverse. Neither framework is needed to
import ngvi: each is imported when a fit asks for it.
"""
import numpy as np

from .constraints import Parameters
from .optimizer import Optimizer

FRAMEWORKS = ("jax", "torch")


def _per_point(function, value_and_gradient, forward_jacobian, hessian_part):
    """The target -function at one point and its derivatives, each returning (f,), (f, g) or
    (f, g, H): the gradient by reverse mode, the Hessian as the forward-mode Jacobian of the gradient
    (hessian_part keeps the whole matrix or its diagonal)."""
    def value(z, *row):
        return (-function(z, *row),)

    def gradient(z, *row):
        return value_and_gradient(lambda z: -function(z, *row))(z)

    def hessian(z, *row):
        def gradient_with_aux(z):
            f, g = gradient(z, *row)
            return g, (f, g)
        h, (f, g) = forward_jacobian(gradient_with_aux, has_aux=True)(z)
        return f, g, hessian_part(h)

    return value, gradient, hessian


class _Jax:
    """The target in JAX, vectorized by jax.vmap and compiled by jax.jit, in the batch's precision
    (64-bit arithmetic switched on around each call)."""

    compiles_per_shape = True

    def __init__(self, function, data, dtype, diagonal):
        import jax
        self._jax, self._x64 = jax, dtype == np.float64
        with jax.enable_x64(self._x64):
            self._data = tuple(jax.numpy.asarray(a) for a in data)

        def batched(per_point):
            over_samples = jax.vmap(per_point, in_axes=(0,) + (None,) * len(data))
            over_problems = jax.vmap(over_samples, in_axes=(0,) * (1 + len(data)))
            return jax.jit(lambda points, distributions, *data:
                           over_problems(points, *(a[distributions] for a in data)))

        part = jax.numpy.diagonal if diagonal else (lambda h: h)
        self._functions = [batched(f) for f in _per_point(function, jax.value_and_grad, jax.jacfwd, part)]

    def __call__(self, order, distributions, points):
        with self._jax.enable_x64(self._x64):
            return self._functions[order](points, distributions, *self._data)


class _Torch:
    """The target in PyTorch, vectorized by torch.func.vmap, on the CPU, in the batch's precision (the
    points and floating-point data are tensors of the batch's dtype)."""

    compiles_per_shape = False

    def __init__(self, function, data, dtype, diagonal):
        import torch
        from torch.func import grad_and_value, jacfwd, vmap
        self._torch = torch
        self._data = tuple(torch.as_tensor(a) for a in data)

        def value_and_gradient(f):
            return lambda z: tuple(reversed(grad_and_value(f)(z)))

        def batched(per_point):
            over_samples = vmap(per_point, in_dims=(0,) + (None,) * len(data))
            return vmap(over_samples, in_dims=(0,) * (1 + len(data)))

        part = torch.diagonal if diagonal else (lambda h: h)
        self._functions = [batched(f) for f in _per_point(function, value_and_gradient, jacfwd, part)]

    def __call__(self, order, distributions, points):
        rows = self._torch.as_tensor(distributions.astype(np.int64))
        return self._functions[order](self._torch.from_numpy(points), *(a[rows] for a in self._data))


class NegativeLogDensity:
    """The target f_b(z) = -log p(data_b, z) of an ngvi.Optimizer, with its derivatives by automatic
    differentiation: call it with an Ask to get the (values, gradients, hessians) tell() takes.

    log_density(z, *data_b) -> a scalar: one point z (d,) and problem b's slices of `data` (arrays
    with a leading batch axis, B). With `parameters` (an ngvi.Parameters) the function takes the
    constrained parameters (a dict) instead of z and the log-Jacobian of the transforms is added.
    framework: "jax" or "torch", the library the function is written in.
    """

    def __init__(self, log_density, batch, data=(), parameters=None, framework="jax"):
        if framework not in FRAMEWORKS:
            raise ValueError(f"ngvi: framework must be one of {', '.join(FRAMEWORKS)}, not {framework!r}")
        if not isinstance(data, (tuple, list)):
            raise TypeError("ngvi: data must be a tuple of arrays with a leading batch axis")
        arrays = []
        for k, a in enumerate(data):
            a = np.asarray(a)
            if a.ndim == 0 or a.shape[0] != batch.size:
                raise ValueError(f"ngvi: data[{k}] must have a leading batch axis of {batch.size}, "
                                 f"not shape {a.shape}")
            arrays.append(np.ascontiguousarray(a, batch.dtype) if a.dtype.kind == "f" else a)
        function = log_density
        if parameters is not None:
            if not isinstance(parameters, Parameters):
                raise TypeError("ngvi: parameters must be an ngvi.Parameters")
            if parameters.dimension != batch.dimension:
                raise ValueError(f"ngvi: parameters lay out {parameters.dimension} coordinates, the batch "
                                 f"has dimension {batch.dimension}")

            def function(z, *row):
                values, log_jacobian = parameters.constrain(z)
                return log_density(values, *row) + log_jacobian
        backend = _Jax if framework == "jax" else _Torch
        self._evaluate = backend(function, arrays, batch.dtype, batch.family == "diagonal")
        self.batch_size, self.dtype = batch.size, batch.dtype

    def _padded_count(self, count):
        """The next power of two (at most B) for JAX, which compiles once per shape, so that the
        shrinking set of running problems is padded to a few sizes rather than compiled for every
        count; `count` for PyTorch, which compiles nothing (padding would only add work)."""
        if not self._evaluate.compiles_per_shape:
            return count
        return min(self.batch_size, 1 << max(count - 1, 0).bit_length())

    def __call__(self, ask):
        order = 2 if ask.needs_hessians else 1 if ask.needs_gradients else 0
        count = len(ask.distributions)
        if count == 0:
            return (np.empty(ask.points.shape[:2], self.dtype),) + (None,) * 2
        size = self._padded_count(count)
        distributions, points = ask.distributions, ask.points
        if size > count:  # repeats of the last problem: valid points, results dropped
            distributions = np.pad(distributions, (0, size - count), mode="edge")
            points = np.pad(points, ((0, size - count), (0, 0), (0, 0)), mode="edge")
        results = [np.asarray(r)[:count] for r in self._evaluate(order, distributions, points)]
        return tuple(results) + (None,) * (3 - len(results))


def fit_log_density(log_density, batch, data=(), parameters=None, framework="jax", provides="gradient",
                    prior=None, progress=None, **options):
    """Fits every distribution of `batch` (an ngvi.Batch, changed in place) to the posterior
    p(z | data_b) proportional to exp(log_density(z, *data_b)), and returns an ngvi.Summary.

    log_density: a function of one point, written in JAX (framework="jax") or PyTorch
    (framework="torch"), of z (d,), or of the constrained parameters of `parameters` (an
    ngvi.Parameters; the log-Jacobian is then added for you), and of problem b's slices of `data`, a
    tuple of arrays with a leading batch axis B. It returns log p(data_b, z), a scalar, up to a
    constant.
    provides: "gradient" (reverse mode; the Stein estimator by default) or "hessian" (forward over
    reverse as well; the Price estimator and the Newton warm start). prior: an ngvi.Prior added
    analytically (default none: log_density is the whole log joint). progress and the keywords are
    those of ngvi.fit and ngvi.Optimizer, with their defaults.
    """
    target = NegativeLogDensity(log_density, batch, data, parameters, framework)
    optimizer = Optimizer(batch, provides=provides, prior=prior, progress=progress, **options)
    try:
        while not optimizer.done:
            ask = optimizer.ask()
            optimizer.tell(*target(ask))
        return optimizer.summary()
    finally:
        optimizer.close()
