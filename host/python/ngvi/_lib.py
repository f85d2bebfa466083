"""The shared library and its C ABI (include/ngvi/ngvi.h) as ctypes declarations."""
import ctypes
import ctypes.util
import os

# ----------------------------------------------------------------------------------------------
# Finding libngvi
# ----------------------------------------------------------------------------------------------


def _library_path():
    """NGVI_LIBRARY if set; else the library installed with this package (inside it, for a wheel); else
    the system's."""
    explicit = os.environ.get("NGVI_LIBRARY")
    if explicit:
        return explicit
    try:
        from ._install import LIBRARY  # written by `cmake --install`
    except ImportError:
        pass
    else:
        installed = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), LIBRARY))
        if os.path.exists(installed):
            return installed
    return ctypes.util.find_library("ngvi") or "libngvi.so.0"


def _load():
    path = _library_path()
    try:
        return ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(
            f"ngvi: cannot load the shared library {path!r} ({e}). Install ngvi with `pip install .` or "
            "`cmake --install`, or set NGVI_LIBRARY to the path of libngvi.so") from e


lib = _load()

# ----------------------------------------------------------------------------------------------
# Types (mirroring ngvi.h; enums are C ints)
# ----------------------------------------------------------------------------------------------

c_enum = ctypes.c_int

FLOAT32, FLOAT64, INT32, INT64 = 1, 2, 3, 4
MEMORY_HOST, MEMORY_DEVICE = 0, 1


class InputArray(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("size", ctypes.c_size_t), ("dtype", c_enum), ("memory", c_enum)]


class OutputArray(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("size", ctypes.c_size_t), ("dtype", c_enum), ("memory", c_enum)]


class Prior(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("kind", c_enum), ("precision", InputArray), ("mean", InputArray)]


class Progress(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("iteration", ctypes.c_int32), ("active", ctypes.c_size_t),
                ("mean_elbo", ctypes.c_double), ("seconds", ctypes.c_double)]


ProgressCallback = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.POINTER(Progress), ctypes.c_void_p)


class Options(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("estimator", c_enum), ("rule", c_enum),
                ("samples", ctypes.c_int32), ("antithetic", ctypes.c_int32), ("step_size", ctypes.c_double),
                ("schedule", c_enum), ("decay_steps", ctypes.c_double), ("decay_power", ctypes.c_double),
                ("max_steps", ctypes.c_int32), ("tolerance", ctypes.c_double), ("patience", ctypes.c_int32),
                ("seed", ctypes.c_uint64), ("num_threads", ctypes.c_int32), ("backend", c_enum),
                ("minibatch_rows", ctypes.c_size_t), ("trace_elbo", ctypes.c_int32),
                ("progress", ProgressCallback), ("progress_user_data", ctypes.c_void_p),
                ("adam_beta1", ctypes.c_double), ("adam_beta2", ctypes.c_double), ("adam_epsilon", ctypes.c_double),
                ("checkpoint_path", ctypes.c_char_p), ("checkpoint_every", ctypes.c_int32),
                ("tolerance_sd", ctypes.c_double), ("max_step_kl", ctypes.c_double),
                ("final_samples", ctypes.c_int32), ("problem_offset", ctypes.c_uint64)]


FIT_STATUS_COUNT, FIT_STATUS_CAPACITY = 10, 32  # NGVI_FIT_STATUS_COUNT, NGVI_FIT_STATUS_CAPACITY


class SummaryInfo(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("batch_size", ctypes.c_size_t), ("dimension", ctypes.c_int32),
                ("family", c_enum), ("estimator", c_enum), ("rule", c_enum), ("backend", c_enum),
                ("iterations", ctypes.c_int32), ("distribution_steps", ctypes.c_size_t),
                ("seconds", ctypes.c_double), ("distribution_steps_per_second", ctypes.c_double),
                ("mean_elbo", ctypes.c_double), ("failures", ctypes.c_size_t),
                ("elbo_trace_length", ctypes.c_size_t),
                ("status_counts", ctypes.c_size_t * FIT_STATUS_CAPACITY)]


class Ask(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("count", ctypes.c_size_t), ("samples", ctypes.c_int32),
                ("dimension", ctypes.c_int32), ("dtype", c_enum), ("needs_values", ctypes.c_int32),
                ("needs_gradients", ctypes.c_int32), ("needs_hessians", ctypes.c_int32), ("final", ctypes.c_int32),
                ("distributions", ctypes.POINTER(ctypes.c_uint32)), ("points", ctypes.c_void_p)]


class CheckpointInfo(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("format_version", ctypes.c_uint32), ("dtype", c_enum),
                ("batch_size", ctypes.c_size_t), ("dimension", ctypes.c_int32), ("family", c_enum),
                ("iteration", ctypes.c_int32)]


