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
LANE0_REGISTERS = 168         # ptxas, fused GLM kernels with the algebra on lane 0 (issue 14's review)
FUSED_REGISTERS = 128         # ptxas, float fused GLM step with the warp team (bench/README.md, resource usage)
MAX_SHARED_AREA = 64 * 1024   # kernels/fused_step.cu: larger per-warp areas go to global memory
FUSED_MAX_DIMENSION = 32      # CudaTuning: the fused path up to d = 32, the batched one above
PARALLEL_CPI, SERIAL_CPI = 1.5, 2.0  # warp instructions per useful FMA (operand loads, addressing)
# The warp team's dependency chain (cycles): a Cholesky pivot (shared load, reciprocal, the first
# trailing update, __syncwarp), a link of a column-parallel solve or product (shared load, FMA,
# shared store), a team hand-off (__syncwarp, a shuffle or a vote). Latencies of Hopper's shared
# memory (about 30 cycles) and MUFU (about 20), not measured here.
PIVOT_CYCLES, LINK_CYCLES, HANDOFF_CYCLES, HANDOFFS = 100, 40, 20, 40
# A link through a per-warp area in global memory: an L2 hit (about 250 cycles) once the resident
# areas exceed the L1 (256 KB per SM, less the shared memory in use).
GLOBAL_LINK_CYCLES, L1_BYTES = 250, 256 * 1024


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


def resident_warps(d, registers=FUSED_REGISTERS):
    """Warps per SM of the fused kernels: registers, then the shared-memory areas (fused_config)."""
    by_registers = REGISTERS_PER_SM // (registers * 32)
    area = area_bytes(d)
    if area > MAX_SHARED_AREA:
        return by_registers, area, "global"
    best = 0
    for warps in (4, 2, 1):
        blocks = min(SHARED_PER_SM // (warps * area + SHARED_RESERVED_PER_BLOCK), by_registers // warps)
        best = max(best, blocks * warps)
    return best, area, "shared"


def fused(d, estimator, cooperative, where=None, registers=FUSED_REGISTERS):
    """(rate, warps, area, where): min of the issue bound and the latency bound.

    cooperative=False is the design before issue 14's item 2 (the algebra on lane 0); True is the warp
    team of kernels/math/team.cuh: the d^3 algebra over min(d, 32) lanes (ceil(d / 32) passes), the
    mean step's two vector solves and the checks (about 2 d^2) still on lane 0."""
    parallel = (S * d * d / 2 / S  # sampling: a lane per sample, all at once
                + 2 * S * N * d / 32 + (N * d * d / 2 / 32 if estimator == "price" else 0)
                + 10 * S * N / 32) * PARALLEL_CPI
    dense = 4 * d ** 3  # issue 14's count of the per-distribution algebra (Cholesky, solves, products)
    if cooperative:
        passes = -(-d // 32)
        serial = (dense * passes / d + 2 * d * d) * SERIAL_CPI + 2 * (d + HANDOFFS)
        # a warp's chain: the Cholesky's pivots, six d-long column chains (two whitening solves, the
        # product, the congruence, the KL's solve, Stein's L M), the hand-offs
        warps, area, placed = resident_warps(d, registers)
        if where == "global" and placed == "shared":  # the areas forced to global memory
            warps, placed = REGISTERS_PER_SM // (registers * 32), "global"
        link = LINK_CYCLES
        if placed == "global" and warps * area > L1_BYTES:
            link = GLOBAL_LINK_CYCLES
        chain = d * (PIVOT_CYCLES - LINK_CYCLES + link) + 6 * d * passes * link + HANDOFFS * HANDOFF_CYCLES
        where = placed
    else:  # lane 0 alone: its instructions are the chain
        serial, chain = dense * SERIAL_CPI, 0
        warps, area, where = resident_warps(d, LANE0_REGISTERS)
    instructions = parallel + serial
    issue = SMS * SCHEDULERS * CLOCK / instructions
    latency = SMS * warps * CLOCK / (instructions + chain)  # one instruction per cycle, plus the stalls
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
    print("| d | estimator | roofline | fused, warp team (warps/SM, area) | % | fused, lane 0 (before) | % | "
          "batched | % | measured |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for d in (4, 16, 32, 64):
        for estimator in ("stein", "price"):
            roof = roofline(d, estimator)
            now, warps, area, where = fused(d, estimator, True)
            before, _, _, _ = fused(d, estimator, False)
            bat = batched(d)
            got = measured.get((d, estimator))
            print(f"| {d} | {estimator} | {roof:.2e} | {now:.2e} ({warps}, {area / 1024:.0f} KB {where}) | "
                  f"{100 * now / roof:.0f} | {before:.2e} | {100 * before / roof:.0f} | {bat:.2e} | "
                  f"{100 * bat / roof:.0f} | {f'{got:.2e}' if got else '-'} |")
    configurations()


def configurations():
    """The fused configuration weighed at the float sizes whose areas cut residency (Stein)."""
    print()
    print("| d | areas in shared memory (warps/SM) | in global memory (warps/SM) | "
          "global, registers capped at 96 (warps/SM) |")
    print("| ---: | ---: | ---: | ---: |")
    for d in (16, 24, 32):
        cells = []
        for where, registers in (("shared", FUSED_REGISTERS), ("global", FUSED_REGISTERS), ("global", 96)):
            rate, warps, _, _ = fused(d, "stein", True, where, registers)
            cells.append(f"{rate:.2e} ({warps})")
        print(f"| {d} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
