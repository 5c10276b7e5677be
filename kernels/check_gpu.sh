#!/usr/bin/env bash
# One prepared GPU check for the CUDA kernels. On a machine with an NVIDIA GPU:
#   1. configures a kernels-only build (DXL_KERNELS_ONLY=ON, DXL_ENABLE_CUDA=ON) against Python
#      torch's CUDA LibTorch when present (else the system LibTorch); GoogleTest, Google Benchmark
#      and nlohmann-json come from the system or from .gpudeps/ (kernels/gpu_deps.sh makes it on a
#      Debian machine, for GPU machines that cannot install packages); retries with C++20 when
#      the LibTorch headers refuse C++17,
#   2. builds kernel_tests and kernels_bench,
#   3. runs the kernel tests (every table row against its float64 composite on the CPU reference
#      and, as *_CUDA, on the GPU),
#   4. times the CUDA kernels (B=1 H=8 Dh=128; chunkwise mLSTM fp32/bf16 T = 512 ... 65536, its
#      backward, attention with capture, the fused step, the alignment metrics) and torch's own
#      scaled-dot-product attention of equal width (forward, and forward + backward),
#   5. prints one markdown table (also written to <build>/table.md),
#   6. with time left, runs the *_CUDA tests under compute-sanitizer memcheck.
# Usage: kernels/check_gpu.sh [build-dir]   (default build-gpu; ~3-5 min on an H100/H200)
set -uo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$SRC/build-gpu}
JOBS=$(nproc 2>/dev/null || echo 8)
START=$SECONDS
mkdir -p "$BUILD"
LOG=$BUILD/check_gpu.log
: > "$LOG"
say() { echo "[check_gpu $((SECONDS - START))s] $*" >&2; }

export PATH=/usr/local/cuda/bin:$PATH
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2
say "$(g++ --version 2>/dev/null | head -1); $(cmake --version 2>/dev/null | head -1); $(nvcc --version 2>/dev/null | tail -1)"

# --- 1+2. configure and build ----------------------------------------------------------------
NVCC=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
TORCH_PREFIX=""
HAVE_PY_TORCH_CUDA=0
if command -v python3 >/dev/null && python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  HAVE_PY_TORCH_CUDA=1
  TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)
  say "Python torch with CUDA found: $(python3 -c 'import torch; print(torch.__version__, torch.version.cuda)')"
fi
DEPS=()
D=$SRC/.gpudeps/usr
if [ -d "$D" ]; then
  DEPS=(-DGTest_DIR="$D/lib/x86_64-linux-gnu/cmake/GTest" -Dbenchmark_DIR="$D/lib/x86_64-linux-gnu/cmake/benchmark"
        -Dnlohmann_json_DIR="$D/share/cmake/nlohmann_json")
  say "using GoogleTest, Google Benchmark and nlohmann-json from $D"
fi
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
configure_and_build() {  # $1 = build dir, $2 = extra CMake prefix path (may be empty), $3 = C++ std
  cmake -S "$SRC" -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDXL_KERNELS_ONLY=ON \
    -DDXL_ENABLE_CUDA=ON -DCMAKE_CUDA_COMPILER="$NVCC" -DCMAKE_CUDA_ARCHITECTURES="${DXL_CUDA_ARCHS:-90}" \
    -DCMAKE_CXX_STANDARD="$3" -DDXL_BUILD_STUDIO=OFF -DDXL_BUILD_TESTS=ON -DDXL_BUILD_BENCH=ON \
    "${DEPS[@]}" ${2:+-DCMAKE_PREFIX_PATH="$2"} >>"$LOG" 2>&1 || { say "configure failed in $1"; return 1; }
  grep -q "define DXL_HAVE_CUDA 1" "$1/generated/dxl/config.h" || { say "CUDA was not enabled in $1 (no nvcc?)"; return 1; }
  say "building kernel_tests and kernels_bench in $1 (C++$3) with $JOBS jobs"
  timeout 420 cmake --build "$1" --target kernel_tests kernels_bench -j"$JOBS" >>"$LOG" 2>&1 || { say "build failed in $1"; return 1; }
}
BUILT=0
for prefix in ${TORCH_PREFIX:+"$TORCH_PREFIX"} ""; do
  for std in 17 20; do
    dir=$BUILD/c$std$([ -z "$prefix" ] && echo -system)
    if configure_and_build "$dir" "$prefix" $std; then BUILT=1; BUILD=$dir; break 2; fi
    grep -q "C++17 or later\|C++20\|You need C++" "$LOG" || break  # only a standard problem retries
  done
