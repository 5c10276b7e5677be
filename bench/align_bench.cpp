// Alignment analysis benchmark: all head pairs of a 12-layer x 12-head teacher
// against a 6-block x 12-head student (ratio map, every block mLSTM: 12 layer pairs x 144 head
// pairs, all seven metrics) at T = 128...1024, one sample, one thread. Also the per-head
// statistics and the full layer x block cross matrix at T = 512. Results: bench/RESULTS.md
// (before/after: this program built from the previous commit, run alternately with this one).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "core/analysis/alignment.h"
#include "core/analysis/layer_map.h"
#include "core/models/mlstm_cell.h"

namespace {

using namespace dxl;

analysis::AlignmentInput make_input(int64_t T, int64_t L = 12, int64_t N = 6, int64_t H = 12) {
    torch::manual_seed(0);
    analysis::AlignmentInput in;
    in.tokens = torch::zeros({T}, torch::kInt64);
    in.mask = torch::ones({T}, torch::kBool);
    torch::Tensor causal = torch::ones({T, T}, torch::kBool).tril();  // (T, T)
    for (int64_t l = 0; l < L; ++l)
        in.teacher_attn.push_back(
            torch::softmax(torch::randn({H, T, T}).masked_fill(causal.logical_not(), -INFINITY),
                           -1));  // (H, T, T)
    for (int64_t b = 0; b < N; ++b) {
        in.student_attn.push_back(torch::randn({H, T, T}).tril());  // (H, T, T) raw signed A
        in.student_block_types.push_back("mlstm");
    }
    return in;
}

void BM_AlignRatioMap(benchmark::State& state) {
    at::set_num_threads(1);
    const int64_t T = state.range(0);
    std::vector<analysis::AlignmentInput> samples = {make_input(T)};
    analysis::LayerMap map = analysis::ratio_layer_map(12, samples[0].student_block_types);
    for (auto _ : state) {
        analysis::AlignmentReport r = analysis::align(samples, map, {});
        benchmark::DoNotOptimize(r.mean_alignment.mean);
    }
    state.counters["head_pairs"] = static_cast<double>(map.pairs.size() * 144);
}
BENCHMARK(BM_AlignRatioMap)
    ->Arg(128)
    ->Arg(256)
    ->Arg(512)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// The same at T = 512 on the portable (SSE2) pair kernel instead of the AVX2+FMA one.
void BM_AlignRatioMapPortableKernel(benchmark::State& state) {
    at::set_num_threads(1);
    std::vector<analysis::AlignmentInput> samples = {make_input(state.range(0))};
    analysis::LayerMap map = analysis::ratio_layer_map(12, samples[0].student_block_types);
    analysis::set_pair_kernel(analysis::PairKernel::Portable);
    for (auto _ : state)
        benchmark::DoNotOptimize(analysis::align(samples, map, {}).mean_alignment.mean);
    analysis::set_pair_kernel(analysis::PairKernel::Auto);
}
BENCHMARK(BM_AlignRatioMapPortableKernel)->Arg(512)->Unit(benchmark::kMillisecond)->Iterations(1);

// pair_metrics alone for one (layer, block): 144 head pairs.
void BM_PairMetricsOneLayerPair(benchmark::State& state) {
    at::set_num_threads(1);
    const int64_t T = state.range(0);
    analysis::AlignmentInput in = make_input(T, 1, 1);
    torch::Tensor a = models::mlstm::normalize_attention(in.student_attn[0]);  // (H, T, T)
    for (auto _ : state)
        benchmark::DoNotOptimize(analysis::pair_metrics(in.teacher_attn[0], a, in.mask));
}
BENCHMARK(BM_PairMetricsOneLayerPair)->Arg(128)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);

// The parts of align() at T: features of one layer (done once per teacher layer / student
// block), the pair metrics from features, per-head statistics of one layer, rollout of 12 layers.
void BM_PairFeaturesOneLayer(benchmark::State& state) {
    at::set_num_threads(1);
    analysis::AlignmentInput in = make_input(state.range(0), 1, 1);
    for (auto _ : state)
        benchmark::DoNotOptimize(analysis::pair_features(in.teacher_attn[0], in.mask).centred);
}
BENCHMARK(BM_PairFeaturesOneLayer)->Arg(512)->Unit(benchmark::kMillisecond);

void BM_PairMetricsFromFeatures(benchmark::State& state) {
    at::set_num_threads(1);
    analysis::AlignmentInput in = make_input(state.range(0), 1, 1);
    torch::Tensor a = models::mlstm::normalize_attention(in.student_attn[0]);  // (H, T, T)
    analysis::PairFeatures fp = analysis::pair_features(in.teacher_attn[0], in.mask);
    analysis::PairFeatures fa = analysis::pair_features(a, in.mask);
    for (auto _ : state)
        benchmark::DoNotOptimize(analysis::pair_metrics(fp, fa));
}
BENCHMARK(BM_PairMetricsFromFeatures)->Arg(512)->Unit(benchmark::kMillisecond);

void BM_HeadStatsOneLayer(benchmark::State& state) {
    at::set_num_threads(1);
    analysis::AlignmentInput in = make_input(state.range(0), 1, 1);
    for (auto _ : state)
        benchmark::DoNotOptimize(analysis::head_stats(in.teacher_attn[0], in.mask));
}
BENCHMARK(BM_HeadStatsOneLayer)->Arg(512)->Unit(benchmark::kMillisecond);

void BM_Rollout12(benchmark::State& state) {
    at::set_num_threads(1);
    analysis::AlignmentInput in = make_input(state.range(0), 12, 1);
    for (auto _ : state)
        benchmark::DoNotOptimize(analysis::rollout(in.teacher_attn, in.mask));
}
BENCHMARK(BM_Rollout12)->Arg(512)->Unit(benchmark::kMillisecond)->Iterations(1);

// Every teacher layer against every student block (72 layer pairs, 10368 head pairs).
void BM_AlignAllPairs(benchmark::State& state) {
    at::set_num_threads(1);
    std::vector<analysis::AlignmentInput> samples = {make_input(state.range(0))};
    analysis::LayerMap map = analysis::all_pairs_layer_map(12, samples[0].student_block_types);
    for (auto _ : state)
        benchmark::DoNotOptimize(analysis::align(samples, map, {}).mean_alignment.mean);
}
BENCHMARK(BM_AlignAllPairs)->Arg(512)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
