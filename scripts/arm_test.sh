#!/usr/bin/env bash
# arm_test.sh: the aarch64 leg of the test command. Prepares the arm64
# sysroot (scripts/arm_sysroot.sh), cross-compiles the device side (runtime,
# vedge with serve, the qemu-safe tests: VEDGE_QEMU_TESTS in
# tests/CMakeLists.txt) with cmake/toolchain-aarch64.cmake, runs those tests
# under qemu-aarch64-static, then checks on the same models and inputs that
#   1. `vedge run` under qemu matches the x86 build: FP32 outputs within 1e-5
#      (the SSDLite test models; UltraFace too when ../shared has it);
#   2. the bundle written by `vedge package`, unpacked into an empty folder
#      with only the libraries a stock Debian 12 has besides its own lib/,
#      runs `vedge detect` and prints the same detections as x86.
# Needs the x86 build (build/, or VEDGE_X86_BUILD) for the reference vedge.
# qemu timings are no speed claims. Exits non-zero on the first failure.
#   VEDGE_ARM_SYSROOT  sysroot folder (default build-arm-sysroot)
#   VEDGE_X86_BUILD    native build folder holding cli/vedge (default build)
#   VEDGE_JOBS         parallel jobs (default nproc)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
jobs="${VEDGE_JOBS:-$(nproc)}"
sysroot="$(realpath -m "${VEDGE_ARM_SYSROOT:-build-arm-sysroot}")"
x86="${VEDGE_X86_BUILD:-build}"
arm=build-arm
py=/usr/bin/python3
qemu=(qemu-aarch64-static -L /usr/aarch64-linux-gnu)
start=$(date +%s)
stamp() { echo "== arm: $1 ($(($(date +%s) - start)) s)"; }

for tool in aarch64-linux-gnu-g++ qemu-aarch64-static; do
  command -v "$tool" >/dev/null || { echo "arm_test: error: $tool not found (scripts/setup.sh installs it)" >&2; exit 1; }
done
[ -x "$x86/cli/vedge" ] || { echo "arm_test: error: no x86 vedge at $x86/cli/vedge (run scripts/build.sh first, or set VEDGE_X86_BUILD)" >&2; exit 1; }

stamp "sysroot"
bash scripts/arm_sysroot.sh "$sysroot"

stamp "cross build"
cmake -S . -B "$arm" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-aarch64.cmake" -DVEDGE_ARM_SYSROOT="$sysroot" \
  -DVEDGE_BUILD_TRAIN=OFF -DVEDGE_BUILD_BENCH=OFF -DVEDGE_BUILD_TESTS=ON >/dev/null
ninja -C "$arm" -j "$jobs"

stamp "tests under qemu"
ctest --test-dir "$arm" --output-on-failure -j "$jobs"

libpath="$sysroot/usr/lib/aarch64-linux-gnu:$sysroot/lib/aarch64-linux-gnu"
arm_vedge() { "${qemu[@]}" -E LD_LIBRARY_PATH="$libpath" "$root/$arm/cli/vedge" "$@"; }
stamp "vedge --version under qemu"
arm_vedge --version

# -- 1. FP32 parity with x86 ----------------------------------------------------
models="$x86/testwork/models"
if [ ! -f "$models/ssdlite320_mobilenet_v3_small_2fm_op11.onnx" ]; then
  models="$arm/testwork/models"
  "$py" tests/models/export_ssdlite.py --out "$models"
fi
work="$root/$arm/testwork/arm_parity"
rm -rf "$work"
mkdir -p "$work"
cases=("ssdlite320_mobilenet_v3_small_2fm_op11.onnx:$models/ssdlite320_mobilenet_v3_small_2fm_op11.onnx:$models/ssdlite320_mobilenet_v3_small_2fm.input.npy")
ultraface="$root/../shared/models/ultraface-rfb-320.onnx"
if [ -f "$ultraface" ]; then
  "$py" -c "import numpy as np; np.save('$work/ultraface.input.npy', np.random.default_rng(7).standard_normal((1, 3, 240, 320)).astype(np.float32))"
  cases+=("ultraface:$ultraface:$work/ultraface.input.npy")
else
  echo "arm_test: ../shared/models/ultraface-rfb-320.onnx absent: UltraFace parity skipped"
fi
for c in "${cases[@]}"; do
  IFS=: read -r name model input <<<"$c"
  for backend in reference fast; do
  stamp "parity $name, $backend backend (x86 vs qemu)"
  "$x86/cli/vedge" run "$model" --backend "$backend" --input "$input" --out "$work/$name/$backend/x86" >/dev/null
  arm_vedge run "$model" --backend "$backend" --input "$input" --out "$work/$name/$backend/arm" >/dev/null
  "$py" - "$work/$name/$backend/x86" "$work/$name/$backend/arm" "$backend" <<'EOF'
