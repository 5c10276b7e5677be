#!/usr/bin/env bash
# The one prepared GPU check of the whole product (docs/gpu.md), sized for <= 8 minutes on one
# H100 or H200 with a pip torch (CUDA), nvcc, cmake and ninja, and no package access:
#   1. builds the CLI, the device tests and the real-scale benchmarks against pip torch's LibTorch
#      (HDF5, PCRE2, pkg-config, GoogleTest, Google Benchmark and nlohmann-json from .gpudeps/,
#      which `bash kernels/gpu_deps.sh` makes on a Debian machine);
#   2. runs the device tests with DXL_TEST_DEVICE=cuda (golden models in fp32 and bf16, training,
#      the CUDA kernels against their CPU references);
#   3. generates random-weight models of real shapes (a Qwen2.5-0.5B-shaped bf16 teacher, the
#      paper student for it via `dxl student --for`);
#   4. times every row with bench/real_scale_bench and bench/distill_bench, and the same work
#      written plainly in Python (scripts/gpu_baselines.py: PyTorch + transformers);
#   5. prints one markdown table (also $OUT/table.md when OUT is set, else build-gpu/table.md).
# Usage: bash scripts/check_gpu.sh [build-dir]
#   DXL_CHECK_QUICK=1 shrinks every shape; with DXL_CHECK_SKIP_BUILD=1 DXL_TEST_DEVICE=cpu
#   DXL_BENCH_DEVICE=cpu and an existing CPU build (bash scripts/check_gpu.sh build) it is a dry run
#   of the whole script on a machine without a GPU.
set -uo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$SRC/build-gpu}
WORK=${DXL_CHECK_WORK:-/tmp/dxl_check_gpu}
RESULTS=${OUT:-$BUILD}
JOBS=$(nproc 2>/dev/null || echo 8)
START=$SECONDS
mkdir -p "$BUILD" "$WORK" "$RESULTS"
LOG=$RESULTS/check_gpu.log
: >"$LOG"
say() { echo "[check_gpu $((SECONDS - START))s] $*" >&2; }
QUICK=${DXL_CHECK_QUICK:-0}
export PATH=/usr/local/cuda/bin:$PATH
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2

# --- dependencies from .gpudeps (made by kernels/gpu_deps.sh) ----------------------------------
G=$SRC/.gpudeps
DEPS=()
if [ -d "$G" ]; then
  sed "s|@GPUDEPS@|$G|" "$G/pcre2/pkgconfig/libpcre2-8.pc.in" >"$G/pcre2/pkgconfig/libpcre2-8.pc"
  export PKG_CONFIG_PATH=$G/pcre2/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  export LD_LIBRARY_PATH=$G/runtime:$G/hdf5/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export HDF5_PLUGIN_PATH=$G/runtime/plugins
  command -v pkg-config >/dev/null || export PATH=$PATH:$G/bin
  U=$G/usr/lib/x86_64-linux-gnu/cmake
  DEPS=(-DGTest_DIR="$U/GTest" -Dbenchmark_DIR="$U/benchmark" -Dnlohmann_json_DIR="$G/usr/share/cmake/nlohmann_json"
        -DHDF5_ROOT="$G/hdf5" -DHDF5_C_INCLUDE_DIR="$G/hdf5/include" -DHDF5_C_LIBRARY="$G/hdf5/lib/libhdf5.so"
        -DHDF5_C_LIBRARY_hdf5="$G/hdf5/lib/libhdf5.so" -DHDF5_USE_STATIC_LIBRARIES=OFF)
  say "dependencies from $G"
fi
PY=${DXL_CHECK_PYTHON:-python3}  # the Python that holds torch (pip torch with CUDA on a GPU machine)
TORCH_PREFIX=$($PY -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)
say "torch: $($PY -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available())' 2>&1)"

