"""Peak memory of `ngvi fit` against the size of its inputs and outputs (issue 15: peak RSS under twice the
inputs plus the outputs). Writes a float32 logistic dataset (B problems, N rows, d covariates), runs
`ngvi fit` under /usr/bin/time -v for a few steps (memory does not grow with steps) and records the peak
resident set size, the file sizes and the bound in a JSON file.

    python3 bench/rss_fit.py --ngvi build/bin/ngvi --json bench/results/rss-fit.json
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ngvi", default="build/bin/ngvi")
    parser.add_argument("--json", default="bench/results/rss-fit.json")
    parser.add_argument("--problems", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--dimension", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--precision", default="float64", choices=["float32", "float64"])
    args = parser.parse_args()
    B, N, d = args.problems, args.rows, args.dimension
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        rng = np.random.default_rng(15)
        x = np.lib.format.open_memmap(folder / "x.npy", mode="w+", dtype=np.float32, shape=(B, N, d))
        y = np.lib.format.open_memmap(folder / "y.npy", mode="w+", dtype=np.float32, shape=(B, N))
        for start in range(0, B, 10_000):  # written in chunks: this script must not be the peak
            stop = min(B, start + 10_000)
            x[start:stop] = rng.normal(size=(stop - start, N, d)) / np.sqrt(d)
            y[start:stop] = rng.random((stop - start, N)) < 0.5
        del x, y
        inputs = sum((folder / f).stat().st_size for f in ("x.npy", "y.npy"))
        command = [os.path.abspath(args.ngvi), "fit", "--model", "logistic", "--x", "x.npy", "--y", "y.npy",
                   "--max-steps", str(args.steps), "--precision", args.precision, "--out", "out", "--quiet"]
        result = subprocess.run(["/usr/bin/time", "-v", *command], cwd=folder, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"ngvi fit failed:\n{result.stderr}")
        peak_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
        outputs = sum(p.stat().st_size for p in (folder / "out").iterdir())
    peak = peak_kib * 1024
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    record = {
        "command": " ".join(["python3", *sys.argv]),
        "commit": commit,
        "ngvi_command": " ".join(command[1:]),
        "machine": platform.processor() or platform.machine(),
        "load_average_1_5_15_min": list(os.getloadavg()),
        "workload": {"B": B, "N": N, "d": d, "input_dtype": "float32", "precision": args.precision,
                     "steps": args.steps},
        "input_bytes": inputs,
        "output_bytes": outputs,
        "peak_rss_bytes": peak,
        "bound_bytes": 2 * inputs + outputs,
        "peak_over_inputs": round(peak / inputs, 3),
        "peak_over_bound": round(peak / (2 * inputs + outputs), 3),
        "met": peak < 2 * inputs + outputs,
    }
    Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
