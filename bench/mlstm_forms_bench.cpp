// Sequence-mixer benchmark: mLSTM chunkwise vs parallel vs recurrent vs causal softmax
// attention of equal width (naive and query-blocked), B=1, H=4, Dh=64, T = 128 ... 4096, plus the
// fp32 GEMM rate of this machine in the same run (for "chunkwise at >= 70 % of GEMM") and the
// teacher forward rate of a GPT-2-small shape at T=512.
//
// Run single-threaded: OPENBLAS_NUM_THREADS=1 build/bench/mlstm_forms_bench
// FLOP models (counters "GFLOPs"): attention 4*T^2*Dh*H (QK^T and PV, full square; the causal
// half is not subtracted), chunkwise 4*T*Dh*(L + Dh)*H (intra-chunk QK^T, AV; inter-chunk q C and
// K^T V per chunk), GEMM 2*N^3.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "core/io/json_config.h"
#include "core/models/architectures.h"
#include "core/models/generate.h"
#include "core/models/mlstm_cell.h"
#include "core/models/row_linear.h"
#include "core/runtime/runtime.h"

namespace {

constexpr int64_t kH = 4;
constexpr int64_t kDh = 64;

struct Inputs {
    torch::Tensor q, k, v;  // (1, H, T, Dh)
    torch::Tensor i, f;     // (1, H, T)
};

Inputs make_inputs(int64_t T) {
    torch::manual_seed(0);
    Inputs in;
    in.q = torch::randn({1, kH, T, kDh});
    in.k = torch::randn({1, kH, T, kDh});
    in.v = torch::randn({1, kH, T, kDh});
    in.i = torch::randn({1, kH, T});
    in.f = torch::randn({1, kH, T}) + 3.0;
    return in;
}

void set_flops(benchmark::State& state, double flops_per_iter) {
    state.counters["GFLOPs"] =
        benchmark::Counter(flops_per_iter * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// softmax(QK^T/sqrt(d) + causal mask) V with the full T x T score matrix.
void BM_attention_naive(benchmark::State& state) {
    const int64_t T = state.range(0);
    Inputs in = make_inputs(T);
    torch::NoGradGuard g;
    auto mask = torch::ones({T, T}, torch::kBool).triu(1);  // (T, T) true above the diagonal
    for (auto _ : state) {
        auto s =
            torch::matmul(in.q, in.k.transpose(-1, -2)) / std::sqrt(double(kDh));  // (1, H, T, T)
        s.masked_fill_(mask, -std::numeric_limits<float>::infinity());
        auto out = torch::matmul(torch::softmax(s, -1), in.v);  // (1, H, T, Dh)
        benchmark::DoNotOptimize(out.data_ptr<float>());
    }
    set_flops(state, 4.0 * T * T * kDh * kH);
}

// Query-blocked causal attention: blocks of 128 queries see only keys up to their last row.
void BM_attention_blocked(benchmark::State& state) {
    const int64_t T = state.range(0);
    const int64_t Bq = 128;
    Inputs in = make_inputs(T);
    torch::NoGradGuard g;
    auto out = torch::empty({1, kH, T, kDh});
    for (auto _ : state) {
        for (int64_t s0 = 0; s0 < T; s0 += Bq) {
            const int64_t s1 = std::min(T, s0 + Bq);
            auto qb = in.q.slice(2, s0, s1);  // (1, H, bq, Dh)
            auto kb = in.k.slice(2, 0, s1);   // (1, H, s1, Dh)
            auto sc =
                torch::matmul(qb, kb.transpose(-1, -2)) / std::sqrt(double(kDh));  // (1, H, bq, s1)
            auto rows = torch::arange(s0, s1).unsqueeze(1);
            auto cols = torch::arange(0, s1).unsqueeze(0);
            sc.masked_fill_(cols > rows, -std::numeric_limits<float>::infinity());
            out.slice(2, s0, s1).copy_(torch::matmul(torch::softmax(sc, -1), in.v.slice(2, 0, s1)));
        }
        benchmark::DoNotOptimize(out.data_ptr<float>());
    }
    set_flops(state, 4.0 * T * T * kDh * kH);
}

void BM_mlstm_parallel(benchmark::State& state) {
    const int64_t T = state.range(0);
    Inputs in = make_inputs(T);
    torch::NoGradGuard g;
    for (auto _ : state) {
        auto h = dxl::models::mlstm::parallel(in.q, in.k, in.v, in.i, in.f);
        benchmark::DoNotOptimize(h.data_ptr<float>());
    }
    set_flops(state, 4.0 * T * T * kDh * kH);
}

void BM_mlstm_chunkwise(benchmark::State& state) {
    const int64_t T = state.range(0);
    const int64_t L = state.range(1);
    Inputs in = make_inputs(T);
    torch::NoGradGuard g;
    for (auto _ : state) {
        auto r = dxl::models::mlstm::chunkwise(in.q, in.k, in.v, in.i, in.f, L);
        benchmark::DoNotOptimize(r.h.data_ptr<float>());
    }
    set_flops(state, 4.0 * T * kDh * (L + kDh) * kH);
}

void BM_mlstm_recurrent(benchmark::State& state) {
    const int64_t T = state.range(0);
    Inputs in = make_inputs(T);
    torch::NoGradGuard g;
    for (auto _ : state) {
        auto r = dxl::models::mlstm::recurrent(in.q, in.k, in.v, in.i, in.f);
        benchmark::DoNotOptimize(r.h.data_ptr<float>());
    }
    state.counters["us_per_token"] =
        benchmark::Counter(double(T) * 1e-6, benchmark::Counter::kIsIterationInvariantRate |
                                                 benchmark::Counter::kInvert);
}

// Parallel (arg 2 = 0) vs chunkwise L = 64 (arg 2 = 1) at T = arg 0 and head dim Dh = arg 1, H = 4:
// the measurements behind the `auto` form's (T, Dh) table (language_model.cpp).
void BM_mlstm_form_crossover(benchmark::State& state) {
    const int64_t T = state.range(0), Dh = state.range(1);
    torch::manual_seed(0);
    auto q = torch::randn({1, kH, T, Dh}), k = torch::randn({1, kH, T, Dh}),
         v = torch::randn({1, kH, T, Dh});                                  // (1, H, T, Dh)
    auto i = torch::randn({1, kH, T}), f = torch::randn({1, kH, T}) + 3.0;  // (1, H, T)
    torch::NoGradGuard g;
    for (auto _ : state) {
        auto h = state.range(2) == 0 ? dxl::models::mlstm::parallel(q, k, v, i, f)
                                     : dxl::models::mlstm::chunkwise(q, k, v, i, f, 64).h;
        benchmark::DoNotOptimize(h.data_ptr<float>());
    }
}

void BM_gemm(benchmark::State& state) {
    const int64_t N = state.range(0);
    torch::manual_seed(0);
    auto a = torch::randn({N, N});
    auto b = torch::randn({N, N});
    auto c = torch::empty({N, N});
    for (auto _ : state) {
        torch::matmul_out(c, a, b);
        benchmark::DoNotOptimize(c.data_ptr<float>());
    }
    set_flops(state, 2.0 * N * N * N);
}

// GPT-2-small shape (12 layers, d 768, 12 heads, vocab 50257) teacher forward, random weights.
void BM_teacher_gpt2_small(benchmark::State& state) {
    const int64_t T = state.range(0);
    nlohmann::json j = {{"model_type", "gpt2"},
                        {"vocab_size", 50257},
                        {"n_positions", 1024},
                        {"n_embd", 768},
                        {"n_layer", 12},
                        {"n_head", 12},
                        {"n_inner", nullptr},
                        {"activation_function", "gelu_new"},
                        {"layer_norm_epsilon", 1e-5},
                        {"tie_word_embeddings", true}};
    auto model = dxl::models::make_gpt2(dxl::io::JsonConfig(j, "gpt2-small-shape"), nullptr);
    model->module().eval();
    torch::NoGradGuard g;
    auto tokens = torch::randint(0, 50257, {1, T}, torch::kInt64);
    for (auto _ : state) {
        auto logits = model->forward(tokens);
        benchmark::DoNotOptimize(logits.data_ptr<float>());
    }
    state.counters["tokens_per_s"] =
        benchmark::Counter(double(T), benchmark::Counter::kIsIterationInvariantRate);
}

// Greedy decoding on the same shape: 16 prompt tokens, 32 new tokens per iteration; arg 0 runs
// the single-row products as GEMM (the path before row_linear), arg 1 as GEMV.
void BM_decode_gpt2_small(benchmark::State& state) {
    nlohmann::json j = {{"model_type", "gpt2"}, {"vocab_size", 50257}, {"n_positions", 1024},
                        {"n_embd", 768},        {"n_layer", 12},       {"n_head", 12}};
    auto model = dxl::models::make_gpt2(dxl::io::JsonConfig(j, "gpt2-small-shape"), nullptr);
    model->module().eval();
    dxl::models::set_row_gemv_enabled(state.range(0) != 0);
    auto prompt = torch::randint(0, 50257, {1, 16}, torch::kInt64);  // (1, 16)
    dxl::models::GenerateOptions go;
    go.max_new_tokens = 32;
    go.greedy = true;
    for (auto _ : state) {
        auto r = dxl::models::generate(*model, prompt, go);
        benchmark::DoNotOptimize(r.tokens.data_ptr<int64_t>());
    }
    dxl::models::set_row_gemv_enabled(true);
    state.counters["tokens_per_s"] =
        benchmark::Counter(32.0, benchmark::Counter::kIsIterationInvariantRate);
}

void seq_lengths(benchmark::internal::Benchmark* b) {
    for (int64_t T : {128, 256, 512, 1024, 2048, 4096})
        b->Arg(T);
    b->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_gemm)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_attention_naive)->Apply(seq_lengths);
BENCHMARK(BM_attention_blocked)->Apply(seq_lengths);
BENCHMARK(BM_mlstm_parallel)->Apply(seq_lengths);
BENCHMARK(BM_mlstm_chunkwise)
    ->ArgsProduct({{128, 256, 512, 1024, 2048, 4096}, {64}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_mlstm_chunkwise)
    ->ArgsProduct({{1024, 4096}, {32, 128}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_mlstm_recurrent)->Arg(128)->Arg(1024)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_teacher_gpt2_small)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_mlstm_form_crossover)
    ->ArgsProduct({{64, 128, 256, 512, 1024, 2048}, {64, 128, 256, 384, 512}, {0, 1}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_decode_gpt2_small)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
    dxl::runtime::configure({1});
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