handle = ctypes.c_void_p
handle_out = ctypes.POINTER(ctypes.c_void_p)
size_t, int32, uint32, uint64 = ctypes.c_size_t, ctypes.c_int32, ctypes.c_uint32, ctypes.c_uint64
double = ctypes.c_double
size_p, int32_p, enum_p = ctypes.POINTER(size_t), ctypes.POINTER(int32), ctypes.POINTER(c_enum)


def _declare(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


for _name in ("ngvi_last_error", "ngvi_version"):
    _declare(_name, ctypes.c_char_p)
for _name in ("ngvi_status_name",):
    _declare(_name, ctypes.c_char_p, c_enum)
for _name in ("ngvi_fit_status_name", "ngvi_fit_status_message", "ngvi_conversion_status_name"):
    _declare(_name, ctypes.c_char_p, int32)

_declare("ngvi_batch_create", c_enum, handle_out, size_t, int32, c_enum, c_enum)
_declare("ngvi_batch_destroy", c_enum, handle)
_declare("ngvi_batch_shape", c_enum, handle, size_p, int32_p, enum_p, enum_p)
_declare("ngvi_batch_set", c_enum, handle, c_enum, InputArray, InputArray, OutputArray)
_declare("ngvi_batch_get", c_enum, handle, c_enum, OutputArray, OutputArray)
_declare("ngvi_batch_entropy", c_enum, handle, OutputArray)
_declare("ngvi_batch_kl_divergence", c_enum, handle, handle, OutputArray)
_declare("ngvi_batch_sample", c_enum, handle, uint64, uint32, int32, int32, OutputArray)
_declare("ngvi_convert", c_enum, c_enum, size_t, int32, c_enum, InputArray, InputArray, c_enum, OutputArray,
         OutputArray, OutputArray)
_declare("ngvi_prior_defaults", c_enum, ctypes.POINTER(Prior), size_t)
_declare("ngvi_model_create_glm", c_enum, handle_out, c_enum, size_t, int32, size_t, InputArray, InputArray,
         InputArray, ctypes.POINTER(Prior), double)
_declare("ngvi_model_create_quadratic", c_enum, handle_out, size_t, int32, InputArray, InputArray,
         ctypes.POINTER(Prior))
_declare("ngvi_model_destroy", c_enum, handle)
_declare("ngvi_model_shape", c_enum, handle, size_p, int32_p, enum_p)
_declare("ngvi_backend_available", c_enum, c_enum)
_declare("ngvi_options_defaults", c_enum, ctypes.POINTER(Options), size_t)
_declare("ngvi_fit", c_enum, handle, handle, ctypes.POINTER(Options), handle_out)
_declare("ngvi_summary_destroy", c_enum, handle)
_declare("ngvi_summary_get_info", c_enum, handle, ctypes.POINTER(SummaryInfo))
_declare("ngvi_summary_get", c_enum, handle, c_enum, OutputArray)
_declare("ngvi_summary_report", c_enum, handle, int32, ctypes.c_char_p, size_t, size_p)
_declare("ngvi_summary_checkpoint_error", c_enum, handle, ctypes.c_char_p, size_t, size_p)
_declare("ngvi_resume", c_enum, handle, handle, ctypes.c_char_p, ctypes.POINTER(Options), handle_out)
_declare("ngvi_read_checkpoint_info", c_enum, ctypes.c_char_p, ctypes.POINTER(CheckpointInfo),
         ctypes.POINTER(Options))
_declare("ngvi_optimizer_create", c_enum, handle_out, handle, ctypes.POINTER(Options), c_enum, ctypes.POINTER(Prior))
_declare("ngvi_optimizer_destroy", c_enum, handle)
_declare("ngvi_optimizer_ask", c_enum, handle, ctypes.POINTER(Ask))
_declare("ngvi_optimizer_tell", c_enum, handle, InputArray, InputArray, InputArray)
_declare("ngvi_optimizer_done", c_enum, handle, int32_p)
_declare("ngvi_optimizer_summary", c_enum, handle, handle_out)

# ----------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------


class NgviError(Exception):
    """A call into libngvi failed. `status` is the ngvi_status code, `status_name` its identifier
    ("size", "dtype", "unavailable", ...), and the message is the library's ngvi_last_error(). Each
    status raises its own subclass, which is also the built-in exception that fits it (see ERRORS)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.status_name = lib.ngvi_status_name(status).decode()


class InvalidHandleError(NgviError, ValueError):
    """NGVI_ERROR_INVALID_HANDLE: an object already released (closed optimizer, destroyed handle)."""


class NullPointerError(NgviError, TypeError):
    """NGVI_ERROR_NULL_POINTER: a required array or argument is missing."""


class StructSizeError(NgviError, RuntimeError):
    """NGVI_ERROR_STRUCT_SIZE: this package and the loaded libngvi are of different versions."""


class SizeError(NgviError, ValueError):
    """NGVI_ERROR_SIZE: an array's size or a shape does not match what the call expects."""


class DTypeError(NgviError, TypeError):
    """NGVI_ERROR_DTYPE: an array's dtype is wrong for the call, or model and batch differ."""


class InvalidArgumentError(NgviError, ValueError):
    """NGVI_ERROR_INVALID_ARGUMENT: a value out of range (an option, a dimension, an enum name)."""


class UnavailableError(NgviError, RuntimeError):
    """NGVI_ERROR_UNAVAILABLE: the request needs what this build or machine lacks (CUDA, a device)."""


class OutOfMemoryError(NgviError, MemoryError):
    """NGVI_ERROR_OUT_OF_MEMORY: an allocation failed."""


class InternalError(NgviError, RuntimeError):
    """NGVI_ERROR_INTERNAL: an unexpected failure inside the library (a bug: please report it)."""


class InvalidOperationError(NgviError, RuntimeError):
    """NGVI_ERROR_INVALID_OPERATION: the call does not fit the object's state (a tell with no ask, a
    batch changed while an optimizer fits it)."""


class FileError(NgviError, OSError):
    """NGVI_ERROR_FILE: a file cannot be read or written, or is not a valid ngvi checkpoint."""


# ngvi_status code -> the exception it raises (ngvi.h's enum ngvi_status).
ERRORS = {1: InvalidHandleError, 2: NullPointerError, 3: StructSizeError, 4: SizeError, 5: DTypeError,
          6: InvalidArgumentError, 7: UnavailableError, 8: OutOfMemoryError, 9: InternalError,
          10: InvalidOperationError, 11: FileError}
for _error in (NgviError, *ERRORS.values()):
    _error.__module__ = "ngvi"  # tracebacks name them as users import them


def check(status):
    """Raises the NgviError of `status`, carrying the library's message, unless it is NGVI_OK."""
    if status != 0:
        raise ERRORS.get(status, NgviError)(status, lib.ngvi_last_error().decode())


def require(value, cls, what):
    """`value` if it is a `cls`; else a TypeError naming the argument `what` (e.g. "ngvi.fit: model")."""
    if not isinstance(value, cls):
        raise TypeError(f"{what} must be an ngvi.{cls.__name__}, not {type(value).__name__}")
    return value


_INTEGER_RANGES = {ctypes.c_int32: (-2**31, 2**31 - 1), ctypes.c_uint32: (0, 2**32 - 1),
                   ctypes.c_uint64: (0, 2**64 - 1), ctypes.c_size_t: (0, 2**(8 * ctypes.sizeof(ctypes.c_size_t)) - 1)}


def integer(value, what, ctype):
    """`value` as a Python int that `ctype` holds; TypeError or ValueError naming `what` otherwise. ctypes
    would wrap it silently (2**32 + 3 into int32 is 3) or truncate a float."""
    import numpy as np
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"ngvi: {what} = {value!r} must be an integer, not {type(value).__name__}")
    value = int(value)
    lo, hi = _INTEGER_RANGES[ctype]
    if not lo <= value <= hi:
        raise ValueError(f"ngvi: {what} = {value} is out of range: an integer in [{lo}, {hi}] is expected")
    return value


