"""fit(): natural-gradient variational inference on a whole batch, and the Summary it returns."""
import collections
import ctypes

import numpy as np

from . import _arrays, _lib
from ._lib import check, lib

Progress = collections.namedtuple("Progress", "iteration active mean_elbo seconds")

# The options fit() takes as keywords, with how each goes into ngvi_options.
_ENUM_OPTIONS = {"estimator": _lib.ESTIMATORS, "rule": _lib.RULES, "schedule": _lib.SCHEDULES,
                 "backend": _lib.BACKENDS}
_FLAG_OPTIONS = ("antithetic", "trace_elbo")
_PLAIN_OPTIONS = ("samples", "step_size", "decay_steps", "decay_power", "max_steps", "tolerance", "patience",
                  "seed", "num_threads", "minibatch_rows")


def default_options():
    """The library's defaults, as fit() keywords."""
    options = _lib.Options()
    check(lib.ngvi_options_defaults(ctypes.byref(options), ctypes.sizeof(options)))
    values = {k: _ENUM_OPTIONS[k][getattr(options, k)] for k in _ENUM_OPTIONS}
    values.update({k: bool(getattr(options, k)) for k in _FLAG_OPTIONS})
    values.update({k: getattr(options, k) for k in _PLAIN_OPTIONS})
    return values


class Summary:
    """What a fit did. Per distribution: status (int32; names in ngvi.FIT_STATUSES), steps,
    rejected_steps, elbo, last_kl; for the batch: status_counts (name -> count), failures,
    iterations, distribution_steps, seconds, mean_elbo, elbo_trace, estimator, rule, backend."""

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
        self.status_counts = {name: info.status_counts[k] for k, name in enumerate(FIT_STATUSES)}
        self.failures, self.iterations = info.failures, info.iterations
        self.distribution_steps, self.seconds = info.distribution_steps, info.seconds
        self.mean_elbo = info.mean_elbo
        self.estimator, self.rule = _lib.ESTIMATORS[info.estimator], _lib.RULES[info.rule]
        self.backend = _lib.BACKENDS[info.backend]
        self._reports = [self._report(handle, full) for full in (0, 1)]

    @staticmethod
    def _report(handle, full):
        length = ctypes.c_size_t()
        check(lib.ngvi_summary_report(handle, full, None, 0, ctypes.byref(length)))
        buffer = ctypes.create_string_buffer(length.value + 1)
        check(lib.ngvi_summary_report(handle, full, buffer, len(buffer), None))
        return buffer.value.decode()

    def brief_report(self):
        return self._reports[0]

    def full_report(self):
        return self._reports[1]

    def __repr__(self):
        return self.brief_report()


FIT_STATUSES = tuple(lib.ngvi_fit_status_name(k).decode() for k in range(_lib.FIT_STATUS_COUNT))


def fit(model, batch, progress=None, **options):
    """Fits every distribution of `batch` (an ngvi.Batch, changed in place) to the matching problem of
    `model`, and returns a Summary.

    Keywords (defaults from ngvi.default_options()): estimator ("auto", "price", "stein", "score",
    "quadrature"), rule ("iblr", "blr"), samples, antithetic, step_size, schedule ("constant",
    "robbins_monro"), decay_steps, decay_power, max_steps, tolerance, patience, seed, num_threads,
    backend ("auto", "cpu", "cuda"), minibatch_rows, trace_elbo.
    progress: called after every step with a Progress(iteration, active, mean_elbo, seconds); returning
    False stops the fit (an exception it raises stops the fit and is raised again by fit()).
    """
    c = _lib.Options()
    check(lib.ngvi_options_defaults(ctypes.byref(c), ctypes.sizeof(c)))
    for key, value in options.items():
        if key in _ENUM_OPTIONS:
            setattr(c, key, _lib.name(_ENUM_OPTIONS[key], value, key))
        elif key in _FLAG_OPTIONS:
            setattr(c, key, int(bool(value)))
        elif key in _PLAIN_OPTIONS:
            setattr(c, key, value)
        else:
            raise TypeError(f"ngvi.fit: unknown option {key!r}")
    raised = []
    if progress is not None:
        def callback(p, _):
            try:
                p = p.contents
                return 0 if progress(Progress(p.iteration, p.active, p.mean_elbo, p.seconds)) is False else 1
            except BaseException as e:  # noqa: B902 - carried across the C frame, raised again below
                raised.append(e)
                return 0
        c.progress = _lib.ProgressCallback(callback)
    handle = ctypes.c_void_p()
    check(lib.ngvi_fit(model._handle, batch._handle, ctypes.byref(c), ctypes.byref(handle)))
    try:
        summary = Summary(handle)
    finally:
        lib.ngvi_summary_destroy(handle)
    if raised:
        raise raised[0]
    return summary
