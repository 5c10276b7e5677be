// Cost of one KD step at the default sizes (byte-level Llama teacher d=128 x 4 layers, xLSTM
// student d=128, 4 blocks [sLSTM at 0, 2], 4 heads; B=8, T=128) against its parts measured
// separately: teacher forward (no grad) and student forward + backward. BM_TrainerStep runs the
// real trainer (data, loss assembly, logging) for a few steps; tokens/s are reported as counters.
// The CE + KD pair is measured both plain (full-vocabulary temporaries) and chunked (the trainer's
// vocab_losses), side by side in one run.
//
// Real shapes (GPU check): with DXL_BENCH_TEACHER=DIR (a teacher model folder, e.g. random
// Qwen2.5-0.5B-shaped weights), BM_real_scale_distill_step runs the trainer with the paper student
// for that teacher: B = 8, T = 512, "bf16-mixed", on DXL_BENCH_DEVICE (default auto), and reports
// tokens/s and model FLOPs utilisation (see BM_real_scale_distill_step below).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "app/cli/train_device.h"
#include "core/capture/memory_sink.h"
#include "core/models/registry.h"
#include "core/runtime/runtime.h"
#include "core/train/losses.h"
#include "core/train/run_log.h"
#include "core/train/student.h"
#include "core/train/trainer.h"
#include "core/train/vocab_losses.h"

namespace fs = std::filesystem;
using namespace dxl;

namespace {

constexpr int64_t kB = 8, kT = 128;

nlohmann::json teacher_config() {
    return {{"model_type", "llama"},        {"vocab_size", 259},
            {"hidden_size", 128},           {"intermediate_size", 384},
            {"num_hidden_layers", 4},       {"num_attention_heads", 4},
            {"num_key_value_heads", 4},     {"max_position_embeddings", 256},
            {"rms_norm_eps", 1e-5},         {"rope_theta", 10000.0},
            {"tie_word_embeddings", false}, {"tokenizer_class", "dxl-byte"}};
}

train::StudentSpec student_spec() {
    train::StudentSpec s;
    s.overrides = {{"num_blocks", 4},
                   {"slstm_at", {0, 2}},
                   {"mlstm_block", {{"mlstm", {{"num_heads", 4}, {"qkv_proj_blocksize", 4}}}}},
                   {"slstm_block", {{"slstm", {{"num_heads", 4}}}}}};
    return s;
}

struct Models {
    std::unique_ptr<models::LanguageModel> teacher, student;
    torch::Tensor tokens, targets, mask;  // (B, T)
};

Models& models_once() {
    static Models m = [] {
        runtime::RuntimeOptions ro;
        runtime::configure(ro);
        torch::manual_seed(0);
        Models r;
        r.teacher = models::build_model(io::JsonConfig(teacher_config(), "bench teacher"), nullptr);
        for (auto& p : r.teacher->module().parameters())
            p.set_requires_grad(false);
        r.student = train::make_student(*r.teacher, student_spec(), nullptr);
        r.tokens = torch::randint(0, 256, {kB, kT}, torch::kInt64);
        r.targets = torch::randint(0, 256, {kB, kT}, torch::kInt64);
        r.mask = torch::ones({kB, kT}, torch::kBool);
        return r;
    }();
    return m;
}

void BM_TeacherForward(benchmark::State& state) {
    auto& m = models_once();
    torch::NoGradGuard ng;
    for (auto _ : state)
        benchmark::DoNotOptimize(m.teacher->forward(m.tokens));
    state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(kB * kT),
                                                    benchmark::Counter::kIsIterationInvariantRate);
}

void BM_StudentForwardBackward(benchmark::State& state) {
    auto& m = models_once();
    for (auto _ : state) {
        torch::Tensor loss = train::loss_ce(m.student->forward(m.tokens), m.targets, m.mask);
        loss.backward();
        for (auto& p : m.student->module().parameters())
            p.mutable_grad() = torch::Tensor();
    }
    state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(kB * kT),
                                                    benchmark::Counter::kIsIterationInvariantRate);
}

// The paper recipe's step without the trainer around it: teacher forward with hidden capture,
// student forward with graph-keeping hidden capture, CE + T^2 KL + avg-all Frobenius, backward.
void BM_KdStepComposite(benchmark::State& state) {
    auto& m = models_once();
    namespace pt = capture::point;
    for (auto _ : state) {
        capture::MemorySink ts({pt::kHidden, pt::kFinalHidden});
        torch::Tensor zt;  // (B, T, V)
        {
            torch::NoGradGuard ng;
            zt = m.teacher->forward(m.tokens, {}, &ts);
        }
        train::GraphSink ss({pt::kFinalHidden});
        torch::Tensor zs = m.student->forward(m.tokens, {}, &ss);  // (B, T, V)
        std::vector<torch::Tensor> th;
        for (int l = 0; l < 3; ++l)
            th.push_back(ts.values().at(capture::CaptureKey{"teacher", l, pt::kHidden}.path()));
        th.push_back(ts.values().at("teacher/final_hidden"));
        torch::Tensor loss = 0.2 * train::loss_ce(zs, m.targets, m.mask) +
                             0.7 * train::loss_kd(zs, zt, 2.0, m.mask) +
                             0.1 * train::loss_hidden(train::HiddenMode::AvgAll, th, {},
                                                      ss.get("student/final_hidden"), m.mask);
        loss.backward();
        for (auto& p : m.student->module().parameters())
            p.mutable_grad() = torch::Tensor();
    }
    state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(kB * kT),
                                                    benchmark::Counter::kIsIterationInvariantRate);
}

