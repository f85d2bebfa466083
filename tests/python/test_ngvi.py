"""The ngvi Python package against independent oracles (closed-form posteriors and NumPy linear
algebra), and its errors: the library's failures arrive as ngvi.NgviError with the library's message."""
import ctypes
import subprocess
import sys

import numpy as np
import pytest

import ngvi


def random_moments(rng, B, d):
    mean = rng.normal(size=(B, d))
    A = rng.normal(size=(B, d, d))
    return mean, A @ A.transpose(0, 2, 1) / d + 0.5 * np.eye(d)


def solve_each(matrices, vectors):
    """matrices[b]^-1 vectors[b] for each b (NumPy 2 reads a (B, d) right-hand side as matrices)."""
    return np.linalg.solve(matrices, vectors[..., None])[..., 0]


def test_version_is_the_library_version():
    assert ngvi.__version__.count(".") == 2
    assert ngvi.__version__ == ngvi._lib.lib.ngvi_version().decode()


def test_importing_ngvi_imports_no_autodiff_framework():
    """JAX and PyTorch are optional: fit_log_density imports the one it is asked for."""
    code = "import sys, ngvi; print(sorted({'jax', 'torch'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_defaults_come_from_the_library():
    defaults = ngvi.default_options()
    # The values of ngvi::Options: read through the ctypes mirror of ngvi_options, they also check its layout.
    assert defaults["samples"] == 0 and defaults["max_steps"] == 10000 and defaults["patience"] == 3
    assert defaults["step_size"] == 0.5 and defaults["tolerance"] == 1e-8 and defaults["decay_power"] == 1.0
    assert defaults["estimator"] == "auto" and defaults["rule"] == "iblr" and defaults["antithetic"] is True
    assert defaults["schedule"] == "adaptive" and defaults["tolerance_sd"] == 0.01 and defaults["final_samples"] == 1000
    assert defaults["max_step_kl"] == 0.5  # the last field of the mirror: its layout matches


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 2e-4)])
def test_every_parameterization_agrees_with_numpy(dtype, tol):
    rng = np.random.default_rng(1)
    B, d = 5, 4
    mean, covariance = random_moments(rng, B, d)
    q = ngvi.Batch(B, d, dtype=dtype)
    assert q.set_moments(mean, covariance).tolist() == [0] * B
    precision = np.linalg.inv(covariance)
    scale = tol * 100
    assert q.mean.dtype == dtype
    np.testing.assert_allclose(q.mean, mean, rtol=scale, atol=scale)
    np.testing.assert_allclose(q.covariance, covariance, rtol=scale, atol=scale)
    np.testing.assert_allclose(q.precision, precision, rtol=scale, atol=scale)
    L = q.precision_cholesky
    np.testing.assert_allclose(L @ L.transpose(0, 2, 1), precision, rtol=scale, atol=scale)
    assert np.all(np.triu(L, 1) == 0)
    eta1, eta2 = q.natural
    np.testing.assert_allclose(eta1, np.einsum("bij,bj->bi", precision, mean), rtol=scale, atol=scale)
    np.testing.assert_allclose(eta2, -precision / 2, rtol=scale, atol=scale)
    m1, m2 = q.expectation
    np.testing.assert_allclose(m2, covariance + np.einsum("bi,bj->bij", mean, mean), rtol=scale, atol=scale)
    sign, logdet = np.linalg.slogdet(covariance)
    np.testing.assert_allclose(q.entropy(), d / 2 * (1 + np.log(2 * np.pi)) + logdet / 2, rtol=scale)

    # Setting from any parameterization gives the same distributions back.
    for name, (a, c) in {"natural": (eta1, eta2), "expectation": (m1, m2), "precision": (mean, precision),
                         "precision_cholesky": (mean, L)}.items():
        p = ngvi.Batch(B, d, dtype=dtype)
        assert p.set(name, a, c).tolist() == [0] * B, name
        np.testing.assert_allclose(p.covariance, covariance, rtol=scale, atol=scale, err_msg=name)
        x, y, statuses = ngvi.convert(name, a, c, "moments", dtype=dtype)
        assert x.dtype == dtype and statuses.tolist() == [0] * B
        np.testing.assert_allclose(y, covariance, rtol=scale, atol=scale, err_msg=name)
    np.testing.assert_allclose(q.kl_divergence(q), 0, atol=scale)


def test_diagonal_batches_take_and_give_diagonals():
    rng = np.random.default_rng(2)
    mean, variances = rng.normal(size=(3, 4)), rng.uniform(0.5, 2, size=(3, 4))
    q = ngvi.Batch(3, 4, family="diagonal")
    q.set_moments(mean, variances)
    np.testing.assert_allclose(q.precision, 1 / variances, rtol=1e-12)
    np.testing.assert_allclose(q.precision_cholesky, 1 / np.sqrt(variances), rtol=1e-12)
    with pytest.raises(ValueError, match=r"second has shape \(3, 4, 4\), expected \(3, 4\)"):
        q.set_moments(mean, np.stack([np.diag(v) for v in variances]))


