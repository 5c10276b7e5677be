#!/usr/bin/env bash
# One prepared GPU check for the CUDA kernels (issue 7). On a machine with an NVIDIA GPU:
#   1. configures a separate build with DXL_ENABLE_CUDA=ON (using Python torch's CMake prefix when
#      that torch is CUDA-enabled and configures; otherwise the system LibTorch),
#   2. builds kernel_tests and kernels_bench,
#   3. runs the kernel tests (the *_CUDA table against the CPU-reference budgets, plus the CPU ones),
#   4. times chunkwise mLSTM (fp32 and bf16, T = 512 ... 65536, B=1 H=8 Dh=128) against torch SDPA
#      of equal width when Python torch with CUDA is present, else against our own attention kernel,
#   5. prints one markdown table.
# Usage: kernels/check_gpu.sh [build-dir]   (default build-gpu; ~3-6 min on an H100, mostly the build)
set -uo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$SRC/build-gpu}
JOBS=$(nproc 2>/dev/null || echo 8)
LOG=$BUILD/check_gpu.log
mkdir -p "$BUILD"
: > "$LOG"
say() { echo "[check_gpu] $*" >&2; }

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2

# --- 1+2. configure and build ----------------------------------------------------------------
NVCC=${CUDACXX:-/usr/local/cuda/bin/nvcc}
TORCH_PREFIX=""
HAVE_PY_TORCH_CUDA=0
if command -v python3 >/dev/null && python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  HAVE_PY_TORCH_CUDA=1
  TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)
  say "Python torch with CUDA found: $(python3 -c 'import torch; print(torch.__version__)')"
fi
configure_and_build() {  # $1 = build dir, $2 = extra CMake prefix path (may be empty)
  cmake -S "$SRC" -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDXL_ENABLE_CUDA=ON \
    -DCMAKE_CUDA_COMPILER="$NVCC" -DCMAKE_CUDA_ARCHITECTURES="${DXL_CUDA_ARCHS:-90}" \
    -DDXL_BUILD_STUDIO=OFF ${2:+-DCMAKE_PREFIX_PATH="$2"} >>"$LOG" 2>&1 || return 1
  grep -q "define DXL_HAVE_CUDA 1" "$1/generated/dxl/config.h" || { say "CUDA was not enabled in $1 (no nvcc?)"; return 1; }
  say "building kernel_tests and kernels_bench in $1 with $JOBS jobs"
  timeout 420 cmake --build "$1" --target kernel_tests kernels_bench -j"$JOBS" >>"$LOG" 2>&1
}
# The CUDA-enabled LibTorch of Python torch first (when present), else / then the system LibTorch.
if [ -n "$TORCH_PREFIX" ] && configure_and_build "$BUILD" "$TORCH_PREFIX"; then
  say "built with LibTorch from $TORCH_PREFIX"
else
  [ -n "$TORCH_PREFIX" ] && { say "Python torch's LibTorch did not configure or build; trying the system LibTorch"; BUILD=$BUILD-system; }
  configure_and_build "$BUILD" "" || { say "configure/build failed, see $LOG"; tail -40 "$LOG" >&2; exit 1; }
fi

# --- 3. tests ----------------------------------------------------------------------------------
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
TEST_STATUS=pass
timeout 300 "$BUILD/tests/kernels/kernel_tests" --gtest_brief=1 >"$BUILD/kernel_tests.txt" 2>&1 || TEST_STATUS=FAIL
grep -E "Failure|actual|max \||case |PASSED|FAILED|SKIPPED" "$BUILD/kernel_tests.txt" | head -60 >&2
grep -q "SKIPPED \]" "$BUILD/kernel_tests.txt" && TEST_STATUS="$TEST_STATUS, CUDA cases SKIPPED (no device visible)"

# --- 4. timings --------------------------------------------------------------------------------
BENCH_CSV=$BUILD/kernels_bench.csv
timeout 240 "$BUILD/bench/kernels_bench" --benchmark_filter='cuda' --benchmark_min_time=0.2 \
  --benchmark_format=csv >"$BENCH_CSV" 2>>"$LOG" || say "kernels_bench exited non-zero (see $LOG)"
