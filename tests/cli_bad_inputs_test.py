"""The bad-input corpus (tests/bad_inputs/manifest.json) through `ngvi fit`: each case either fails with one
line on stderr naming the argument and the problem, leaving no output directory, or fits with the statuses
the manifest gives (every other problem converged or at its step budget). Then the adversarial cases of
issue 15 that need more than a corpus entry: options, outputs against inputs, killed runs, resume, pipes,
CSV dialects."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from cli_support import (NGVI, assert_ok, assert_one_line_error, leftovers, load_outputs, logistic_batch, run,
                         write_logistic_inputs)

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
CASES = [c for c in MANIFEST["cases"] if not isinstance(c["cli"], str)]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(tmp_path, case):
    args = ["fit", "--model", case["model"], "--x", case["x"], "--y", case["y"],
            "--max-steps", MANIFEST["options"]["max_steps"], "--seed", MANIFEST["options"]["seed"]]
    if "offsets" in case:
        args += ["--offsets", case["offsets"]]
    args += case.get("cli_args", [])
    out = tmp_path / "out"
    result = run(*args, "--out", out, cwd=CORPUS)
    expected = case["cli"]
    if "error" in expected:
        assert_one_line_error(result, *expected["error"])
        assert result.returncode == 2
        assert not out.exists() and leftovers(tmp_path) == []
        return
    assert_ok(result)
    # summary.json counts the statuses in the order of their codes.
    names = list(json.loads((out / "summary.json").read_text())["status_counts"])
    got = [names[code] for code in load_outputs(out)["status"]]
    for b, name in enumerate(got):
        assert name == expected["statuses"].get(str(b), name if name in ("converged", "step_budget") else "ok"), \
            f"problem {b}: {name}"
    if expected["statuses"]:
        assert "distributions failed" in result.stderr


# --- Adversarial cases beyond the corpus (issue 15): each class of crash, silent wrong result, lost work and
# unclear message, with the property that must hold. ----------------------------------------------------------------


@pytest.fixture
def data(tmp_path):
    """A small valid logistic dataset, dense and CSV."""
    write_logistic_inputs(tmp_path, 15, 6, 20, 2)
    return tmp_path


DENSE = ["fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy", "--max-steps", "20"]
PIPED = ["fit", "--model", "logistic", "--x", "/dev/stdin", "--y", "y.npy", "--max-steps"]


def refused(folder, args, *fragments):
    """The error contract, and nothing left in `folder` but what was there."""
    before = sorted(p.name for p in folder.iterdir())
    result = run(*args, cwd=folder)
    assert_one_line_error(result, *fragments)
    assert result.returncode == 2
    assert sorted(p.name for p in folder.iterdir()) == before and leftovers(folder) == []
    return result


def test_csv_without_a_problem_column_is_refused_not_a_crash(data):
    refused(data, ["fit", "--model", "logistic", "--csv", "data.csv", "--problem-column", "", "--out", "o"],
            "--problem-column is empty")
    refused(data, ["fit", "--model", "logistic", "--csv", "data.csv", "--y-column", "", "--out", "o"],
            "--y-column is empty")


@pytest.mark.parametrize("args, fragments", [
    (["--out", ""], ["--out is empty"]),
    (["--out", "o", "--seed", "-1"], ["--seed", "'-1' is not an integer in [0, 2^64 - 1]"]),
    (["--out", "o", "--seed", str(2**64)], ["--seed", "18446744073709551616 is out of range"]),
    (["--out", "o", "--threads", "100000"], ["--threads", "100000 is out of range", "[0, 1024]"]),
    (["--out", "o", "--checkpoint", ""], ["--checkpoint is empty"]),
])
def test_options_that_used_to_be_ignored_or_wrapped(data, args, fragments):
    refused(data, [*DENSE, *args], *fragments)


def test_threads_the_system_cannot_start_are_an_error_not_an_exit_from_libgomp(data):
    import resource
    linked = subprocess.run(["ldd", NGVI], capture_output=True, text=True).stdout
    if "libasan" in linked:
        pytest.skip("AddressSanitizer reserves more address space than the limit allows")

    def limit_memory():  # 8 MiB of stack per thread: 200 threads cannot fit in 400 MB
        resource.setrlimit(resource.RLIMIT_AS, (400 << 20, 400 << 20))
    result = subprocess.run([NGVI, *DENSE, "--threads", "200", "--out", "o"], cwd=data, capture_output=True,
                            text=True, preexec_fn=limit_memory)
    assert_one_line_error(result, "num_threads = 200", "cannot start 200 threads", "fewer threads")
    assert leftovers(data) == [] and not (data / "o").exists()


def test_a_fit_without_out_says_that_nothing_was_written(data):
    result = assert_ok(run(*DENSE, cwd=data))
    assert "outputs            none: no --out was given, the results were not written" in result.stdout


def test_outputs_that_would_destroy_the_inputs_are_refused(data, tmp_path):
    x_bytes = (data / "x.npy").read_bytes()
    refused(data, [*DENSE, "--checkpoint", "x.npy", "--out", "o"], "--checkpoint x.npy is the input --x x.npy")
    # --out naming the inputs' folder (by another spelling too) with --overwrite.
    refused(data, [*DENSE[:4], str(data / "x.npy"), *DENSE[5:], "--out", str(data), "--overwrite"],
            f"--out {data} holds the input --x")
    sub = data / "sub"
    sub.mkdir()
    refused(sub, ["fit", "--model", "logistic", "--x", "../x.npy", "--y", "../y.npy", "--out", "..", "--overwrite"],
            "--out .. holds the input --x ../x.npy")
    refused(data, [*DENSE, "--out", "o", "--checkpoint", "o/c.ckpt"], "--checkpoint o/c.ckpt lies inside --out o")
    assert (data / "x.npy").read_bytes() == x_bytes


def test_out_dot_is_refused_before_any_work(data):
    work = data / "work"
    work.mkdir()
    start = time.monotonic()
    refused(work, ["fit", "--model", "logistic", "--x", "../x.npy", "--y", "../y.npy", "--max-steps", "100000",
                   "--out", ".", "--overwrite"], "--out .", "current directory")
    assert time.monotonic() - start < 5, "the refusal must come before the fit"


def test_non_utf8_labels_and_paths_do_not_lose_the_fit(data):
    rows = [b"problem,a,y"] + [b"p\xff%d,%f,%d" % (n % 2, n * 0.1, n % 2) for n in range(10)]
    (data / b"d\xfe.csv".decode("utf-8", "surrogateescape")).write_bytes(b"\n".join(rows) + b"\n")
    result = subprocess.run([NGVI, "fit", "--model", "logistic", "--csv", b"d\xfe.csv", "--max-steps", "20",
                             "--out", "o"], cwd=data, capture_output=True)
    assert result.returncode == 0, result.stderr
    summary = json.loads((data / "o" / "summary.json").read_text(encoding="utf-8"))
    assert summary["data"]["problem_labels"] == ["p\ufffd0", "p\ufffd1"]
    assert summary["data"]["csv"] == "d\ufffd.csv"


def test_stale_staging_and_checkpoint_temporaries_of_killed_runs_are_removed(data):
    dead = subprocess.Popen(["true"])
    dead.wait()  # a PID that no longer runs
    stale = data / f".o.ngvi-tmp-{dead.pid}-abcdef"
    stale.mkdir()
    (stale / "mean.npy").write_bytes(b"partial")
    (data / f"c.ckpt.tmp.{dead.pid}").write_bytes(b"partial")
    alive = data / f".o.ngvi-tmp-{os.getpid()}-abcdef"  # a live process's: kept
    alive.mkdir()
    assert_ok(run(*DENSE, "--checkpoint", "c.ckpt", "--checkpoint-every", "5", "--out", "o", cwd=data))
    assert not stale.exists() and not (data / f"c.ckpt.tmp.{dead.pid}").exists()
    assert alive.exists()


def test_sigkill_while_loading_leaves_nothing(data):
    # The staging directory is created only once the data is loaded and the signal handlers are in place.
    process = subprocess.Popen([NGVI, *PIPED, "100000", "--out", "o"], cwd=data, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdin.write((data / "x.npy").read_bytes()[:100])  # the header, then nothing: loading waits
    process.stdin.flush()
    time.sleep(0.3)
    assert process.poll() is None, "still loading"
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert leftovers(data) == [] and not (data / "o").exists()


def test_resume_refuses_other_data_and_changed_options_and_honours_repeated_ones(data):
    assert_ok(run(*DENSE, "--checkpoint", "c.ckpt", "--checkpoint-every", "5", "--seed", "3", "--out", "a", cwd=data))
    x, y = logistic_batch(np.random.default_rng(16), 6, 20, 2)  # the same shape, other data
    np.save(data / "x2.npy", x)
    np.save(data / "y2.npy", y)
    refused(data, ["fit", "--model", "logistic", "--x", "x2.npy", "--y", "y2.npy", "--resume", "c.ckpt", "--out", "b"],
            "c.ckpt", "other data or another model")
    refused(data, ["fit", "--model", "probit", "--x", "x.npy", "--y", "y.npy", "--resume", "c.ckpt", "--out", "b"],
            "c.ckpt", "other data or another model")
    refused(data, [*DENSE[:-1], "40", "--resume", "c.ckpt", "--out", "b"], "--resume c.ckpt", "--max-steps 20", "not 40")
    refused(data, [*DENSE, "--seed", "4", "--resume", "c.ckpt", "--out", "b"], "--resume c.ckpt", "--seed 3", "not 4")
    assert_ok(run(*DENSE, "--seed", "3", "--resume", "c.ckpt", "--out", "b", cwd=data))
    for name in ("mean", "precision_cholesky", "elbo"):
        assert np.array_equal(np.load(data / "a" / f"{name}.npy"), np.load(data / "b" / f"{name}.npy"))


def test_resume_from_a_directory_or_a_device_is_a_clear_error(data):
    refused(data, [*DENSE, "--resume", ".", "--out", "o"], "checkpoint '.'", "is a directory")
    start = time.monotonic()
    refused(data, [*DENSE, "--resume", "/dev/zero", "--out", "o"], "/dev/zero", "not an ngvi checkpoint")
    assert time.monotonic() - start < 5


def test_inputs_from_pipes_are_read_not_reported_truncated(data):
    x = (data / "x.npy").read_bytes()
    result = subprocess.run([NGVI, *PIPED, "20", "--out", "piped"], cwd=data, input=x, capture_output=True)
    assert result.returncode == 0, result.stderr
    assert_ok(run(*DENSE, "--out", "file", cwd=data))
    assert np.array_equal(np.load(data / "piped" / "mean.npy"), np.load(data / "file" / "mean.npy"))
    # A pipe that ends early is truncated, and says how far it got.
    result = subprocess.run([NGVI, *PIPED, "20", "--out", "cut"], cwd=data, input=x[:-64], capture_output=True)
    assert result.returncode == 2 and b"--x /dev/stdin: truncated" in result.stderr and b"ended after" in result.stderr


@pytest.mark.parametrize("text, fragments", [
    ("problem,a,y\np,1,0\np,NA,1\n", ["line 3, column 2 ('a')", "'NA' is a missing value"]),
    ("problem,a,y\np,1,0\np,,1\n", ["line 3, column 2 ('a')", "'' is a missing value"]),
    ('problem,a,y\np,1,0\np,1"x,1\n', ["line 3", "quote"]),
    ('problem,a,y\np,1,0\n"p,2,1\n', ["ends inside a quoted field"]),
    ("problem,a,y\np,1,0\np,1,0,5\n", ["line 3 has 4 fields but the header has 3"]),
])
def test_csv_errors_name_line_and_column(data, text, fragments):
    (data / "bad.csv").write_text(text)
    refused(data, ["fit", "--model", "logistic", "--csv", "bad.csv", "--out", "o"], "--csv bad.csv", *fragments)


def test_csv_with_bom_and_rfc4180_quoting_is_read(data):
    plain = "problem,a,y\n" + "".join(f"p{n % 2},{n * 0.25},{n % 2}\n" for n in range(10))
    quoted = "\ufeff\"problem\",\"a\",y\r\n" + "".join(f"\"p{n % 2}\",\"{n * 0.25}\",{n % 2}\r\n" for n in range(10))
    (data / "plain.csv").write_text(plain)
    (data / "quoted.csv").write_bytes(quoted.encode("utf-8"))
    assert_ok(run("fit", "--model", "logistic", "--csv", "plain.csv", "--max-steps", "20", "--out", "p", cwd=data))
    assert_ok(run("fit", "--model", "logistic", "--csv", "quoted.csv", "--max-steps", "20", "--out", "q", cwd=data))
    assert np.array_equal(np.load(data / "p" / "mean.npy"), np.load(data / "q" / "mean.npy"))
    # A label with a comma and a quote, as RFC 4180 writes it.
    (data / "comma.csv").write_text('problem,a,y\n"p, ""one""",1,0\n"p, ""one""",2,1\n')
    assert_ok(run("fit", "--model", "logistic", "--csv", "comma.csv", "--max-steps", "20", "--out", "c", cwd=data))
    assert json.loads((data / "c" / "summary.json").read_text())["data"]["problem_labels"] == ['p, "one"']