// The same step with CE + KD through the chunked vocab_losses (what the trainer runs).
void BM_KdStepChunked(benchmark::State& state) {
    auto& m = models_once();
    namespace pt = capture::point;
    for (auto _ : state) {
        capture::MemorySink ts({pt::kHidden, pt::kFinalHidden});
        torch::Tensor zt;  // (B, T, V)
        {
            torch::NoGradGuard ng;
            zt = m.teacher->forward(m.tokens, {}, &ts);
        }
        train::GraphSink ss({pt::kFinalHidden});
        torch::Tensor zs = m.student->forward(m.tokens, {}, &ss);  // (B, T, V)
        std::vector<torch::Tensor> th;
        for (int l = 0; l < 3; ++l)
            th.push_back(ts.values().at(capture::CaptureKey{"teacher", l, pt::kHidden}.path()));
        th.push_back(ts.values().at("teacher/final_hidden"));
        train::VocabLossOptions vo;
        vo.temperature = 2.0;
        train::VocabLosses vl = train::vocab_losses(zs, zt, m.targets, m.mask, m.mask, vo);
        torch::Tensor loss = 0.2 * vl.ce + 0.7 * vl.kl +
                             0.1 * train::loss_hidden(train::HiddenMode::AvgAll, th, {},
                                                      ss.get("student/final_hidden"), m.mask);
        loss.backward();
        for (auto& p : m.student->module().parameters())
            p.mutable_grad() = torch::Tensor();
    }
    state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(kB * kT),
                                                    benchmark::Counter::kIsIterationInvariantRate);
}

// CE + T^2 KL forward + backward alone at a larger vocabulary (range(0) = V, 1024 tokens):
// plain (range(1) = 0) vs chunked (1).
void BM_VocabLosses(benchmark::State& state) {
    const int64_t V = state.range(0), N = 1024;
    const bool chunked = state.range(1) != 0;
    torch::manual_seed(0);
    torch::Tensor zs = torch::randn({1, N, V}).requires_grad_(true);  // (1, N, V)
    torch::Tensor zt = torch::randn({1, N, V});                       // (1, N, V)
    torch::Tensor y = torch::randint(0, V, {1, N}, torch::kInt64);
    torch::Tensor mask = torch::ones({1, N}, torch::kBool);
    for (auto _ : state) {
        torch::Tensor loss;
        if (chunked) {
            train::VocabLossOptions vo;
            vo.temperature = 2.0;
            auto vl = train::vocab_losses(zs, zt, y, mask, mask, vo);
            loss = vl.ce + vl.kl;
        } else {
            loss = train::loss_ce(zs, y, mask) + train::loss_kd(zs, zt, 2.0, mask);
        }
        loss.backward();
        zs.mutable_grad() = torch::Tensor();
    }
    state.counters["tokens/s"] =
        benchmark::Counter(static_cast<double>(N), benchmark::Counter::kIsIterationInvariantRate);
}

// The full trainer (data pipeline, schedules, AdamW, per-step run-log record) for 10 steps per
// iteration on fortunes (or MQAR when the corpus is missing).
void BM_TrainerStep(benchmark::State& state) {
    auto& m = models_once();
    const std::string dir = (fs::temp_directory_path() / "dxl_distill_bench").string();
    fs::remove_all(dir);
    train::save_model_dir(*m.teacher, teacher_config(), dir + "/teacher", true);
    const std::string spec = fs::exists("/usr/share/games/fortunes") ? "fortunes+mqar@0.1" : "mqar";
    int64_t run = 0;
    const int64_t steps = 10;
    for (auto _ : state) {
        train::RunConfig c = train::parse_run_config(
            {{"preset", "distil-xlstm"},
             {"teacher", dir + "/teacher"},
             {"student", {{"overrides", student_spec().overrides}}},
             {"data", {{"spec", spec}, {"seq_len", kT}, {"max_documents", 3000}}},
             {"batch_size", kB},
             {"eval_every", 0},
             {"ckpt_every", 0},
             {"eval_batches", 1},
             {"out_dir", dir + "/run" + std::to_string(run++)},
             {"stage_overrides", {{"steps", steps}}}},
            "bench");
        train::run_training(c, {});
    }
    state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(steps * kB * kT),
                                                    benchmark::Counter::kIsIterationInvariantRate);
    state.counters["steps"] = static_cast<double>(steps);
    fs::remove_all(dir);
}

