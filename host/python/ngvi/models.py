"""Built-in models: generalized linear models on dense or ragged rows, and quadratic targets. A model
copies its data into the library: the arrays passed in may change or be freed afterwards."""
import ctypes

import numpy as np

from . import _arrays, _lib
from ._lib import check, lib


class Prior:
    """A Gaussian prior N(mean, precision^-1) on every problem's parameter.

    precision: a scalar or one per problem (isotropic), or a (d, d) / (B, d, d) matrix (full);
    mean: None (zero), (d,) or (B, d).
    """

    def __init__(self, kind, precision=None, mean=None):
        self.kind, self.precision, self.mean = kind, precision, mean

    @classmethod
    def isotropic(cls, precision=1.0, mean=None):
        """N(mean, I / precision): precision a scalar or one per problem (B,); mean None (zero), (d,) or (B, d)."""
        return cls("isotropic", np.atleast_1d(precision), mean)

    @classmethod
    def full(cls, precision, mean=None):
        """N(mean, precision^-1): precision (d, d) shared or (B, d, d) per problem; mean as for isotropic."""
        return cls("full", precision, mean)

    @classmethod
    def none(cls):
        """No prior: the model's target is the whole negative log joint."""
        return cls("none")

    def _struct(self, dtype, keep):
        """The ngvi_prior for a model of `dtype`; the arrays it points to are appended to `keep`."""
        prior = _lib.Prior()
        check(lib.ngvi_prior_defaults(ctypes.byref(prior), ctypes.sizeof(prior)))
        prior.kind = ("none", "isotropic", "full").index(self.kind)
        for field in ("precision", "mean"):
            value = getattr(self, field)
            if value is not None:
                array = _arrays.as_array(value, dtype)
                keep.append(array)
                setattr(prior, field, _arrays.input_array(array))
        return prior


class Model:
    """A batch of B targets in d dimensions held by the library (see glm() and quadratic())."""

    def __init__(self, create, dtype):
        self._handle = None
        handle = ctypes.c_void_p()
        check(create(ctypes.byref(handle)))
        self._handle, self.dtype = handle, np.dtype(dtype)
        size, dimension = ctypes.c_size_t(), ctypes.c_int32()
        check(lib.ngvi_model_shape(self._handle, ctypes.byref(size), ctypes.byref(dimension), None))
        self.num_problems, self.dimension = size.value, dimension.value

    def __del__(self, _destroy=lib.ngvi_model_destroy):  # bound early: module globals may be gone at exit
        if getattr(self, "_handle", None) is not None:
            _destroy(self._handle)
            self._handle = None

    def __repr__(self):
        return f"ngvi.Model(B={self.num_problems}, d={self.dimension}, dtype={self.dtype.name})"


def _model_dtype(x, dtype):
    if dtype is None:
        dtype = _arrays.float_dtype(x)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"ngvi: dtype must be float32 or float64, not {dtype}")
    return dtype


def _offsets(offsets):
    """Ragged offsets as int64, refusing what a cast would change: floats (39.7 is not row 39) and
    unsigned values beyond int64."""
    raw = np.asarray(offsets)
    if raw.dtype == np.bool_ or not np.issubdtype(raw.dtype, np.integer):
        raise TypeError(f"ngvi: offsets must be integers, not {raw.dtype} (a cast would truncate them)")
    if raw.size and np.issubdtype(raw.dtype, np.unsignedinteger) and int(raw.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"ngvi: offsets holds {raw.max()}, beyond int64")
    return _arrays.as_array(raw, np.int64)


def glm(likelihood, x, y, offsets=None, prior=None, noise_sd=1.0, dtype=None):
    """A generalized linear model: f_b(z) = -sum_n log p(y_n | x_n^T z) + the prior (default N(0, I)).

    likelihood: "linear" (noise_sd), "logistic", "poisson" or "probit".
    Dense rows: x (B, N, d), y (B, N). Ragged rows: offsets (B + 1,), x (offsets[B], d), y (offsets[B],),
    problem b owning rows offsets[b] .. offsets[b+1]-1.
    """
    kind = _lib.name(_lib.LIKELIHOODS, likelihood, "likelihood")
    dtype = _model_dtype(x, dtype)
    xs, ys = _arrays.as_array(x, dtype), _arrays.as_array(y, dtype)
    if offsets is None:
        if len(xs.shape) != 3:
            raise ValueError(f"ngvi: dense x has shape {xs.shape}, expected (B, N, d)")
        B, N, d = xs.shape
        _arrays.check_shape(ys, (B, N), "y")
        offs = None
    else:
        offs = _offsets(offsets)
        if len(xs.shape) != 2 or len(offs.shape) != 1 or offs.shape[0] < 2:
            raise ValueError(f"ngvi: ragged rows need x (rows, d) and offsets (B + 1,) with B >= 1, got {xs.shape} "
                             f"and {offs.shape}")
        B, N, d = offs.shape[0] - 1, 0, xs.shape[1]
    keep = []
    prior_struct = (prior or Prior.isotropic())._struct(dtype, keep)
    return Model(lambda out: lib.ngvi_model_create_glm(out, kind, B, d, N, _arrays.input_array(xs),
                                                       _arrays.input_array(ys), _arrays.input_array(offs),
                                                       ctypes.byref(prior_struct), _lib.real(noise_sd, "noise_sd")),
                 dtype)


def logistic(x, y, offsets=None, prior=None, dtype=None):
    """Logistic regression, labels y in {0, 1}."""
    return glm("logistic", x, y, offsets, prior, dtype=dtype)


def probit(x, y, offsets=None, prior=None, dtype=None):
    """Probit regression, labels y in {0, 1}."""
    return glm("probit", x, y, offsets, prior, dtype=dtype)


def poisson(x, y, offsets=None, prior=None, dtype=None):
    """Poisson regression with a log link, counts y."""
    return glm("poisson", x, y, offsets, prior, dtype=dtype)


def linear(x, y, offsets=None, prior=None, noise_sd=1.0, dtype=None):
    """Linear regression with known noise standard deviation."""
    return glm("linear", x, y, offsets, prior, noise_sd, dtype)


def quadratic(centers, curvatures, prior=None, dtype=None):
    """f_b(z) = 1/2 (z - a_b)^T A_b (z - a_b) (+ the prior; default none: the posterior is N(a_b, A_b^-1)).
    centers (B, d); curvatures (d, d) shared or (B, d, d)."""
    dtype = _model_dtype(centers, dtype)
    a, A = _arrays.as_array(centers, dtype), _arrays.as_array(curvatures, dtype)
    if len(a.shape) != 2:
        raise ValueError(f"ngvi: centers has shape {a.shape}, expected (B, d)")
    B, d = a.shape
    if A.shape not in ((d, d), (B, d, d)):
        raise ValueError(f"ngvi: curvatures has shape {A.shape}, expected {(d, d)} or {(B, d, d)}")
    keep = []
    prior_struct = ctypes.byref(prior._struct(dtype, keep)) if prior is not None else None
    return Model(lambda out: lib.ngvi_model_create_quadratic(out, B, d, _arrays.input_array(a),
                                                             _arrays.input_array(A), prior_struct), dtype)
