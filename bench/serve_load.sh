#!/usr/bin/env bash
# serve_load.sh: load benchmark of `vedge serve` on loopback with wrk.
# For each concurrency level (default 1 2 4 8) it starts the server, posts
# the same JPEG for DURATION seconds with wrk (one wrk thread, so the load
# generator takes as little of the machine as possible) and reports
# throughput, p50/p95/p99 latency, errors and the server's RSS before and
# after; then the runtime alone (`vedge bench`, end to end on the same
# image, same thread count) for comparison; then, unless LONG_SECONDS=0, one
# long run at concurrency 4 sampling the server's RSS every 10 s.
#   usage: bench/serve_load.sh [MODEL] [IMAGE]
#   env:   VEDGE (vedge binary, default build/cli/vedge), SPEC, THREADS (2),
#          MAX_BATCH (1 = worker pool), CONCURRENCY ("1 2 4 8"), DURATION (20),
#          LONG_SECONDS (300), LONG_CONCURRENCY (4), OUT (out/serve_load)
# Results: $OUT/results.md (Markdown table), $OUT/*.json (wrk and bench),
# $OUT/rss_long.csv, $OUT/stages.txt (server time per stage, from /metrics).
# Needs wrk, curl and python3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model="${1:-$root/../shared/models/ultraface-rfb-320.onnx}"
image="${2:-$root/../shared/data/coco128/images/train2017/000000000143.jpg}"
vedge="${VEDGE:-$root/build/cli/vedge}"
spec="${SPEC:-}"
if [ -z "$spec" ] && [ "$(basename "$model")" = ultraface-rfb-320.onnx ]; then
  spec="$root/models/ultraface-rfb-320.vedge.json"
fi
threads="${THREADS:-2}"
max_batch="${MAX_BATCH:-1}"
levels="${CONCURRENCY:-1 2 4 8}"
duration="${DURATION:-20}"
long_seconds="${LONG_SECONDS:-300}"
long_c="${LONG_CONCURRENCY:-4}"
out="${OUT:-$root/out/serve_load}"
mkdir -p "$out"
rm -f "$out/stages.txt"
for f in "$model" "$image" "$vedge"; do
  [ -e "$f" ] || { echo "serve_load.sh: $f: not found" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "serve_load.sh: wrk is not installed" >&2; exit 1; }
spec_args=()
[ -n "$spec" ] && spec_args=(--spec "$spec")

