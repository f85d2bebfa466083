#!/usr/bin/env bash
# One command for a machine with an NVIDIA GPU: build ngvi with its CUDA backend, run the whole test
# suite and the CUDA tests, run CUDA tests under compute-sanitizer (memcheck and racecheck), and run
# the throughput benchmark. Everything it writes goes to $OUT (default: ./gpu-run), in at most seven
# files: summary.txt, build.log, tests.log, cuda_tests.json, sanitizer.log, throughput.log and
# throughput.json.
#
#   bash bench/run_gpu.sh            # all stages
#   bash bench/run_gpu.sh build test # some stages: build, test, sanitize, bench
#
# Dependencies: the machine's own packages, or, when it has none and cannot fetch them, the Debian
# packages that bench/gpu_deps.sh downloaded into build-deps/ (carried along with the working tree).
# The build folder build-gpu/ is reused by later calls, so stages can run in separate commands when
# one command has a time limit.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-run}
mkdir -p "$OUT"
export PATH=/usr/local/cuda/bin:$PATH
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(build test sanitize bench)
summary="$OUT/summary.txt"
note() { echo "$(date -u +%H:%M:%S) $*" | tee -a "$summary"; }
wants() { [[ " ${stages[*]} " == *" $1 "* ]]; }
status=0

prefix=""
if ls build-deps/*.deb > /dev/null 2>&1; then
  prefix=/tmp/ngvi-deps
  mkdir -p "$prefix"
  for f in build-deps/*.deb; do dpkg -x "$f" "$prefix"; done
  export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
fi

if wants build; then
  note "build: $(nvcc --version | tail -1); $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1)"
  {
    nvidia-smi
    generator=""
    command -v ninja > /dev/null && generator="-G Ninja"
    # shellcheck disable=SC2086
    cmake -S . -B build-gpu $generator -DCMAKE_BUILD_TYPE=Release -DNGVI_CUDA=ON \
      ${prefix:+-DCMAKE_PREFIX_PATH=$prefix/usr} &&
      cmake --build build-gpu -j"$(nproc)" &&
      echo "== registers, shared and local memory of every kernel:" &&
      cuobjdump --dump-resource-usage build-gpu/libngvi.so
  } > "$OUT/build.log" 2>&1 || { note "build FAILED (see build.log)"; exit 1; }
  note "build: done"
fi

if wants test; then
  {
    ctest --test-dir build-gpu --output-on-failure -j4
  } > "$OUT/tests.log" 2>&1 || status=1
  build-gpu/tests/cuda_backend_test --gtest_output="json:$OUT/cuda_tests.json" >> "$OUT/tests.log" 2>&1 || status=1
  note "test: $(grep -E 'tests passed|tests failed' "$OUT/tests.log" | head -1); cuda_backend_test: $(grep -E '^\[  (PASSED|FAILED)  \]' "$OUT/tests.log" | tr '\n' ' ')"
fi

if wants sanitize; then
  # Small scenarios that still reach every kernel: both paths, both families, chunks, the final ELBO.
  filter='CudaFit/1.EveryEstimatorRuleAndFamilyMatchesTheCpu:CudaFitDouble.*:CudaGlmDouble.DenseAndRaggedLayoutsGiveIdenticalResults:CudaGlmDouble.ProblemsWithoutRowsFitTheirPrior:CudaGlmDouble.BadDataFailsItsProblemAndLeavesTheOthersBitIdentical:CudaChunks.ProgressSeesEveryStepAndCanStopTheFit'
  : > "$OUT/sanitizer.log"
  for tool in memcheck racecheck; do
    echo "== compute-sanitizer --tool $tool" >> "$OUT/sanitizer.log"
    compute-sanitizer --tool "$tool" --error-exitcode 99 --print-limit 50 \
      build-gpu/tests/cuda_backend_test --gtest_filter="$filter" >> "$OUT/sanitizer.log" 2>&1
    code=$?
    [ $code -ne 0 ] && status=1
    note "sanitize: $tool exit $code, $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/sanitizer.log" | tail -1)"
  done
fi

if wants bench; then
  build-gpu/bin/cuda_throughput --backend cuda --output "$OUT/throughput.json" > "$OUT/throughput.log" 2>&1 || status=1
  note "bench: $(wc -l < "$OUT/throughput.log") lines; see throughput.log"
fi
exit $status
