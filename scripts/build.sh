#!/usr/bin/env bash
# Configures and builds Vision-Edge (Release) into build/. Extra arguments go
# to CMake. Usage: scripts/build.sh [-DVAR=VALUE ...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
jobs="${VEDGE_JOBS:-$(nproc)}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j "$jobs"
