"""`ngvi demo` and `ngvi bench` on small sizes: the report, the SVG plots, the JSON results."""
import json
import re
import xml.etree.ElementTree as ET

import pytest

from cli_support import assert_ok, assert_one_line_error, leftovers, run

SVG = "{http://www.w3.org/2000/svg}"


def polylines(path):
    return ET.parse(path).getroot().iter(f"{SVG}polyline")


def test_demo_reports_both_batches_and_plots_every_available_rule(tmp_path):
    result = assert_ok(run("demo", "--problems", "300", "--curve-problems", "40", "--curve-steps", "15", "--plot",
                           "demo.svg", cwd=tmp_path))
    out = result.stdout
    assert "1. Synthetic batch: 300 logistic regressions, d = 8" in out
    assert "2. Real data: handwritten digits (1797 images" in out and "45 problems, d = 65" in out
    calibration = float(re.search(r"calibration\s+([\d.]+)%", out).group(1))
    assert 90 < calibration < 99  # about 95.4% of the true parameters within 2 sd
    accuracy = float(re.search(r"held-out accuracy\s+mean ([\d.]+)%", out).group(1))
    assert accuracy > 95
    # One curve per rule the library runs, in both panels; the others are named as missing.
    rows = re.findall(r"^    (\w+)\s+(-?[\d.]+.*)$", out.split("3. Convergence")[1], re.M)
    ran = [name for name, _ in rows if name != "optimum"]
    assert {"iblr", "blr"} <= set(ran)
    # The optimum the gaps are measured to: no rule's last ELBO is above it but by rounding.
    optima = [float(values.split()[0]) for name, values in rows if name == "optimum"]
    assert len(optima) == 2
    for panel, optimum in zip(out.split("3. Convergence")[1].split("    digits")[:2], optima):
        for name, values in re.findall(r"^    (\w+)\s+(-?[\d.]+.*)$", panel, re.M):
            if name != "optimum":
                assert float(values.split()[-1]) <= optimum + 1e-3, (name, values, optimum)
    svg = tmp_path / "demo.svg"
    text = svg.read_text()
    assert "ELBO gap to the optimum" in text
    colors = {line.get("stroke") for line in polylines(svg)}  # a curve may break where its gap is not positive
    assert len(colors) == len(set(ran))
    for rule in set(ran):
        assert rule in text
    missing = [r for r in ("cholesky", "adam") if r not in ran]
    if missing:
        assert "not available in this build: " + ", ".join(missing) in text
    assert leftovers(tmp_path) == []


def test_demo_without_its_data(tmp_path):
    result = run("demo", "--problems", "10", "--data-dir", tmp_path / "nowhere", "--plot", "demo.svg", cwd=tmp_path)
    assert_one_line_error(result, "digits.csv", "--data-dir")
    assert not (tmp_path / "demo.svg").exists()


def test_bench_writes_consistent_json_and_a_plot(tmp_path):
    result = assert_ok(run("bench", "--dims", "2,3", "--batch-sizes", "40,80", "--samples", "4", "--rows", "16",
                           "--steps", "3", "--repeats", "1", "--families", "full,diagonal", "--estimators",
                           "stein,quadrature", "--backends", "cpu,cuda", "--json", "bench.json", "--plot", "bench.svg",
                           cwd=tmp_path))
    assert "dist-steps/s" in result.stdout
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["workload"]["rows"] == 16 and report["workload"]["precision"] == "float32"
    assert report["command"].startswith("ngvi bench")
    rows = report["results"]
    assert len(rows) == 2 * 2 * 2 * 2 * 2  # d, B, family, estimator, backend
    cpu = [r for r in rows if r["backend"] == "cpu"]
    assert all("error" not in r for r in cpu)
    for r in cpu:
        # Every distribution takes every step: throughput is B per step time.
        assert r["distribution_steps_per_second"] == pytest.approx(r["B"] / r["seconds_per_step"], rel=1e-9)
        assert r["S"] == (None if r["estimator"] == "quadrature" else 4)
        assert r["device"].startswith("CPU")
    for r in rows:
        if r["backend"] == "cuda" and "error" in r:
            assert "cuda" in r["error"].lower()
    lines = list(polylines(tmp_path / "bench.svg"))
    ran = {(r["d"], r["family"], r["estimator"], r["backend"]) for r in rows if "error" not in r}
    assert len(ran) >= 2 * 2 * 2 and len(lines) == len(ran)  # one line over B for each that ran (CUDA's too)


def test_bench_rejects_bad_values(tmp_path):
    assert_one_line_error(run("bench", "--dims", "0", cwd=tmp_path), "--dims")
    assert_one_line_error(run("bench", "--estimators", "stein,magic", cwd=tmp_path), "--estimators", "'magic'")
    assert_one_line_error(run("bench", "--steps", "1", cwd=tmp_path), "--steps")
