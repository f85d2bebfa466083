"""Batch: B Gaussian distributions in d dimensions, and conversions between parameterizations."""
import ctypes

import numpy as np

from . import _arrays, _lib
from ._lib import check, lib


def _float_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"ngvi: dtype must be float32 or float64, not {dtype}")
    return dtype


def _matrix_shape(B, d, family):
    return (B, d, d) if family == "full" else (B, d)


class Batch:
    """B distributions q_b = N(mu_b, Lambda_b^-1) in d dimensions, starting at N(0, I).

    family "full" (matrices are (B, d, d)) or "diagonal" (matrices are their diagonals, (B, d));
    dtype float32 or float64. Setters return one conversion status per distribution (0: ok, 1: an
    entry was not finite, 2: not positive definite); a distribution that fails keeps its state.
    """

    def __init__(self, batch_size, dimension, family="full", dtype=np.float64):
        self._handle = None
        self.dtype = _float_dtype(dtype)
        handle = ctypes.c_void_p()
        # Ranges of the C types only: the library refuses 0 and negative dimensions with its own message.
        batch_size = _lib.integer(batch_size, "batch_size", _lib.size_t)
        dimension = _lib.integer(dimension, "dimension", _lib.int32)
        check(lib.ngvi_batch_create(ctypes.byref(handle), batch_size, dimension,
                                    _lib.name(_lib.FAMILIES, family, "family"),
                                    _lib.FLOAT32 if self.dtype == np.float32 else _lib.FLOAT64))
        self._handle = handle
        self.size, self.dimension = int(batch_size), int(dimension)
        self.family = family if isinstance(family, str) else _lib.FAMILIES[family]

    def __del__(self, _destroy=lib.ngvi_batch_destroy):  # bound early: module globals may be gone at exit
        if getattr(self, "_handle", None) is not None:
            _destroy(self._handle)
            self._handle = None

    def __repr__(self):
        return f"ngvi.Batch({self.size}, {self.dimension}, family={self.family!r}, dtype={self.dtype.name})"

    @property
    def shape(self):
        """(B, d)."""
        return (self.size, self.dimension)

    def _shapes(self):
        return (self.size, self.dimension), _matrix_shape(self.size, self.dimension, self.family)

    # -- setters -----------------------------------------------------------------------------------

    def set(self, parameters, first, second):
        """Sets every distribution from `parameters` ("moments", "precision", "precision_cholesky",
        "natural", "expectation"): first (B, d), second (B, d, d) or (B, d). Returns the conversion
        statuses (int32, B)."""
        which = _lib.name(_lib.PARAMETERS, parameters, "parameters")
        first_shape, second_shape = self._shapes()
        a, c = _arrays.as_array(first, self.dtype), _arrays.as_array(second, self.dtype)
        _arrays.check_shape(a, first_shape, "first")
        _arrays.check_shape(c, second_shape, "second")
        statuses = np.empty(self.size, dtype=np.int32)
        check(lib.ngvi_batch_set(self._handle, which, _arrays.input_array(a), _arrays.input_array(c),
                                 _arrays.output_array(statuses)))
        return statuses

    def set_moments(self, mean, covariance):
        """set("moments", ...): mean (B, d), covariance (B, d, d) or variances (B, d) if diagonal."""
        return self.set("moments", mean, covariance)

    def set_precision(self, mean, precision):
        """set("precision", ...): mean (B, d), precision (B, d, d) or its diagonals (B, d)."""
        return self.set("precision", mean, precision)

    def set_precision_cholesky(self, mean, precision_cholesky):
        """set("precision_cholesky", ...): mean (B, d), lower L with Lambda = L L^T (or sqrt(diag Lambda))."""
        return self.set("precision_cholesky", mean, precision_cholesky)

    def set_natural(self, eta1, eta2):
        """set("natural", ...): eta1 = Lambda mu (B, d), eta2 = -Lambda / 2."""
        return self.set("natural", eta1, eta2)

    def set_expectation(self, m1, m2):
        """set("expectation", ...): m1 = mu (B, d), m2 = Sigma + mu mu^T."""
        return self.set("expectation", m1, m2)

    # -- getters -----------------------------------------------------------------------------------

    def get(self, parameters):
        """The pair of arrays (first (B, d), second (B, d, d) or (B, d)) of `parameters`."""
        which = _lib.name(_lib.PARAMETERS, parameters, "parameters")
        first_shape, second_shape = self._shapes()
        a, c = np.empty(first_shape, dtype=self.dtype), np.empty(second_shape, dtype=self.dtype)
        check(lib.ngvi_batch_get(self._handle, which, _arrays.output_array(a), _arrays.output_array(c)))
        return a, c

    def _second(self, parameters):
        c = np.empty(self._shapes()[1], dtype=self.dtype)
        check(lib.ngvi_batch_get(self._handle, _lib.PARAMETERS.index(parameters), _lib.OutputArray(),
                                 _arrays.output_array(c)))
        return c

    @property
    def mean(self):
        """The means mu, (B, d)."""
        a = np.empty(self.shape, dtype=self.dtype)
        check(lib.ngvi_batch_get(self._handle, _lib.PARAMETERS.index("moments"), _arrays.output_array(a),
                                 _lib.OutputArray()))
        return a

    @property
    def covariance(self):
        """The covariances Sigma, (B, d, d) for either family (diagonal matrices for "diagonal")."""
        second = self._second("moments")
        if self.family == "full":
            return second
        covariance = np.zeros((self.size, self.dimension, self.dimension), dtype=self.dtype)
        np.einsum("bii->bi", covariance)[...] = second
        return covariance

    @property
    def variance(self):
        """The marginal variances diag(Sigma), (B, d), for either family."""
        second = self._second("moments")
        return second if self.family == "diagonal" else np.diagonal(second, 0, 1, 2).copy()

    @property
    def precision(self):
        """Lambda: (B, d, d), or its diagonals (B, d) for a diagonal batch."""
        return self._second("precision")

    @property
    def precision_cholesky(self):
        """L with Lambda = L L^T (lower triangular), (B, d, d); sqrt(diag Lambda), (B, d), if diagonal."""
        return self._second("precision_cholesky")

    @property
    def natural(self):
        """(eta1, eta2) = (Lambda mu, -Lambda / 2)."""
        return self.get("natural")

    @property
    def expectation(self):
        """(m1, m2) = (mu, Sigma + mu mu^T)."""
        return self.get("expectation")

    def entropy(self):
        """The entropies H(q_b), (B,)."""
        out = np.empty(self.size, dtype=self.dtype)
        check(lib.ngvi_batch_entropy(self._handle, _arrays.output_array(out)))
        return out

    def kl_divergence(self, other):
        """KL(q_b || other_b) for every b."""
        out = np.empty(self.size, dtype=self.dtype)
        check(lib.ngvi_batch_kl_divergence(self._handle, other._handle, _arrays.output_array(out)))
        return out

    def sample(self, num_samples, seed=0, step=0, antithetic=True):
        """z[b, s] = mu_b + L_b^-T eps[b, s], (B, S, d), with the random numbers a fit would draw."""
        num_samples = _lib.integer(num_samples, "num_samples", _lib.int32)
        seed, step = _lib.integer(seed, "seed", _lib.uint64), _lib.integer(step, "step", _lib.uint32)
        out = np.empty((self.size, num_samples, self.dimension), dtype=self.dtype)
        check(lib.ngvi_batch_sample(self._handle, seed, step, num_samples, int(bool(antithetic)),
                                    _arrays.output_array(out)))
        return out


