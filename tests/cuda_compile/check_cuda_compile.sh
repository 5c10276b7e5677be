#!/usr/bin/env bash
# CI check: the CUDA kernels compile with nvcc (sm_90 SASS + PTX) in a separate build
# tree with DXL_ENABLE_CUDA=ON, even on a machine without a GPU. Needs nvcc (/usr/local/cuda on the
# reference machines); a machine without it fails with a message, since CI always has it.
set -euo pipefail
src=${1:?usage: check_cuda_compile.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: check_cuda_compile.sh SOURCE_DIR BUILD_DIR}
nvcc=$(command -v nvcc || true)
[ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
if [ -z "$nvcc" ]; then
  echo "FAIL: nvcc not found (install the CUDA toolkit or use a machine that has /usr/local/cuda)"
  echo "0 passed, 1 failed"
  exit 1
fi
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDXL_ENABLE_CUDA=ON -DDXL_WERROR=ON \
  -DCMAKE_CUDA_COMPILER="$nvcc" -DDXL_BUILD_TESTS=OFF -DDXL_BUILD_BENCH=OFF -DDXL_BUILD_STUDIO=OFF >"$build.configure.log" 2>&1 ||
  { tail -30 "$build.configure.log"; echo "0 passed, 1 failed"; exit 1; }
grep -q '#define DXL_HAVE_CUDA 1' "$build/generated/dxl/config.h" ||
  { echo "FAIL: configure did not enable CUDA"; echo "0 passed, 1 failed"; exit 1; }
cmake --build "$build" --target dxl_kernels
objs=$(find "$build/kernels" -name '*.cu.o' | wc -l)
if [ "$objs" -lt 1 ]; then
  echo "FAIL: no CUDA objects were built"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "ok: $objs CUDA objects compiled for sm_90 with $("$nvcc" --version | tail -1)"
echo "1 passed, 0 failed"