done
if [ "$BUILT" != 1 ]; then
  say "configure/build failed, see $LOG"
  grep -E "error|Error|ERROR" "$LOG" | head -30 >&2
  tail -30 "$LOG" >&2
  exit 1
fi
say "built in $BUILD"

# --- 3. tests ----------------------------------------------------------------------------------
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
TEST_STATUS=pass
DXL_KERNEL_REPORT=1 timeout 300 "$BUILD/tests/kernels/kernel_tests" >"$BUILD/kernel_tests.txt" 2>&1 || TEST_STATUS=FAIL
grep -E "Failure|Expected|max \|err|^\[  (FAILED|PASSED|SKIPPED) |tests? ran" "$BUILD/kernel_tests.txt" | grep -v "budget use" | head -60 >&2
grep -q "SKIPPED \]" "$BUILD/kernel_tests.txt" && TEST_STATUS="$TEST_STATUS, CUDA cases SKIPPED (no device visible)"
say "tests: $TEST_STATUS"

# --- 4. timings --------------------------------------------------------------------------------
BENCH_CSV=$BUILD/kernels_bench.csv
timeout 300 "$BUILD/bench/kernels_bench" --benchmark_filter='cuda' --benchmark_min_time=0.2 \
  --benchmark_format=csv >"$BENCH_CSV" 2>>"$LOG" || say "kernels_bench exited non-zero (see $LOG)"
say "benchmarks done"
SDPA_CSV=$BUILD/sdpa.csv
: > "$SDPA_CSV"
if [ "$HAVE_PY_TORCH_CUDA" = 1 ]; then
  timeout 180 python3 - >"$SDPA_CSV" 2>>"$LOG" <<'PY'
import torch, torch.nn.functional as F
H, Dh = 8, 128
def timed(fn, n):
    for _ in range(2): fn()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(n): fn()
    e.record(); torch.cuda.synchronize()
    return s.elapsed_time(e) / n
for T in (512, 2048, 8192, 32768, 65536):
    for name, dt in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        n = 10 if T <= 8192 else 3
        try:
            q, k, v = (torch.randn(1, H, T, Dh, device="cuda", dtype=dt) for _ in range(3))
            fwd = timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), n)
            print(f"{T},{name},fwd,{fwd:.4f}", flush=True)
            if T <= 8192:
                qg, kg, vg = (x.clone().requires_grad_(True) for x in (q, k, v))
                g = torch.randn_like(q)
                def fb():
                    F.scaled_dot_product_attention(qg, kg, vg, is_causal=True).backward(g)
                print(f"{T},{name},fwdbwd,{timed(fb, n):.4f}", flush=True)
        except Exception as ex:  # OOM of the math fallback at long T, missing kernels, ...
            print(f"{T},{name},fwd,{type(ex).__name__}", flush=True)
        torch.cuda.empty_cache()
PY
  say "torch SDPA timings done"
fi

