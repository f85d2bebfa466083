#!/usr/bin/env python3
"""The performance model of docs/performance.md: expected distribution-steps per second of the CUDA
backend's fused and batched paths on an H200, from counted flops, bytes, occupancy and the serial
chain of a step, against the roofline; with a throughput.json of bench/cuda_throughput (a GPU run),
its measured rates beside the model's.

    python3 bench/performance_model.py [throughput.json]

A model, not a measurement: every constant below is stated in docs/performance.md with its source.
"""
import json
import sys

# H200 SXM (fp32 without tensor cores).
SMS, CLOCK, SCHEDULERS = 132, 1.98e9, 4
BANDWIDTH, FP32 = 4.8e12, 67e12
REGISTERS_PER_SM, SHARED_PER_SM, SHARED_RESERVED_PER_BLOCK, MAX_WARPS_PER_SM = 65536, 228 * 1024, 1024, 64
# The workload of bench/cuda_throughput: logistic rows, N rows, S samples, float, full covariance.
N, S, SCALAR = 256, 16, 4
FUSED_REGISTERS = 168         # ptxas, fused GLM kernels (bench/README.md, resource usage)
MAX_SHARED_AREA = 64 * 1024   # kernels/fused_step.cu: larger per-warp areas go to global memory
FUSED_MAX_DIMENSION = 32      # CudaTuning: the fused path up to d = 32, the batched one above
PARALLEL_CPI, SERIAL_CPI = 1.5, 2.0  # warp instructions per useful FMA (operand loads, addressing)


def step_cost(d, estimator):
    """bench/cuda_throughput.cpp's step_cost: (bytes, flops) of one distribution-step."""
    m = d * d
    nbytes = (N * (d + 1) + 2 * (d + m)) * SCALAR + 2 * (4 * 4 + 8 + SCALAR) + 16
    model = 4 * S * N * d + 10 * S * N
    estimate = N * d * (d + 1) + S * N if estimator == "price" else 2 * S * d * d + d ** 3
    rule = (1 / 3 + 1 + 1 + 1 / 3) * d ** 3 + 4 * d * d
    kl = d ** 3 + 2 * d * d
    return nbytes, S * d * d + model + estimate + rule + kl


def aligned(n):
    return (n + 3) & ~3


def area_bytes(d):
    """kernels/cuda/fused.cuh area_entries for a GLM, full family."""
    odd = d | 1
    workspace = 3 * S * d + S + 3 * d * d + 2 * d + 2 * d * d + d
    scratch = aligned(32) + 2 * aligned(32 * odd) + 2 * aligned(32) + 2 * aligned(max(S, 1) * 33)
    return (aligned(d) + aligned(d * d) + aligned(workspace) + aligned(32 * odd) + scratch) * SCALAR


def resident_warps(d):
    """Warps per SM of the fused kernels: registers, then the shared-memory areas (fused_config)."""
    by_registers = REGISTERS_PER_SM // (FUSED_REGISTERS * 32)
    area = area_bytes(d)
    if area > MAX_SHARED_AREA:
        return by_registers, area, "global"
    best = 0
    for warps in (4, 2, 1):
        blocks = min(SHARED_PER_SM // (warps * area + SHARED_RESERVED_PER_BLOCK), by_registers // warps)
        best = max(best, blocks * warps)
    return best, area, "shared"


def fused(d, estimator, cooperative):
    """(rate, warps, area, where): min of the issue bound and the per-warp latency bound."""
    parallel = (S * d * d / 2 / S  # sampling: a lane per sample, all at once
                + 2 * S * N * d / 32 + (N * d * d / 2 / 32 if estimator == "price" else 0)
                + 10 * S * N / 32) * PARALLEL_CPI
    dense = 4 * d ** 3  # issue 14's count of the per-distribution algebra (Cholesky, solves, products)
    if cooperative:  # lanes over rows or columns; a __syncwarp and a few shuffles per column
        serial = dense / min(d, 32) * SERIAL_CPI + 6 * 10 * d
    else:            # lane 0 alone
        serial = dense * SERIAL_CPI
    instructions = parallel + serial
    warps, area, where = resident_warps(d)
    issue = SMS * SCHEDULERS * CLOCK / instructions
    latency = SMS * warps * CLOCK / instructions  # a warp issues at most one instruction per cycle
    return min(issue, latency), warps, area, where


def batched(d):
    """Memory bound of the batched path: its kernels' and library calls' workspace traffic."""
    scalars = 8 * N * d + 4 * S * N + 3 * N + 41 * d * d + 10 * S * d
    return BANDWIDTH / (scalars * SCALAR)


def roofline(d, estimator):
    nbytes, flops = step_cost(d, estimator)
    return min(BANDWIDTH / nbytes, FP32 / flops)


def main():
    measured = {}
    if len(sys.argv) > 1:
        with open(sys.argv[1]) as f:
            for r in json.load(f).get("runs", []):
                if r["family"] == "full" and r["precision"] == "float" and r["backend"] == "cuda":
                    measured[(r["d"], r["estimator"].lower())] = r["distribution_steps_per_second"]
    print("| d | estimator | roofline | fused now (warps/SM, area) | % | fused, warp algebra | % | "
          "batched | % | measured |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for d in (4, 16, 32, 64):
        for estimator in ("stein", "price"):
            roof = roofline(d, estimator)
            now, warps, area, where = fused(d, estimator, False)
            coop, _, _, _ = fused(d, estimator, True)
            bat = batched(d)
            got = measured.get((d, estimator))
            print(f"| {d} | {estimator} | {roof:.2e} | {now:.2e} ({warps}, {area / 1024:.0f} KB {where}) | "
                  f"{100 * now / roof:.0f} | {coop:.2e} | {100 * coop / roof:.0f} | {bat:.2e} | "
                  f"{100 * bat / roof:.0f} | {f'{got:.2e}' if got else '-'} |")


if __name__ == "__main__":
    main()