def real(value, what):
    """`value` as a float; TypeError naming `what` for anything that is not a real number."""
    import numbers
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"ngvi: {what} = {value!r} must be a real number, not {type(value).__name__}")
    return float(value)


def field_value(struct, field, value, what=None):
    """`value` checked for the ctypes field `field` of `struct` (integers as integer() does, floats as
    real numbers), so that setting it neither wraps nor truncates."""
    ctype = dict(struct._fields_)[field]
    what = what or field
    if ctype in _INTEGER_RANGES:
        return integer(value, what, ctype)
    if ctype is ctypes.c_double:
        return real(value, what)
    return value


def name(enum_names, value, what):
    """The value of an enum given by name (or as its integer value)."""
    if isinstance(value, str):
        try:
            return enum_names.index(value)
        except ValueError:
            raise ValueError(f"{what} = {value!r}: expected one of {', '.join(enum_names)}") from None
    return int(value)


FAMILIES = ("full", "diagonal")
PARAMETERS = ("moments", "precision", "precision_cholesky", "natural", "expectation")
LIKELIHOODS = ("linear", "logistic", "poisson", "probit")
ESTIMATORS = ("auto", "price", "stein", "score", "quadrature")
RULES = ("iblr", "blr", "cholesky", "adam")
SCHEDULES = ("constant", "robbins_monro", "adaptive")
BACKENDS = ("auto", "cpu", "cuda")
STATUS_UNAVAILABLE = 7  # NGVI_ERROR_UNAVAILABLE
DERIVATIVES = ("value", "gradient", "hessian")
