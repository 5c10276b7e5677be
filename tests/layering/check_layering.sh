#!/usr/bin/env bash
# Layering rules of docs/architecture.md#layers, checked on the sources:
# core/ and kernels/ never include Qt; widgets/ never includes torch, HDF5 or CUDA; kernels/ never
# includes torch or HDF5; app/cli never includes Qt.
set -u
root=${1:?usage: check_layering.sh REPO_ROOT}
cd "$root"
fail=0
check() {  # check DESCRIPTION REGEX DIRS...
  local what=$1 re=$2
  shift 2
  local hits
  hits=$(grep -rnE "$re" "$@" --include='*.h' --include='*.cpp' --include='*.cu' --include='*.cuh' 2>/dev/null)
  if [ -n "$hits" ]; then
    echo "FAIL $what:"
    echo "$hits"
    fail=$((fail + 1))
  else
    echo "ok   $what"
  fi
}
check "no Qt in core/ or kernels/" '#include\s*[<"](Q[A-Za-z]+|qcustomplot)' core kernels
check "no Qt in app/cli" '#include\s*[<"](Q[A-Za-z]+|qcustomplot)' app/cli
check "no torch/HDF5 in kernels/" '#include\s*[<"](torch/|ATen/|c10/|hdf5|H5)' kernels
[ -d widgets ] && check "no torch/HDF5/CUDA in widgets/" '#include\s*[<"](torch/|ATen/|hdf5|H5|cuda)' widgets
check "no exit()/abort() in library code" '^[^/]*[^_a-z./](std::)?(exit|abort)\s*\(' core kernels
if [ $fail -ne 0 ]; then
  echo "0 passed, $fail failed"
  exit 1
fi
echo "layering: all rules hold"