def test_conversion_failures_are_per_distribution():
    rng = np.random.default_rng(3)
    mean, covariance = random_moments(rng, 4, 3)
    mean[1, 0] = np.nan
    covariance[2] = -np.eye(3)
    q = ngvi.Batch(4, 3)
    assert q.set_moments(mean, covariance).tolist() == [0, 1, 2, 0]
    assert np.all(q.mean[[1, 2]] == 0)  # the failed ones keep N(0, I)
    eta1, eta2, statuses = ngvi.convert("moments", mean, covariance, "natural")
    assert statuses.tolist() == [0, 1, 2, 0]
    assert np.isnan(eta1[[1, 2]]).all() and np.isfinite(eta1[[0, 3]]).all()


def test_samples_have_the_batch_moments():
    rng = np.random.default_rng(4)
    mean, covariance = random_moments(rng, 2, 3)
    q = ngvi.Batch(2, 3)
    q.set_moments(mean, covariance)
    z = q.sample(20000, seed=7)
    assert z.shape == (2, 20000, 3)
    np.testing.assert_allclose((z[:, 0::2] + z[:, 1::2]) / 2, np.repeat(mean[:, None], 10000, 1), atol=1e-12)
    centered = z - mean[:, None]
    np.testing.assert_allclose(np.einsum("bsi,bsj->bij", centered, centered) / 20000, covariance, atol=0.08)
    assert np.array_equal(q.sample(4, seed=7), z[:, :4])  # the same random numbers for the same seed


def test_quadratic_fit_reaches_the_exact_posterior():
    rng = np.random.default_rng(5)
    centers, curvatures = random_moments(rng, 6, 3)
    q = ngvi.Batch(6, 3)
    summary = ngvi.fit(ngvi.quadratic(centers, curvatures), q, rule="blr", step_size=1.0)
    assert summary.status_counts["converged"] == 6 and summary.estimator == "quadrature"
    np.testing.assert_allclose(q.mean, centers, atol=1e-12)
    np.testing.assert_allclose(q.precision, curvatures, atol=1e-12)


def linear_problems(rng, B, N, d):
    x = rng.normal(size=(B, N, d)) / np.sqrt(d)
    z = rng.normal(size=(B, d))
    return x, np.einsum("bnd,bd->bn", x, z) + 0.5 * rng.normal(size=(B, N))


def test_linear_regression_reaches_the_exact_gaussian_posterior():
    rng = np.random.default_rng(6)
    B, N, d, noise_sd, delta = 4, 30, 3, 0.5, 2.0
    x, y = linear_problems(rng, B, N, d)
    q = ngvi.Batch(B, d)
    # Exact expectations and one BLR step of size 1 land on the posterior of a Gaussian model.
    model = ngvi.linear(x, y, noise_sd=noise_sd, prior=ngvi.Prior.isotropic(delta))
    summary = ngvi.fit(model, q, rule="blr", step_size=1.0)
    assert summary.failures == 0
    precision = np.einsum("bni,bnj->bij", x, x) / noise_sd**2 + delta * np.eye(d)
    mean = solve_each(precision, np.einsum("bni,bn->bi", x, y) / noise_sd**2)
    np.testing.assert_allclose(q.precision, precision, rtol=1e-12)
    np.testing.assert_allclose(q.mean, mean, rtol=1e-10, atol=1e-12)
    # The ELBO at the exact posterior is the log evidence: y_b ~ N(0, X X^T / delta + s^2 I).
    for b in range(B):
        marginal = x[b] @ x[b].T / delta + noise_sd**2 * np.eye(N)
        _, logdet = np.linalg.slogdet(marginal)
        evidence = -0.5 * (y[b] @ np.linalg.solve(marginal, y[b]) + logdet + N * np.log(2 * np.pi))
        assert summary.elbo[b] == pytest.approx(evidence, rel=1e-10)


def test_dense_and_ragged_rows_give_identical_fits_and_data_is_copied():
    rng = np.random.default_rng(7)
    B, N, d = 5, 20, 3
    x = rng.normal(size=(B, N, d))
    y = (rng.random((B, N)) < 0.4).astype(np.float64)
    offsets = np.arange(B + 1) * N
    dense, ragged = ngvi.logistic(x, y), ngvi.logistic(x.reshape(-1, d), y.reshape(-1), offsets)
    x[:] = 0  # the models hold copies
    p, q = ngvi.Batch(B, d), ngvi.Batch(B, d)
    a, b = ngvi.fit(dense, p, seed=3), ngvi.fit(ragged, q, seed=3)
    assert np.array_equal(p.mean, q.mean) and np.array_equal(p.covariance, q.covariance)
    assert np.array_equal(a.elbo, b.elbo) and a.status.tolist() == [0] * B
    assert p.mean.std() > 0.05  # fitted to the data as it was, not to zeros


