"""ngvi: natural-gradient variational inference on batches of Gaussians, over libngvi's C ABI.

    import numpy as np, ngvi
    model = ngvi.logistic(x, y, offsets)          # ragged rows; or x (B, N, d), y (B, N) dense
    q = ngvi.Batch(B, d)                          # N(0, I) to start
    summary = ngvi.fit(model, q, seed=42)         # q is fitted in place
    q.mean, q.covariance, summary.elbo, summary.status

    opt = ngvi.Optimizer(q, provides="gradient", seed=42)   # ask/tell: a model of your own
    while not opt.done:
        ask = opt.ask()                               # ask.points (count, S, d)
        opt.tell(f(ask.points), grad_f(ask.points))   # (count, S) and (count, S, d)

    ngvi.fit(model, q, checkpoint_path="fit.ckpt", checkpoint_every=50)   # then, after a stop:
    ngvi.resume(model, q, "fit.ckpt")

    space = ngvi.Parameters(beta=3, sigma=ngvi.positive())  # a log density in JAX or PyTorch
    ngvi.fit_log_density(lambda p, x, y: log_p(p["beta"], p["sigma"], x, y), q, data=(x, y), parameters=space)

Arrays are NumPy arrays (or anything np.asarray takes), batch index first. Objects with the CUDA array
interface or DLPack on a CUDA device are passed as device pointers, which need a CUDA build of ngvi.
Failures of the library raise ngvi.NgviError with its message, as the subclass of its status, which is
also the built-in exception that fits: SizeError and InvalidArgumentError are ValueErrors, DTypeError a
TypeError, OutOfMemoryError a MemoryError, FileError an OSError. Outputs are NumPy arrays in host
memory (DLPack-capable: torch.from_dlpack and jax.numpy.from_dlpack take them without a copy).
"""
from ._lib import (DTypeError, FileError, InternalError, InvalidArgumentError, InvalidHandleError,
                   InvalidOperationError, NgviError, NullPointerError, OutOfMemoryError, SizeError, StructSizeError,
                   UnavailableError, lib as _c)
from .autodiff import NegativeLogDensity, fit_log_density
from .batch import Batch, convert
from .constraints import Parameters, Transform, interval, positive, real, simplex, unit_interval
from .fit import (FIT_STATUSES, CheckpointInfo, Progress, Summary, backend_available, checkpoint_info, default_options,
                  fit, resume)
from .models import Model, Prior, glm, linear, logistic, poisson, probit, quadratic
from .optimizer import Ask, Optimizer
from .pooling import PooledFit, fit_online_round, fit_pooled

__version__ = _c.ngvi_version().decode()

__all__ = ["Ask", "Batch", "CheckpointInfo", "DTypeError", "FIT_STATUSES", "FileError", "InternalError",
           "InvalidArgumentError", "InvalidHandleError", "InvalidOperationError", "Model", "NegativeLogDensity",
           "NgviError", "NullPointerError", "Optimizer", "OutOfMemoryError", "Parameters", "PooledFit", "Prior",
           "Progress", "SizeError", "StructSizeError", "Summary", "Transform", "UnavailableError", "backend_available",
           "checkpoint_info", "convert", "default_options", "fit", "fit_log_density", "fit_online_round", "fit_pooled",
           "glm", "interval", "linear", "logistic", "poisson", "positive", "probit", "quadratic", "real", "resume",
           "simplex", "unit_interval"]
