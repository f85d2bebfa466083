#!/usr/bin/env python3
"""ngvi against the same batched natural-gradient step written as its peers' users would write it.

The step: B independent Bayesian logistic regressions, prior N(0, I / delta), Gaussian posteriors with full
covariance; S antithetic samples z = mu + C^-T eps (Lambda = C C^T); the Stein (first-order) estimates
g = mean grad f(z) + delta mu and H = mean sym(C eps grad f(z)^T) + delta I; the improved Bayesian learning rule
Lambda' = Lambda + rho G + rho^2 / 2 G Lambda^-1 G (G = H - Lambda), mu' = mu - rho Lambda'^-1 g.

Peers (each vectorized over the batch, as its documentation recommends):
  numpy   batched matmul and np.linalg (CPU)
  torch   batched torch.linalg, no autograd needed (CPU, and CUDA when torch sees a GPU)
  jax     the one-problem step under jax.vmap and jax.jit (only where jax is importable)
  numpyro SVI with AutoMultivariateNormal and Adam, vmapped over the problems (only where numpyro is importable);
          a different algorithm (Euclidean gradients of the ELBO), compared only by time to the same ELBO

What it does, in one run:
  1. checks that every peer reaches the same posterior as ngvi on a small problem (float64, against ngvi's exact
     quadrature fit), and stops if one does not;
  2. times steps on the standard workload (logistic, B = 2000, N = 256, d = 16, S = 16, float32, Stein, iBLR):
     ngvi through `ngvi bench`, the peers directly, all on the same machine in the same run;
  3. measures the time each takes to bring the batch's mean ELBO within a tolerance of the exact optimum
     (computed by `ngvi fit` with quadrature), ngvi through `ngvi fit --trace`;
  4. prints ngvi's speed as a ratio to each peer and writes the figures as JSON (--json).

With --gpu (bench/run_gpu.sh on a GPU machine): ngvi's CUDA backend against PyTorch on the GPU and JAX on the GPU,
on B = 65536 problems by default, steps 1, 2 and 4 only (the CPU peers would take minutes at that size).

Needs: Debian's python3-numpy; python3-torch for the PyTorch peer; jax/numpyro for theirs (optional).
Run from the repository root after building: python3 bench/peers/peers.py --json bench/results/peers-cpu.json
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def optional(module):
    try:
        return __import__(module)
    except Exception:  # noqa: BLE001 - any import failure means "not available here"
        return None


torch = optional("torch")
jax = optional("jax")


# --- data ----------------------------------------------------------------------------------------------------------

def logistic_data(B, N, d, seed, dtype):
    """x_n ~ N(0, I / d), z_b ~ N(0, I), y ~ Bernoulli(sigmoid(x^T z)), as ngvi's synthetic generator draws them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, N, d)) / math.sqrt(d)
    z = rng.normal(size=(B, d))
    y = (rng.random((B, N)) < 1 / (1 + np.exp(-np.einsum("bnd,bd->bn", x, z)))).astype(np.float64)
    return x.astype(dtype), y.astype(dtype)


# --- NumPy ---------------------------------------------------------------------------------------------------------