def convert(source, first, second, target, family="full", dtype=None):
    """Converts B distributions given as `source` parameters (first (B, d), second (B, d, d) or
    (B, d)) into `target` parameters, without a Batch. Returns (first, second, statuses); a
    distribution that cannot be converted has NaN outputs and a nonzero status. dtype: that of
    `first` if float32, else float64."""
    if dtype is None:
        dtype = _arrays.float_dtype(first)
    dtype = _float_dtype(dtype)
    a, c = _arrays.as_array(first, dtype), _arrays.as_array(second, dtype)
    if len(a.shape) != 2:
        raise ValueError(f"ngvi: first has shape {a.shape}, expected (B, d)")
    B, d = a.shape
    fam = family if isinstance(family, str) else _lib.FAMILIES[family]
    _arrays.check_shape(c, _matrix_shape(B, d, fam), "second")
    x, y = np.empty((B, d), dtype=dtype), np.empty(_matrix_shape(B, d, fam), dtype=dtype)
    statuses = np.empty(B, dtype=np.int32)
    check(lib.ngvi_convert(_lib.name(_lib.FAMILIES, family, "family"), B, d,
                           _lib.name(_lib.PARAMETERS, source, "source"), _arrays.input_array(a),
                           _arrays.input_array(c), _lib.name(_lib.PARAMETERS, target, "target"),
                           _arrays.output_array(x), _arrays.output_array(y), _arrays.output_array(statuses)))
    return x, y, statuses
