"""Misuse of the Python package (issue 15): integers that ctypes would wrap, floats it would truncate, sizes
that would wrap in the library, handles used after destroy, and Ctrl-C during a fit. Each must raise an
error naming the argument, or (Ctrl-C) KeyboardInterrupt in the caller, never a silently different result."""
import os
import signal

import numpy as np
import pytest

import ngvi
from ngvi import _lib


@pytest.fixture
def problem():
    rng = np.random.default_rng(15)
    B, N, d = 6, 20, 2
    x = rng.normal(size=(B, N, d))
    y = (rng.random((B, N)) < 0.5).astype(np.float64)
    return x, y, B, d


@pytest.mark.parametrize("args, kwargs, error, message", [
    ((4, 2**32 + 3), {}, ValueError, r"dimension = 4294967299 is out of range"),
    ((2**64, 2), {}, ValueError, r"batch_size = 18446744073709551616 is out of range"),
    ((-1, 2), {}, ValueError, r"batch_size = -1 is out of range: an integer in \[0, 18446744073709551615\]"),
    ((4, 2.5), {}, TypeError, r"dimension = 2.5 must be an integer"),
])
def test_batch_sizes_are_not_wrapped(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        ngvi.Batch(*args, **kwargs)


@pytest.mark.parametrize("option, value, error, message", [
    ("samples", 2**32 + 16, ValueError, r"samples = 4294967312 is out of range"),
    ("max_steps", 2**32, ValueError, r"max_steps = 4294967296 is out of range"),
    ("seed", -1, ValueError, r"seed = -1 is out of range"),
    ("seed", 2**64, ValueError, r"seed = 18446744073709551616 is out of range"),
    ("samples", 16.7, TypeError, r"samples = 16.7 must be an integer"),
    ("minibatch_rows", -5, ValueError, r"minibatch_rows = -5 is out of range"),
    ("step_size", "0.1", TypeError, r"step_size = '0.1' must be a real number"),
])
def test_options_are_not_wrapped_or_truncated(problem, option, value, error, message):
    x, y, B, d = problem
    with pytest.raises(error, match=message):
        ngvi.fit(ngvi.logistic(x, y), ngvi.Batch(B, d), **{option: value})


def test_a_large_seed_in_range_is_kept_exactly(problem, tmp_path):
    x, y, B, d = problem
    path = tmp_path / "fit.ckpt"
    ngvi.fit(ngvi.logistic(x, y), ngvi.Batch(B, d), seed=2**64 - 1, max_steps=3, progress=lambda p: False,
             checkpoint_path=str(path))
    assert ngvi.checkpoint_info(path).options["seed"] == 2**64 - 1
    with pytest.raises(ValueError):
        ngvi.Batch(B, d).sample(4, seed=2**64)
    assert ngvi.Batch(B, d).sample(4, seed=2**64 - 1).shape == (B, 4, d)


def test_thread_counts_are_bounded(problem):
    x, y, B, d = problem
    with pytest.raises(ngvi.NgviError, match=r"num_threads = 100000 is invalid: must be 0 \(all\) or in \[1, 1024\]"):
        ngvi.fit(ngvi.logistic(x, y), ngvi.Batch(B, d), num_threads=100000)


def test_offsets_must_be_integers_and_give_a_problem(problem):
    x, y, B, d = problem
    rows_x, rows_y = x.reshape(B * 20, d), y.reshape(B * 20)
    with pytest.raises(TypeError, match="offsets must be integers, not float64"):
        ngvi.logistic(rows_x, rows_y, offsets=np.array([0, 39.7, 120.0]))
    with pytest.raises(ValueError, match=r"offsets \(B \+ 1,\) with B >= 1"):
        ngvi.logistic(rows_x, rows_y, offsets=np.array([], np.int64))
    with pytest.raises(ValueError, match="beyond int64"):
        ngvi.logistic(rows_x, rows_y, offsets=np.array([0, 2**63 + 1], np.uint64))
    assert ngvi.logistic(rows_x, rows_y, offsets=np.array([0, 40, 120], np.int32)).num_problems == 2


def test_the_c_abi_refuses_wrapping_counts_itself(problem):
    """What Python no longer sends, sent directly: B = SIZE_MAX makes B + 1 wrap to 0."""
    import ctypes
    x, y, B, d = problem
    rows_x = np.ascontiguousarray(x.reshape(-1, d))
    handle = ctypes.c_void_p()
    empty = np.zeros(0, np.int64)
    status = _lib.lib.ngvi_model_create_glm(ctypes.byref(handle), 1, 2**64 - 1, d, 0,
                                            _lib.InputArray(rows_x.ctypes.data, rows_x.size, _lib.FLOAT64, 0),
                                            _lib.InputArray(y.ctypes.data, y.size, _lib.FLOAT64, 0),
                                            _lib.InputArray(empty.ctypes.data, 0, _lib.INT64, 0), None, 1.0)
    assert _lib.lib.ngvi_status_name(status).decode() == "size"
    assert "num_problems = 18446744073709551615" in _lib.lib.ngvi_last_error().decode()


def test_destroying_twice_is_refused_not_a_crash(problem):
    x, y, B, d = problem
    q = ngvi.Batch(B, d)
    handle = q._handle
    assert _lib.lib.ngvi_batch_destroy(handle) == 0
    q._handle = None
    status = _lib.lib.ngvi_batch_destroy(handle)
    assert _lib.lib.ngvi_status_name(status).decode() == "invalid_handle"
    assert "not a live ngvi_batch handle" in _lib.lib.ngvi_last_error().decode()


def test_ctrl_c_during_a_fit_with_progress_reaches_the_caller(problem, tmp_path):
    x, y, B, d = problem
    model, q = ngvi.logistic(x, y), ngvi.Batch(B, d)
    seen = []

    def progress(p):
        seen.append(p.iteration)
        if p.iteration == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return True

    path = tmp_path / "fit.ckpt"
    with pytest.raises(KeyboardInterrupt):
        ngvi.fit(model, q, progress=progress, estimator="stein", tolerance=0.0, max_steps=500,
                 checkpoint_path=str(path))
    # The handler runs inside the callback of step 3, which lets step 4 run; the callback of step 4 stops the
    # fit, which saves its state.
    assert seen == [1, 2, 3]
    assert ngvi.checkpoint_info(path).iteration == 4
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert ngvi.fit(model, ngvi.Batch(B, d), max_steps=3).iterations == 3  # and the next fit runs normally
