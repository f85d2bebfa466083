#!/usr/bin/env bash
# Downloads, without installing, the Debian packages that ngvi builds against into build-deps/ (an
# ignored folder), for the GPU machine, which cannot fetch them: bench/run_gpu.sh unpacks them there.
# Run it on the development machine (Debian 12, with network access) before each device call, then
# carry build-deps/ with the working tree. It also records the commit, which the call's copy of the
# working tree does not carry (no .git).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build-deps
git describe --always --dirty > build-deps/commit 2> /dev/null || echo unknown > build-deps/commit
cd build-deps
rm -f ./*.deb
# What CMakeLists.txt finds (Eigen, fmt, CLI11, nlohmann-json, zlib, libcsv), the tests (GoogleTest) and
# the benchmarks (Google Benchmark), with the shared libraries they load at run time.
apt-get download libeigen3-dev libfmt-dev libfmt9 libcli11-dev nlohmann-json3-dev zlib1g-dev libcsv-dev \
  libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian
ls -l