# --- 5. table ----------------------------------------------------------------------------------
# Google Benchmark CSV: name,iterations,real_time,cpu_time,time_unit,... (real time; unit in col 5)
bench_ms() {  # $1 = name incl. args; prints the real time in ms or "-"
  awk -F, -v n="$1" '$1 ~ "^\"?"n"(/real_time)?\"?$" { f=1; if ($3 == "") { gsub(/"/, "", $NF); printf "error: %s", $NF; exit }
    gsub(/"/, "", $5); t=$3; if ($5=="us") t/=1000; if ($5=="ns") t/=1e6; if ($5=="s") t*=1000; printf "%.4g", t; exit }
    END { if (!f) printf "-" }' "$BENCH_CSV"
}
bench_us() { local ms; ms=$(bench_ms "$1"); case $ms in -|error*) echo "$ms";; *) awk -v m="$ms" 'BEGIN{printf "%.3g", m*1000}';; esac; }
sdpa() { awk -F, -v t="$1" -v d="$2" -v w="$3" '$1 == t && $2 == d && $3 == w { printf "%s", $4; f=1 } END { if (!f) printf "-" }' "$SDPA_CSV"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a+0 > 0 && b+0 > 0) printf "%.2f", b / a; else printf "-" }'; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { if (a+0 > 0 && b+0 > 0) printf "%.4g", a + b; else printf "-" }'; }
per_tok() { awk -v a="$1" -v t="$2" 'BEGIN { if (a+0 > 0) printf "%.3g", a * 1e6 / t; else printf "-" }'; }
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
TV=$(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null)
{
echo "### dxl CUDA kernels on ${GPU:-unknown GPU} ($(date -u +%Y-%m-%d), tests: $TEST_STATUS)"
echo
echo "B=1, H=8, Dh=128 (width 1024), chunk 64, causal; wall time per call in ms (CUDA events /"
echo "Google Benchmark real time). Baseline: torch ${TV:-n/a} F.scaled_dot_product_attention."
echo "speed-up = baseline time / ours."
echo
echo "| T | mLSTM chunkwise fp32 | bf16 | ns/token (fp32) | SDPA fp32 | SDPA bf16 | speed-up vs SDPA bf16 (ours bf16) |"
echo "|---|---|---|---|---|---|---|"
for T in 512 2048 8192 32768 65536; do
  f=$(bench_ms "BM_mlstm_chunk_forward_cuda/$T/0/0"); b=$(bench_ms "BM_mlstm_chunk_forward_cuda/$T/1/0")
  s32=$(sdpa "$T" fp32 fwd); s16=$(sdpa "$T" bf16 fwd)
  echo "| $T | $f | $b | $(per_tok "$f" "$T") | $s32 | $s16 | $(ratio "$b" "$s16") |"
done
echo
echo "| T | mLSTM backward fp32 | mLSTM fwd+bwd fp32 | SDPA fwd+bwd fp32 | SDPA fwd+bwd bf16 | speed-up vs SDPA fp32 |"
echo "|---|---|---|---|---|---|"
for T in 512 2048 8192; do
  bw=$(bench_ms "BM_mlstm_backward_cuda/$T"); fb=$(add "$(bench_ms "BM_mlstm_chunk_forward_cuda/$T/0/0")" "$bw")
  s32=$(sdpa "$T" fp32 fwdbwd)
  echo "| $T | $bw | $fb | $s32 | $(sdpa "$T" bf16 fwdbwd) | $(ratio "$fb" "$s32") |"
done
echo
echo "| kernel | T | ours | ours plain (no capture) |"
echo "|---|---|---|---|"
for T in 512 2048 8192; do
  echo "| dxl causal attention + capture of 1 head (fp16 P), ms | $T | $(bench_ms "BM_attn_causal_cuda/$T/1") | $(bench_ms "BM_attn_causal_cuda/$T/0") |"
done
echo "| mLSTM fused step B=1 H=4 Dh=64, us per call incl. sync | 1 | $(bench_us "BM_mlstm_step_cuda/4/64") | - |"
echo "| mLSTM fused step B=1 H=16 Dh=192, us per call incl. sync | 1 | $(bench_us "BM_mlstm_step_cuda/16/192") | - |"
per_step() { awk -v a="$(bench_us "$1")" 'BEGIN { if (a+0 > 0) printf "%.3g", a / 256; else printf "-" }'; }
for hd in 4/64 16/192; do
  echo "| mLSTM fused step H/Dh=$hd, us per step, 256 steps enqueued (stream / CUDA graph) | 1 | $(per_step "BM_mlstm_step_cuda_burst/$hd/0") | $(per_step "BM_mlstm_step_cuda_burst/$hd/1") (graph) |"
done
for L in 16 32 128; do
  echo "| mLSTM chunkwise fp32 at chunk $L (64 above), ms | 8192 | $(bench_ms "BM_mlstm_chunk_forward_cuda/8192/0/$L") | - |"
done
for T in 512 2048; do
  echo "| alignment metrics, 12 x 16 head pairs, ms | $T | $(bench_ms "BM_align_metrics_cuda/$T") | - |"
done
echo
echo "Logs: $LOG, $BUILD/kernel_tests.txt, $BENCH_CSV, $SDPA_CSV"
} | tee "$BUILD/table.md"

# --- 6. memcheck (only with time left; Firecracker machines support it) ---------------------------
if [ $((SECONDS - START)) -lt "${DXL_MEMCHECK_BEFORE_S:-330}" ] && command -v compute-sanitizer >/dev/null; then
  say "compute-sanitizer memcheck on the *_CUDA tests"
  timeout 150 compute-sanitizer --tool memcheck --error-exitcode 9 "$BUILD/tests/kernels/kernel_tests" \
    --gtest_filter='*CUDA*' --gtest_brief=1 >"$BUILD/memcheck.txt" 2>&1
  say "memcheck exit code $? ($(grep -c "Invalid\|ERROR SUMMARY" "$BUILD/memcheck.txt") report lines; see $BUILD/memcheck.txt)"
  grep -E "ERROR SUMMARY|Invalid|PASSED|FAILED" "$BUILD/memcheck.txt" | head -10 >&2
fi
say "done"
[ "$TEST_STATUS" = pass ]  # non-zero when a test failed or the CUDA cases were skipped
