#!/usr/bin/env bash
# The main job on the embedded defaults: describe the default teacher and student, then run both
# on the default input and write their logits and (implicit) attention maps to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DXL="$BUILD/app/cli/dxl"
TOKENS=data/inputs/default_tokens.txt
mkdir -p out

"$DXL" info --model data/models/tiny-teacher
echo
"$DXL" info --model data/models/tiny-student
echo
"$DXL" forward --model data/models/tiny-teacher --tokens-file "$TOKENS" --out out/teacher_forward.h5
"$DXL" forward --model data/models/tiny-student --tokens-file "$TOKENS" --out out/student_forward.h5
echo
echo "main job done: out/teacher_forward.h5 and out/student_forward.h5 (open with h5web, silx or h5py)"
