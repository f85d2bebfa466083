#!/usr/bin/env python3
"""The portable build's `ngvi bench` against the -march=native build's, side by side (issue 17, item 3).

Runs each sweep with the two `ngvi` executables in turn, A B A B ..., for several rounds, and writes
each configuration's throughput (distribution-steps per second, from `ngvi bench --json`) in every
round, the ratio portable / native of each round, and the median ratio. Pairing the runs round by
round keeps the ratios meaningful when a shared machine's speed drifts.

    cmake -S . -B build-native -DNGVI_NATIVE_ARCH=ON ... && cmake --build build-native --target ngvi_cli
    python3 bench/portable_vs_native.py --portable build/bin/ngvi --native build-native/bin/ngvi \
        --json bench/results/portable-cpu.json --markdown bench/results/portable-cpu.md

The sweeps cover d = 4, 16, 64, full and diagonal covariance, the Stein and quadrature estimators,
float32 and float64, on one thread (so that the other jobs on a shared machine disturb less).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

# (dims, batch size): d = 64 with a smaller batch, so that its exact full-covariance fits stay short.
SWEEPS = [("4,16", 200), ("64", 20)]
PRECISIONS = ["float32", "float64"]


def bench(ngvi, dims, batch, precision, steps, repeats):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.json")
        subprocess.run([ngvi, "bench", "--dims", dims, "--batch-sizes", str(batch), "--families", "full,diagonal",
                        "--estimators", "stein,quadrature", "--precision", precision, "--steps", str(steps),
                        "--repeats", str(repeats), "--threads", "1", "--json", out],
                       check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            report = json.load(f)
    rows = {}
    for r in report["results"]:
        if "error" in r:
            sys.exit(f"{ngvi}: {r['error']}")
        key = f"{precision} {r['family']} {r['estimator']} d={r['d']} B={r['B']}"
        rows[key] = r["distribution_steps_per_second"]
    return rows, report


def write_report(a, runs, machine, rounds_done):
    """Writes the JSON (and markdown) of the rounds so far."""
    configurations = []
    for key in runs["portable"]:
        portable, native = runs["portable"][key], runs["native"][key]
        ratios = [p / n for p, n in zip(portable, native)]
        configurations.append({"configuration": key, "portable_steps_per_second": portable,
                               "native_steps_per_second": native, "ratios": ratios,
                               "median_ratio": statistics.median(ratios), "min_ratio": min(ratios),
                               "max_ratio": max(ratios)})
    result = {"what": "ngvi bench, portable build (run-time dispatch) / -march=native build, same machine, "
                      "runs interleaved round by round; ratio > 1: the portable build is faster",
              "machine": machine, "load_average_at_end": os.getloadavg(), "rounds": rounds_done, "steps": a.steps,
              "repeats": a.repeats, "threads": 1, "command": " ".join(sys.argv),
              "median_of_median_ratios": statistics.median(c["median_ratio"] for c in configurations),
              "configurations": configurations}
    with open(a.json, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    if a.markdown:
        lines = ["# Portable build against -march=native (`ngvi bench`)", "",
                 f"{machine['cpu_model']}, {machine['hardware_threads']} hardware threads, shared with other jobs "
                 f"(load average {result['load_average_at_end'][1]:.1f} over the last 5 minutes at the end); "
                 f"{rounds_done} rounds, each build in turn, {a.steps} steps ({a.steps - 1} timed, best of {a.repeats}), "
                 "1 thread, logistic regressions with N = 256 rows, S = 16 for Stein. Throughput in "
                 "distribution-steps per second (medians over the rounds); the ratio is portable / native "
                 "within each round (> 1: the portable build is faster). Regenerate with "
                 "`bench/portable_vs_native.py` (its docstring gives the commands).", "",
                 f"Median of the configurations' median ratios: {result['median_of_median_ratios']:.3f}.", "",
                 "| configuration | native | portable | ratio (median) | min | max |",
                 "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for c in configurations:
            lines.append(f"| {c['configuration']} | {statistics.median(c['native_steps_per_second']):.3g} | "
                         f"{statistics.median(c['portable_steps_per_second']):.3g} | {c['median_ratio']:.2f} | "
                         f"{c['min_ratio']:.2f} | {c['max_ratio']:.2f} |")
        with open(a.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")
    return configurations


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portable", required=True, help="ngvi built with the defaults")
    parser.add_argument("--native", required=True, help="ngvi built with -DNGVI_NATIVE_ARCH=ON")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", required=True)
    parser.add_argument("--markdown")
    a = parser.parse_args()

    runs = {"portable": {}, "native": {}}
    machine = None
    for round_ in range(a.rounds):
        for precision in PRECISIONS:
            for dims, batch in SWEEPS:
                # Alternate which goes first, so that neither always runs on a warmer or cooler machine.
                order = ["portable", "native"] if round_ % 2 == 0 else ["native", "portable"]
                for build in order:
                    rows, report = bench(getattr(a, build), dims, batch, precision, a.steps, a.repeats)
                    machine = machine or {"cpu_model": report["cpu_model"], "hardware_threads": report["hardware_threads"]}
                    for key, value in rows.items():
                        runs[build].setdefault(key, []).append(value)
                    print(f"round {round_ + 1}/{a.rounds} {build} {precision} d={dims}: load "
                          f"{report.get('load_average_1_5_15_min')}", file=sys.stderr)

        configurations = write_report(a, runs, machine, round_ + 1)  # a stopped run keeps its rounds
    print(json.dumps({c["configuration"]: round(c["median_ratio"], 3) for c in configurations}, indent=1))


if __name__ == "__main__":
    main()