# --- 1. build ----------------------------------------------------------------------------------
TARGETS=(dxl model_tests student_tests train_tests kernel_tests real_scale_bench distill_bench)
built=0
# DXL_CHECK_SKIP_BUILD=1 reuses a build that is already there (a CPU dry run over build/).
[ "${DXL_CHECK_SKIP_BUILD:-0}" = 1 ] && [ -x "$BUILD/app/cli/dxl" ] && built=1
for std in 17 20; do
  [ $built = 1 ] && break
  if cmake -S "$SRC" -B "$BUILD" -G Ninja --preset gpu -DCMAKE_CXX_STANDARD=$std -DDXL_BUILD_STUDIO=OFF \
       ${TORCH_PREFIX:+-DCMAKE_PREFIX_PATH="$TORCH_PREFIX"} "${DEPS[@]}" >>"$LOG" 2>&1 &&
     timeout 330 cmake --build "$BUILD" --target "${TARGETS[@]}" -j"$JOBS" >>"$LOG" 2>&1; then
    built=1
    break
  fi
  grep -q "C++17 or later\|C++20\|requires C++\|You need C++" "$LOG" || break
  say "retrying with C++20"
  rm -rf "$BUILD/CMakeCache.txt"
done
if [ $built != 1 ]; then
  say "build failed; the first errors:"
  grep -E "error|Error" "$LOG" | head -30 >&2
  tail -20 "$LOG" >&2
  exit 1
fi
grep -q "define DXL_TORCH_CUDA 1" "$BUILD/generated/dxl/config.h" || say "WARNING: the LibTorch found has no CUDA"
DXL=$BUILD/app/cli/dxl
"$DXL" info --config "$SRC/data/configs/student_paper_qwen2.5-1.5b.json" | tail -4 >&2
say "built"

# --- 2. device tests ---------------------------------------------------------------------------
export DXL_TEST_DEVICE=${DXL_TEST_DEVICE:-cuda} OMP_NUM_THREADS=1
TESTS=""
for t in model_tests student_tests train_tests kernel_tests; do
  exe=$(find "$BUILD/tests" -name "$t" -type f | head -1)
  [ -n "$exe" ] || { TESTS="$TESTS $t:missing"; continue; }
  if timeout 150 "$exe" --gtest_brief=1 >"$RESULTS/$t.txt" 2>&1; then r=pass; else r=FAIL; fi
  TESTS="$TESTS $t:$r"
  grep -E "^\[  (FAILED|PASSED|SKIPPED) |bf16 \]" "$RESULTS/$t.txt" | head -20 >&2
done
say "tests:$TESTS"

# --- 3. models of real shape ---------------------------------------------------------------------
SHAPE=qwen2.5-0.5b
[ "$QUICK" = 1 ] && SHAPE=tiny
if [ ! -f "$WORK/teacher/config.json" ]; then
  $PY "$SRC/scripts/make_random_model.py" --shape $SHAPE --dtype bf16 --out "$WORK/teacher" >>"$LOG" 2>&1 ||
    { say "make_random_model failed"; tail -5 "$LOG" >&2; exit 1; }
fi
if [ ! -f "$WORK/student/config.json" ]; then
  "$DXL" student --for "$WORK/teacher" --preset paper --out "$WORK/student" >>"$LOG" 2>&1 ||
    { say "dxl student failed"; tail -5 "$LOG" >&2; exit 1; }
fi
"$DXL" info --model "$WORK/student" 2>&1 | tail -6 >&2
say "models in $WORK"

# --- 4. timings ---------------------------------------------------------------------------------
LENGTHS="2048,8192,32768"
FILTER="."
[ "$QUICK" = 1 ] && { LENGTHS="2048"; FILTER="teacher|decode|/2048/"; }
DXL_BENCH_TEACHER=$WORK/teacher DXL_BENCH_STUDENT=$WORK/student DXL_BENCH_DEVICE=${DXL_BENCH_DEVICE:-auto} \
DXL_BENCH_DTYPE=bf16 timeout 180 "$BUILD/bench/real_scale_bench" --benchmark_format=json \
  --benchmark_filter="$FILTER" --benchmark_min_time=0.2 >"$RESULTS/real_scale.json" 2>>"$LOG" ||
  say "real_scale_bench failed or timed out (partial results kept)"
