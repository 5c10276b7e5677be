#!/usr/bin/env bash
# Long SIGKILL test of the capture writer: N = 50 random kills
# (the ctest suite runs 20). Usage: scripts/capture_kill_test.sh [BUILD_DIR] [N] [SEED]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
n="${2:-50}"
seed="${3:-$RANDOM}"
echo "capture kill test: N=$n seed=$seed"
OMP_NUM_THREADS=1 exec /usr/bin/python3 "$root/tests/cli_capture/check_capture_kill.py" "$build/app/cli/dxl" \
  "$root/tests/data/golden/models" "$(mktemp -d)/capture_kill" "$n" "$seed"
