"""fit(): natural-gradient variational inference on a whole batch, and the Summary it returns."""
import collections
import contextlib
import ctypes
import os
import signal
import threading

import numpy as np

from . import _arrays, _lib
from ._lib import check, lib
from .batch import Batch
from .models import Model
from .progress import ProgressBar

Progress = collections.namedtuple("Progress", "iteration active mean_elbo seconds")
FIT_STATUSES = tuple(lib.ngvi_fit_status_name(k).decode() for k in range(_lib.FIT_STATUS_COUNT))

# The options fit() takes as keywords, with how each goes into ngvi_options.
_ENUM_OPTIONS = {"estimator": _lib.ESTIMATORS, "rule": _lib.RULES, "schedule": _lib.SCHEDULES,
                 "backend": _lib.BACKENDS}
_FLAG_OPTIONS = ("antithetic", "trace_elbo")
_PLAIN_OPTIONS = ("samples", "step_size", "decay_steps", "decay_power", "max_steps", "tolerance", "patience",
                  "seed", "num_threads", "minibatch_rows", "adam_beta1", "adam_beta2", "adam_epsilon",
                  "checkpoint_every", "tolerance_sd", "max_step_kl", "final_samples", "problem_offset")
_PATH_OPTIONS = ("checkpoint_path",)


def _keywords(options):
    """An ngvi_options struct as fit() keywords."""
    values = {k: _ENUM_OPTIONS[k][getattr(options, k)] for k in _ENUM_OPTIONS}
    values.update({k: bool(getattr(options, k)) for k in _FLAG_OPTIONS})
    values.update({k: getattr(options, k) for k in _PLAIN_OPTIONS})
    values.update({k: (getattr(options, k) or b"").decode() or None for k in _PATH_OPTIONS})
    return values


def backend_available(backend):
    """Whether fit() can run the built-in models on `backend` ("auto", "cpu" or "cuda") in this process:
    "cuda" needs a build with the CUDA backend and a usable device. Returns (available, why_not)."""
    status = lib.ngvi_backend_available(_lib.name(_lib.BACKENDS, backend, "backend"))
    if status == _lib.STATUS_UNAVAILABLE:
        return False, lib.ngvi_last_error().decode()
    check(status)
    return True, ""


def default_options():
    """The library's defaults, as fit() keywords."""
    options = _lib.Options()
    check(lib.ngvi_options_defaults(ctypes.byref(options), ctypes.sizeof(options)))
    return _keywords(options)


