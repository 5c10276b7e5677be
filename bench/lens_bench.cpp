// Logit lens benchmark: the embedded tiny models' architectures (llama teacher, xlstm_v1
// student, width 128, random weights) deepened to a 24-layer teacher and a 12-block student
// (mLSTM blocks), T = 512, one thread. Compares one forward of both models with the whole lens
// computation of `dxl lens --topk 20` (both forwards with the residual stream kept, every layer
// read through the final norm and head, log-softmax, entropy, top-20 and the KL rows of the
// ratio map), without the HDF5 writes. Run once with the byte vocabulary (259, the embedded
// models) and once with GPT-2's (50257), where the read-out matmuls dominate.
//
// Run: OMP_NUM_THREADS=1 build/bench/lens_bench. Results: bench/RESULTS.md.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <fstream>

#include "core/analysis/layer_map.h"
#include "core/analysis/lens.h"
#include "core/io/json_config.h"
#include "core/models/architectures.h"

namespace {

using namespace dxl;

nlohmann::json read_config(const std::string& name) {
    std::ifstream f(std::string(DXL_SOURCE_DIR) + "/data/models/" + name + "/config.json");
    return nlohmann::json::parse(f);
}

struct Pair {
    std::unique_ptr<models::LanguageModel> teacher, student;
};

Pair make_models(int64_t vocab) {
    torch::manual_seed(0);
    nlohmann::json t = read_config("tiny-teacher");
    t["num_hidden_layers"] = 24;
    t["max_position_embeddings"] = 1024;
    t["vocab_size"] = vocab;
    nlohmann::json s = read_config("tiny-student");
    s["num_blocks"] = 12;
    s["slstm_at"] = nlohmann::json::array();
    s["vocab_size"] = vocab;
    s["mlstm_block"]["_num_blocks"] = 12;
    s["mlstm_block"]["mlstm"]["_num_blocks"] = 12;
    s["slstm_block"]["_num_blocks"] = 12;
    s["slstm_block"]["slstm"]["_num_blocks"] = 12;
    s.erase("_block_map");
    Pair p;
    p.teacher = models::make_llama(io::JsonConfig(t, "bench teacher"), nullptr);
    p.student = models::make_xlstm_v1(io::JsonConfig(s, "bench student"), nullptr);
    p.teacher->module().eval();
    p.student->module().eval();
    return p;
}

constexpr int64_t kT = 512;

void BM_ForwardBoth(benchmark::State& state) {
    at::set_num_threads(1);
    Pair p = make_models(state.range(0));
    torch::NoGradGuard no_grad;
    torch::Tensor tokens = torch::randint(0, state.range(0), {1, kT}, torch::kInt64);  // (1, T)
    models::ForwardOptions fo;
    for (auto _ : state) {
        benchmark::DoNotOptimize(p.teacher->forward(tokens, fo).sum().item<float>());
        benchmark::DoNotOptimize(p.student->forward(tokens, fo).sum().item<float>());
    }
}

void BM_LensBoth(benchmark::State& state) {
    at::set_num_threads(1);
    Pair p = make_models(state.range(0));
    torch::NoGradGuard no_grad;
    torch::Tensor tokens = torch::randint(0, state.range(0), {kT}, torch::kInt64);  // (T)
    const std::vector<std::string> all(12, "mlstm");
    analysis::LayerMap map = analysis::ratio_layer_map(24, all);
    models::ForwardOptions fo;
    for (auto _ : state) {
        analysis::Residuals tr = analysis::residual_stream(*p.teacher, tokens, fo);
        analysis::Residuals sr = analysis::residual_stream(*p.student, tokens, fo);
        std::vector<torch::Tensor> slp;
        for (const auto& h : sr.hidden)
            slp.push_back(analysis::read_layer(*p.student, h, 20).logprobs);
        double sum = 0;
        for (int64_t l = 0; l < 24; ++l) {
            analysis::LayerLens lens =
                analysis::read_layer(*p.teacher, tr.hidden[static_cast<size_t>(l)], 20);
            for (const auto& pr : map.pairs)
                if (pr.teacher_layer == l)
                    sum +=
                        analysis::kl_rows(lens.logprobs, slp[static_cast<size_t>(pr.student_block)])
                            .sum()
                            .item<double>();
        }
        benchmark::DoNotOptimize(sum);
    }
}

}  // namespace

BENCHMARK(BM_ForwardBoth)->Arg(259)->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK(BM_LensBoth)->Arg(259)->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK(BM_ForwardBoth)->Arg(50257)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_LensBoth)->Arg(50257)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_MAIN();