DISTILL_JSON=$RESULTS/distill.json
if [ -x "$BUILD/bench/distill_bench" ]; then
  DXL_BENCH_TEACHER=$WORK/teacher DXL_BENCH_STUDENT=$WORK/student DXL_BENCH_DEVICE=${DXL_BENCH_DEVICE:-auto} \
  timeout 120 "$BUILD/bench/distill_bench" --benchmark_format=json --benchmark_filter="real_scale" \
    >"$DISTILL_JSON" 2>>"$LOG" || say "distill_bench real_scale rows failed or timed out"
fi
timeout 180 $PY "$SRC/scripts/gpu_baselines.py" --teacher "$WORK/teacher" --lengths "$LENGTHS" \
  --teacher-length $([ "$QUICK" = 1 ] && echo 256 || echo 2048) >"$RESULTS/baselines.jsonl" 2>>"$LOG" ||
  say "gpu_baselines failed or timed out (partial results kept)"
say "timed"

# --- 5. table -----------------------------------------------------------------------------------
$PY - "$RESULTS" "$TESTS" <<'EOF' | tee "$RESULTS/table.md"
import json, os, sys
res, tests = sys.argv[1], sys.argv[2]
ours = {}
for f in ("real_scale.json", "distill.json"):
    p = os.path.join(res, f)
    try:
        for b in json.load(open(p)).get("benchmarks", []):
            if b.get("error_occurred"):
                continue
            name = b["name"].replace("BM_", "").split("/manual_time")[0].split("/iterations:")[0]
            ours[name] = b
    except Exception as e:
        print(f"<!-- {f}: {e} -->")
base = {}
try:
    for line in open(os.path.join(res, "baselines.jsonl")):
        r = json.loads(line)
        base[r["name"]] = r
except Exception as e:
    print(f"<!-- baselines: {e} -->")
def tps(b):
    return b.get("tokens_per_s")
print(f"device tests:{tests}\n")
print("| row | dxl tokens/s | plain PyTorch tokens/s | dxl / PyTorch | note |")
print("|---|---|---|---|---|")
for name in sorted(set(ours) | set(base)):
    o, p = ours.get(name), base.get(name)
    ot, pt = (tps(o) if o else None), (tps(p) if p else None)
    note = ""
    if o and "mfu" in o:
        note = f"MFU {100 * o['mfu']:.1f} %"
    ratio = f"{ot / pt:.2f}x" if ot and pt else "-"
    print(f"| {name} | {ot:,.0f} |" if ot else f"| {name} | - |", f"{pt:,.0f} |" if pt else "- |", ratio, "|", note, "|")
fwd = {k: v for k, v in ours.items() if k.startswith("teacher_forward/")}
cap = {k: v for k, v in ours.items() if k.startswith("teacher_capture4/")}
for k, v in cap.items():
    T = k.split("/")[1]
    f = fwd.get(f"teacher_forward/{T}")
    if f:
        print(f"\ncapture of 4 layers at T={T}: {100 * (f['tokens_per_s'] / v['tokens_per_s'] - 1):+.1f} % over the plain forward (target <= 15 %)")
for T in ("8192", "32768"):
    for kind in ("fwd", "fwdbwd"):
        m, s = ours.get(f"mlstm_chunkwise_{kind}/{T}"), ours.get(f"sdpa_{kind}/{T}")
        if m and s:
            print(f"mLSTM chunkwise {kind} vs fused attention at T={T}: {tps(m) / tps(s):.2f}x")
EOF
say "done in $((SECONDS - START)) s; table in $RESULTS/table.md"