def test_float32_models_fit_float32_batches():
    rng = np.random.default_rng(8)
    x, y = linear_problems(rng, 3, 25, 2)
    model = ngvi.linear(x.astype(np.float32), y.astype(np.float32))
    assert model.dtype == np.float32 and (model.num_problems, model.dimension) == (3, 2)
    q = ngvi.Batch(3, 2, dtype=np.float32)
    assert ngvi.fit(model, q).failures == 0
    with pytest.raises(ngvi.NgviError, match="the model holds float32 but the batch holds float64") as e:
        ngvi.fit(model, ngvi.Batch(3, 2))
    assert e.value.status_name == "dtype"


def test_bad_data_fails_its_own_problem_only():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(4, 15, 2))
    y = (rng.random((4, 15)) < 0.5).astype(np.float64)
    y[2, 3] = 2.0  # not a label
    summary = ngvi.fit(ngvi.logistic(x, y), ngvi.Batch(4, 2), trace_elbo=True)
    assert [ngvi.FIT_STATUSES[s] for s in summary.status] == ["converged", "converged", "invalid_data", "converged"]
    assert summary.failures == 1 and np.isnan(summary.elbo[2])
    assert len(summary.elbo_trace) == summary.iterations
    assert "invalid_data" in summary.full_report()


def test_a_full_prior_with_a_mean_gives_the_exact_posterior():
    rng = np.random.default_rng(10)
    x, y = linear_problems(rng, 3, 10, 2)
    P = np.array([[2.0, 0.5], [0.5, 1.0]])
    m = np.array([0.3, -0.2])
    q = ngvi.Batch(3, 2)
    ngvi.fit(ngvi.linear(x, y, prior=ngvi.Prior.full(P, m)), q, rule="blr", step_size=1.0)
    precision = np.einsum("bni,bnj->bij", x, x) + P
    mean = solve_each(precision, np.einsum("bni,bn->bi", x, y) + P @ m)
    np.testing.assert_allclose(q.mean, mean, rtol=1e-10, atol=1e-12)
    with pytest.raises(ngvi.NgviError, match="positive definite"):
        ngvi.linear(x, y, prior=ngvi.Prior.full(-P))
    with pytest.raises(ngvi.NgviError, match=r"prior->precision.*\(1\) = \(1\) or \(B\) = \(3\)") as e:
        ngvi.linear(x, y, prior=ngvi.Prior.isotropic([1.0, 2.0]))
    assert e.value.status_name == "size"


def test_the_progress_callback_can_stop_a_fit_and_its_exceptions_propagate():
    rng = np.random.default_rng(11)
    x, y = linear_problems(rng, 3, 10, 2)
    model = ngvi.logistic(x, (y > 0).astype(float))
    seen = []
    summary = ngvi.fit(model, ngvi.Batch(3, 2), progress=lambda p: seen.append(p) or p.iteration < 3)
    assert [p.iteration for p in seen] == [1, 2, 3] and summary.iterations == 3
    assert summary.status_counts["running"] == 3

    def fails(p):
        raise KeyError("from the callback")
    with pytest.raises(KeyError, match="from the callback"):
        ngvi.fit(model, ngvi.Batch(3, 2), progress=fails)


def test_backend_availability_agrees_with_what_fit_does():
    assert ngvi.backend_available("cpu") == (True, "") and ngvi.backend_available("auto") == (True, "")
    with pytest.raises(ValueError, match="backend = 'tpu'"):
        ngvi.backend_available("tpu")
    available, why = ngvi.backend_available("cuda")
    rng = np.random.default_rng(13)
    x, y = linear_problems(rng, 3, 10, 2)
    if available:
        assert ngvi.fit(ngvi.linear(x, y), ngvi.Batch(3, 2), backend="cuda").backend == "cuda"
    else:
        assert "CUDA" in why
        with pytest.raises(ngvi.NgviError, match="CUDA"):
            ngvi.fit(ngvi.linear(x, y), ngvi.Batch(3, 2), backend="cuda")


