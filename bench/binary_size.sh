#!/usr/bin/env bash
# binary_size.sh [ARM_BUILD] [SYSROOT]: the on-device footprint of the
# aarch64 build: the stripped `vedge` (runtime + CLI + serve, everything but
# the shared libraries), the code each of the project's static libraries
# contributes at most (text + data of the archive), and every shared library
# the binary pulls in (DT_NEEDED, transitively), stripped, marked "bundled"
# (shipped by `vedge package`) or "base" (a stock Debian 12 arm64 has it).
# Defaults: build-arm and build-arm-sysroot (what scripts/arm_test.sh makes).
# Sizes only; no timing. Depends on binutils-aarch64-linux-gnu.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
arm="${1:-build-arm}"
sysroot="${2:-${VEDGE_ARM_SYSROOT:-build-arm-sysroot}}"
bin="$arm/cli/vedge"
[ -f "$bin" ] || { echo "binary_size: error: $bin not found (build it with scripts/arm_test.sh)" >&2; exit 1; }
[ -d "$sysroot/usr/lib/aarch64-linux-gnu" ] || { echo "binary_size: error: sysroot $sysroot not found (scripts/arm_sysroot.sh $sysroot)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# The packager's list (cli/cmd_package.cpp): what Debian 12 arm64 always has.
base=" ld-linux-aarch64.so.1 libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libresolv.so.2 libutil.so.1 libstdc++.so.6 libgcc_s.so.1 libz.so.1 libssl.so.3 libcrypto.so.3 "
dirs=("$sysroot/usr/lib/aarch64-linux-gnu" "$sysroot/lib/aarch64-linux-gnu" /usr/aarch64-linux-gnu/lib)

stripped() {  # stripped size of a file, in bytes
  cp -L "$1" "$tmp/s" && aarch64-linux-gnu-strip --strip-unneeded "$tmp/s" && stat -c %s "$tmp/s"
}
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1e6 }'; }
needed() { aarch64-linux-gnu-readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

own=$(stripped "$bin")
echo "vedge (aarch64, stripped; runtime + CLI + serve, no shared libs): $own bytes ($(mb "$own"))"
echo "  static libraries linked in (text+data of the whole archive, an upper bound):"
for a in runtime/libvedge_runtime.a data/libvedge_data.a tools/libvedge_tools.a serve/libvedge_serve.a; do
  [ -f "$arm/$a" ] || continue
  t=$(aarch64-linux-gnu-size -t "$arm/$a" | awk 'END { print $1 + $2 }')
  printf "    %-24s %10d bytes\n" "$(basename "$a")" "$t"
done

echo "shared libraries (transitive DT_NEEDED):"
declare -A seen=()
queue=($(needed "$bin"))
bundled=0 basesum=0
while [ ${#queue[@]} -gt 0 ]; do
  lib="${queue[0]}"
  queue=("${queue[@]:1}")
  [ -z "${seen[$lib]:-}" ] || continue
  seen[$lib]=1
  file=""
  for d in "${dirs[@]}"; do [ -e "$d/$lib" ] && { file="$d/$lib"; break; }; done
  [ -n "$file" ] || { echo "binary_size: error: $lib not found in $sysroot" >&2; exit 1; }
  s=$(stripped "$file")
  if [[ "$base" == *" $lib "* ]]; then kind=base; basesum=$((basesum + s)); else kind=bundled; bundled=$((bundled + s)); fi
  printf "  %-26s %-8s %10d bytes\n" "$lib" "$kind" "$s"
  queue+=($(needed "$file"))
done
echo "total bundled libraries: $bundled bytes ($(mb "$bundled")); base-system libraries used: $(mb "$basesum")"
echo "device footprint (vedge + bundled libraries): $((own + bundled)) bytes ($(mb $((own + bundled))))"
