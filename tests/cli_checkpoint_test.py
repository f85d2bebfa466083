"""`ngvi fit --checkpoint/--resume`: a fit stopped by SIGINT or SIGTERM saves its state, exits non-zero
with one line saying where, writes no results, and once resumed ends bit for bit as an uninterrupted run."""
import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest

from cli_support import (NGVI, assert_ok, assert_one_line_error, leftovers, load_outputs, logistic_batch, run,
                         wait_for_staging)

# Long enough (every step taken, never converged) for a signal to arrive mid-fit on a slow machine.
FIT = ["fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy", "--estimator", "stein", "--samples", "8",
       "--max-steps", "1500", "--tol", "1e-300", "--tol-sd", "1e-300", "--seed", "7", "--threads", "1", "--trace"]


@pytest.fixture
def data(tmp_path):
    x, y = logistic_batch(np.random.default_rng(3), 100, 60, 3)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    return tmp_path


def interrupt(folder, sig, *extra):
    """Starts the fit with a checkpoint every 5 steps, sends `sig` once the first checkpoint exists, and
    returns the finished process's (return code, stderr)."""
    checkpoint = folder / "fit.ckpt"
    process = subprocess.Popen([NGVI, *FIT, "--checkpoint", "fit.ckpt", "--checkpoint-every", "5", *extra],
                               cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_then_resumed_is_bit_identical(data, sig):
    code, stderr = interrupt(data, sig, "--out", "partial")
    assert code == 128 + sig, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ngvi: interrupted by {sig.name} after step "), stderr
    step = int(lines[0].split("after step ")[1].split(";")[0])
    assert 5 <= step < 1500, "the signal must stop the fit before its step budget"
    assert "saved in fit.ckpt (continue with --resume fit.ckpt)" in lines[0]
    assert "nothing was written to partial" in lines[0]
    assert not (data / "partial").exists() and leftovers(data) == []

    assert_ok(run(*FIT, "--resume", "fit.ckpt", "--out", "resumed", cwd=data))
    assert_ok(run(*FIT, "--out", "uninterrupted", cwd=data))
    resumed, uninterrupted = load_outputs(data / "resumed"), load_outputs(data / "uninterrupted")
    assert sorted(resumed) == sorted(uninterrupted) and "elbo_trace" in resumed
    for name, array in uninterrupted.items():
        assert resumed[name].dtype == array.dtype and resumed[name].shape == array.shape, name
        assert resumed[name].tobytes() == array.tobytes(), f"{name}.npy differs"
    assert (uninterrupted["steps"] == 1500).all()
    summaries = [json.loads((data / d / "summary.json").read_text()) for d in ("resumed", "uninterrupted")]
    for key in ("iterations", "distribution_steps", "status_counts", "mean_elbo", "options"):
        assert summaries[0][key] == summaries[1][key], key
    assert summaries[0]["resumed_from"] == "fit.ckpt" and summaries[1]["resumed_from"] is None


def test_interrupt_without_checkpoint_writes_nothing(data):
    process = subprocess.Popen([NGVI, *FIT, "--out", "out", "--verbose"], cwd=data, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    # Not a fixed delay: on a loaded machine the handlers may not be installed yet after any sleep.
    started = wait_for_staging(process, data, "out")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert started, f"the fit ended before it could be interrupted:\n{stderr}"
    assert process.returncode == 130
    assert stderr.splitlines()[-1].startswith("ngvi: interrupted by SIGINT after step ")
    assert stderr.rstrip().endswith("nothing was written to out")
    assert not (data / "out").exists() and leftovers(data) == []


def test_resume_refuses_bad_checkpoints_and_mismatches(data):
    assert_ok(run(*FIT[:FIT.index("--max-steps") + 1], "10", "--checkpoint", "ok.ckpt", "--checkpoint-every", "5",
                  "--out", "ok", cwd=data))
    good = (data / "ok.ckpt").read_bytes()
    (data / "cut.ckpt").write_bytes(good[:len(good) // 2])
    assert_one_line_error(run(*FIT, "--resume", "cut.ckpt", cwd=data), "cut.ckpt", "checksum mismatch")
    flipped = bytearray(good)
    flipped[len(good) // 3] ^= 0x40
    (data / "flipped.ckpt").write_bytes(bytes(flipped))
    assert_one_line_error(run(*FIT, "--resume", "flipped.ckpt", cwd=data), "flipped.ckpt", "corrupted")
    assert_one_line_error(run(*FIT, "--resume", "missing.ckpt", cwd=data), "missing.ckpt", "cannot open")
    assert_one_line_error(run(*FIT, "--resume", "x.npy", cwd=data), "x.npy", "not an ngvi checkpoint")
    assert_one_line_error(run(*FIT, "--resume", "ok.ckpt", "--precision", "float32", cwd=data),
                          "--resume ok.ckpt", "float64", "--precision float32")
    assert_one_line_error(run(*FIT, "--resume", "ok.ckpt", "--family", "diagonal", cwd=data),
                          "--resume ok.ckpt", "full", "--family diagonal")
    # Other data: a different number of problems.
    x, y = logistic_batch(np.random.default_rng(4), 5, 60, 3)
    np.save(data / "x5.npy", x)
    np.save(data / "y5.npy", y)
    assert_one_line_error(run("fit", "--model", "logistic", "--x", "x5.npy", "--y", "y5.npy", "--resume", "ok.ckpt",
                              "--out", "out5", cwd=data), "ok.ckpt", "100 distributions", "5")
    assert_one_line_error(run(*FIT, "--checkpoint-every", "5", cwd=data), "--checkpoint-every 5", "--checkpoint")
    assert_one_line_error(run(*FIT, "--checkpoint", "c", "--checkpoint-every", "-1", cwd=data), "--checkpoint-every")


def test_unwritable_checkpoint_is_a_warning_and_the_results_stand(data):
    result = assert_ok(run(*FIT[:FIT.index("--max-steps") + 1], "10", "--checkpoint", "no/such/dir/c.ckpt",
                           "--checkpoint-every", "5", "--out", "out", cwd=data))
    assert "ngvi: warning: checkpoint 'no/such/dir/c.ckpt'" in result.stderr
    assert (data / "out" / "summary.json").exists()


def test_output_folder_that_appears_during_the_fit_keeps_the_results_aside(data):
    """The fit is not lost when --out cannot be committed at the end: what was written is kept, visibly,
    as OUT.partial-PID, and the one error line says where."""
    process = subprocess.Popen([NGVI, *FIT, "--out", "out"], cwd=data, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    # Stopped while it runs, someone else's files appear in the output folder.
    started = wait_for_staging(process, data, "out")
    process.send_signal(signal.SIGSTOP)
    (data / "out").mkdir()
    (data / "out" / "theirs.txt").write_text("not ngvi's\n")
    process.send_signal(signal.SIGCONT)
    _, stderr = process.communicate(timeout=300)
    assert started, f"the fit ended before the folder could appear:\n{stderr}"
    kept = f"out.partial-{process.pid}"
    assert process.returncode != 0
    assert_one_line_error(subprocess.CompletedProcess([], process.returncode, "", stderr),
                          "the fit finished, but --out out could not be written",
                          "directory appeared during the run and is not empty", f"are kept in {kept}")
    assert (data / "out" / "theirs.txt").read_text() == "not ngvi's\n" and sorted(os.listdir(data / "out")) == [
        "theirs.txt"]
    assert leftovers(data) == []

    assert_ok(run(*FIT, "--out", "reference", cwd=data))
    partial, reference = load_outputs(data / kept), load_outputs(data / "reference")
    assert sorted(partial) == sorted(reference)
    for name, array in reference.items():
        assert partial[name].tobytes() == array.tobytes(), f"{name}.npy differs"
    assert (data / kept / "summary.json").exists()