import pathlib, sys
import numpy as np
x86, arm = map(pathlib.Path, sys.argv[1:3])
# The reference kernels run the same C++ in the same order on both ISAs
# (no FMA fusion: see the toolchain file): within 1e-5 absolute (measured: 0).
# XNNPACK picks other microkernels per ISA (AVX-512 vs NEON: other summation
# orders and FMA): within 5e-5 of the output's largest value (measured: 1e-5).
relative = sys.argv[3] == "fast"
tol = 5e-5 if relative else 1e-5
names = sorted(p.name for p in x86.glob("*.npy"))
assert names and names == sorted(p.name for p in arm.glob("*.npy")), f"output sets differ: {names}"
worst = 0.0
for n in names:
    a, b = np.load(x86 / n), np.load(arm / n)
    assert a.shape == b.shape and a.dtype == b.dtype, f"{n}: {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
    d = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
    scale = max(1.0, float(np.max(np.abs(a)))) if relative and a.size else 1.0
    worst = max(worst, d / scale)
    print(f"  {n}: {a.shape} max |x86 - aarch64| = {d:.3g}" + (f" = {d / scale:.3g} x max|x86| ({scale:.3g})" if relative else ""))
    if d > tol * scale:
        sys.exit(f"arm_test: {n}: aarch64 output differs from x86 by {d:.3g} > {tol * scale:.3g}")
print(f"  FP32 parity ok: worst {worst:.3g} <= {tol:g}" + (" x the output's scale" if relative else " (absolute)"))
EOF
  done
done

# -- 2. the bundle, from a clean folder -----------------------------------------
stamp "vedge package + detect from the unpacked bundle"
model="$models/ssdlite320_mobilenet_v3_small_2fm_op11.onnx"
thresh=(--score-thresh 0.05)
if [ -f "$ultraface" ]; then model="$ultraface"; thresh=(--spec "$root/models/ultraface-rfb-320.vedge.json"); fi
image="$root/../shared/data/coco128/images/val2017/000000001000.jpg"  # 10 faces (UltraFace)
[ -f "$image" ] || image="$(ls "$root"/../shared/data/coco128/images/*/*.jpg 2>/dev/null | head -n 1 || true)"
if [ -z "$image" ] || [ ! -f "$image" ]; then
  image="$work/sample.png"
  "$py" -c "import numpy as np; from PIL import Image; Image.fromarray(np.random.default_rng(3).integers(0, 255, (240, 320, 3), dtype=np.uint8)).save('$image')"
fi
pkgmodel="$model"
if [ "$model" = "$ultraface" ]; then  # bundle UltraFace with its sidecar spec beside it
  mkdir -p "$work/pkg-in"
  cp "$ultraface" "$work/pkg-in/ultraface-rfb-320.onnx"
  cp "$root/models/ultraface-rfb-320.vedge.json" "$work/pkg-in/"
  pkgmodel="$work/pkg-in/ultraface-rfb-320.onnx"
  thresh=()
fi
"$x86/cli/vedge" package "$pkgmodel" --target aarch64 --binary "$arm/cli/vedge" --sysroot "$sysroot" \
  --out "$work/vedge-aarch64.tar.gz"
clean="$work/clean"
mkdir -p "$clean/base"
tar -xzf "$work/vedge-aarch64.tar.gz" -C "$clean"
# What a stock Debian 12 has besides libc/libstdc++ (qemu's -L gives those).
for l in libz.so.1 libssl.so.3 libcrypto.so.3; do
  cp -L "$(ls "$sysroot"/{usr/,}lib/aarch64-linux-gnu/$l 2>/dev/null | head -n 1)" "$clean/base/"
done
b="$clean/vedge-aarch64"
bm="$b/models/$(basename "$pkgmodel")"
"$x86/cli/vedge" detect "$pkgmodel" "$image" "${thresh[@]}" --json >"$work/detect.x86.json"
(cd "$b" && "${qemu[@]}" -E LD_LIBRARY_PATH="$b/lib:$clean/base" "$b/bin/vedge" detect "$bm" "$image" "${thresh[@]}" --json) \
  >"$work/detect.arm.json"
"$py" - "$work/detect.x86.json" "$work/detect.arm.json" <<'EOF'
import json, sys
x86, arm = (json.load(open(p)) for p in sys.argv[1:3])
def dets(run):
    return [d for img in run for d in img["detections"]]
a, b = dets(x86), dets(arm)
print(f"  x86: {len(a)} detections, aarch64 bundle: {len(b)}")
assert len(a) == len(b), "detection counts differ"
for p, q in zip(a, b):
    assert p["label"] == q["label"], (p, q)
    # XNNPACK's per-ISA rounding (see the parity check) plus the JSON's
    # rounding (scores to 1e-6, boxes to 0.01 px).
    assert abs(p["score"] - q["score"]) <= 1e-5, (p, q)
    assert all(abs(u - v) <= 0.02 for u, v in zip(p["bbox"], q["bbox"])), (p, q)
for d in b[:5]:
    print(f"    {d['label']:<12} {d['score']:.4f} {[round(v, 1) for v in d['bbox']]}")
print("  same detections as x86")
EOF
stamp "done"
