"""fit_pooled(): empirical Bayes across a batch, a prior N(m, P^-1) shared by all problems learned with
their posteriors by variational EM (ngvi::fit_pooled, over ngvi_fit_pooled); and fit_online_round():
the current posteriors as the priors of new rows (ngvi::fit_online_round)."""
import collections
import ctypes

import numpy as np

from . import _arrays, _lib
from ._lib import check, lib
from .fit import Options, Summary


class _PoolingOptions(ctypes.Structure):
    """Mirror of ngvi_pooling_options."""
    _fields_ = [("struct_size", _lib.size_t), ("diagonal_precision", _lib.int32), ("max_rounds", _lib.int32),
                ("tolerance", _lib.double), ("initial_precision", _lib.double), ("hyperprior_scale", _lib.double),
                ("hyperprior_dof", _lib.double)]


_lib._declare("ngvi_pooling_options_defaults", _lib.c_enum, ctypes.POINTER(_PoolingOptions), _lib.size_t)
_lib._declare("ngvi_fit_pooled", _lib.c_enum, _lib.handle, _lib.handle, ctypes.POINTER(_lib.Options),
              ctypes.POINTER(_PoolingOptions), _lib.OutputArray, _lib.OutputArray, _lib.OutputArray, _lib.int32_p,
              _lib.int32_p, _lib.handle_out)

_lib._declare("ngvi_fit_online_round", _lib.c_enum, _lib.handle, _lib.handle, ctypes.POINTER(_lib.Options),
              _lib.double, _lib.handle_out)

_POOLING_KEYWORDS = ("diagonal_precision", "max_rounds", "tolerance", "initial_precision", "hyperprior_scale",
                     "hyperprior_dof")

PooledFit = collections.namedtuple("PooledFit", "prior_mean prior_precision elbo converged summary")
PooledFit.__doc__ = """What fit_pooled learned: prior_mean (d), prior_precision (d, d) (the prior the returned
posteriors were fitted under), elbo (one whole-batch ELBO per round), converged, and the last round's Summary."""


def fit_pooled(model, batch, pooling=None, **options):
    """Fits `batch` (changed in place) to `model` under a prior N(m, P^-1) shared by all problems and learned
    from their posteriors; the model's own prior is replaced. Runs on the backend the `backend` option selects
    (the CUDA backend for a built-in model, as ngvi.fit).

    pooling: a dict of diagonal_precision (learn a diagonal P), max_rounds (100), tolerance (1e-10: stop once
    the objective changes by less than tolerance * (1 + |objective|)), initial_precision (the first round's
    prior N(0, initial_precision^-1 I)), hyperprior_scale and hyperprior_dof (an inverse-Wishart
    IW(scale I, dof) on P^-1 keeps small batches proper; scale 0: none).
    options: the keywords of ngvi.fit.
    """
    c = Options("ngvi.fit_pooled", None, options)
    p = _PoolingOptions()
    check(lib.ngvi_pooling_options_defaults(ctypes.byref(p), ctypes.sizeof(p)))
    for key, value in (pooling or {}).items():
        if key not in _POOLING_KEYWORDS:
            raise TypeError(f"ngvi.fit_pooled: unknown pooling option {key!r} "
                            f"(allowed: {', '.join(_POOLING_KEYWORDS)})")
        setattr(p, key, int(bool(value)) if key == "diagonal_precision" else value)
    d = batch.dimension
    mean = np.empty(d, dtype=batch.dtype)
    precision = np.empty((d, d), dtype=batch.dtype)
    elbo = np.empty(max(p.max_rounds, 0), dtype=np.float64)
    rounds, converged = _lib.int32(), _lib.int32()
    handle = ctypes.c_void_p()
    check(lib.ngvi_fit_pooled(model._handle, batch._handle, c.pointer(), ctypes.byref(p), _arrays.output_array(mean),
                              _arrays.output_array(precision), _arrays.output_array(elbo), ctypes.byref(rounds),
                              ctypes.byref(converged), ctypes.byref(handle)))
    summary = Summary.take(handle)
    return PooledFit(mean, precision, elbo[:rounds.value].copy(), bool(converged.value), summary)


def fit_online_round(new_rows, batch, forgetting=1.0, **options):
    """One online round: fits `batch` (changed in place) to `new_rows`, a model of only the rows that arrived
    since the last round, under the priors N(mu_b, (forgetting Lambda_b)^-1) from the batch's current state
    (which replace the model's own); forgetting in (0, 1]. Keywords as for ngvi.fit; returns the Summary.
    Thompson sampling: batch.sample(1, seed=seed, step=round, antithetic=False)[:, 0] draws one z_b per
    problem, reproducibly for each (seed, round)."""
    c = Options("ngvi.fit_online_round", None, options)
    handle = ctypes.c_void_p()
    check(lib.ngvi_fit_online_round(new_rows._handle, batch._handle, c.pointer(), forgetting, ctypes.byref(handle)))
    return Summary.take(handle)
