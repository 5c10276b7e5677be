// Kernel benchmarks. CPU: the fused mLSTM generation step (target <= 8 us per layer per
// token at B=1, H=4, Dh=64 on one core) side by side with the same step as LibTorch ops, plus the
// CPU references of the chunkwise forward, causal attention and the alignment metrics. CUDA (only
// in DXL_HAVE_CUDA builds, skipped without a device): chunkwise mLSTM fp32/bf16, our causal
// attention (plain and capture path), the fused step and the alignment metrics;
// kernels/check_gpu.sh runs these and prints the table.
//
// Run single-threaded: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 build/bench/kernels_bench
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "dxl/config.h"
#include "dxl/kernels/align.h"
#include "dxl/kernels/attention.h"
#include "dxl/kernels/backend.h"
#include "dxl/kernels/mlstm.h"
#include "dxl/kernels/numeric.h"
#if DXL_HAVE_CUDA
#include <cuda_runtime.h>

#include "dxl/kernels/cuda_memory.h"
#endif

namespace dxl::kernels {
namespace {

std::vector<float> randn(std::size_t n, float scale = 1.0f, float offset = 0.0f) {
    torch::manual_seed(static_cast<uint64_t>(n));
    const torch::Tensor t = (torch::randn({static_cast<int64_t>(n)}) * scale + offset).contiguous();
    return std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + n);
}

// ---- fused generation step vs LibTorch ops (B=1 unless given) ------------------------------
void BM_mlstm_step_fused_cpu(benchmark::State& state) {
    const int B = 1, H = static_cast<int>(state.range(0)), Dh = static_cast<int>(state.range(1));
    const std::size_t bh = static_cast<std::size_t>(B) * H;
    std::vector<float> C = randn(bh * Dh * Dh, 0.1f), n = randn(bh * Dh, 0.1f), m(bh, 0.0f);
    std::vector<float> h(bh * Dh);
    const std::vector<float> q = randn(bh * Dh + 1), k = randn(bh * Dh + 2), v = randn(bh * Dh + 3);
    const std::vector<float> ig = randn(bh + 4), fg = randn(bh + 5, 1.0f, 3.0f);
    for (auto _ : state) {
        mlstm_step_cpu(C.data(), n.data(), m.data(), h.data(), q.data(), k.data(), v.data(),
                       ig.data(), fg.data(), B, H, Dh, kMlstmEps);
        benchmark::DoNotOptimize(h.data());
        benchmark::ClobberMemory();
    }
    state.SetLabel("B=1 H=" + std::to_string(H) + " Dh=" + std::to_string(Dh));
}
BENCHMARK(BM_mlstm_step_fused_cpu)->Args({4, 64})->Args({16, 192})->Unit(benchmark::kMicrosecond);

// The same step written as LibTorch ops (what a model without the kernel does).
void BM_mlstm_step_torch_ops(benchmark::State& state) {
    const int64_t H = state.range(0), Dh = state.range(1);
    torch::NoGradGuard no_grad;
    torch::manual_seed(1);
    torch::Tensor C = 0.1 * torch::randn({1, H, Dh, Dh});  // (B, H, Dh, Dh)
    torch::Tensor n = 0.1 * torch::randn({1, H, Dh, 1});   // (B, H, Dh, 1)
    torch::Tensor m = torch::zeros({1, H, 1, 1});          // (B, H, 1, 1)
    const torch::Tensor q = torch::randn({1, H, Dh, 1}), k = torch::randn({1, H, Dh, 1}),
                        v = torch::randn({1, H, Dh, 1});  // (B, H, Dh, 1)
    const torch::Tensor ig = torch::randn({1, H, 1, 1}), fg = torch::randn({1, H, 1, 1}) + 3.0;
    const double inv_sqrt_d = 1.0 / std::sqrt(static_cast<double>(Dh));
    for (auto _ : state) {
        const torch::Tensor lf = torch::log_sigmoid(fg);
        const torch::Tensor m_new = torch::maximum(lf + m, ig);
        const torch::Tensor fa = torch::exp(lf + m - m_new);
        const torch::Tensor ia = torch::exp(ig - m_new);
        const torch::Tensor ks = k * inv_sqrt_d;
        C = fa * C + ia * torch::matmul(ks, v.transpose(-1, -2));
        n = fa * n + ia * ks;
        m = m_new;
        const torch::Tensor num = torch::matmul(q.transpose(-1, -2), C);  // (B, H, 1, Dh)
        const torch::Tensor qn = torch::matmul(q.transpose(-1, -2), n);   // (B, H, 1, 1)
        const torch::Tensor h = num / (torch::maximum(qn.abs(), torch::exp(-m_new)) + 1e-6);
        benchmark::DoNotOptimize(h.data_ptr<float>());
    }
    state.SetLabel("B=1 H=" + std::to_string(H) + " Dh=" + std::to_string(Dh));
}
BENCHMARK(BM_mlstm_step_torch_ops)->Args({4, 64})->Args({16, 192})->Unit(benchmark::kMicrosecond);

// ---- CPU references of the sequence kernels (B=1, H=4, Dh=64) -------
void BM_mlstm_chunk_forward_cpu(benchmark::State& state) {
    const int T = static_cast<int>(state.range(0)), H = 4, Dh = 64, L = 64;
    const std::size_t n = static_cast<std::size_t>(H) * T * Dh;
    const std::vector<float> q = randn(n), k = randn(n + 1), v = randn(n + 2);
    const std::vector<float> ig = randn(static_cast<std::size_t>(H) * T),
                             fg = randn(static_cast<std::size_t>(H) * T + 1, 1.0f, 3.0f);
    std::vector<float> h(n);
    for (auto _ : state) {
        mlstm_chunk_forward_cpu(h.data(), nullptr, nullptr, nullptr, q.data(), k.data(), v.data(),
                                ig.data(), fg.data(), nullptr, nullptr, nullptr, 1, H, T, Dh, L,
                                kMlstmEps);
        benchmark::DoNotOptimize(h.data());
    }
    state.counters["tokens/s"] =
        benchmark::Counter(T, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_mlstm_chunk_forward_cpu)->Arg(512)->Arg(2048)->Unit(benchmark::kMillisecond);

void BM_attn_causal_cpu(benchmark::State& state) {
    const int T = static_cast<int>(state.range(0)), H = 4, Dh = 64;
    const int n_capture = static_cast<int>(state.range(1));
    const std::size_t n = static_cast<std::size_t>(H) * T * Dh;
    const std::vector<float> q = randn(n), k = randn(n + 1), v = randn(n + 2);
    std::vector<float> out(n), P(static_cast<std::size_t>(n_capture) * T * T);
    const std::vector<int> heads = {0, 1, 2, 3};
    for (auto _ : state) {
        attn_causal_forward_cpu(out.data(), n_capture ? P.data() : nullptr, q.data(), k.data(),
                                v.data(), heads.data(), n_capture, 1, H, H, T, Dh);
        benchmark::DoNotOptimize(out.data());
    }
}
BENCHMARK(BM_attn_causal_cpu)->Args({512, 0})->Args({512, 4})->Unit(benchmark::kMillisecond);

void BM_align_metrics_cpu(benchmark::State& state) {
    const int T = static_cast<int>(state.range(0)), Ht = 12, Hs = 16;
    const std::size_t tt = static_cast<std::size_t>(T) * T;
    std::vector<float> P = randn(Ht * tt), A = randn(Hs * tt + 1);
    for (float& x : P)
        x = std::fabs(x) / static_cast<float>(T);
    for (float& x : A)
        x = std::fabs(x) / static_cast<float>(T);
    std::vector<float> js(Ht * Hs), fr(Ht * Hs), pe(Ht * Hs);
    for (auto _ : state) {
        align_metrics_cpu(js.data(), fr.data(), pe.data(), P.data(), A.data(), nullptr, Ht, Hs, T);
        benchmark::DoNotOptimize(js.data());
    }
    state.SetLabel("Ht=12 Hs=16");
}
BENCHMARK(BM_align_metrics_cpu)->Arg(128)->Unit(benchmark::kMillisecond);

#if DXL_HAVE_CUDA
// ---- CUDA (skipped without a device) ----------------------------------------------------------
// Device buffer filled from host data; freed on scope exit.
class Dev {
  public:
    template <typename T>
    explicit Dev(const std::vector<T>& host) : m_ptr(cuda_malloc(host.size() * sizeof(T))) {
        cuda_copy_to_device(m_ptr, host.data(), host.size() * sizeof(T));
    }
    explicit Dev(std::size_t bytes) : m_ptr(cuda_malloc(bytes)) {}
    ~Dev() { cuda_free(m_ptr); }
    Dev(const Dev&) = delete;
    Dev& operator=(const Dev&) = delete;
    template <typename T>
    T* as() const {
        return static_cast<T*>(m_ptr);
    }

  private:
    void* m_ptr;
};

std::vector<std::uint16_t> to_bf16(const std::vector<float>& x) {
    std::vector<std::uint16_t> out(x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
        out[i] = float_to_bf16_bits(x[i]);
    return out;
}

// Widths as in check_gpu.sh: B=1, H=8, Dh=128 (d_model 1024); chunk 64.
constexpr int kGpuH = 8, kGpuDh = 128, kGpuL = 64;

void BM_mlstm_chunk_forward_cuda(benchmark::State& state) {
    if (!cuda_available()) return state.SkipWithError("no CUDA device");
    const int T = static_cast<int>(state.range(0));
    const bool bf16 = state.range(1) != 0;
    const int L = state.range(2) > 0 ? static_cast<int>(state.range(2)) : kGpuL;
    const std::size_t n = static_cast<std::size_t>(kGpuH) * T * kGpuDh;
    const std::vector<float> q = randn(n), k = randn(n + 1), v = randn(n + 2);
    Dev dig(randn(static_cast<std::size_t>(kGpuH) * T)),
        dfg(randn(static_cast<std::size_t>(kGpuH) * T + 1, 1.0f, 3.0f));
    Dev dq(q), dk(k), dv(v), dq16(to_bf16(q)), dk16(to_bf16(k)), dv16(to_bf16(v));
    const std::size_t slots = static_cast<std::size_t>(mlstm_chunk_slots(T, L)) * kGpuH;
    Dev dh(n * sizeof(float)), dC(slots * kGpuDh * kGpuDh * sizeof(float)),
        dn(slots * kGpuDh * sizeof(float)), dm(slots * sizeof(float));
    auto run = [&] {
        if (bf16)
            mlstm_chunk_forward_bf16_cuda(dh.as<float>(), dC.as<float>(), dn.as<float>(),
                                          dm.as<float>(), dq16.as<std::uint16_t>(),
                                          dk16.as<std::uint16_t>(), dv16.as<std::uint16_t>(),
                                          dig.as<float>(), dfg.as<float>(), nullptr, nullptr,
                                          nullptr, 1, kGpuH, T, kGpuDh, L, kMlstmEps, nullptr);
        else
            mlstm_chunk_forward_cuda(dh.as<float>(), dC.as<float>(), dn.as<float>(), dm.as<float>(),
                                     dq.as<float>(), dk.as<float>(), dv.as<float>(),
                                     dig.as<float>(), dfg.as<float>(), nullptr, nullptr, nullptr, 1,
                                     kGpuH, T, kGpuDh, L, kMlstmEps, nullptr);
    };
    run();
    cuda_synchronize();
    for (auto _ : state) {
        run();
        cuda_synchronize();
    }
    state.SetLabel(bf16 ? "bf16" : "fp32");
}
BENCHMARK(BM_mlstm_chunk_forward_cuda)
    ->ArgsProduct({{512, 2048, 8192, 32768, 65536}, {0, 1}, {0}})
    ->ArgsProduct({{8192}, {0}, {16, 32, 128}})  // chunk-size sweep (0 = kGpuL = 64)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Backward (gradients wrt q, k, v and both gates) at the same widths; fwd+bwd = this + forward.
void BM_mlstm_backward_cuda(benchmark::State& state) {
    if (!cuda_available()) return state.SkipWithError("no CUDA device");
    const int T = static_cast<int>(state.range(0));
    const std::size_t n = static_cast<std::size_t>(kGpuH) * T * kGpuDh;
    const std::size_t ng = static_cast<std::size_t>(kGpuH) * T;
    Dev dq(randn(n)), dk(randn(n + 1)), dv(randn(n + 2)), dg(randn(n + 3));
    Dev dig(randn(ng)), dfg(randn(ng + 1, 1.0f, 3.0f));
    Dev gq(n * sizeof(float)), gk(n * sizeof(float)), gv(n * sizeof(float)), gi(ng * sizeof(float)),
        gf(ng * sizeof(float));
    auto run = [&] {
        mlstm_backward_cuda(gq.as<float>(), gk.as<float>(), gv.as<float>(), gi.as<float>(),
                            gf.as<float>(), dg.as<float>(), dq.as<float>(), dk.as<float>(),
                            dv.as<float>(), dig.as<float>(), dfg.as<float>(), 1, kGpuH, T, kGpuDh,
                            kMlstmEps, nullptr);
    };
    run();
    cuda_synchronize();
    for (auto _ : state) {
        run();
        cuda_synchronize();
    }
    state.SetLabel("fp32");
}
BENCHMARK(BM_mlstm_backward_cuda)
    ->Arg(512)
    ->Arg(2048)
    ->Arg(8192)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_attn_causal_cuda(benchmark::State& state) {
    if (!cuda_available()) return state.SkipWithError("no CUDA device");
    const int T = static_cast<int>(state.range(0));
    const int n_capture = static_cast<int>(state.range(1));
    const std::size_t n = static_cast<std::size_t>(kGpuH) * T * kGpuDh;
    Dev dq(randn(n)), dk(randn(n + 1)), dv(randn(n + 2)), dout(n * sizeof(float));
    Dev dP(std::max<std::size_t>(static_cast<std::size_t>(n_capture) * T * T * 2, 2));
    const std::vector<int> heads = {0, 1, 2, 3};
    auto run = [&] {
        attn_causal_forward_cuda(dout.as<float>(), n_capture ? dP.as<std::uint16_t>() : nullptr,
                                 dq.as<float>(), dk.as<float>(), dv.as<float>(), heads.data(),
                                 n_capture, 1, kGpuH, kGpuH, T, kGpuDh, nullptr);
    };
    run();
    cuda_synchronize();
    for (auto _ : state) {
        run();
        cuda_synchronize();
    }
    state.SetLabel(n_capture ? "capture 1 head (fp16 P)" : "plain");
}
BENCHMARK(BM_attn_causal_cuda)
    ->ArgsProduct({{512, 2048, 8192, 16384}, {0}})
    ->Args({512, 1})
    ->Args({2048, 1})
    ->Args({8192, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_mlstm_step_cuda(benchmark::State& state) {
    if (!cuda_available()) return state.SkipWithError("no CUDA device");
    const int B = 1, H = static_cast<int>(state.range(0)), Dh = static_cast<int>(state.range(1));
    const std::size_t bh = static_cast<std::size_t>(B) * H;
    Dev dC(randn(bh * Dh * Dh, 0.1f)), dn(randn(bh * Dh, 0.1f)), dm(std::vector<float>(bh, 0.0f));
    Dev dh(bh * Dh * sizeof(float)), dq(randn(bh * Dh + 1)), dk(randn(bh * Dh + 2)),
        dv(randn(bh * Dh + 3)), dig(randn(bh + 4)), dfg(randn(bh + 5, 1.0f, 3.0f));
    for (auto _ : state) {
        mlstm_step_cuda(dC.as<float>(), dn.as<float>(), dm.as<float>(), dh.as<float>(),
                        dq.as<float>(), dk.as<float>(), dv.as<float>(), dig.as<float>(),
                        dfg.as<float>(), B, H, Dh, kMlstmEps, nullptr);
        cuda_synchronize();
    }
    state.SetLabel("B=1 H=" + std::to_string(H) + " Dh=" + std::to_string(Dh));
}
BENCHMARK(BM_mlstm_step_cuda)
    ->Args({4, 64})
    ->Args({16, 192})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// kSteps steps per iteration without a synchronisation between them: range(2) = 0 enqueues them
// on a stream, 1 replays them as one captured CUDA graph. Time per iteration / kSteps = time per
// step without the per-call host synchronisation (the figure to hold against the state's
// memory-traffic floor).
constexpr int kSteps = 256;
void BM_mlstm_step_cuda_burst(benchmark::State& state) {
    if (!cuda_available()) return state.SkipWithError("no CUDA device");
    const int B = 1, H = static_cast<int>(state.range(0)), Dh = static_cast<int>(state.range(1));
    const bool graph = state.range(2) != 0;
    const std::size_t bh = static_cast<std::size_t>(B) * H;
    Dev dC(randn(bh * Dh * Dh, 0.1f)), dn(randn(bh * Dh, 0.1f)), dm(std::vector<float>(bh, 0.0f));
    Dev dh(bh * Dh * sizeof(float)), dq(randn(bh * Dh + 1)), dk(randn(bh * Dh + 2)),
        dv(randn(bh * Dh + 3)), dig(randn(bh + 4)), dfg(randn(bh + 5, 1.0f, 3.0f));
    cudaStream_t stream = nullptr;
    cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
    auto enqueue = [&] {
        for (int s = 0; s < kSteps; ++s)
            mlstm_step_cuda(dC.as<float>(), dn.as<float>(), dm.as<float>(), dh.as<float>(),
                            dq.as<float>(), dk.as<float>(), dv.as<float>(), dig.as<float>(),
                            dfg.as<float>(), B, H, Dh, kMlstmEps, stream);
    };
    cudaGraphExec_t exec = nullptr;
    if (graph) {
        cudaGraph_t g = nullptr;
        cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal);
        enqueue();
        cudaStreamEndCapture(stream, &g);
        if (!g || cudaGraphInstantiate(&exec, g, 0) != cudaSuccess) {
            cudaStreamDestroy(stream);
            return state.SkipWithError("CUDA graph capture failed");
        }
        cudaGraphDestroy(g);
    }
    auto run = [&] {
        if (graph)
            cudaGraphLaunch(exec, stream);
        else
            enqueue();
        cudaStreamSynchronize(stream);
    };
    run();
    for (auto _ : state)
        run();
    if (exec) cudaGraphExecDestroy(exec);
    cudaStreamDestroy(stream);
    state.SetLabel(std::string(graph ? "graph" : "stream") + ", " + std::to_string(kSteps) +
                   " steps per iteration");
}
BENCHMARK(BM_mlstm_step_cuda_burst)
    ->ArgsProduct({{4}, {64}, {0, 1}})
    ->ArgsProduct({{16}, {192}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_align_metrics_cuda(benchmark::State& state) {
    if (!cuda_available()) return state.SkipWithError("no CUDA device");
    const int T = static_cast<int>(state.range(0)), Ht = 12, Hs = 16;
    const std::size_t tt = static_cast<std::size_t>(T) * T;
    std::vector<float> P = randn(Ht * tt), A = randn(Hs * tt + 1);
    for (float& x : P)
        x = std::fabs(x) / static_cast<float>(T);
    for (float& x : A)
        x = std::fabs(x) / static_cast<float>(T);
    Dev dP(P), dA(A), dj(Ht * Hs * sizeof(float)), df(Ht * Hs * sizeof(float)),
        dp(Ht * Hs * sizeof(float));
    for (auto _ : state) {
        align_metrics_cuda(dj.as<float>(), df.as<float>(), dp.as<float>(), dP.as<float>(),
                           dA.as<float>(), nullptr, Ht, Hs, T, nullptr);
        cuda_synchronize();
    }
    state.SetLabel("Ht=12 Hs=16");
}
BENCHMARK(BM_align_metrics_cuda)->Arg(512)->Arg(2048)->UseRealTime()->Unit(benchmark::kMillisecond);
#endif

}  // namespace
}  // namespace dxl::kernels
