"""The Python API as its users expect it (issue 17): keyword defaults from the library, docstrings,
exceptions that are also the built-in ones that fit, progress bars, covariances of either family,
one dtype rule for NumPy, JAX and PyTorch data, DLPack outputs, and arguments of the wrong type."""
import inspect
import re
import sys

import numpy as np
import pytest

import ngvi
from ngvi import _lib


def small_problem(B=3, N=12, d=2, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, N, d)).astype(dtype)
    y = (rng.random((B, N)) < 0.5).astype(dtype)
    return ngvi.logistic(x, y), B, d


@pytest.mark.parametrize("function", [ngvi.fit, ngvi.Optimizer])
def test_options_are_keywords_whose_defaults_are_the_librarys(function):
    defaults = ngvi.default_options()  # ngvi_options_defaults, read from the C ABI
    parameters = inspect.signature(function).parameters
    for name, value in defaults.items():
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert parameters[name].default == value, name
    assert parameters["progress"].default is False
    assert all(name in inspect.getdoc(function) for name in defaults)


def test_every_public_function_and_method_has_a_docstring():
    missing = []
    for name in ngvi.__all__:
        obj = getattr(ngvi, name)
        if not callable(obj):
            continue
        if not inspect.getdoc(obj):
            missing.append(name)
        if inspect.isclass(obj):
            for member, value in vars(obj).items():
                if member.startswith("_"):
                    continue
                function = getattr(value, "__func__", value)
                if isinstance(value, property) or callable(function):
                    if not inspect.getdoc(function):
                        missing.append(f"{name}.{member}")
    assert missing == []


def test_each_status_raises_its_own_error_which_is_the_builtin_that_fits():
    # Every status the C ABI has (ngvi_status_name names it) has its class.
    for status in range(1, 12):
        assert lib_status_name(status) != "unknown"
        assert issubclass(_lib.ERRORS[status], ngvi.NgviError)
    model, B, d = small_problem()
    with pytest.raises(ValueError, match=r"the model has \(B, d\) = \(3, 2\) but the batch has \(4, 2\)") as e:
        ngvi.fit(model, ngvi.Batch(4, d))
    assert isinstance(e.value, ngvi.SizeError) and e.value.status_name == "size"
    with pytest.raises(ValueError, match="options.step_size = 2 is invalid") as e:
        ngvi.fit(model, ngvi.Batch(B, d), step_size=2.0)
    assert isinstance(e.value, ngvi.InvalidArgumentError)
    with pytest.raises(TypeError, match="the model holds float64 but the batch holds float32") as e:
        ngvi.fit(model, ngvi.Batch(B, d, dtype=np.float32))
    assert isinstance(e.value, ngvi.DTypeError) and e.value.status_name == "dtype"
    with pytest.raises(OSError, match="cannot open") as e:
        ngvi.resume(model, ngvi.Batch(B, d), "/nonexistent/fit.ckpt")
    assert isinstance(e.value, ngvi.FileError)
    optimizer = ngvi.Optimizer(ngvi.Batch(B, d))
    with pytest.raises(RuntimeError) as e:  # a tell with no ask
        optimizer.tell(np.zeros((B, 16)))
    assert isinstance(e.value, ngvi.InvalidOperationError)
    if not ngvi.backend_available("cuda")[0]:
        with pytest.raises(RuntimeError, match="CUDA") as e:
            ngvi.fit(model, ngvi.Batch(B, d), backend="cuda")
        assert isinstance(e.value, ngvi.UnavailableError)
    assert issubclass(ngvi.OutOfMemoryError, MemoryError)


def lib_status_name(status):
    return _lib.lib.ngvi_status_name(status).decode()


@pytest.mark.parametrize("call, message", [
    (lambda q, model: ngvi.fit(None, q), "ngvi.fit: model must be an ngvi.Model, not NoneType"),
    (lambda q, model: ngvi.fit(model, np.zeros((3, 2))), "ngvi.fit: batch must be an ngvi.Batch, not ndarray"),
    (lambda q, model: ngvi.resume(None, q, "x"), "ngvi.resume: model must be an ngvi.Model, not NoneType"),
    (lambda q, model: ngvi.Optimizer(None), "ngvi.Optimizer: batch must be an ngvi.Batch, not NoneType"),
    (lambda q, model: ngvi.fit(model, q, progress="yes"), "progress must be True, False, None or a function"),
    (lambda q, model: ngvi.fit(model, q, step=0.1), "unexpected keyword argument 'step'"),
])
def test_arguments_of_the_wrong_type_are_type_errors_naming_them(call, message):
    model, B, d = small_problem()
    with pytest.raises(TypeError, match=message):
        call(ngvi.Batch(B, d), model)


