#!/usr/bin/env python3
"""The JSON files of bench/run_gpu.sh, from what its stages leave behind (standard library only).

  gpu_results.py junit CTEST_XML ALL_JSON CUDA_JSON   ctest's JUnit report as JSON: every test, and the
                                                      CUDA suite's cases (cuda_backend_test) alone
  gpu_results.py summary OUT_DIR COMMIT DEVICE        OUT_DIR/stages.tsv (stage, outcome, seconds) as
                                                      OUT_DIR/summary.json
"""
import json
import sys
import xml.etree.ElementTree as ElementTree

# The suites of tests/cuda_backend_test.cpp: the cases that run on the device.
CUDA_SUITES = ("CudaFallback", "CudaKernelTour", "CudaFit", "CudaGlm", "CudaPaths", "CudaChunks")


def junit(xml_path, all_path, cuda_path):
    tests = []
    for case in ElementTree.parse(xml_path).getroot().iter("testcase"):
        status = case.get("status", "run")
        if case.find("failure") is not None or status == "fail":
            status = "failed"
        elif case.find("skipped") is not None or status in ("disabled", "notrun"):
            status = "skipped"
        else:
            status = "passed"
        output = case.findtext("system-out") or ""
        # gtest says so when a test skips itself (no device): ctest counts it as passed.
        if status == "passed" and "[  SKIPPED ]" in output:
            status = "skipped"
        entry = {"name": case.get("name"), "status": status, "seconds": float(case.get("time", "0") or 0)}
        if status == "failed":
            entry["output"] = output[-20000:]
        tests.append(entry)

    def document(selected):
        counts = {s: sum(t["status"] == s for t in selected) for s in ("passed", "failed", "skipped")}
        return {"counts": counts, "tests": selected}

    cuda = [t for t in tests if t["name"].split("/")[0].split(".")[0] in CUDA_SUITES]
    for path, selected in ((all_path, tests), (cuda_path, cuda)):
        with open(path, "w") as f:
            json.dump(document(selected), f, indent=1)
    print(f"ctest: {document(tests)['counts']}; CUDA suite: {document(cuda)['counts']}")


def summary(out, commit, device):
    stages = {}
    try:
        with open(f"{out}/stages.tsv") as f:
            for line in f:
                stage, outcome, seconds = line.rstrip("\n").split("\t")
                stages[stage] = {"outcome": outcome, "seconds": int(seconds)}
    except FileNotFoundError:
        pass
    record = {"commit": commit, "device": device, "stages": stages}
    with open(f"{out}/summary.json", "w") as f:
        json.dump(record, f, indent=1)


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    {"junit": junit, "summary": summary}[command](*arguments)
