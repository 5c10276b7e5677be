// Cost of one KD step at the default sizes (byte-level Llama teacher d=128 x 4 layers,
// xLSTM student d=128, 4 blocks [sLSTM at 0, 2], 4 heads; B=8, T=128) against its parts measured
// separately: teacher forward (no grad) and student forward + backward. BM_TrainerStep runs the
// real trainer (data, loss assembly, logging) for a few steps; tokens/s are reported as counters.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <filesystem>

#include "core/capture/memory_sink.h"
#include "core/models/registry.h"
#include "core/runtime/runtime.h"
#include "core/train/losses.h"
#include "core/train/student.h"
#include "core/train/trainer.h"

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

}  // namespace

BENCHMARK(BM_TeacherForward)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_StudentForwardBackward)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_KdStepComposite)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_TrainerStep)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK_MAIN();
