#!/usr/bin/env bash
# arm_sysroot.sh DIR: prepares an arm64 sysroot for the aarch64 cross build.
# Downloads Debian 12's arm64 .debs of the libraries the device side links
# (XNNPACK, pthreadpool, cpuinfo, protobuf, ONNX, cpp-httplib with OpenSSL,
# zlib and brotli, yaml-cpp, GoogleTest for the tests, header-only packages)
# with `apt-get download` against a private apt state kept inside DIR, and
# unpacks them with `dpkg-deb -x`. Never adds arm64 to dpkg (multiarch would
# make apt remove LibTorch from the host); never touches the host's apt
# state. Idempotent: a finished sysroot is left as it is (DIR/.complete).
# libc and libstdc++ come with the cross toolchain (g++-aarch64-linux-gnu).
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: scripts/arm_sysroot.sh DIR" >&2
  exit 2
fi
mkdir -p "$1"
dir="$(cd "$1" && pwd)"
PKGS=(libxnnpack0 libxnnpack-dev libpthreadpool0 libpthreadpool-dev
  libcpuinfo0 libcpuinfo-dev
  libprotobuf32 libprotobuf-lite32 libprotobuf-dev
  libonnx1 libonnx-dev libonnxifi
  libcpp-httplib0.11 libcpp-httplib-dev libssl3 libssl-dev zlib1g zlib1g-dev
  libbrotli1 libbrotli-dev
  libgtest-dev libgmock-dev
  libstb0 libstb-dev nlohmann-json3-dev libyaml-cpp0.7 libyaml-cpp-dev)
stamp="$dir/.complete"
want="${PKGS[*]}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "arm_sysroot: $dir is ready"
  exit 0
fi
command -v apt-get >/dev/null || { echo "arm_sysroot: error: apt-get not found (Debian/Ubuntu host needed)" >&2; exit 1; }

# A private apt configuration: the host's sources, arm64 only, state and
# cache inside DIR, so the host's package lists and dpkg database stay as
# they are.
apt_dir="$dir/.apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/etc/preferences.d" "$dir/.debs"
: > "$apt_dir/status"
sources=()
[ -f /etc/apt/sources.list ] && sources+=(-o Dir::Etc::SourceList=/etc/apt/sources.list)
APT=(apt-get -qq
  -o APT::Architecture=arm64 -o APT::Architectures::=arm64
  -o Dir::State="$apt_dir" -o Dir::State::Lists="$apt_dir/lists"
  -o Dir::State::status="$apt_dir/status"
  -o Dir::Cache="$apt_dir/cache"
  -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts="$apt_dir/etc/preferences.d"
  -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)"
  "${sources[@]}")
echo "arm_sysroot: fetching the arm64 package lists"
"${APT[@]}" update
echo "arm_sysroot: downloading ${#PKGS[@]} arm64 packages"
(cd "$dir/.debs" && "${APT[@]}" download "${PKGS[@]/%/:arm64}")
for deb in "$dir"/.debs/*.deb; do
  dpkg-deb -x "$deb" "$dir"
done
# Debian's absolute symlinks (e.g. lib/.../libfoo.so -> /lib/...) would point
# into the host: make them relative to the sysroot.
find "$dir/usr" -type l -lname '/*' | while read -r link; do
  target="$(readlink "$link")"
  ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$dir$target")" "$link"
done
echo "$want" > "$stamp"
echo "arm_sysroot: $dir is ready ($(ls "$dir"/.debs | wc -l) packages)"
