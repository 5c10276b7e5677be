#!/usr/bin/env bash
# The main job on the embedded defaults: describe the default teacher and student, run both on the
# default input, capture both into one HDF5 file, align them, and render the studio's figures
# headless. Everything lands in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DXL="$BUILD/app/cli/dxl"
STUDIO="$BUILD/app/studio/dxl-studio"
TEACHER=data/models/tiny-teacher
STUDENT=data/models/tiny-student
INPUT=data/inputs/default_input.txt  # text: the default teacher is byte-level
mkdir -p out
rm -rf out/capture.h5 out/figures  # figures of an earlier run must not mix with this one

"$DXL" info --model "$TEACHER"
echo
"$DXL" info --model "$STUDENT"
echo
"$DXL" forward --model "$TEACHER" --text-file "$INPUT" --out out/teacher_forward.h5
"$DXL" forward --model "$STUDENT" --text-file "$INPUT" --out out/student_forward.h5
echo
"$DXL" capture --teacher "$TEACHER" --student "$STUDENT" --text-file "$INPUT" --out out/capture.h5
"$DXL" inspect out/capture.h5
echo
"$DXL" align out/capture.h5 --teacher "$TEACHER" --student "$STUDENT" --out out/align
echo
if [ -x "$STUDIO" ]; then
  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
  QT_QPA_PLATFORM=offscreen "$STUDIO" --teacher "$TEACHER" --student "$STUDENT" --export all --out out/figures
fi
echo
echo "main job done: out/ holds the forward files, out/capture.h5 (h5py, h5web, silx), out/align/"
echo "(summary.json, pairs.csv, heads.csv) and out/figures/ (PNG, PDF, SVG + CSV/JSON + provenance)."
echo "Open the studio with: $STUDIO"
