// Capture store benchmark: GPT-2-small-shaped teacher (12 layers, 12 heads, width
// 768, vocab 50257, random weights) at T = 512 on one thread. Per repetition, interleaved in a
// rotating order: plain forward; in-memory capture of every attn_probs map (MemorySink, fp32
// clones); persisted capture through H5CaptureSink + CaptureWriter as fp16 + LZF (the default),
// fp16 + byte shuffle + LZF, and fp16 uncompressed. A persisted run is timed twice: until the
// forward returns (the writer thread works in parallel: "handoff") and until the sample is
// committed ("sync", no overlap at all). Figures are medians over the repetitions; file size is
// compared with the raw fp32 bytes of the maps (12 x 12 x 512^2 x 4 B = 144 MiB per sample).
//
// Run: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 build/bench/capture_bench [--reps=N via
// DXL_BENCH_REPS]
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "core/capture/h5_capture_sink.h"
#include "core/capture/memory_sink.h"
#include "core/io/json_config.h"
#include "core/models/architectures.h"
#include "core/runtime/runtime.h"
#include "core/store/capture_writer.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU time of the calling thread: robust to other processes loading the shared machine.
double thread_cpu() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Persisted {
    std::unique_ptr<dxl::store::CaptureWriter> writer;
    std::unique_ptr<dxl::capture::H5CaptureSink> sink;
    std::string path;
    std::vector<double> handoff, sync;
    std::vector<double> cpu;  // compute-thread CPU seconds per sample
};

Persisted make_persisted(const std::string& dir, const std::string& name, dxl::h5::Filter filter) {
    Persisted p;
    p.path = dir + "/" + name + ".h5";
    dxl::store::WriterOptions wo;
    wo.path = p.path;
    wo.filter = filter;
    p.writer = std::make_unique<dxl::store::CaptureWriter>(wo);
    dxl::capture::H5SinkOptions so;  // every layer and head, fp16, no student
    so.state_positions = dxl::capture::StatePositions::None;
    p.sink = std::make_unique<dxl::capture::H5CaptureSink>(p.writer.get(), so);
    return p;
}

void BM_capture_gpt2_small(benchmark::State& state) {
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
    torch::NoGradGuard no_grad;
    const torch::Tensor tokens = torch::randint(0, 50257, {1, T}, torch::kInt64);  // (1, T)

    const std::string dir =
        (fs::temp_directory_path() / ("dxl_capture_bench_" + std::to_string(::getpid()))).string();
    fs::create_directories(dir);
    std::vector<Persisted> persisted;
    persisted.push_back(make_persisted(dir, "lzf", dxl::h5::Filter::Lzf));
    persisted.push_back(make_persisted(dir, "shuffle-lzf", dxl::h5::Filter::ShuffleLzf));
    persisted.push_back(make_persisted(dir, "f16", dxl::h5::Filter::None));
    const int n_modes = 2 + static_cast<int>(persisted.size());
    std::vector<double> plain, memory, plain_cpu, memory_cpu;

    int rep = 0;
    for (auto _ : state) {
        for (int k = 0; k < n_modes; ++k) {
            const int mode = (k + rep) % n_modes;  // rotate the order every repetition
            if (mode == 0) {
                const auto t0 = Clock::now();
                const double c0 = thread_cpu();
                auto logits = model->forward(tokens);  // (1, T, V)
                plain_cpu.push_back(thread_cpu() - c0);
                plain.push_back(seconds_since(t0));
                benchmark::DoNotOptimize(logits.data_ptr<float>());
            } else if (mode == 1) {
                dxl::capture::MemorySink sink({dxl::capture::point::kAttnProbs});
                const auto t0 = Clock::now();
                const double c0 = thread_cpu();
                auto logits = model->forward(tokens, {}, &sink);  // (1, T, V)
                memory_cpu.push_back(thread_cpu() - c0);
                memory.push_back(seconds_since(t0));
                benchmark::DoNotOptimize(logits.data_ptr<float>());
            } else {
                Persisted& p = persisted[static_cast<size_t>(mode - 2)];
                const auto t0 = Clock::now();
                const double c0 = thread_cpu();
                p.writer->begin_sample();
                auto logits = model->forward(tokens, {}, p.sink.get());  // (1, T, V)
                p.writer->commit_sample();
                p.cpu.push_back(thread_cpu() - c0);
                p.handoff.push_back(seconds_since(t0));
                p.writer->drain();
                p.sync.push_back(seconds_since(t0));
                benchmark::DoNotOptimize(logits.data_ptr<float>());
            }
        }
        ++rep;
    }
    const double base = median(plain);
    state.counters["reps"] = rep;
    state.counters["plain_s"] = base;
    state.counters["memory_pct"] = 100.0 * (median(memory) / base - 1.0);
    const double base_cpu = median(plain_cpu);
    state.counters["plain_cpu_s"] = base_cpu;
    state.counters["memory_cpu_pct"] = 100.0 * (median(memory_cpu) / base_cpu - 1.0);
    for (auto& p : persisted) {
        p.writer->finish();
        const std::string tag = fs::path(p.path).stem().string();
        const dxl::store::WriterStats st = p.writer->stats();
        state.counters[tag + "_handoff_pct"] = 100.0 * (median(p.handoff) / base - 1.0);
        state.counters[tag + "_sync_pct"] = 100.0 * (median(p.sync) / base - 1.0);
        state.counters[tag + "_size_pct_of_fp32"] =
            100.0 * static_cast<double>(fs::file_size(p.path)) / static_cast<double>(st.fp32_bytes);
        state.counters[tag + "_writer_GBps_fp32eq"] =
            static_cast<double>(st.fp32_bytes) / 1e9 / st.busy_seconds;
        // Compute-thread CPU overhead (the writer on a free core), and the same plus the writer's
        // CPU per sample (no free core: the worst case on a single core).
        const double writer_cpu = st.busy_cpu_seconds / static_cast<double>(st.committed);
        state.counters[tag + "_cpu_pct"] = 100.0 * (median(p.cpu) / base_cpu - 1.0);
        state.counters[tag + "_cpu_plus_writer_pct"] =
            100.0 * ((median(p.cpu) + writer_cpu) / base_cpu - 1.0);
        state.counters[tag + "_writer_cpu_GBps_fp32eq"] =
            static_cast<double>(st.fp32_bytes) / 1e9 / st.busy_cpu_seconds;
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
}

int reps() {
    const char* e = std::getenv("DXL_BENCH_REPS");
    return e ? std::max(1, std::atoi(e)) : 10;
}

BENCHMARK(BM_capture_gpt2_small)->Arg(512)->Iterations(reps())->Unit(benchmark::kSecond);

}  // namespace

int main(int argc, char** argv) {
    dxl::runtime::configure({1});
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
