#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the whole pipeline
# on the built-in synthetic shapes dataset: generate the dataset, train the
# MobileNetV3-Small SSDLite-320 detector, export it to ONNX, evaluate it in
# the runtime, draw detections on sample images and write the benchmark
# report, all into one run folder (default out/demo). Re-running resumes and
# skips the finished stages. Extra arguments go to `vedge-train pipeline`
# (e.g. --set train.epochs=3, --out DIR).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export OMP_WAIT_POLICY=PASSIVE
bash scripts/setup.sh
bash scripts/build.sh
out=out/demo
args=("$@")
for ((i = 0; i + 1 < ${#args[@]}; ++i)); do
  if [ "${args[i]}" = "--out" ]; then out="${args[i + 1]}"; fi
done
case " $* " in
  *" --out "*) ;;
  *) args+=(--out "$out") ;;
esac
# The backbone starts from the ImageNet-trained MobileNetV3-Small of ../shared
# when it is there (it converges in the 15-minute budget); without it the
# run starts from random weights and reaches a lower mAP in the same time.
init="${VEDGE_SHARED_DIR:-../shared}/models/mobilenet_v3_small_224_uint8_imagenet.tflite"
if [ -f "$init" ]; then
  args=(--set "init.tflite=$init" "${args[@]}")
else
  echo "demo: $init is missing; training from random initialization (lower mAP)" >&2
fi
build/cli/train/vedge-train pipeline --config configs/demo.yaml "${args[@]}"
echo "demo: open $out/report/report.html for the report, $out/detections/ for the drawn detections"
