#!/usr/bin/env bash
# Copies what a GPU machine without package access needs to build and run the whole dxl CLI
# (scripts/check_gpu.sh) into .gpudeps/, from this Debian 12 machine's packages:
#   .gpudeps/usr/...        GoogleTest, Google Benchmark, nlohmann-json (headers, static libraries,
#                           CMake configs; the layout mirrors /usr so the configs find their files)
#   .gpudeps/hdf5/{include,lib}   the serial HDF5 C library and its headers (FindHDF5 via HDF5_ROOT)
#   .gpudeps/pcre2/{include,lib,pkgconfig}   PCRE2 (8-bit) with a relocatable pkg-config file
#   .gpudeps/bin/pkg-config + .gpudeps/runtime/   pkgconf, in case the GPU machine has none
#   .gpudeps/runtime/       every shared library HDF5, PCRE2 and pkgconf load that is not part of
#                           glibc, plus the LZF filter plugin (LD_LIBRARY_PATH / HDF5_PLUGIN_PATH)
# Usage (here, then carry .gpudeps to the GPU machine): bash kernels/gpu_deps.sh   (~25 MB)
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
G=$SRC/.gpudeps
DST=$G/usr
ARCH=lib/x86_64-linux-gnu
rm -rf "$G"
mkdir -p "$DST/include" "$DST/$ARCH/cmake" "$DST/share/cmake" "$G/hdf5/include" "$G/hdf5/lib" \
  "$G/pcre2/include" "$G/pcre2/lib" "$G/pcre2/pkgconfig" "$G/bin" "$G/runtime/plugins"
need() { [ -e "$1" ] || { echo "gpu_deps: $1 missing; run scripts/setup.sh first" >&2; exit 1; }; }
for f in /usr/include/gtest /usr/include/gmock /usr/include/benchmark /usr/include/nlohmann; do
  need "$f"
  cp -rL "$f" "$DST/include/"
done
cp -rL /usr/$ARCH/cmake/GTest /usr/$ARCH/cmake/benchmark "$DST/$ARCH/cmake/"
cp -rL /usr/share/cmake/nlohmann_json "$DST/share/cmake/"
# Dereferenced copies: the soname link (libbenchmark.so.1debian) must be a real file there.
for f in libgtest.a libgtest_main.a libgmock.a libgmock_main.a libbenchmark_main.a libbenchmark.so libbenchmark.so.1debian \
         libbenchmark.so.1.7.1; do
  cp -L "/usr/$ARCH/$f" "$DST/$ARCH/$f"
done

# HDF5 (serial): headers, the library under the names FindHDF5 and the loader look for.
H=/usr/$ARCH/hdf5/serial
need "$H/libhdf5.so"
cp -rL "$H/include/." "$G/hdf5/include/"
cp -L "$H/libhdf5.so" "$G/hdf5/lib/libhdf5.so"
cp -L "$H/libhdf5_hl.so" "$G/hdf5/lib/libhdf5_hl.so"
cp -L "$H/plugins/liblzf_filter.so" "$G/runtime/plugins/" 2>/dev/null || echo "gpu_deps: no LZF plugin (captures fall back to uncompressed)" >&2
# PCRE2: header, library, and a pkg-config file whose prefix is filled in on the GPU machine.
need /usr/include/pcre2.h
cp -L /usr/include/pcre2.h "$G/pcre2/include/"
cp -L /usr/$ARCH/libpcre2-8.so "$G/pcre2/lib/libpcre2-8.so"
sed -e 's|^prefix=.*|prefix=@GPUDEPS@/pcre2|' -e 's|^libdir=.*|libdir=${prefix}/lib|' \
    -e 's|^includedir=.*|includedir=${prefix}/include|' /usr/$ARCH/pkgconfig/libpcre2-8.pc >"$G/pcre2/pkgconfig/libpcre2-8.pc.in"
# pkgconf (CMake's FindPkgConfig needs a pkg-config program).
cp -L "$(readlink -f /usr/bin/pkg-config)" "$G/bin/pkg-config"

# Shared libraries these load, except glibc's own (the GPU machine's glibc is newer).
copy_deps() {
  ldd "$1" | awk '/=>/ {print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*|ld-linux*|libstdc++.so.*|libgcc_s.so.*) ;;
      *) cp -nL "$lib" "$G/runtime/" ;;
    esac
  done
}
for f in "$H/libhdf5.so" "$H/libhdf5_hl.so" /usr/$ARCH/libpcre2-8.so "$G/bin/pkg-config"; do copy_deps "$f"; done
# The sonames the build links against must resolve at run time too.
cp -nL "$H/libhdf5.so" "$G/runtime/$(objdump -p "$H/libhdf5.so" | awk '/SONAME/ {print $2}')"
cp -nL "$H/libhdf5_hl.so" "$G/runtime/$(objdump -p "$H/libhdf5_hl.so" | awk '/SONAME/ {print $2}')"
cp -nL /usr/$ARCH/libpcre2-8.so "$G/runtime/$(objdump -p /usr/$ARCH/libpcre2-8.so | awk '/SONAME/ {print $2}')"
du -sh "$G"
