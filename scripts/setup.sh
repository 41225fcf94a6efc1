#!/usr/bin/env bash
# Installs what Vision-Edge needs on Debian 12: the Debian packages for the
# build and the tests, and the npm test peers (ONNX Runtime for Node).
# Idempotent: skips what is present. Works as root (no sudo) or with sudo.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Build and runtime dependencies (the device side: no LibTorch).
PKGS_BUILD=(build-essential cmake pkg-config ninja-build
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  libstb-dev nlohmann-json3-dev libflatbuffers-dev libcpp-httplib-dev)
# Training (vedge-train): LibTorch, YAML configs, an optimized BLAS so that
# LibTorch is not 5x slower than with the reference BLAS.
PKGS_TRAIN=(libtorch-dev libyaml-cpp-dev libopenblas0-pthread)
# Tests: GoogleTest, Google Benchmark, clang for fuzz + sanitizer builds,
# Node for ONNX Runtime, python3-torch/torchvision/onnx to export test models,
# Chromium for the report and demo-page tests, the aarch64 cross compiler and
# qemu for the ARM tests, wrk for the serving load benchmark.
PKGS_TEST=(libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
  nodejs npm python3-numpy python3-onnx python3-torch python3-torchvision
  chromium g++-aarch64-linux-gnu qemu-user-static wrk)

if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi

missing=()
for p in "${PKGS_BUILD[@]}" "${PKGS_TRAIN[@]}" "${PKGS_TEST[@]}"; do
  # nodejs may come from another Debian-format source with npm bundled.
  if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages present"
fi

# npm test peers, pinned by tests/peers/package.json (ONNX Runtime, and
# playwright-core to drive Debian's Chromium in browser tests, @litertjs/core = LiteRT.js,
# the TFLite runtime the TFLite export tests run in); the install script of
# onnxruntime-node downloads GPU binaries, so it is skipped (the CPU build
# ships inside the package).
peers="$here/tests/peers"
if [ ! -d "$peers/node_modules/onnxruntime-node" ] || [ ! -d "$peers/node_modules/playwright-core" ] \
  || [ ! -d "$peers/node_modules/@litertjs/core" ]; then
  echo "setup: installing npm test peers"
  (cd "$peers" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
else
  echo "setup: npm test peers present"
fi
