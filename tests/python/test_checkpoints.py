"""Checkpoints and the newer options from Python: a fit stopped by its progress callback and continued
by ngvi.resume ends bit for bit as the uninterrupted fit; damaged checkpoints are refused with the
library's message; the Adam settings reach the library."""
import numpy as np
import pytest

import ngvi

from problems import logistic_data


@pytest.fixture
def problem():
    B, d = 20, 3
    return ngvi.logistic(*logistic_data(31, B, 30, d)), B, d


OPTIONS = dict(estimator="stein", rule="adam", step_size=0.05, adam_beta1=0.85, samples=8, max_steps=50,
               trace_elbo=True, seed=8, problem_offset=3)


def test_a_resumed_fit_is_bit_identical_to_an_uninterrupted_one(problem, tmp_path):
    model, B, d = problem
    whole = ngvi.Batch(B, d)
    uninterrupted = ngvi.fit(model, whole, **OPTIONS)

    path = tmp_path / "fit.ckpt"
    stopped = ngvi.fit(model, ngvi.Batch(B, d), progress=lambda p: p.iteration < 20, checkpoint_path=str(path),
                       checkpoint_every=7, **OPTIONS)
    assert stopped.iterations == 20 and stopped.status_counts["running"] == B and stopped.checkpoint_error == ""
    info = ngvi.checkpoint_info(path)  # a path-like works too
    assert (info.batch_size, info.dimension, info.family, info.iteration) == (B, d, "full", 20)
    assert info.dtype == np.float64 and info.format_version == 4
    for key, value in OPTIONS.items():
        assert info.options[key] == value, key
    assert info.options["checkpoint_path"] is None

    resumed = ngvi.Batch(B, d)
    finished = ngvi.resume(model, resumed, str(path), num_threads=1)
    for name in ("mean", "precision_cholesky"):
        assert np.array_equal(getattr(resumed, name), getattr(whole, name)), name
    for name in ("status", "steps", "elbo", "last_kl", "elbo_trace"):
        assert np.array_equal(getattr(finished, name), getattr(uninterrupted, name)), name
    assert finished.iterations == uninterrupted.iterations
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.ckpt"]  # written atomically: no temporary left

    with pytest.raises(TypeError, match="unexpected keyword argument 'seed'"):
        ngvi.resume(model, ngvi.Batch(B, d), str(path), seed=3)


def test_damaged_checkpoints_are_refused_with_the_librarys_message(problem, tmp_path):
    model, B, d = problem
    good = tmp_path / "good.ckpt"
    ngvi.fit(model, ngvi.Batch(B, d), progress=lambda p: p.iteration < 2, checkpoint_path=str(good), **OPTIONS)
    data = good.read_bytes()
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    cases = {"flipped.ckpt": (bytes(flipped), "checksum mismatch"),
             "truncated.ckpt": (data[:-64], "corrupted or truncated"),
             "empty.ckpt": (b"", r"truncated \(0 bytes\)"),
             "text.ckpt": (b"x" * 400, "not an ngvi checkpoint")}
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        for call in (lambda p: ngvi.resume(model, ngvi.Batch(B, d), p), ngvi.checkpoint_info):
            with pytest.raises(ngvi.NgviError, match=message) as e:
                call(str(tmp_path / name))
            assert e.value.status_name == "file" and name in str(e.value)
    with pytest.raises(ngvi.NgviError, match="cannot open") as e:
        ngvi.resume(model, ngvi.Batch(B, d), str(tmp_path / "missing.ckpt"))
    with pytest.raises(ngvi.NgviError, match=r"holds \(B, d, family\) = \(20, 3, 0\)") as e:
        ngvi.resume(model, ngvi.Batch(B, d, family="diagonal"), str(good))
    assert e.value.status_name == "size"


def test_an_unwritable_checkpoint_is_reported_and_the_fit_goes_on(problem, tmp_path):
    model, B, d = problem
    summary = ngvi.fit(model, ngvi.Batch(B, d), checkpoint_path=str(tmp_path / "no" / "dir.ckpt"),
                       checkpoint_every=10, **OPTIONS)
    assert "cannot create" in summary.checkpoint_error
    assert summary.iterations == OPTIONS["max_steps"]


def test_adam_settings_and_the_cholesky_rule_reach_the_library(problem):
    model, B, d = problem
    a, b = ngvi.Batch(B, d), ngvi.Batch(B, d)
    ngvi.fit(model, a, **OPTIONS)
    ngvi.fit(model, b, **{**OPTIONS, "adam_beta1": 0.5})
    assert not np.array_equal(a.mean, b.mean)
    with pytest.raises(ngvi.NgviError, match="options.adam_beta2 = 1 is invalid"):
        ngvi.fit(model, ngvi.Batch(B, d), **{**OPTIONS, "adam_beta2": 1.0})
    summary = ngvi.fit(model, ngvi.Batch(B, d), rule="cholesky", max_steps=30)
    assert summary.rule == "cholesky" and summary.failures == 0
    assert set(ngvi.default_options()) >= {"adam_beta1", "adam_beta2", "adam_epsilon", "checkpoint_path",
                                           "checkpoint_every"}


def test_an_older_format_is_refused_by_name_format_3_resumes_and_format_4_knows_its_model(problem, tmp_path):
    """Format 4 carries the convergence monitor's state (format 2), the model's fingerprint (format 3; 8 bytes
    after the options, at offset 162) and problem_offset (format 4; the options' last 8 bytes, at 154). Format 3
    resumes with problem_offset 0; an older file cannot resume and says which version it is."""
    import struct
    import zlib
    model, B, d = problem
    options = {**OPTIONS, "problem_offset": 0}
    path = tmp_path / "fit.ckpt"
    ngvi.fit(model, ngvi.Batch(B, d), progress=lambda p: p.iteration < 5, checkpoint_path=str(path), **options)
    v4 = path.read_bytes()
    assert struct.unpack("<I", v4[8:12]) == (4,) and struct.unpack("<Q", v4[162:170])[0] != 0

    def rewritten(name, version, body):
        body = v4[:8] + struct.pack("<I", version) + body
        (tmp_path / name).write_bytes(body + struct.pack("<I", zlib.crc32(body)))
        return str(tmp_path / name)

    v3 = rewritten("v3.ckpt", 3, v4[12:154] + v4[162:-4])  # without problem_offset
    assert ngvi.checkpoint_info(v3).options["problem_offset"] == 0
    whole, resumed = ngvi.Batch(B, d), ngvi.Batch(B, d)
    ngvi.fit(model, whole, **options)
    ngvi.resume(model, resumed, v3)
    assert np.array_equal(resumed.mean, whole.mean)
    with pytest.raises(ngvi.NgviError, match="format version 2 is not supported .*reads versions 3 to 4"):
        ngvi.resume(model, ngvi.Batch(B, d), rewritten("v2.ckpt", 2, v4[12:-4]))
    other = ngvi.logistic(np.zeros((B, 30, d)), np.zeros((B, 30)))
    with pytest.raises(ngvi.NgviError, match="other data or another model") as e:
        ngvi.resume(other, ngvi.Batch(B, d), str(path))
    assert e.value.status_name == "invalid_argument"
