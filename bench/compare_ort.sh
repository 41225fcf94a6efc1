#!/usr/bin/env bash
# Compares the runtime with ONNX Runtime (onnxruntime-node) on the same ONNX
# files, same machine, one run: p50 latency of the network alone at 1 and 2
# threads (ORT's session.run vs `vedge bench --network-only`), and vedge's
# end-to-end detect latency (decode, preprocess, network, decode, NMS) with
# its decode + NMS share. Engines alternate within each round, and each
# figure is the median over the rounds of the per-round p50, so that a burst
# of load on this shared machine hits both engines alike.
#   bench/compare_ort.sh [--rounds 3] [--runs 50] [--warmup 5]
# Needs build/ (scripts/build.sh) and the npm peers (scripts/setup.sh).
# Prints a Markdown table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=3 runs=50 warmup=5
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    *) echo "compare_ort.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
export OMP_WAIT_POLICY=PASSIVE
vedge=build/cli/vedge
shared="${VEDGE_SHARED_DIR:-../shared}"
models_dir=build/bench-models
work=build/bench-work
mkdir -p "$work"
[ -x "$vedge" ] || { echo "compare_ort.sh: $vedge missing; run scripts/build.sh" >&2; exit 1; }
/usr/bin/python3 tests/models/export_ssdlite.py --out "$models_dir" >/dev/null

image="$shared/data/coco128/images/val2017/000000001000.jpg"
# name|model|input .npy|spec (empty: from the model's metadata)
cases=(
  "MobileNetV3-Small SSDLite-320 (2 maps)|$models_dir/ssdlite320_mobilenet_v3_small_2fm_op17.onnx|$models_dir/ssdlite320_mobilenet_v3_small_2fm.input.npy|"
  "SSDLite-320 MobileNetV3-Large|$models_dir/ssdlite320_mobilenet_v3_large_op13.onnx|$models_dir/ssdlite320_mobilenet_v3_large.input.npy|"
)
if [ -f "$shared/models/ultraface-rfb-320.onnx" ]; then
  /usr/bin/python3 -c "import numpy as np; np.random.seed(0); np.save('$work/uf.npy', np.random.uniform(-1, 1, (1, 3, 240, 320)).astype(np.float32))"
  cases+=("UltraFace RFB-320|$shared/models/ultraface-rfb-320.onnx|$work/uf.npy|models/ultraface-rfb-320.vedge.json")
fi
[ -f "$image" ] || image=""  # vedge bench then uses its generated image

json() { node -e "const j=JSON.parse(require('fs').readFileSync(0,'utf8')); console.log($1)"; }
median() { sort -g | awk '{a[NR]=$1} END {m=(NR+1)/2; print (NR%2 ? a[m] : (a[NR/2]+a[NR/2+1])/2)}'; }

printf '| model | threads | ORT p50 (ms) | vedge p50 (ms) | vedge / ORT | vedge detect end to end p50 (ms) | decode + NMS p50 (ms) |\n'
printf '|---|---|---|---|---|---|---|\n'
for c in "${cases[@]}"; do
  IFS='|' read -r name model input spec <<<"$c"
  in_name=$($vedge info "$model" --json | json 'j.inputs[0].name')
  spec_flag=(); [ -n "$spec" ] && spec_flag=(--spec "$spec")
  image_flag=(); [ -n "$image" ] && image_flag=(--image "$image")
  for t in 1 2; do
    ort=() ours=() e2e=() post=()
    for r in $(seq "$rounds"); do
      ort+=("$(node tests/peers/ort_run.js "$model" --input "$in_name=$input" --bench \
        --warmup "$warmup" --runs "$runs" --threads "$t" | json 'j.p50_ms')")
      $vedge bench "$model" --network-only --warmup "$warmup" --runs "$runs" --threads "$t" \
        --json "$work/net.json" >/dev/null
      ours+=("$(json 'j.stages.inference.p50' <"$work/net.json")")
      $vedge bench "$model" "${spec_flag[@]}" "${image_flag[@]}" --warmup "$warmup" --runs "$runs" \
        --threads "$t" --json "$work/e2e.json" >/dev/null
      e2e+=("$(json 'j.stages.total.p50' <"$work/e2e.json")")
      post+=("$(json 'j.stages.decode.p50 + j.stages.nms.p50' <"$work/e2e.json")")
    done
    o=$(printf '%s\n' "${ort[@]}" | median)
    v=$(printf '%s\n' "${ours[@]}" | median)
    e=$(printf '%s\n' "${e2e[@]}" | median)
    p=$(printf '%s\n' "${post[@]}" | median)
    awk -v n="$name" -v t="$t" -v o="$o" -v v="$v" -v e="$e" -v p="$p" \
      'BEGIN { printf "| %s | %d | %.2f | %.2f | %.2f | %.2f | %.3f |\n", n, t, o, v, v / o, e, p }'
  done
done