def test_library_errors_carry_the_library_message():
    rng = np.random.default_rng(12)
    x, y = linear_problems(rng, 3, 10, 2)
    model = ngvi.linear(x, y)
    with pytest.raises(ngvi.NgviError, match=r"ngvi_fit: the model has \(B, d\) = \(3, 2\) but the batch has \(4, 2\)"):
        ngvi.fit(model, ngvi.Batch(4, 2))
    with pytest.raises(ngvi.NgviError, match="options.step_size = 2 is invalid") as e:
        ngvi.fit(model, ngvi.Batch(3, 2), step_size=2.0)
    assert e.value.status_name == "invalid_argument" and e.value.status == 6
    # Without the CUDA backend in this build, or without a device for it.
    if not ngvi.backend_available("cuda")[0]:
        with pytest.raises(ngvi.NgviError, match="no CUDA backend|no CUDA device") as e:
            ngvi.fit(model, ngvi.Batch(3, 2), backend="cuda")
        assert e.value.status_name == "unavailable"
    with pytest.raises(ngvi.NgviError, match="offsets must not decrease"):
        ngvi.logistic(np.zeros((4, 2)), np.zeros(4), offsets=[0, 3, 2, 4])
    with pytest.raises(ngvi.NgviError, match="ngvi_batch_create: dimension = 0 must be at least 1"):
        ngvi.Batch(3, 0)
    with pytest.raises(ngvi.NgviError, match="family = 5 is not an ngvi_family"):
        ngvi.Batch(3, 2, family=5)
    with pytest.raises(ngvi.NgviError, match="likelihood = 9 is not an ngvi_likelihood"):
        ngvi.glm(9, x, y)
    with pytest.raises(ngvi.NgviError, match="options.estimator = 11 is invalid"):
        ngvi.fit(model, ngvi.Batch(3, 2), estimator=11)
    # Python-side mistakes are Python errors.
    with pytest.raises(ValueError, match="estimator = 'newton'"):
        ngvi.fit(model, ngvi.Batch(3, 2), estimator="newton")
    with pytest.raises(TypeError, match="unexpected keyword argument 'step'"):
        ngvi.fit(model, ngvi.Batch(3, 2), step=0.1)
    with pytest.raises(ValueError, match=r"first has shape \(2, 3\), expected \(3, 2\)"):
        ngvi.Batch(3, 2).set_moments(np.zeros((2, 3)), np.stack([np.eye(2)] * 3))


class FakeCudaArray:
    """A device array as CuPy or Numba present it; the pointer is never dereferenced without CUDA."""

    def __init__(self, shape, typestr="<f8"):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": typestr, "data": (0xDEAD0000, False),
                                         "strides": None, "version": 3}


class FakeDLPackCudaArray:
    """A DLPack producer on a CUDA device: a capsule holding a DLManagedTensor."""

    def __init__(self, shape):
        from ngvi._arrays import _DLManagedTensor
        self._shape = (ctypes.c_int64 * len(shape))(*shape)
        self._tensor = _DLManagedTensor()
        t = self._tensor.dl_tensor
        t.data, t.device_type, t.device_id, t.ndim = 0xDEAD0000, 2, 0, len(shape)
        t.dtype.code, t.dtype.bits, t.dtype.lanes = 2, 64, 1
        t.shape = self._shape

    def __dlpack_device__(self):
        return (2, 0)

    def __dlpack__(self, stream=None):
        new = ctypes.pythonapi.PyCapsule_New
        new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
        return new(ctypes.addressof(self._tensor), b"dltensor", None)


class HostDLPack:
    """A DLPack producer in host memory (wraps a NumPy array)."""

    def __init__(self, array):
        self._array = array

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()

    def __dlpack__(self, stream=None):
        return self._array.__dlpack__()


@pytest.mark.parametrize("make", [FakeCudaArray, FakeDLPackCudaArray])
def test_device_arrays_are_passed_as_device_pointers_and_refused_for_now(make):
    q = ngvi.Batch(3, 2)
    with pytest.raises(ngvi.NgviError, match=r"argument `first \(mean\)` is a device array.*does not take device arrays yet") as e:
        q.set_moments(make((3, 2)), np.stack([np.eye(2)] * 3))
    assert e.value.status_name == "unavailable"
    with pytest.raises(ngvi.NgviError, match="`x` is a device array"):
        ngvi.logistic(make((3, 4, 2)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"first has shape \(2, 3\), expected \(3, 2\)"):
        q.set_moments(make((2, 3)), np.stack([np.eye(2)] * 3))


def test_host_dlpack_arrays_are_read_like_numpy_arrays():
    rng = np.random.default_rng(13)
    mean, covariance = random_moments(rng, 3, 2)
    q = ngvi.Batch(3, 2)
    assert q.set_moments(HostDLPack(mean), HostDLPack(covariance)).tolist() == [0, 0, 0]
    np.testing.assert_allclose(q.mean, mean, rtol=1e-14)
