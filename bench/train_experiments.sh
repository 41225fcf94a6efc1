#!/usr/bin/env bash
# Training measurements for BENCHMARKS.md, one at a time (never in parallel:
# each one uses every core). Each writes a run folder under out/experiments/
# and the script ends with a Markdown table built from their pipeline.json /
# JSON files.
#   throughput  `vedge-train bench` on the demo config: the real training loop
#               (loader threads + step) against LibTorch's raw
#               forward + loss + backward + step on one pre-made batch
#   demo        `vedge-train pipeline --config configs/demo.yaml`, timed
#               (the acceptance: <= 15 min wall time, val mAP@0.5 >= 0.85)
#   coco128     configs/coco128.yaml through the pipeline twice: backbone from
#               the ImageNet TFLite classifier, and from random initialization
# Usage: bench/train_experiments.sh [throughput|demo|coco128|all]...  (default: all)
# Environment: VEDGE_BUILD (default build), VEDGE_NICE (default 10).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build="${VEDGE_BUILD:-build}"
train="$build/cli/train/vedge-train"
nice_level="${VEDGE_NICE:-10}"
out=out/experiments
mkdir -p "$out"
[ -x "$train" ] || { echo "train_experiments: $train is not built (scripts/build.sh)" >&2; exit 1; }
export OMP_WAIT_POLICY=PASSIVE

# Runs a command under nice, records its wall time (s) in $out/<name>.seconds.
timed() {
  local name=$1
  shift
  local t0 t1
  t0=$(date +%s.%N)
  nice -n "$nice_level" "$@"
  t1=$(date +%s.%N)
  /usr/bin/python3 -c "print(round($t1 - $t0, 1))" > "$out/$name.seconds"
  echo "train_experiments: $name took $(cat "$out/$name.seconds") s (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
}

run_throughput() {
  timed throughput "$train" bench --config configs/demo.yaml --run "$out/throughput" --json "$out/throughput.json"
}

run_demo() {
  timed demo "$train" pipeline --config configs/demo.yaml --out "$out/demo" "$@"
}

run_coco128() {
  local shared="${VEDGE_SHARED_DIR:-../shared}"
  if [ ! -d "$shared/data/coco128" ]; then
    echo "train_experiments: $shared/data/coco128 is missing; skipping the coco128 runs" >&2
    return 0
  fi
  timed coco128-imagenet "$train" pipeline --config configs/coco128.yaml --out "$out/coco128-imagenet" "$@"
  timed coco128-random "$train" pipeline --config configs/coco128.yaml --out "$out/coco128-random" \
    --set init.tflite= "$@"
}

# One Markdown row per finished pipeline run.
table() {
  echo
  echo "| run | wall time (s) | epochs | train img/s | val mAP@0.5 | val mAP@[.5:.95] | p50 latency (ms) |"
  echo "|---|---|---|---|---|---|---|"
  for run in demo coco128-imagenet coco128-random; do
    local j="$out/$run/pipeline.json"
    [ -f "$j" ] || continue
    /usr/bin/python3 - "$j" "$run" "$out/$run.seconds" <<'EOF'
import json, os, sys
j = json.load(open(sys.argv[1]))["summary"]
secs = open(sys.argv[3]).read().strip() if os.path.exists(sys.argv[3]) else "?"
print(f"| {sys.argv[2]} | {float(secs):.0f} | {j['epochs']} | {j['train_images_per_second']:.1f} | "
      f"{j['val_map50']:.4f} | {j['val_map']:.4f} | {j['latency_p50_ms']:.2f} |")
EOF
  done
  if [ -f "$out/throughput.json" ]; then
    echo
    echo "vedge-train bench (demo config): $(/usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$out/throughput.json")"
  fi
}

what=("$@")
[ ${#what[@]} -gt 0 ] || what=(all)
for w in "${what[@]}"; do
  case "$w" in
    throughput) run_throughput ;;
    demo) run_demo ;;
    coco128) run_coco128 ;;
    all) run_throughput; run_demo; run_coco128 ;;
    *) echo "train_experiments: unknown experiment '$w' (throughput, demo, coco128, all)" >&2; exit 2 ;;
  esac
done
table
