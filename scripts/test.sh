#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs the whole test
# suite (Release), then rebuilds the runtime tests with AddressSanitizer +
# UndefinedBehaviorSanitizer (clang) and runs them, then runs the libFuzzer
# targets for a bounded time. Exits non-zero on the first failure.
#   VEDGE_FUZZ_SECONDS   time per fuzz target (default 60; 0 skips fuzzing)
#   VEDGE_SKIP_SANITIZE  set to 1 to skip the sanitizer build
#   VEDGE_SKIP_ARM       set to 1 to skip the aarch64 build and qemu tests
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
jobs="${VEDGE_JOBS:-$(nproc)}"
export OMP_WAIT_POLICY=PASSIVE

bash scripts/setup.sh

echo "== build (Release)"
bash scripts/build.sh
echo "== tests (Release)"
ctest --test-dir build --output-on-failure -j "$jobs"

# aarch64: cross build + the qemu-safe tests + x86 parity + the bundle check.
if [ "${VEDGE_SKIP_ARM:-0}" != 1 ]; then
  bash scripts/arm_test.sh
fi

if [ "${VEDGE_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== build (clang, ASan + UBSan)"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DVEDGE_SANITIZE=address,undefined -DVEDGE_FUZZ=ON -DVEDGE_BUILD_BENCH=OFF -DVEDGE_BUILD_TRAIN=OFF >/dev/null
  cmake --build build-asan -j "$jobs"
  echo "== tests (ASan + UBSan)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs"
  secs="${VEDGE_FUZZ_SECONDS:-60}"
  if [ "$secs" != 0 ]; then
    # Seeds: valid models and images written by test_fuzz_inputs above. A
    # fixed seed and a fixed fill of new heap memory keep a failure
    # reproducible from its artifact (build-asan/fuzz-crash-*).
    for f in build-asan/tests/fuzz/fuzz_*; do
      [ -x "$f" ] || continue
      name=$(basename "$f")
      corpus="build-asan/fuzz-corpus/$name"
      log="build-asan/$name.log"
      mkdir -p "$corpus"
      echo "== fuzz $name (${secs}s)"
      if ! ASAN_OPTIONS=max_malloc_fill_size=4294967295:detect_leaks=1 \
        "$f" -seed=1 -max_total_time="$secs" -max_len=262144 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="build-asan/fuzz-crash-" \
        "$corpus" "build-asan/testwork/fuzz-seeds/${name#fuzz_}" >"$log" 2>&1; then
        grep -v -E '^#[0-9]+' "$log" | tail -n 60
        echo "== fuzz $name FAILED (log: $log)"
        exit 1
      fi
      grep -E 'stat::(number_of_executed_units|new_units_added)' "$log"
    done
  fi
fi
echo "== all tests passed"
