"""The bad-input corpus (tests/bad_inputs/manifest.json) through `ngvi fit`: each case either fails with one
line on stderr naming the argument and the problem, leaving no output directory, or fits with the statuses
the manifest gives (every other problem converged or at its step budget)."""
import json
from pathlib import Path

import pytest

from cli_support import assert_ok, assert_one_line_error, leftovers, load_outputs, run

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
CASES = [c for c in MANIFEST["cases"] if not isinstance(c["cli"], str)]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(tmp_path, case):
    args = ["fit", "--model", case["model"], "--x", case["x"], "--y", case["y"],
            "--max-steps", MANIFEST["options"]["max_steps"], "--seed", MANIFEST["options"]["seed"]]
    if "offsets" in case:
        args += ["--offsets", case["offsets"]]
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
