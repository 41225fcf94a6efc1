#!/usr/bin/env bash
# Quantized variants of one detector side by side: FP16, dynamic range, INT8
# with each calibration method, and INT8 with mixed precision within a 0.5
# mAP@0.5-point budget; each scored with `vedge eval` on the val split, then
# one `vedge bench` report over FP32, FP16 and INT8 (latency, size, mAP) and
# the network alone against ONNX Runtime on the same files.
#
#   bench/quantize_variants.sh MODEL.onnx TRAIN_DATASET VAL_DATASET [OUT_DIR]
#
# e.g. on the demo pipeline's run folder:
#   bench/quantize_variants.sh out/demo/model.onnx out/demo/data/train.json out/demo/data/val.json
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { sed -n 2,11p "$0"; exit 2; }
model=$1 train=$2 val=$3 out=${4:-out/quantize-variants}
vedge=build/cli/vedge
[ -x "$vedge" ] || scripts/build.sh
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE

score() {  # name file
  "$vedge" eval "$2" --data "$val" --score-thresh 0.01 --json "$out/$1.eval.json" >/dev/null
  /usr/bin/python3 -c "import json,os,sys; d=json.load(open(sys.argv[1])); \
print('| %-16s | %6.2f MB | %.3fx | %.4f | %.4f |' % (sys.argv[2], os.path.getsize(sys.argv[3]) / 1e6, \
os.path.getsize(sys.argv[3]) / os.path.getsize(sys.argv[4]), d['stats']['AP50'], d['stats']['AP']))" \
    "$out/$1.eval.json" "$1" "$2" "$model"
}

echo "| variant | file | vs FP32 | mAP@0.5 | mAP@[.5:.95] |"
echo "|---|---|---|---|---|"
score fp32 "$model"
"$vedge" quantize "$model" --precision fp16 -o "$out/fp16.onnx" >/dev/null
score fp16 "$out/fp16.onnx"
"$vedge" quantize "$model" --precision dynamic -o "$out/dynamic.onnx" >/dev/null
score dynamic "$out/dynamic.onnx"
for m in minmax percentile entropy mse; do
  "$vedge" quantize "$model" --calib "$train" --method "$m" -o "$out/int8-$m.onnx" >/dev/null 2>&1
  score "int8-$m" "$out/int8-$m.onnx"
done
"$vedge" quantize "$model" --calib "$train" --method minmax --val "$val" --max-map-drop 0.5 \
  --report "$out/quant-report" -o "$out/int8-mixed.onnx" >"$out/mixed.log" 2>&1
score int8-mixed "$out/int8-mixed.onnx"

"$vedge" bench "$model" "$out/fp16.onnx" "$out/int8-minmax.onnx" "$out/int8-mixed.onnx" \
  --data "$val" --score-thresh 0.01 --runs 100 --threads 1 --out "$out/report" >/dev/null 2>&1
sed -n '/^| Variant/,/^$/p' "$out/report/report.md"
"$vedge" bench "$model" "$out/int8-minmax.onnx" --peer ort --network-only --runs 100 --threads 1 2>/dev/null |
  grep -E "^== |ONNX Runtime"
