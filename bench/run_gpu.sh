#!/usr/bin/env bash
# The one command for a lent GPU machine (bench/README.md, "On a lent GPU machine"). In at most
# NGVI_GPU_BUDGET seconds of wall time (default 535) it builds ngvi with its CUDA backend and brings back
# all the GPU evidence under $OUT (default ./gpu-run), each file written as its stage ends:
#
#   summary.txt, summary.json   the device, driver, commit, and each stage's outcome and time
#   build.log                   configure and build; resources.txt: registers, shared and local memory
#   tests.log, ctest.json       the whole ctest suite (per test: name, status, seconds, output on failure)
#   cuda_tests.json             the CUDA suite's cases alone; tests-rerun.log: failures rerun one by one
#                               with CUDA_LAUNCH_BLOCKING=1
#   sanitizer-*.log             compute-sanitizer memcheck, racecheck and synccheck over the kernel tour
#   throughput.json, .log       the standard workload (bench/README.md) with the H200's peaks
#   peers-gpu.json, .log        the same Stein/iBLR step in JAX (jit + vmap) and PyTorch on the same GPU
#
#   bash bench/run_gpu.sh                  # every stage
#   bash bench/run_gpu.sh build test       # some: build, test, sanitize, bench, peers
#
# Each stage runs under its own time limit, so that a hang or a failure in one still returns the
# others' results. Tests and sanitizers run side by side (each CUDA test is its own process under
# ctest, so a sticky CUDA error stays in it); the benchmark and the peers run alone afterwards.
# Dependencies: the machine's own packages, else the Debian packages bench/gpu_deps.sh put in
# build-deps/ (carried with the working tree), unpacked under /tmp.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
OUT=${OUT:-$root/gpu-run}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export PATH=/usr/local/cuda/bin:$PATH
# NGVI_GPU_TIME_SCALE multiplies every limit, for a slower machine (the rehearsal on 2 cores).
scale=${NGVI_GPU_TIME_SCALE:-1}
budget=$((${NGVI_GPU_BUDGET:-535} * scale))
started=$(date +%s)
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(build test sanitize bench peers)
wants() { [[ " ${stages[*]} " == *" $1 "* ]]; }
note() { echo "$(date -u +%H:%M:%S) $*" | tee -a "$OUT/summary.txt"; }

# The stage's limit: its own, or what is left of the budget less `reserve` seconds for later stages.
limit() {
  local own=$(($1 * scale)) reserve=$(($2 * scale)) left
  left=$((budget - ($(date +%s) - started) - reserve))
  ((left < own)) && own=$left
  ((own < 10)) && own=10
  echo "$own"
}
# record NAME CODE T0: a stage's outcome (124 from timeout: it ran out of time), into stages.tsv.
status=0
record() {
  local outcome elapsed=$(($(date +%s) - $3))
  case $2 in 0) outcome=passed ;; 124) outcome="timed out" ;; *) outcome="failed ($2)" ;; esac
  [ "$2" = 0 ] || status=1
  printf '%s\t%s\t%s\n' "$1" "$outcome" "$elapsed" >> "$OUT/stages.tsv"
  note "$1: $outcome in $elapsed s"
}

# Half the cores for ctest: the sanitizers run beside it, and GPU tests wait on the device.
jobs_for_tests() { local n=$(($(nproc) / 2)); echo $((n < 1 ? 1 : n)); }
python=$(command -v python3)
commit=$(git describe --always --dirty 2> /dev/null || cat build-deps/commit 2> /dev/null || echo unknown)
device="no nvidia-smi on this machine"
command -v nvidia-smi > /dev/null &&
  device=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)
: > "$OUT/stages.tsv"
note "ngvi $commit on: $device; $(nvcc --version 2>&1 | tail -1); $(nproc) cores; budget $budget s"
{ nvidia-smi || true; } > "$OUT/nvidia-smi.txt" 2>&1