class NumpyPeer:
    name = "numpy"

    def __init__(self, x, y, samples, rho, delta, seed):
        self.x, self.y, self.S, self.rho, self.delta = x, y, samples, rho, delta
        self.xt = np.ascontiguousarray(np.swapaxes(x, 1, 2))
        B, _, d = x.shape
        self.dtype = x.dtype
        self.rng = np.random.default_rng(seed)
        self.mean = np.zeros((B, d), self.dtype)
        self.precision = np.broadcast_to(np.eye(d, dtype=self.dtype), (B, d, d)).copy()
        self.eye = np.eye(d, dtype=self.dtype)

    def step(self, elbo=False):
        B, d = self.mean.shape
        chol = np.linalg.cholesky(self.precision)
        half = self.rng.standard_normal((B, d, self.S // 2), dtype=self.dtype)
        eps = np.concatenate([half, -half], axis=2)                              # (B, d, S), antithetic
        z = self.mean[:, :, None] + np.linalg.solve(np.swapaxes(chol, 1, 2), eps)  # C^-T eps
        a = self.x @ z                                                           # (B, N, S)
        residual = 1 / (1 + np.exp(-a)) - self.y[:, :, None]
        grads = self.xt @ residual                                               # (B, d, S)
        g = grads.mean(axis=2) + self.delta * self.mean
        h = (chol @ eps) @ np.swapaxes(grads, 1, 2) / self.S
        H = 0.5 * (h + np.swapaxes(h, 1, 2)) + self.delta * self.eye
        G = H - self.precision
        new = self.precision + self.rho * G + 0.5 * self.rho**2 * G @ np.linalg.solve(self.precision, G)
        new = 0.5 * (new + np.swapaxes(new, 1, 2))
        value = None
        if elbo:
            f = (np.logaddexp(0, a) - self.y[:, :, None] * a).sum(axis=1)        # (B, S)
            f += 0.5 * self.delta * (z * z).sum(axis=1) + 0.5 * d * math.log(2 * math.pi / self.delta)
            entropy = 0.5 * d * (1 + math.log(2 * math.pi)) - np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
            value = float((entropy - f.mean(axis=1)).mean())
        self.mean = self.mean - self.rho * np.linalg.solve(new, g[:, :, None])[:, :, 0]
        self.precision = new
        return value

    def result(self):
        return self.mean.astype(np.float64), np.linalg.inv(self.precision.astype(np.float64))

    def sync(self):
        pass


# --- PyTorch -------------------------------------------------------------------------------------------------------

def no_grad(function):
    """torch.no_grad() where torch is importable, so that the class below is defined without it too."""
    return torch.no_grad()(function) if torch is not None else function


class TorchPeer:
    def __init__(self, x, y, samples, rho, delta, seed, device="cpu"):
        self.name = "torch" if device == "cpu" else "torch-cuda"
        self.device = device
        self.x = torch.as_tensor(x, device=device)
        self.y = torch.as_tensor(y, device=device)
        self.S, self.rho, self.delta = samples, rho, delta
        B, _, d = x.shape
        self.gen = torch.Generator(device=device).manual_seed(seed)
        self.mean = torch.zeros((B, d), dtype=self.x.dtype, device=device)
        self.eye = torch.eye(d, dtype=self.x.dtype, device=device)
        self.chol = self.eye.expand(B, d, d).clone()  # Cholesky factor of the precision

    @no_grad
    def step(self, elbo=False):
        B, d = self.mean.shape
        chol = self.chol
        precision = chol @ chol.mT
        half = torch.randn((B, d, self.S // 2), generator=self.gen, dtype=self.x.dtype, device=self.device)
        eps = torch.cat([half, -half], dim=2)
        z = self.mean[:, :, None] + torch.linalg.solve_triangular(chol.mT, eps, upper=True)
        a = self.x @ z
        residual = torch.sigmoid(a) - self.y[:, :, None]
        grads = self.x.mT @ residual
        g = grads.mean(dim=2) + self.delta * self.mean
        h = (chol @ eps) @ grads.mT / self.S
        H = 0.5 * (h + h.mT) + self.delta * self.eye
        G = H - precision
        new = precision + self.rho * G + 0.5 * self.rho**2 * G @ torch.cholesky_solve(G, chol)
        new_chol = torch.linalg.cholesky(0.5 * (new + new.mT))
        value = None
        if elbo:
            f = (torch.nn.functional.softplus(a) - self.y[:, :, None] * a).sum(dim=1)
            f += 0.5 * self.delta * (z * z).sum(dim=1) + 0.5 * d * math.log(2 * math.pi / self.delta)
            entropy = 0.5 * d * (1 + math.log(2 * math.pi)) - torch.log(torch.diagonal(chol, dim1=1, dim2=2)).sum(dim=1)
            value = float((entropy - f.mean(dim=1)).mean())
        self.mean = self.mean - self.rho * torch.cholesky_solve(g[:, :, None], new_chol)[:, :, 0]
        self.chol = new_chol
        return value

    def result(self):
        chol = self.chol.double().cpu().numpy()
        return self.mean.double().cpu().numpy(), np.linalg.inv(chol @ np.swapaxes(chol, 1, 2))

    def sync(self):
        if self.device != "cpu":
            torch.cuda.synchronize()


# --- JAX (jit + vmap over problems) ----------------------------------------------------------------------------------

def make_jax_peer():
    import jax.numpy as jnp
    from jax.scipy.linalg import cho_solve, solve_triangular

    def one_step(mean, chol, x, y, key, S, rho, delta):
        d = mean.shape[0]
        precision = chol @ chol.T
        half = jax.random.normal(key, (S // 2, d), dtype=x.dtype)
        eps = jnp.concatenate([half, -half])                                  # (S, d)
        z = mean + solve_triangular(chol.T, eps.T, lower=False).T
        a = z @ x.T                                                           # (S, N)
        grads = (jax.nn.sigmoid(a) - y) @ x                                   # (S, d)
        g = grads.mean(0) + delta * mean
        h = (chol @ eps.T) @ grads / S
        G = 0.5 * (h + h.T) + delta * jnp.eye(d, dtype=x.dtype) - precision
        new = precision + rho * G + 0.5 * rho**2 * G @ cho_solve((chol, True), G)
        new_chol = jnp.linalg.cholesky(0.5 * (new + new.T))
        f = (jax.nn.softplus(a) - y * a).sum(1) + 0.5 * delta * (z * z).sum(1) + 0.5 * d * jnp.log(2 * jnp.pi / delta)
        elbo = 0.5 * d * (1 + jnp.log(2 * jnp.pi)) - jnp.log(jnp.diag(chol)).sum() - f.mean()
        return mean - rho * cho_solve((new_chol, True), g), new_chol, elbo

    class JaxPeer:
        name = "jax"

        def __init__(self, x, y, samples, rho, delta, seed):
            if x.dtype == np.float64:
                jax.config.update("jax_enable_x64", True)
            self.x, self.y = jnp.asarray(x), jnp.asarray(y)
            B, _, d = x.shape
            self.mean = jnp.zeros((B, d), x.dtype)
            self.chol = jnp.broadcast_to(jnp.eye(d, dtype=x.dtype), (B, d, d))
            self.key = jax.random.PRNGKey(seed)
            step = lambda m, c, xb, yb, k: one_step(m, c, xb, yb, k, samples, rho, delta)  # noqa: E731
            self.batched = jax.jit(jax.vmap(step))

        def step(self, elbo=False):
            self.key, sub = jax.random.split(self.key)
            keys = jax.random.split(sub, self.mean.shape[0])
            self.mean, self.chol, value = self.batched(self.mean, self.chol, self.x, self.y, keys)
            return float(value.mean()) if elbo else None

        def result(self):
            chol = np.asarray(self.chol, np.float64)
            return np.asarray(self.mean, np.float64), np.linalg.inv(chol @ np.swapaxes(chol, 1, 2))

        def sync(self):
            self.mean.block_until_ready()

    return JaxPeer


# --- NumPyro (SVI, AutoMultivariateNormal, Adam), vmapped over problems ------------------------------------------------

def make_numpyro_peer():
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoMultivariateNormal

    class NumpyroPeer:
        name = "numpyro-adam"

        def __init__(self, x, y, samples, learning_rate, delta, seed):
            d = x.shape[2]

            def model(xb, yb):
                z = numpyro.sample("z", dist.Normal(jnp.zeros(d), 1 / jnp.sqrt(delta)).to_event(1))
                numpyro.sample("y", dist.Bernoulli(logits=xb @ z), obs=yb)

            self.guide = AutoMultivariateNormal(model, init_loc_fn=numpyro.infer.init_to_median)
            self.svi = SVI(model, self.guide, numpyro.optim.Adam(learning_rate), Trace_ELBO(num_particles=samples))
            self.x, self.y = jnp.asarray(x), jnp.asarray(y)
            keys = jax.random.split(jax.random.PRNGKey(seed), x.shape[0])
            self.state = jax.vmap(lambda k, xb, yb: self.svi.init(k, xb, yb))(keys, self.x, self.y)
            self.update = jax.jit(jax.vmap(self.svi.update))

        def step(self, elbo=False):
            self.state, loss = self.update(self.state, self.x, self.y)
            # Trace_ELBO's loss estimates -ELBO with every normaliser of the prior and likelihood included.
            return -float(loss.mean()) if elbo else None

        def result(self):
            params = jax.vmap(self.svi.get_params)(self.state)
            loc = np.asarray(params["auto_loc"], np.float64)
            scale = np.asarray(params["auto_scale_tril"], np.float64)
            return loc, scale @ np.swapaxes(scale, 1, 2)

        def sync(self):
            jax.block_until_ready(self.state)

    return NumpyroPeer


# --- ngvi ----------------------------------------------------------------------------------------------------------

def ngvi_run(ngvi, *args):
    result = subprocess.run([ngvi, *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"ngvi {' '.join(map(str, args))} failed:\n{result.stderr}")
    return result


def ngvi_fit(ngvi, folder, x, y, name, *options):
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    out = folder / name
    ngvi_run(ngvi, "fit", "--model", "logistic", "--x", folder / "x.npy", "--y", folder / "y.npy", "--out", out,
             "--overwrite", "--quiet", *options)
    return {p.stem: np.load(p) for p in out.glob("*.npy")}, json.loads((out / "summary.json").read_text())


# --- the three measurements ----------------------------------------------------------------------------------------

# The posterior check runs every implementation long enough, with enough samples and a small enough step, that
# the Monte Carlo noise of its final state is well inside the tolerances (0.1 posterior sd, 10% of the sd).
CHECK_STEPS, CHECK_STEP_SIZE, CHECK_SAMPLES = 400, 0.1, 256

def check_posteriors(args, peers, folder):
    """Every implementation of the Stein/iBLR step must land on the exact posterior within Monte Carlo noise."""
    x, y = logistic_data(16, 64, 3, seed=7, dtype=np.float64)
    exact, _ = ngvi_fit(args.ngvi, folder, x, y, "exact", "--estimator", "quadrature", "--tol", "1e-12")
    steps, rho, S = CHECK_STEPS, CHECK_STEP_SIZE, CHECK_SAMPLES
    ngvi, _ = ngvi_fit(args.ngvi, folder, x, y, "stein", "--estimator", "stein", "--rule", "iblr", "--samples", S,
                       "--step-size", rho, "--max-steps", steps, "--tol", "0")
    sd = np.sqrt(np.diagonal(exact["covariance"], axis1=1, axis2=2))
    candidates = {"ngvi": (ngvi["mean"], ngvi["covariance"])}
    for name, make in peers.items():
        peer = make(x, y, S, rho, 1.0, 1)
        for _ in range(steps):
            peer.step()
        candidates[name] = peer.result()
    report = {}
    for name, (mean, covariance) in candidates.items():
        mean_error = float((np.abs(mean - exact["mean"]) / sd).max())
        sd_error = float(np.abs(np.sqrt(np.diagonal(covariance, axis1=1, axis2=2)) / sd - 1).max())
        ok = mean_error < 0.1 and sd_error < 0.1
        report[name] = {"max_mean_error_in_sd": mean_error, "max_relative_sd_error": sd_error, "ok": ok}
        print(f"  {name:<14} mean off by at most {mean_error:.3f} posterior sd, sd off by at most "
              f"{100 * sd_error:.1f}%  {'ok' if ok else 'DIFFERENT'}")
    if not all(r["ok"] for r in report.values()):
        sys.exit("a peer does not reach ngvi's posterior: timings would compare different computations")
    return report


def time_steps(peer, warmup, steps):
    for _ in range(warmup):
        peer.step()
    peer.sync()
    start = time.perf_counter()
    for _ in range(steps):
        peer.step()
    peer.sync()
    return (time.perf_counter() - start) / steps


def ngvi_bench(args, folder):
    out = folder / "bench.json"
    ngvi_run(args.ngvi, "bench", "--dims", args.d, "--batch-sizes", args.B, "--samples", args.S, "--rows", args.N,
             "--families", "full", "--estimators", "stein", "--rules", "iblr", "--precision", "float32",
             "--steps", args.steps + 1, "--repeats", args.repeats, "--backends", "cuda" if args.gpu else "cpu",
             "--json", out)
    row = json.loads(out.read_text())["results"][0]
    return row["seconds_per_step"], row["device"]


def steps_to_target(trace, target):
    hits = [k for k, v in enumerate(trace) if v >= target]
    return hits[0] + 1 if hits else None


def time_to_elbo(args, peers, numpyro_peer, folder, x, y):
    """Step 3: the time each implementation takes to bring the batch's mean ELBO near the exact optimum."""
    print(f"3. Time to the same ELBO (within {100 * args.elbo_gap:g}% of the initial gap to the exact optimum)")
    exact, _ = ngvi_fit(args.ngvi, folder, x.astype(np.float64), y.astype(np.float64), "exact",
                        "--estimator", "quadrature", "--tol", "1e-12")
    optimum = float(exact["elbo"].mean())
    ngvi, summary = ngvi_fit(args.ngvi, folder, x, y, "trace", "--estimator", "stein", "--rule", "iblr",
                             "--samples", args.S, "--step-size", args.rho, "--precision", "float32", "--tol", "0",
                             "--max-steps", args.elbo_steps, "--trace")
    initial = float(ngvi["elbo_trace"][0])
    target = optimum - args.elbo_gap * (optimum - initial)
    print(f"  exact optimum mean ELBO {optimum:.4f}, start {initial:.4f}, target {target:.4f}")
    to_target = {}
    k = steps_to_target(ngvi["elbo_trace"], target)
    to_target["ngvi"] = {"steps": k, "seconds": None if k is None else summary["seconds"] * k / summary["iterations"]}
    runners = dict(peers)
    if numpyro_peer is not None:
        runners["numpyro-adam"] = lambda x_, y_, S, rho, delta, seed: numpyro_peer(x_, y_, S, args.adam_lr, delta,
                                                                                     seed)
    for name, make in runners.items():
        peer = make(x, y, args.S, args.rho, 1.0, 2)
        trace, elapsed, hit = [], 0.0, None
        for step in range(args.elbo_steps):
            start = time.perf_counter()
            trace.append(peer.step(elbo=True))
            peer.sync()
            elapsed += time.perf_counter() - start
            if trace[-1] >= target:
                hit = step + 1
                break
        to_target[name] = {"steps": hit, "seconds": elapsed if hit else None}
    for name, r in to_target.items():
        if r["steps"] is None:
            print(f"  {name:<14} did not reach the target in {args.elbo_steps} steps")
            continue
        ratio = ""
        if name != "ngvi" and to_target["ngvi"]["seconds"]:
            ratio = f"  ngvi is {r['seconds'] / to_target['ngvi']['seconds']:.2f}x as fast"
        print(f"  {name:<14} {r['steps']:4d} steps  {r['seconds']:8.3f} s{ratio}")
    return {"optimum": optimum, "initial": initial, "target": target, "results": to_target}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ngvi", default=str(ROOT / "build" / "bin" / "ngvi"))
    parser.add_argument("--gpu", action="store_true",
                        help="ngvi's CUDA backend against the peers on the GPU (torch-cuda, jax on a GPU)")
    parser.add_argument("--B", type=int, help="problems (default 2000; 65536 with --gpu)")
    parser.add_argument("--N", type=int, default=256)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--S", type=int, default=16)
    parser.add_argument("--rho", type=float, default=0.5, help="step size of the natural-gradient step")
    parser.add_argument("--adam-lr", type=float, default=0.1, help="learning rate of the NumPyro Adam peer")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per implementation")
    parser.add_argument("--repeats", type=int, default=3, help="ngvi bench repeats (best is kept)")
    parser.add_argument("--rounds", type=int,
                        help="rounds of the per-step comparison (ngvi, then each peer; medians are quoted); "
                             "default 5, 3 with --gpu")
    parser.add_argument("--elbo-steps", type=int, default=60, help="step budget of the time-to-ELBO runs")
    parser.add_argument("--elbo-gap", type=float, default=0.05,
                        help="time-to-ELBO target: within this fraction of the initial gap to the exact optimum")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch CPU threads")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    if args.B is None:
        args.B = 65536 if args.gpu else 2000
    if args.rounds is None:
        args.rounds = 3 if args.gpu else 5
    if torch is not None:
        torch.set_num_threads(args.threads)

    peers = {} if args.gpu else {"numpy": NumpyPeer}
    if torch is not None:
        if not args.gpu:
            peers["torch"] = lambda *a: TorchPeer(*a, device="cpu")
        if torch.cuda.is_available():
            peers["torch-cuda"] = lambda *a: TorchPeer(*a, device="cuda")
    jax_here = jax is not None and (not args.gpu or jax.default_backend() == "gpu")
    if jax_here:
        peers["jax"] = make_jax_peer()
    skipped = [name for name, module in (("torch", torch), ("jax", jax)) if module is None]
    if args.gpu and (torch is None or not torch.cuda.is_available()):
        skipped.append("torch-cuda (no GPU for torch)")
    if jax is not None and not jax_here:
        skipped.append("jax (no GPU for jax)")
    numpyro_peer = None
    if jax_here and not args.gpu and optional("numpyro") is not None:
        numpyro_peer = make_numpyro_peer()
    else:
        skipped.append("numpyro")

    load_before = list(os.getloadavg())  # timings on a shared machine are only as good as its load
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"1. Same posterior (logistic, B = 16, N = 64, d = 3, float64, Stein S = {CHECK_SAMPLES}, iBLR rho = "
              f"{CHECK_STEP_SIZE}, {CHECK_STEPS} steps; against ngvi's exact quadrature fit)")
        check = check_posteriors(args, peers, folder)

        print(f"2. Per-step time (logistic, B = {args.B}, N = {args.N}, d = {args.d}, S = {args.S}, float32, "
              f"Stein, iBLR)")
        # On a shared machine the speed drifts: ngvi and the peers are timed in turn, round after round,
        # and the figures quoted are the medians over the rounds, the ratios taken round by round.
        x, y = logistic_data(args.B, args.N, args.d, seed=1, dtype=np.float32)
        runners = {name: make(x, y, args.S, args.rho, 1.0, 1) for name, make in peers.items()}
        rounds = []
        for _ in range(args.rounds):
            ngvi_seconds, device = ngvi_bench(args, folder)
            timed = {"ngvi": ngvi_seconds}
            for name, peer in runners.items():
                timed[name] = time_steps(peer, warmup=2, steps=args.steps)
            rounds.append(timed)
        per_step = {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}
        ratios = {name: statistics.median(r[name] / r["ngvi"] for r in rounds) for name in rounds[0] if name != "ngvi"}
        print(f"  medians over {args.rounds} rounds; the ratios are medians of each round's ratio")
        for name, seconds in per_step.items():
            ratio = "" if name == "ngvi" else f"  ngvi is {ratios[name]:.2f}x as fast"
            print(f"  {name:<14} {1e3 * seconds:9.2f} ms/step  {args.B / seconds:12.4g} distribution-steps/s{ratio}")

        elbo = None if args.gpu else time_to_elbo(args, peers, numpyro_peer, folder, x, y)
        if skipped:
            print(f"not run here (not importable): {', '.join(skipped)}")

    if args.json:
        cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                   platform.processor())
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
        gpu = torch.cuda.get_device_name() if args.gpu and torch is not None and torch.cuda.is_available() else None
        record = {
            "device": f"{cpu}, {os.cpu_count()} CPUs" + (f"; {gpu}" if gpu else ""),
            "ngvi_device": device,
            "commit": commit,
            "command": " ".join(["python3", "bench/peers/peers.py"] + sys.argv[1:]),
            "date": time.strftime("%Y-%m-%d"),
            "load_average_1_5_15_min": load_before,
            "versions": {"python": platform.python_version(), "numpy": np.__version__,
                         "torch": getattr(torch, "__version__", None), "jax": getattr(jax, "__version__", None)},
            "workload": {"backend": "cuda" if args.gpu else "cpu", "model": "logistic", "B": args.B, "N": args.N, "d": args.d, "S": args.S, "dtype": "float32",
                         "estimator": "stein", "rule": "iblr", "step_size": args.rho, "prior_precision": 1.0},
            "posterior_check": check,
            "seconds_per_step": per_step,
            "seconds_per_step_rounds": rounds,
            "distribution_steps_per_second": {k: args.B / v for k, v in per_step.items()},
            "ngvi_speed_ratio_per_step": ratios,
            "time_to_elbo": elbo,
            "not_run": skipped,
        }
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
        print(f"figures: {args.json}")


if __name__ == "__main__":
    main()