def test_progress_true_shows_tqdm_and_the_plain_fallback_without_it(capsys, monkeypatch):
    model, B, d = small_problem()
    pytest.importorskip("tqdm")
    summary = ngvi.fit(model, ngvi.Batch(B, d), seed=1, max_steps=400, progress=True)
    err = capsys.readouterr().err
    assert f"ngvi.fit: " in err and f"{summary.iterations}/400" in err and "step/s" in err  # tqdm's bar
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now fails
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    summary = ngvi.fit(model, ngvi.Batch(B, d), seed=1, max_steps=400, progress=True)
    err = capsys.readouterr().err
    assert re.search(rf"ngvi.fit: step {summary.iterations}/400, \d+ running, mean ELBO", err) and "step/s" not in err
    # The same through the optimizer: the bar ends with the final request.
    optimizer = ngvi.Optimizer(ngvi.Batch(B, d), provides="value", max_steps=5, progress=True)
    while not optimizer.done:
        ask = optimizer.ask()
        optimizer.tell(0.5 * np.sum(ask.points ** 2, axis=-1))
    assert "ngvi.Optimizer: step 5/5" in capsys.readouterr().err


@pytest.mark.parametrize("family", ["full", "diagonal"])
def test_covariance_is_always_b_d_d_and_variance_its_diagonal(family):
    rng = np.random.default_rng(4)
    B, d = 3, 4
    mean, variances = rng.normal(size=(B, d)), rng.uniform(0.5, 2, size=(B, d))
    q = ngvi.Batch(B, d, family=family)
    covariance = np.stack([np.diag(v) for v in variances])
    if family == "full":
        A = rng.normal(size=(B, d, d))
        covariance = A @ A.transpose(0, 2, 1) + np.eye(d)
        variances = np.diagonal(covariance, 0, 1, 2)
    assert q.set_moments(mean, covariance if family == "full" else variances).tolist() == [0] * B
    assert q.covariance.shape == (B, d, d) and q.variance.shape == (B, d)
    np.testing.assert_allclose(q.covariance, covariance, rtol=1e-12)
    np.testing.assert_allclose(q.variance, variances, rtol=1e-12)
    if family == "diagonal":  # off-diagonal entries exactly zero
        assert np.all(q.covariance[:, ~np.eye(d, dtype=bool)] == 0)


class FakeTorchTensor:
    """What the dtype rule sees of a torch.Tensor: a dtype printed "torch.float32" (not a NumPy
    dtype), and its values through __array__, as torch gives them."""

    class DType:
        def __init__(self, name):
            self.name = name

        def __str__(self):
            return f"torch.{self.name}"

    def __init__(self, values):
        self.values = np.asarray(values)
        self.dtype = self.DType(self.values.dtype.name)

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)


@pytest.mark.parametrize("wrap", [np.asarray, FakeTorchTensor], ids=["numpy", "torch-like"])
def test_one_dtype_rule_float32_data_gives_a_float32_model(wrap):
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(3, 10, 2)), (rng.random((3, 10)) < 0.5).astype(float)
    for dtype, want in ((np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64)):
        model = ngvi.logistic(wrap(x.astype(dtype)), wrap(y.astype(dtype)))
        assert model.dtype == want, (wrap, dtype)
        q = ngvi.Batch(3, 2, dtype=model.dtype)
        ngvi.fit(model, q, max_steps=3)
        assert q.mean.dtype == want
    assert ngvi.convert("moments", wrap(np.zeros((2, 2), np.float32)), np.stack([np.eye(2)] * 2),
                        "natural")[0].dtype == np.float32


def test_the_dtype_rule_holds_for_jax_arrays():
    jnp = pytest.importorskip("jax.numpy")
    x = jnp.asarray(np.random.default_rng(6).normal(size=(3, 10, 2)), dtype=jnp.float32)
    y = jnp.zeros((3, 10), dtype=jnp.float32)
    assert ngvi.logistic(x, y).dtype == np.float32


def test_outputs_are_dlpack_arrays_in_host_memory():
    model, B, d = small_problem()
    q = ngvi.Batch(B, d)
    ngvi.fit(model, q, max_steps=5)
    mean = q.mean
    assert mean.__dlpack_device__() == (1, 0)  # kDLCPU
    view = np.from_dlpack(mean)
    assert np.shares_memory(view, mean) and np.array_equal(view, mean)
    jnp = sys.modules.get("jax.numpy")
    if jnp is not None:
        np.testing.assert_array_equal(np.asarray(jnp.from_dlpack(mean)), mean)


def test_a_tiny_batch_uses_one_thread_and_gives_the_same_results():
    model, B, d = small_problem(B=5)
    results = []
    for threads in (0, 1):
        q = ngvi.Batch(B, d)
        summary = ngvi.fit(model, q, num_threads=threads, seed=3)
        assert "CPU (1 thread)" in summary.full_report()  # 5 problems: one chunk of work, one thread
        results.append((q.mean, q.covariance, summary.elbo))
    for a, b in zip(*results):
        assert np.array_equal(a, b)