// Parameters that do arithmetic per token: everything but the input embedding tables (lookups).
// The LM heads count (a tied head reuses the embedding matrix, so it is counted through it).
// trainable_only: those that get a weight gradient.
double matmul_params(models::LanguageModel& m, bool trainable_only = false) {
    double n = 0;
    for (const auto& p : m.module().named_parameters()) {
        if (trainable_only && !p.value().requires_grad()) continue;
        const std::string& k = p.key();
        const bool input_table = k.find("embed_tokens") != std::string::npos ||
                                 k.find("token_embedding") != std::string::npos ||
                                 k.find("wte") != std::string::npos ||
                                 k.find("wpe") != std::string::npos;
        if (!input_table) n += static_cast<double>(p.value().numel());
    }
    if (m.info().tied_embeddings && !trainable_only)
        n += static_cast<double>(m.info().vocab_size * m.info().d_model);
    return n;
}

// Real-shape distill step: `dxl distill` itself (trainer, data, losses, AdamW, run log) with the
// teacher of DXL_BENCH_TEACHER and its paper student, B = 8, T = 512, bf16-mixed, for
// DXL_BENCH_STEPS (default 12) steps; the first 2 steps (warm-up, allocator growth) are dropped
// and the median of the logged per-step tokens/s is reported. Model FLOPs per token =
// 2 N_teacher (forward) + 4 N_student (forward + input gradients) + 2 N_student,trainable (weight
// gradients), N = parameters doing matrix products (input embedding tables excluded, LM heads
// included; the frozen copied LM head gets no weight gradient). Attention and mLSTM
// sequence-mixing terms are not counted, which understates the work by a few % at T = 512. MFU =
// tokens/s x FLOPs per token / peak, peak = DXL_BENCH_PEAK_TFLOPS (default 989: H100/H200 SXM dense
// bf16).
void BM_real_scale_distill_step(benchmark::State& state) {
    const char* teacher_dir = std::getenv("DXL_BENCH_TEACHER");
    const char* dev = std::getenv("DXL_BENCH_DEVICE");
    const char* steps_env = std::getenv("DXL_BENCH_STEPS");
    const char* peak_env = std::getenv("DXL_BENCH_PEAK_TFLOPS");
    const int64_t steps = steps_env ? std::max<long>(3, std::atol(steps_env)) : 12;
    const double peak = (peak_env ? std::atof(peak_env) : 989.0) * 1e12;
    const int64_t B = 8, T = 512;
    const std::string device = cli::training_device(dev && *dev ? dev : "auto", 0);
    const std::string out = (fs::temp_directory_path() / "dxl_real_distill_bench").string();
    double tps = 0, flops_per_token = 0;
    for (auto _ : state) {
        fs::remove_all(out);
        train::RunConfig c = train::parse_run_config(
            {{"preset", "distil-xlstm"},
             {"teacher", teacher_dir},
             {"student", {{"preset", "paper"}}},
             {"data", {{"spec", "mqar"}, {"seq_len", T}, {"max_documents", 64 * B}}},
             {"batch_size", B},
             {"eval_every", 0},
             {"ckpt_every", 0},
             {"eval_batches", 1},
             {"precision", "bf16-mixed"},
             {"out_dir", out},
             {"stage_overrides", {{"steps", steps}}}},
            "real distill bench");
        train::TrainOptions o;
        o.device = device;
        train::TrainOutcome r = train::run_training(c, o);
        std::vector<double> rates;
        for (const auto& rec : train::read_run_log(r.log_path).records)
            if (rec["kind"] == "train" && rec["step"].get<int64_t>() > 2)
                rates.push_back(rec["metrics"]["tokens_per_s"].get<double>());
        std::sort(rates.begin(), rates.end());
        tps = rates.empty() ? 0 : rates[rates.size() / 2];
        auto teacher = models::load_model(teacher_dir);
        auto student = models::load_model(r.final_model_dir);
        flops_per_token = 2 * matmul_params(*teacher) + 4 * matmul_params(*student) +
                          2 * matmul_params(*student, true);
    }
    const double mfu = tps * flops_per_token / peak;
    // Counter names as scripts/check_gpu.sh reads them from --benchmark_format=json.
    state.counters["tokens_per_s"] = tps;
    state.counters["mfu"] = mfu;
    state.counters["gflop_per_token"] = flops_per_token / 1e9;
    std::fprintf(stderr,
                 "distill_step device=%s B=%lld T=%lld precision=bf16-mixed tokens_per_s=%.1f "
                 "gflop_per_token=%.3f mfu=%.4f peak_tflops=%.0f\n",
                 device.c_str(), static_cast<long long>(B), static_cast<long long>(T), tps,
                 flops_per_token / 1e9, mfu, peak / 1e12);
    fs::remove_all(out);
}

}  // namespace

BENCHMARK(BM_TeacherForward)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_StudentForwardBackward)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_KdStepComposite)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_KdStepChunked)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_VocabLosses)
    ->Args({32768, 0})
    ->Args({32768, 1})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);
BENCHMARK(BM_TrainerStep)->Unit(benchmark::kMillisecond)->Iterations(2);

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (std::getenv("DXL_BENCH_TEACHER"))  // real shapes only when a teacher folder is given
        benchmark::RegisterBenchmark("BM_real_scale_distill_step", BM_real_scale_distill_step)
            ->Unit(benchmark::kMillisecond)
            ->Iterations(1);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
