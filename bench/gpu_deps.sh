#!/usr/bin/env bash
# Downloads, without installing, the Debian packages that ngvi builds against into build-deps/ (an
# ignored folder), for a GPU machine that cannot fetch them: bench/run_gpu.sh unpacks them there.
# Run it on a Debian 12 machine with network access (the development machine), then carry
# build-deps/ to the GPU machine with the working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build-deps
cd build-deps
apt-get download libeigen3-dev libfmt-dev libfmt9 libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev libcsv-dev
ls -l
