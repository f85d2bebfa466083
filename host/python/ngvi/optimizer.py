"""Optimizer: fit() turned inside out, for models evaluated in Python (NumPy, PyTorch, JAX, a simulator).

    opt = ngvi.Optimizer(q, provides="gradient", prior=ngvi.Prior.isotropic(1.0), seed=42)
    while not opt.done:
        ask = opt.ask()                                  # ask.points: (count, S, d)
        f, g = my_model(ask.distributions, ask.points)   # (count, S) and (count, S, d)
        opt.tell(f, g if ask.needs_gradients else None)
    summary = opt.summary()                              # q holds the fitted distributions
"""
import collections
import ctypes

import numpy as np

from . import _arrays, _lib
from ._lib import check, lib
from .batch import Batch
from .fit import _DEFAULTS, OPTIONS_DOC, Options, Summary, _options
from .models import Prior

Ask = collections.namedtuple(
    "Ask", "distributions points needs_values needs_gradients needs_hessians final")
Ask.__doc__ = """One request: evaluate the targets of problems `distributions` (count,) at `points`
(count, S, d), both copies owned by the caller. tell() then takes values (count, S), and, as flagged,
gradients (count, S, d) and Hessians (count, S, d, d) (their diagonals (count, S, d) for a diagonal
batch). The `final` request asks for values only, for the ELBOs of the final distributions."""


class Optimizer:
    """The ask/tell loop over an ngvi.Batch, fitted in place from its current state.

    provides: what the model computes, "value", "gradient" or "hessian"; it decides the "auto"
    estimator (score, stein, price). prior: an ngvi.Prior added analytically to every target (default:
    none, the model's f being the whole negative log joint). progress and the keywords are those of
    ngvi.fit (estimator "quadrature" and backend "cuda" excepted); for the same options and seed the
    results equal those of ngvi.fit on a model computing the same numbers in the same arithmetic.
    While the optimizer lives, the batch can be read but not changed.

    """

    def __init__(self, batch, provides="gradient", prior=None, *, estimator=_DEFAULTS["estimator"],
                 rule=_DEFAULTS["rule"], samples=_DEFAULTS["samples"], antithetic=_DEFAULTS["antithetic"],
                 step_size=_DEFAULTS["step_size"], schedule=_DEFAULTS["schedule"],
                 decay_steps=_DEFAULTS["decay_steps"], decay_power=_DEFAULTS["decay_power"],
                 max_step_kl=_DEFAULTS["max_step_kl"], max_steps=_DEFAULTS["max_steps"],
                 tolerance=_DEFAULTS["tolerance"], patience=_DEFAULTS["patience"],
                 tolerance_sd=_DEFAULTS["tolerance_sd"], final_samples=_DEFAULTS["final_samples"],
                 seed=_DEFAULTS["seed"], problem_offset=_DEFAULTS["problem_offset"],
                 num_threads=_DEFAULTS["num_threads"], backend=_DEFAULTS["backend"],
                 minibatch_rows=_DEFAULTS["minibatch_rows"], trace_elbo=_DEFAULTS["trace_elbo"],
                 adam_beta1=_DEFAULTS["adam_beta1"], adam_beta2=_DEFAULTS["adam_beta2"],
                 adam_epsilon=_DEFAULTS["adam_epsilon"], checkpoint_path=_DEFAULTS["checkpoint_path"],
                 checkpoint_every=_DEFAULTS["checkpoint_every"], progress=False):
        self._handle = None
        _lib.require(batch, Batch, "ngvi.Optimizer: batch")
        if prior is not None:
            _lib.require(prior, Prior, "ngvi.Optimizer: prior")
        # Kept: the progress callback runs during tell().
        self._options = Options("ngvi.Optimizer", progress, _options(locals()))
        self.batch = batch  # kept alive: the optimizer fits it
        keep = []
        prior_struct = ctypes.byref(prior._struct(batch.dtype, keep)) if prior is not None else None
        handle = ctypes.c_void_p()
        check(lib.ngvi_optimizer_create(ctypes.byref(handle), batch._handle, self._options.pointer(),
                                        _lib.name(_lib.DERIVATIVES, provides, "provides"), prior_struct))
        self._handle = handle
        self._pending = None

    def __del__(self, _destroy=lib.ngvi_optimizer_destroy):  # bound early: module globals may be gone at exit
        if getattr(self, "_handle", None) is not None:
            _destroy(self._handle)
            self._handle = None

    @property
    def done(self):
        """True once the final request has been told."""
        done = ctypes.c_int32()
        check(lib.ngvi_optimizer_done(self._handle, ctypes.byref(done)))
        return bool(done.value)

    def ask(self):
        """The next request, as an Ask (asking again before tell() gives the same request)."""
        a = _lib.Ask()
        a.struct_size = ctypes.sizeof(a)
        check(lib.ngvi_optimizer_ask(self._handle, ctypes.byref(a)))
        shape = (a.count, a.samples, a.dimension)
        points = np.empty(shape, dtype=self.batch.dtype)
        distributions = np.empty(a.count, dtype=np.uint32)
        if a.count:  # copies of the library's views, which the next tell() reuses
            ctypes.memmove(points.ctypes.data, a.points, points.nbytes)
            ctypes.memmove(distributions.ctypes.data, a.distributions, distributions.nbytes)
        self._pending = a
        return Ask(distributions, points, bool(a.needs_values), bool(a.needs_gradients), bool(a.needs_hessians),
                   bool(a.final))

    def tell(self, values=None, gradients=None, hessians=None):
        """The target at the points of the last ask(): values (count, S), gradients (count, S, d),
        hessians (count, S, d, d) or, for a diagonal batch, (count, S, d); None for what the request does
        not need. NumPy arrays or anything np.asarray takes (CPU tensors, DLPack). A non-finite entry
        fails its own distribution only."""
        a = self._pending
        if a is None:  # let the library say it
            check(lib.ngvi_optimizer_tell(self._handle, _lib.InputArray(), _lib.InputArray(), _lib.InputArray()))
        count, S, d = a.count, a.samples, a.dimension
        hessian_shape = (count, S, d) if self.batch.family == "diagonal" else (count, S, d, d)
        arrays = []
        for name, array, shape in (("values", values, (count, S)), ("gradients", gradients, (count, S, d)),
                                   ("hessians", hessians, hessian_shape)):
            if array is not None:
                array = _arrays.as_array(array, self.batch.dtype)
                _arrays.check_shape(array, shape, name)
            arrays.append(array)
        check(lib.ngvi_optimizer_tell(self._handle, *(_arrays.input_array(x) for x in arrays)))
        self._pending = None
        if a.final:
            self._options.close()
        self._options.raise_pending()

    def summary(self):
        """The outcome so far (distributions still running have status "running" until done)."""
        handle = ctypes.c_void_p()
        check(lib.ngvi_optimizer_summary(self._handle, ctypes.byref(handle)))
        return Summary.take(handle)

    def close(self):
        """Releases the optimizer now (the batch keeps the state reached and can be changed again)."""
        self._options.close()
        self.__del__()


Optimizer.__doc__ += OPTIONS_DOC