SDPA_CSV=$BUILD/sdpa.csv
: > "$SDPA_CSV"
if [ "$HAVE_PY_TORCH_CUDA" = 1 ]; then
  timeout 180 python3 - >"$SDPA_CSV" 2>>"$LOG" <<'PY'
import torch, torch.nn.functional as F
H, Dh = 8, 128
for T in (512, 2048, 8192, 32768, 65536):
    for name, dt in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        try:
            q, k, v = (torch.randn(1, H, T, Dh, device="cuda", dtype=dt) for _ in range(3))
            for _ in range(3): F.scaled_dot_product_attention(q, k, v, is_causal=True)
            torch.cuda.synchronize()
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            n = 10 if T <= 8192 else 3
            s.record()
            for _ in range(n): F.scaled_dot_product_attention(q, k, v, is_causal=True)
            e.record(); torch.cuda.synchronize()
            print(f"{T},{name},{s.elapsed_time(e) / n:.4f}")
        except Exception as ex:  # OOM of the math fallback at long T, missing kernels, ...
            print(f"{T},{name},{type(ex).__name__}")
        torch.cuda.empty_cache()
PY
fi

# --- 5. table ----------------------------------------------------------------------------------
# Google Benchmark CSV: name,iterations,real_time,cpu_time,time_unit,... (real time; unit in col 5)
bench() {  # $1 = name prefix incl. args, prints "<time> <unit>" or "-"
  awk -F, -v n="$1" '$1 ~ "^\"?"n"(/real_time)?\"?$" { f=1; if ($3 == "") { gsub(/"/, "", $NF); printf "error: %s", $NF; exit } gsub(/"/, "", $5); printf "%.3f %s", $3, $5; exit } END { if (!f) printf "-" }' "$BENCH_CSV"
}
sdpa() { awk -F, -v t="$1" -v d="$2" '$1 == t && $2 == d { printf "%s ms", $3; f=1 } END { if (!f) printf "-" }' "$SDPA_CSV"; }
BASE="torch SDPA (Python $(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null))"
[ "$HAVE_PY_TORCH_CUDA" = 1 ] || BASE="dxl attn_causal_forward_cuda (no Python torch)"
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)

echo
echo "### dxl CUDA kernels on ${GPU:-unknown GPU} ($(date -u +%Y-%m-%d), tests: $TEST_STATUS)"
echo
echo "B=1, H=8, Dh=128, chunk 64, causal; forward wall time per call. Baseline: $BASE."
echo
echo "| kernel | T | ours fp32 | ours bf16 | baseline fp32 | baseline bf16 |"
echo "|---|---|---|---|---|---|"
for T in 512 2048 8192 32768 65536; do
  if [ "$HAVE_PY_TORCH_CUDA" = 1 ]; then
    b32=$(sdpa "$T" fp32); b16=$(sdpa "$T" bf16)
  else
    b32=$(bench "BM_attn_causal_cuda/$T/0"); b16="n/a (fp32 kernel)"
    [ "$b32" = "-" ] && b32="not run (O(T^2) at this T)"
  fi
  echo "| mLSTM chunkwise | $T | $(bench "BM_mlstm_chunk_forward_cuda/$T/0") | $(bench "BM_mlstm_chunk_forward_cuda/$T/1") | $b32 | $b16 |"
done
for T in 512 2048 8192; do
  echo "| dxl attention + capture of 1 head (fp16 P) | $T | $(bench "BM_attn_causal_cuda/$T/1") | - | $(bench "BM_attn_causal_cuda/$T/0") (ours, plain) | - |"
done
echo "| mLSTM fused step (B=1 H=4 Dh=64) | 1 | $(bench "BM_mlstm_step_cuda/4/64") | - | - | - |"
echo "| mLSTM fused step (B=1 H=16 Dh=192) | 1 | $(bench "BM_mlstm_step_cuda/16/192") | - | - | - |"
for T in 512 2048; do
  echo "| alignment metrics (12 x 16 head pairs) | $T | $(bench "BM_align_metrics_cuda/$T") | - | - | - |"
done
echo
echo "Logs: $LOG, $BUILD/kernel_tests.txt, $BENCH_CSV, $SDPA_CSV (empty without Python torch)"
[ "$TEST_STATUS" = pass ]  # non-zero when a test failed or the CUDA cases were skipped
