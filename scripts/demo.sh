#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the pipeline that
# exists today on the shared UltraFace detector: describe the model, detect
# faces in a COCO photo (boxes drawn into out/demo/), and benchmark it per
# stage on a generated test image. Training replaces this with the
# full pipeline (see the README).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export OMP_WAIT_POLICY=PASSIVE
bash scripts/setup.sh
bash scripts/build.sh
vedge=build/cli/vedge
shared="${VEDGE_SHARED_DIR:-../shared}"
model="$shared/models/ultraface-rfb-320.onnx"
spec=models/ultraface-rfb-320.vedge.json
out=out/demo
mkdir -p "$out"
if [ ! -f "$model" ]; then
  echo "demo: $model is missing (the shared models folder is not next to the project); nothing to run" >&2
  exit 1
fi

echo "== vedge info"
$vedge info "$model" --spec "$spec"

echo "== vedge detect (boxes drawn into $out/)"
images=("$shared/data/coco128/images/val2017/000000001000.jpg")
$vedge detect "$model" "${images[@]}" --spec "$spec" --draw "$out"

echo "== vedge bench (1 and 2 threads, end to end on a generated 640x480 image)"
for t in 1 2; do
  $vedge bench "$model" --spec "$spec" --threads "$t" --json "$out/bench-t$t.json"
done
echo "demo: outputs in $out/"