prefix=""
if ls build-deps/*.deb > /dev/null 2>&1; then
  prefix=/tmp/ngvi-deps
  mkdir -p "$prefix"
  for f in build-deps/*.deb; do dpkg -x "$f" "$prefix"; done
  # zlib1g-dev's libz.so points at Debian's run-time library by its absolute path: point it at this
  # machine's libz.so.1 instead.
  link=$prefix/usr/lib/x86_64-linux-gnu/libz.so
  if [ -L "$link" ] && [ ! -e "$link" ]; then
    system=$(ldconfig -p | awk '$1 == "libz.so.1" {print $NF; exit}')
    [ -n "$system" ] && ln -sf "$system" "$link"
  fi
  export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
fi

if wants build; then
  t0=$(date +%s)
  # Everything CTest registers is built: the CPU suites run there too, against the same library.
  # shellcheck disable=SC2016 # expanded by the inner shell
  timeout "$(limit 230 305)" bash -c '
    cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DNGVI_CUDA=ON -DNGVI_PYTHON_EXECUTABLE="$0" \
      ${1:+-DCMAKE_PREFIX_PATH=$1/usr} && cmake --build build-gpu -j"$(nproc)"' "$python" "$prefix" \
    > "$OUT/build.log" 2>&1
  record build $? "$t0"
  # Not part of the stage's outcome: the disassembler may be missing.
  { command -v cuobjdump > /dev/null && cuobjdump --dump-resource-usage build-gpu/libngvi_cuda.so; } \
    > "$OUT/resources.txt" 2>&1 || true
fi

if wants test || wants sanitize; then
  if wants test; then
    (
      t0=$(date +%s)
      # All but `consumers`: its wheel half needs PyPI (scikit-build-core), which the GPU machine cannot
      # reach, and installing is a CPU matter that CI checks.
      timeout "$(limit 150 155)" ctest --test-dir build-gpu -j"$(jobs_for_tests)" --output-on-failure \
        --timeout $((120 * scale)) -E '^consumers$' \
        --output-junit "$OUT/ctest.xml" > "$OUT/tests.log" 2>&1
      code=$?
      "$python" bench/gpu_results.py junit "$OUT/ctest.xml" "$OUT/ctest.json" "$OUT/cuda_tests.json" \
        >> "$OUT/tests.log" 2>&1
      if ((code != 0 && code != 124)); then
        # Alone, with every launch synchronous, a failing GPU test says where it failed.
        CUDA_LAUNCH_BLOCKING=1 timeout "$(limit 60 155)" ctest --test-dir build-gpu --rerun-failed --output-on-failure \
          > "$OUT/tests-rerun.log" 2>&1
      fi
      echo "$code" > "$OUT/.test-code"
    ) &
    tests_pid=$!
    tests_t0=$(date +%s)
  fi
  if wants sanitize; then
    # The kernel tour reaches every kernel (both paths, both families, shared and global areas, chunks,
    # float and double); the progress test adds the quadratic model's stop between steps.
    filter='CudaKernelTour*:CudaChunks.ProgressSeesEveryStepAndCanStopTheFit'
    sanitize_t0=$(date +%s)
    sanitize_limit=$(limit 150 155)
    pids=()
    for tool in memcheck racecheck synccheck; do
      timeout "$sanitize_limit" compute-sanitizer --tool "$tool" --error-exitcode 99 --print-limit 50 \
        build-gpu/tests/cuda_backend_test --gtest_filter="$filter" > "$OUT/sanitizer-$tool.log" 2>&1 &
      pids+=($!)
    done
    codes=()
    for p in "${pids[@]}"; do wait "$p"; codes+=($?); done
    worst=0
    for c in "${codes[@]}"; do ((c > worst)) && worst=$c; done
    record sanitize "$worst" "$sanitize_t0"
    for tool in memcheck racecheck synccheck; do
      note "  $tool: $(grep -hE 'ERROR SUMMARY|RACECHECK SUMMARY|PASSED|FAILED' "$OUT/sanitizer-$tool.log" | tr '\n' ' ' | cut -c1-200)"
    done
  fi
  if wants test; then
    wait "$tests_pid"
    record test "$(cat "$OUT/.test-code" 2> /dev/null || echo 1)" "$tests_t0"
    rm -f "$OUT/.test-code"
    note "  $(grep -E 'tests passed|tests failed' "$OUT/tests.log" | head -1)"
  fi
fi

if wants bench; then
  t0=$(date +%s)
  timeout "$(limit 90 65)" build-gpu/bin/cuda_throughput --backend cuda --output "$OUT/throughput.json" \
    > "$OUT/throughput.log" 2>&1
  record bench $? "$t0"
fi

if wants peers; then
  t0=$(date +%s)
  # JAX would otherwise take 75% of the device's memory when it starts.
  XLA_PYTHON_CLIENT_PREALLOCATE=false timeout "$(limit 65 0)" "$python" bench/peers/peers.py --gpu \
    --ngvi build-gpu/bin/ngvi --json "$OUT/peers-gpu.json" > "$OUT/peers-gpu.log" 2>&1
  record peers $? "$t0"
fi

"$python" bench/gpu_results.py summary "$OUT" "$commit" "$device"
note "done in $(($(date +%s) - started)) s; results in $OUT"
exit $status
