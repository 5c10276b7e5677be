#!/usr/bin/env bash
# Copies the header-only and prebuilt test/benchmark packages that kernels/check_gpu.sh needs into
# .gpudeps/usr (Debian 12 files: GoogleTest, Google Benchmark, nlohmann-json), for a GPU machine
# that has CUDA and a CUDA LibTorch but cannot install packages. The layout mirrors /usr, so the
# packages' own CMake config files find everything relative to themselves. ~5 MB.
# Usage (here, then carry .gpudeps to the GPU machine): bash kernels/gpu_deps.sh
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DST=$SRC/.gpudeps/usr
ARCH=lib/x86_64-linux-gnu
rm -rf "$SRC/.gpudeps"
mkdir -p "$DST/include" "$DST/$ARCH/cmake" "$DST/share/cmake"
for f in /usr/include/gtest /usr/include/gmock /usr/include/benchmark /usr/include/nlohmann; do
  [ -e "$f" ] || { echo "gpu_deps: $f missing; run scripts/setup.sh first" >&2; exit 1; }
  cp -rL "$f" "$DST/include/"
done
cp -rL /usr/$ARCH/cmake/GTest /usr/$ARCH/cmake/benchmark "$DST/$ARCH/cmake/"
cp -rL /usr/share/cmake/nlohmann_json "$DST/share/cmake/"
# Dereferenced copies: the soname link (libbenchmark.so.1debian) must be a real file there.
for f in libgtest.a libgtest_main.a libgmock.a libgmock_main.a libbenchmark_main.a libbenchmark.so libbenchmark.so.1debian \
         libbenchmark.so.1.7.1; do
  cp -L "/usr/$ARCH/$f" "$DST/$ARCH/$f"
done
du -sh "$SRC/.gpudeps"
