"""What the command-line tests share: running `ngvi`, writing inputs, and independent oracles."""
import math
import os
import subprocess
import time
from pathlib import Path

import numpy as np

NGVI = os.environ.get("NGVI_EXE", str(Path(__file__).resolve().parents[1] / "build" / "bin" / "ngvi"))


def run(*args, cwd=None, timeout=300, **kwargs):
    """Runs `ngvi ARGS`; returns the CompletedProcess (text mode)."""
    return subprocess.run([NGVI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          **kwargs)


def assert_ok(result):
    assert result.returncode == 0, f"ngvi failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def assert_one_line_error(result, *fragments):
    """The contract for every bad input: a non-zero exit and exactly one line on stderr that names it."""
    assert result.returncode != 0, f"expected a failure:\n{result.stdout}\n{result.stderr}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and result.stderr.endswith("\n"), f"expected one line on stderr, got:\n{result.stderr}"
    assert lines[0].startswith("ngvi: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert "Traceback" not in result.stderr and "terminate called" not in result.stderr


def leftovers(folder):
    """Staging directories or files a run left behind in `folder`."""
    return sorted(p.name for p in Path(folder).iterdir() if ".ngvi-" in p.name)


def wait_for_staging(process, folder, out):
    """Waits until the running `process` has created the staging directory of `--out OUT` in `folder`
    (it does so once its signal handlers are in place); returns False if the process ended first."""
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if any(p.name.startswith(f".{out}.ngvi-tmp-") for p in Path(folder).iterdir()):
            return True
        time.sleep(0.002)
    return False


def load_outputs(out):
    out = Path(out)
    return {p.stem: np.load(p) for p in out.glob("*.npy")}


def logistic_batch(rng, B, N, d):
    """Dense logistic data: x (B, N, d), labels (B, N) in {0, 1}."""
    x = rng.normal(size=(B, N, d)) / math.sqrt(d)
    z = rng.normal(size=(B, d)) * 1.5
    p = 1 / (1 + np.exp(-np.einsum("bnd,bd->bn", x, z)))
    return x, (rng.random((B, N)) < p).astype(np.float64)


def write_logistic_inputs(folder, seed, B, N, d):
    """Writes a small valid logistic dataset into `folder`: x.npy (B, N, d) and y.npy (B, N) from
    logistic_batch, and data.csv, 12 rows of 3 problems (columns problem, a, b, y). Returns x and y."""
    folder = Path(folder)
    x, y = logistic_batch(np.random.default_rng(seed), B, N, d)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    rows = ["problem,a,b,y"] + [f"p{n % 3},{n * 0.1},{n % 5 * 0.2},{n % 2}" for n in range(12)]
    (folder / "data.csv").write_text("\n".join(rows) + "\n")
    return x, y


def linear_posterior(x, y, noise_sd, prior_precision):
    """Exact posterior N(mean, covariance) and log evidence of a linear regression with known noise and prior
    N(0, I / prior_precision)."""
    n, d = x.shape
    precision = x.T @ x / noise_sd**2 + prior_precision * np.eye(d)
    covariance = np.linalg.inv(precision)
    mean = covariance @ x.T @ y / noise_sd**2
    marginal = noise_sd**2 * np.eye(n) + x @ x.T / prior_precision
    _, logdet = np.linalg.slogdet(marginal) if n else (1.0, 0.0)
    evidence = -0.5 * (y @ np.linalg.solve(marginal, y) if n else 0.0) - 0.5 * logdet - 0.5 * n * math.log(2 * math.pi)
    return mean, covariance, evidence


_nodes, _weights = np.polynomial.hermite.hermgauss(60)


def expected_row_derivatives(a_mean, a_var, first, second):
    """E[first(a)] and E[second(a)] for a ~ N(a_mean, a_var), by 60-node Gauss-Hermite quadrature."""
    a = a_mean[:, None] + np.sqrt(2 * a_var)[:, None] * _nodes[None, :]
    w = _weights / math.sqrt(math.pi)
    return first(a) @ w, second(a) @ w


def optimality_residuals(x, y, mean, covariance, prior_precision, first, second):
    """At the Gaussian VI optimum E_q[grad f] = 0 and Lambda = E_q[hess f] (docs/math.md section 3.2); returns the largest
    entries of both residuals, relative to the scale of the precision."""
    a_mean = x @ mean
    a_var = np.einsum("nd,de,ne->n", x, covariance, x)
    r, w = expected_row_derivatives(a_mean, a_var, lambda a: first(a, y[:, None]), lambda a: second(a, y[:, None]))
    gradient = x.T @ r + prior_precision * mean
    hessian = (x * w[:, None]).T @ x + prior_precision * np.eye(len(mean))
    precision = np.linalg.inv(covariance)
    scale = np.abs(precision).max()
    return np.abs(gradient).max() / scale, np.abs(hessian - precision).max() / scale


def logistic_first(a, t):
    return 1 / (1 + np.exp(-a)) - t


def logistic_second(a, t):
    p = 1 / (1 + np.exp(-a))
    return p * (1 - p) + 0 * t
