#!/usr/bin/env bash
# Real-size teacher workflow: time and peak RSS of `dxl info --model`, of a refused
# teacher/student vocabulary mismatch, of `dxl student --for` and of `dxl capture` (128 tokens)
# on a random-weight checkpoint of the Qwen2.5-0.5B shape (bf16, two shards; generated here and
# deleted afterwards, about 1 GB plus a 0.7 GB student).
# Usage: bench/real_scale_bench.sh [BUILD_DIR] [SCRATCH_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
scratch=${2:-$(mktemp -d /tmp/dxl-real-scale.XXXXXX)}
dxl=$build/app/cli/dxl
teacher=$scratch/qwen2.5-0.5b-shape
student=$scratch/student
trap 'rm -rf "$scratch"' EXIT
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} DXL_THREADS=${DXL_THREADS:-2}

/usr/bin/python3 "$root/scripts/make_random_model.py" --shape qwen2.5-0.5b --dtype bf16 --shards 2 \
    --tokenizer --out "$teacher"

# measure NAME EXPECTED_EXIT CMD...: one row "NAME | seconds | peak RSS MB".
measure() {
    local name=$1 want=$2
    shift 2
    local log=$scratch/time.log rc=0
    /usr/bin/time -f "%e %M" -o "$log" "$@" > "$scratch/out.txt" 2> "$scratch/err.txt" || rc=$?
    if [ "$rc" != "$want" ]; then
        echo "$name: exit $rc, expected $want: $(cat "$scratch/err.txt")" >&2
        exit 1
    fi
    read -r secs kb < <(tail -1 "$log")
    printf '| %s | %.2f s | %d MB |\n' "$name" "$secs" $((kb / 1024))
}

# Byte ids: the random checkpoint's tokenizer labels only bytes and specials.
tokens=$(/usr/bin/python3 -c 'print(",".join(str((i * 37) % 256) for i in range(128)))')
echo "| step | wall | peak RSS |"
echo "|---|---|---|"
measure "dxl info --model (494 M, bf16, 2 shards)" 0 "$dxl" info --model "$teacher"
measure "capture refused: student of another vocabulary" 7 "$dxl" capture --teacher "$teacher" \
    --student "$root/data/models/tiny-student" --tokens 1,2,3 --out "$scratch/refused.h5"
measure "dxl student --for (preset paper)" 0 "$dxl" student --for "$teacher" --out "$student"
sed 's/^/# /' "$scratch/out.txt"
measure "dxl capture, 128 tokens (default logits)" 0 "$dxl" capture --teacher "$teacher" \
    --student "$student" --tokens "$tokens" --out "$scratch/cap.h5"
sed 's/^/# /' "$scratch/out.txt"
du -b "$teacher" "$student" | sed 's/^/# bytes /'
