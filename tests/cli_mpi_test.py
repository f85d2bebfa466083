"""`mpirun -n R ngvi fit`: each rank fits a contiguous shard of the problems and rank 0 writes exactly what
one process writes (every .npy byte for byte, summary.json but for the timings, the device and the command
line); checkpoints are per rank and resume together after a rank is killed; a job of another size is refused.
Registered only when ngvi was built with MPI and mpirun was found (MPIEXEC)."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from cli_support import NGVI, assert_ok, logistic_batch, run

MPIEXEC = os.environ.get("MPIEXEC", "mpirun")
# One machine, any number of cores; Open MPI refuses root without these.
MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
METHOD = ["--estimator", "stein", "--samples", "8", "--max-steps", "60", "--final-samples", "40", "--seed", "11",
          "--threads", "1"]
# What differs between two runs whatever they are: how long they took, where and how they were started.
VOLATILE = ("command", "device", "seconds", "distribution_steps_per_second")


def mpirun(ranks, *args, cwd, **kwargs):
    return subprocess.run([MPIEXEC, "--oversubscribe", "-n", str(ranks), NGVI, *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600, env=MPI_ENV, **kwargs)


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(5)
    x, y = logistic_batch(rng, 23, 50, 3)  # 23: shards of unequal sizes
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    # Ragged rows, some problems with none at all.
    counts = rng.integers(0, 40, size=17)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    xr = rng.normal(size=(offsets[-1], 2))
    yr = (rng.random(offsets[-1]) < 0.5).astype(np.float64)
    np.save(tmp_path / "xr.npy", xr)
    np.save(tmp_path / "yr.npy", yr)
    np.save(tmp_path / "offsets.npy", offsets)
    return tmp_path


def assert_same_outputs(single, ranked):
    single, ranked = Path(single), Path(ranked)
    names = sorted(p.name for p in single.iterdir())
    assert names == sorted(p.name for p in ranked.iterdir())
    for name in names:
        if name == "summary.json":
            a, b = (json.loads((folder / name).read_text()) for folder in (single, ranked))
            assert "MPI ranks" in b["device"]
            for key in VOLATILE:
                a.pop(key), b.pop(key)
            assert a == b
        else:
            assert (single / name).read_bytes() == (ranked / name).read_bytes(), name


@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.parametrize("layout", ["dense", "ragged"])
def test_ranks_write_what_one_process_writes(data, ranks, layout):
    files = (["--x", "x.npy", "--y", "y.npy"] if layout == "dense"
             else ["--x", "xr.npy", "--y", "yr.npy", "--offsets", "offsets.npy"])
    fit = ["fit", "--model", "logistic", *files, *METHOD]
    assert_ok(run(*fit, "--out", "single", cwd=data))
    result = mpirun(ranks, *fit, "--out", "ranked", cwd=data)
    assert result.returncode == 0, result.stderr
    assert_same_outputs(data / "single", data / "ranked")
    status = np.load(data / "ranked" / "status.npy")
    assert len(status) == (23 if layout == "dense" else 17)


def test_a_job_of_one_rank_is_one_process(data):
    fit = ["fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy", *METHOD]
    assert_ok(run(*fit, "--out", "single", cwd=data))
    assert mpirun(1, *fit, "--out", "one", cwd=data).returncode == 0
    for name in ("mean.npy", "covariance.npy", "status.npy", "elbo.npy"):
        assert (data / "single" / name).read_bytes() == (data / "one" / name).read_bytes()


def test_an_error_ends_every_rank_and_writes_nothing(data):
    np.save(data / "bad.npy", np.full((23, 50), 2.0))  # labels outside {0, 1}: an input error on every rank
    result = mpirun(2, "fit", "--model", "logistic", "--x", "x.npy", "--y", "bad.npy", "--out", "out", cwd=data)
    assert result.returncode != 0
    assert "cannot be fitted with --model logistic" in result.stderr
    assert not (data / "out").exists()


def children(pid):
    """The processes `pid` started (mpirun's are the ranks on this machine)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_a_killed_rank_resumes_with_the_others_from_their_checkpoints(data):
    long_fit = ["fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy", "--estimator", "stein", "--samples", "8",
                "--max-steps", "400", "--tol-sd", "1e-300", "--final-samples", "40", "--seed", "2", "--threads", "1"]
    assert_ok(run(*long_fit, "--out", "single", cwd=data))
    job = subprocess.Popen([MPIEXEC, "--oversubscribe", "-n", "2", NGVI, *long_fit, "--checkpoint", "fit.ckpt",
                            "--checkpoint-every", "5", "--out", "killed"], cwd=data, env=MPI_ENV,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoints = [data / f"fit.ckpt.rank-{r}-of-2" for r in range(2)]
    deadline = time.monotonic() + 120
    while not all(c.exists() for c in checkpoints) and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert job.poll() is None, "the job ended before both ranks wrote a checkpoint: make the fit longer"
    ranks = [pid for pid in children(job.pid) if Path(f"/proc/{pid}/exe").resolve() == Path(NGVI).resolve()]
    assert ranks, "no rank found among mpirun's children"
    os.kill(ranks[-1], signal.SIGKILL)
    job.communicate(timeout=120)
    assert job.returncode != 0 and not (data / "killed").exists()

    refused = mpirun(3, *long_fit, "--resume", "fit.ckpt", "--out", "resumed", cwd=data)
    assert refused.returncode != 0
    assert "written by a job of 2 MPI ranks" in refused.stderr and "mpirun -n 2" in refused.stderr
    resumed = mpirun(2, *long_fit, "--resume", "fit.ckpt", "--out", "resumed", cwd=data)
    assert resumed.returncode == 0, resumed.stderr
    for name in ("mean.npy", "covariance.npy", "precision_cholesky.npy", "status.npy", "steps.npy", "elbo.npy",
                 "elbo_mcse.npy", "mean_mcse_sd.npy", "pareto_k.npy"):
        assert (data / "single" / name).read_bytes() == (data / "resumed" / name).read_bytes(), name
    alone = run(*long_fit, "--resume", "fit.ckpt", cwd=data)
    assert alone.returncode != 0 and "written by a job of 2 MPI ranks" in alone.stderr


def test_trace_is_refused_with_several_ranks(data):
    result = mpirun(2, "fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy", "--trace", cwd=data)
    assert result.returncode != 0 and "drop --trace" in result.stderr