# wrk script: POST the image, print a JSON summary at the end.
lua="$out/post_image.lua"
cat >"$lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "image/jpeg"
local f = assert(io.open("$image", "rb"))
wrk.body = f:read("*all")
f:close()
function done(s, latency, requests)
  local e = s.errors
  io.write(string.format(
    'JSON {"requests":%d,"seconds":%.3f,"rps":%.2f,"p50_ms":%.3f,"p95_ms":%.3f,"p99_ms":%.3f,' ..
    '"mean_ms":%.3f,"max_ms":%.3f,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    s.requests, s.duration / 1e6, s.requests / (s.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, latency.max / 1000, e.connect, e.read, e.write, e.status, e.timeout))
end
LUA

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

server_pid=""
start_server() {
  local port_file="$out/server.out"
  rm -f "$port_file"
  port=""
  "$vedge" serve "$model" "${spec_args[@]}" --port 0 --threads "$threads" --max-batch "$max_batch" \
    --queue-size 64 >"$port_file" 2>"$out/server.err" &
  server_pid=$!
  for _ in $(seq 200); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$port_file")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "serve_load.sh: the server did not start" >&2; cat "$out/server.err" >&2; exit 1; }
  # Warm-up: a few requests outside the measurement.
  wrk -t1 -c1 -d2s -s "$lua" "http://127.0.0.1:$port/v1/detect" >/dev/null
}
# Mean time per stage of the server's detection requests, from /metrics.
stage_means() {
  curl -s "http://127.0.0.1:$port/metrics" | python3 -c '
import re, sys
sums, counts = {}, {}
for line in sys.stdin:
    m = re.match(r"vedge_request_duration_seconds_(sum|count)\{stage=\"(\w+)\"\} (\S+)", line)
    if m:
        (sums if m.group(1) == "sum" else counts)[m.group(2)] = float(m.group(3))
order = ["decode_image", "queue", "preprocess", "inference", "postprocess", "total"]
print(" ".join(f"{s} {1000 * sums[s] / counts[s]:.2f}" for s in order if counts.get(s)))'
}
stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""
}
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true' EXIT

echo "# vedge serve load, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, model $(basename "$model"), image $(basename "$image")" | tee "$out/results.md"
echo "server: --threads $threads --max-batch $max_batch; wrk 1 thread, ${duration}s per level" | tee -a "$out/results.md"
echo | tee -a "$out/results.md"
echo "| concurrency | req/s | p50 ms | p95 ms | p99 ms | p99/p50 | errors | RSS start MB | RSS end MB |" | tee -a "$out/results.md"
echo "|---|---|---|---|---|---|---|---|---|" | tee -a "$out/results.md"
for c in $levels; do
  start_server
  rss0=$(rss_kb "$server_pid")
  wrk -t1 -c"$c" -d"${duration}s" --timeout 10s -s "$lua" "http://127.0.0.1:$port/v1/detect" >"$out/wrk_c$c.txt"
  rss1=$(rss_kb "$server_pid")
  echo "c=$c server stage means (ms, incl. warm-up): $(stage_means)" >>"$out/stages.txt"
  stop_server
  sed -n 's/^JSON //p' "$out/wrk_c$c.txt" >"$out/wrk_c$c.json"
  python3 - "$out/wrk_c$c.json" "$c" "$rss0" "$rss1" <<'PY' | tee -a "$out/results.md"
import json, sys
r = json.load(open(sys.argv[1]))
errors = sum(r["errors"].values())
print(f'| {sys.argv[2]} | {r["rps"]:.1f} | {r["p50_ms"]:.2f} | {r["p95_ms"]:.2f} | {r["p99_ms"]:.2f} | '
      f'{r["p99_ms"] / r["p50_ms"]:.2f} | {errors} | {int(sys.argv[3]) / 1024:.1f} | {int(sys.argv[4]) / 1024:.1f} |')
PY
done

echo | tee -a "$out/results.md"
echo "runtime alone (vedge bench, end to end on the same image, no JPEG decoding, no HTTP):" | tee -a "$out/results.md"
echo | tee -a "$out/results.md"
echo "| threads | mean ms | p50 ms | p99 ms | images/s (1000 / mean) |" | tee -a "$out/results.md"
echo "|---|---|---|---|---|" | tee -a "$out/results.md"
for t in 1 "$threads"; do
  "$vedge" bench "$model" "${spec_args[@]}" --image "$image" --threads "$t" --warmup 20 --runs 500 \
    --json "$out/bench_t$t.json" >/dev/null
  python3 - "$out/bench_t$t.json" "$t" <<'PY' | tee -a "$out/results.md"
import json, sys
s = json.load(open(sys.argv[1]))["stages"]["total"]
print(f'| {sys.argv[2]} | {s["mean"]:.2f} | {s["p50"]:.2f} | {s["p99"]:.2f} | {1000 / s["mean"]:.1f} |')
PY
done

if [ "$long_seconds" != 0 ]; then
  start_server
  echo "seconds,rss_kb" >"$out/rss_long.csv"
  wrk -t1 -c"$long_c" -d"${long_seconds}s" --timeout 10s -s "$lua" "http://127.0.0.1:$port/v1/detect" \
    >"$out/wrk_long.txt" &
  wrk_pid=$!
  t=0
  while kill -0 "$wrk_pid" 2>/dev/null; do
    echo "$t,$(rss_kb "$server_pid")" >>"$out/rss_long.csv"
    sleep 10
    t=$((t + 10))
  done
  wait "$wrk_pid"
  echo "$t,$(rss_kb "$server_pid")" >>"$out/rss_long.csv"
  echo "long run server stage means (ms): $(stage_means)" >>"$out/stages.txt"
  stop_server
  sed -n 's/^JSON //p' "$out/wrk_long.txt" >"$out/wrk_long.json"
  echo | tee -a "$out/results.md"
  python3 - "$out/wrk_long.json" "$out/rss_long.csv" "$long_c" "$long_seconds" <<'PY' | tee -a "$out/results.md"
import csv, json, sys
r = json.load(open(sys.argv[1]))
rss = [int(row["rss_kb"]) for row in csv.DictReader(open(sys.argv[2]))]
errors = sum(r["errors"].values())
print(f'long run: concurrency {sys.argv[3]} for {sys.argv[4]} s: {r["requests"]} requests, {r["rps"]:.1f} req/s, '
      f'p50 {r["p50_ms"]:.2f} ms, p95 {r["p95_ms"]:.2f} ms, p99 {r["p99_ms"]:.2f} ms, {errors} errors; '
      f'server RSS start {rss[0] / 1024:.1f} MB, end {rss[-1] / 1024:.1f} MB, max {max(rss) / 1024:.1f} MB '
      f'({len(rss)} samples, every 10 s)')
PY
fi
echo | tee -a "$out/results.md"
sed 's/^/    /' "$out/stages.txt" | tee -a "$out/results.md"
echo "results: $out/results.md"