class Options:
    """An ngvi_options filled from keywords, with what must outlive the calls that read it (the
    progress callback) and the exceptions the callback raised, to raise again after the call."""

    def __init__(self, function, progress, options):
        self.struct = _lib.Options()
        check(lib.ngvi_options_defaults(ctypes.byref(self.struct), ctypes.sizeof(self.struct)))
        for key, value in options.items():
            if key in _ENUM_OPTIONS:
                setattr(self.struct, key, _lib.name(_ENUM_OPTIONS[key], value, key))
            elif key in _FLAG_OPTIONS:
                setattr(self.struct, key, int(bool(value)))
            elif key in _PLAIN_OPTIONS:
                setattr(self.struct, key, _lib.field_value(self.struct, key, value))
            elif key in _PATH_OPTIONS:
                setattr(self.struct, key, None if value is None else os.fsencode(value))
            else:
                raise TypeError(f"{function}: unknown option {key!r}")
        self.raised = []
        self.interrupted = False
        self._callback = None
        self._bar = None
        if progress is True:
            progress = self._bar = ProgressBar(self.struct.max_steps, function)
        elif progress is False:
            progress = None
        elif progress is not None and not callable(progress):
            raise TypeError(f"{function}: progress must be True, False, None or a function of an ngvi.Progress, "
                            f"not {type(progress).__name__}")
        if progress is not None:
            def callback(p, _):
                try:
                    if self.interrupted:  # Ctrl-C: stop the fit; KeyboardInterrupt is raised once it returns
                        return 0
                    p = p.contents
                    return 0 if progress(Progress(p.iteration, p.active, p.mean_elbo, p.seconds)) is False else 1
                except BaseException as e:  # noqa: B902 - carried across the C frame, raised again below
                    self.raised.append(e)
                    return 0
            self._callback = _lib.ProgressCallback(callback)
            self.struct.progress = self._callback

    def pointer(self):
        return ctypes.byref(self.struct)

    def raise_pending(self):
        """Raises (once) what the progress callback raised."""
        if self.raised:
            raise self.raised.pop(0)

    def close(self):
        """Ends the progress bar of progress=True, if any."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    @contextlib.contextmanager
    def interruptible(self):
        """While the library runs: Ctrl-C (SIGINT) is recorded instead of raised, since raised inside
        the ctypes callback it would be printed and dropped ("Exception ignored on calling ctypes
        callback"); the progress callback then stops the fit, and KeyboardInterrupt is raised when the
        call returns. Only in the main thread, and only over Python's default SIGINT handler."""
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
            yield
            return

        def record(signum, frame):
            self.interrupted = True
        previous = signal.signal(signal.SIGINT, record)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
        if self.interrupted:
            raise KeyboardInterrupt


def _text(call):
    """The text a C call writes as snprintf does: call(buffer, buffer_size, length)."""
    length = ctypes.c_size_t()
    check(call(None, 0, ctypes.byref(length)))
    buffer = ctypes.create_string_buffer(length.value + 1)
    check(call(buffer, len(buffer), None))
    return buffer.value.decode()


class Summary:
    """What a fit did. Per distribution: status (int32; names in ngvi.FIT_STATUSES), steps,
    rejected_steps, elbo, last_kl, and the diagnostics elbo_mcse (Monte Carlo standard error of the
    ELBO), mean_mcse_sd (MCSE of the fitted mean in posterior sd) and pareto_k (PSIS k-hat of p / q:
    below 0.5 q is good, 0.5 to 0.7 usable with care, above 0.7 q misses the posterior's shape); for
    the batch: status_counts (name -> count), failures,
    iterations, distribution_steps, seconds, mean_elbo, elbo_trace, estimator, rule, backend, and
    checkpoint_error (why the last checkpoint could not be written; "" if it was or none was due)."""

    @classmethod
    def take(cls, handle):
        """The Summary of a summary handle, which is then destroyed."""
        try:
            return cls(handle)
        finally:
            lib.ngvi_summary_destroy(handle)

    def __init__(self, handle):
        info = _lib.SummaryInfo()
        info.struct_size = ctypes.sizeof(info)
        check(lib.ngvi_summary_get_info(handle, ctypes.byref(info)))
        B = info.batch_size

        def field(index, dtype, n):
            out = np.empty(n, dtype=dtype)
            check(lib.ngvi_summary_get(handle, index, _arrays.output_array(out)))
            return out

        self.status = field(0, np.int32, B)
        self.steps = field(1, np.int32, B)
        self.rejected_steps = field(2, np.int32, B)
        self.elbo = field(3, np.float64, B)
        self.last_kl = field(4, np.float64, B)
        self.elbo_trace = field(5, np.float64, info.elbo_trace_length)
        self.elbo_mcse = field(6, np.float64, B)
        self.mean_mcse_sd = field(7, np.float64, B)
        self.pareto_k = field(8, np.float64, B)
        self.status_counts = {name: info.status_counts[k] for k, name in enumerate(FIT_STATUSES)}
        self.failures, self.iterations = info.failures, info.iterations
        self.distribution_steps, self.seconds = info.distribution_steps, info.seconds
        self.mean_elbo = info.mean_elbo
        self.estimator, self.rule = _lib.ESTIMATORS[info.estimator], _lib.RULES[info.rule]
        self.backend = _lib.BACKENDS[info.backend]
        self._reports = [_text(lambda *a: lib.ngvi_summary_report(handle, full, *a)) for full in (0, 1)]
        self.checkpoint_error = _text(lambda *a: lib.ngvi_summary_checkpoint_error(handle, *a))

    def brief_report(self):
        """A few lines: the method, the time, the status counts and the mean ELBO."""
        return self._reports[0]

    def full_report(self):
        """The brief report and per-status details (which distributions failed, and why)."""
        return self._reports[1]

    def __repr__(self):
        return self.brief_report()


# The library's defaults (ngvi_options_defaults), read once: the one source of the keyword defaults
# of fit() and ngvi.Optimizer.
_DEFAULTS = default_options()

OPTIONS_DOC = """Options (defaults: the library's, as ngvi.default_options() returns them):
    estimator: "auto" (the first the model allows: quadrature, price, stein, score), "price",
        "stein", "score" or "quadrature" (exact expectations, built-in GLMs and quadratic only).
    rule: "iblr", "blr", "cholesky" or "adam" (Euclidean baseline).
    samples, antithetic: Monte Carlo samples per distribution and step, in antithetic pairs.
    step_size, schedule ("adaptive", "constant", "robbins_monro"), decay_steps, decay_power: the step
        sizes; max_step_kl: trust region, nats per dimension.
    max_steps; tolerance, patience (exact estimator: KL between steps); tolerance_sd (Monte Carlo
        estimators: MCSE of the averaged fit, in posterior sd); final_samples (draws for the final
        ELBO and diagnostics).
    seed: of every random number (Philox keyed by seed, distribution, step and sample).
    problem_offset: the global index of the batch's first problem: distribution b draws the random
        numbers of problem problem_offset + b, so that a slice of a batch fitted with its offset gets
        the whole batch's results for it (ngvi.dask uses it).
    num_threads (0: the hardware's, fewer for small batches; results do not depend on it), backend
        ("auto", "cpu", "cuda"), minibatch_rows (0: all rows), trace_elbo (record the mean ELBO per step).
    adam_beta1, adam_beta2, adam_epsilon: the rule "adam"'s moments.
    checkpoint_path, checkpoint_every: save the fit's state there every so many steps (0: only when
        stopped), atomically, for ngvi.resume.
    progress: False (nothing), True (a tqdm bar when tqdm is importable, else a line on stderr), or a
        function called after every step with an ngvi.Progress(iteration, active, mean_elbo, seconds);
        returning False stops the fit, and an exception it raises stops the fit and is raised again.
"""


def _options(values):
    """The option keywords among a function's arguments (its locals())."""
    return {key: values[key] for key in _DEFAULTS}


def fit(model, batch, *, estimator=_DEFAULTS["estimator"], rule=_DEFAULTS["rule"], samples=_DEFAULTS["samples"],
        antithetic=_DEFAULTS["antithetic"], step_size=_DEFAULTS["step_size"], schedule=_DEFAULTS["schedule"],
        decay_steps=_DEFAULTS["decay_steps"], decay_power=_DEFAULTS["decay_power"],
        max_step_kl=_DEFAULTS["max_step_kl"], max_steps=_DEFAULTS["max_steps"], tolerance=_DEFAULTS["tolerance"],
        patience=_DEFAULTS["patience"], tolerance_sd=_DEFAULTS["tolerance_sd"],
        final_samples=_DEFAULTS["final_samples"], seed=_DEFAULTS["seed"],
        problem_offset=_DEFAULTS["problem_offset"], num_threads=_DEFAULTS["num_threads"],
        backend=_DEFAULTS["backend"], minibatch_rows=_DEFAULTS["minibatch_rows"],
        trace_elbo=_DEFAULTS["trace_elbo"], adam_beta1=_DEFAULTS["adam_beta1"], adam_beta2=_DEFAULTS["adam_beta2"],
        adam_epsilon=_DEFAULTS["adam_epsilon"], checkpoint_path=_DEFAULTS["checkpoint_path"],
        checkpoint_every=_DEFAULTS["checkpoint_every"], progress=False):
    """Fits every distribution of `batch` (an ngvi.Batch, changed in place) to the matching problem of
    `model` (an ngvi.Model of the batch's size, dimension and dtype), and returns a Summary.

    Ctrl-C stops the fit after the current step (writing its checkpoint, if it has one) and raises
    KeyboardInterrupt. Raises TypeError for a model or batch of another type or dtype, ValueError
    (ngvi.SizeError, ngvi.InvalidArgumentError) for mismatched shapes or a bad option.

    """
    _lib.require(model, Model, "ngvi.fit: model")
    _lib.require(batch, Batch, "ngvi.fit: batch")
    c = Options("ngvi.fit", progress, _options(locals()))
    handle = ctypes.c_void_p()
    try:
        with c.interruptible():
            check(lib.ngvi_fit(model._handle, batch._handle, c.pointer(), ctypes.byref(handle)))
            summary = Summary.take(handle)
            c.raise_pending()
    finally:
        c.close()
    return summary


fit.__doc__ += OPTIONS_DOC


def resume(model, batch, path, *, num_threads=_DEFAULTS["num_threads"], backend=_DEFAULTS["backend"],
           checkpoint_path=_DEFAULTS["checkpoint_path"], checkpoint_every=_DEFAULTS["checkpoint_every"],
           progress=False):
    """Continues the fit saved in the checkpoint `path` (by ngvi.fit with checkpoint_path) into `batch`
    (of the checkpoint's shape and dtype, its contents replaced) and returns the Summary: bit for bit
    what the uninterrupted fit would have given. The saved options decide the results; the keywords
    are the execution settings only: num_threads, backend, checkpoint_path, checkpoint_every. A damaged
    checkpoint raises ngvi.FileError (an OSError; status_name "file") with the library's message.
    progress as for ngvi.fit."""
    _lib.require(model, Model, "ngvi.resume: model")
    _lib.require(batch, Batch, "ngvi.resume: batch")
    c = Options("ngvi.resume", progress, dict(num_threads=num_threads, backend=backend,
                                              checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every))
    handle = ctypes.c_void_p()
    try:
        with c.interruptible():
            check(lib.ngvi_resume(model._handle, batch._handle, os.fsencode(path), c.pointer(),
                                  ctypes.byref(handle)))
            summary = Summary.take(handle)
            c.raise_pending()
    finally:
        c.close()
    return summary


CheckpointInfo = collections.namedtuple("CheckpointInfo",
                                        "format_version dtype batch_size dimension family iteration options")


def checkpoint_info(path):
    """What the checkpoint `path` holds, verified (checksum included) but not loaded: a CheckpointInfo
    with the saved fit's options as fit() keywords."""
    info, options = _lib.CheckpointInfo(), _lib.Options()
    info.struct_size = ctypes.sizeof(info)
    check(lib.ngvi_options_defaults(ctypes.byref(options), ctypes.sizeof(options)))
    check(lib.ngvi_read_checkpoint_info(os.fsencode(path), ctypes.byref(info), ctypes.byref(options)))
    return CheckpointInfo(info.format_version, np.dtype(np.float32 if info.dtype == _lib.FLOAT32 else np.float64),
                          info.batch_size, info.dimension, _lib.FAMILIES[info.family], info.iteration,
                          _keywords(options))
