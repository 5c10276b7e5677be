#!/usr/bin/env bash
# Determinism check: 2000 distillation steps straight vs ~1000 + kill -9 + `--resume auto`
# must end with byte-identical weights and identical loss logs (CPU, 1 thread).
# usage: scripts/distill_determinism.sh [BUILD_DIR] [STEPS]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$here/build}"
steps="${2:-2000}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 DXL_THREADS=1
time /usr/bin/python3 "$here/tests/cli_train/check_kill_resume.py" "$build/app/cli/dxl" "$build/scratch_determinism" "$steps"
