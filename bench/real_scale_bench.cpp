// Real-scale benchmark: the inference rows of scripts/check_gpu.sh, run on whatever device
// DXL_BENCH_DEVICE names (default auto) with the models DXL_BENCH_TEACHER / DXL_BENCH_STUDENT
// name (default: the embedded tiny defaults, so the program also runs on a CPU build):
//   teacher_forward/T        plain forward, no capture (fused attention where available)
//   teacher_capture4/T       forward with layers 0-3 attention probabilities captured into an HDF5
//                            file (H5CaptureSink + writer thread), timed until the sample's copies
//                            have reached the writer
//   decode_teacher, decode_student   greedy decoding of 128 tokens after a 128-token prompt
//   mlstm_chunkwise_fwd/T, mlstm_chunkwise_fwdbwd/T   the student's chunkwise mLSTM cell
//                            (B=1, H=8, Dh=128 in the model dtype; the cell promotes to float32)
//   sdpa_fwd/T, sdpa_fwdbwd/T  LibTorch's fused causal attention at the same B, H, Dh, dtype
// Counters: tokens_per_s. Times are wall clock with a device synchronise per iteration.
// Run: DXL_BENCH_TEACHER=DIR DXL_BENCH_STUDENT=DIR DXL_BENCH_DTYPE=bf16
// build/bench/real_scale_bench
//      --benchmark_format=json
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "core/capture/h5_capture_sink.h"
#include "core/models/generate.h"
#include "core/models/mlstm_cell.h"
#include "core/models/registry.h"
#include "core/runtime/device.h"
#include "core/runtime/torch_compat.h"
#include "core/store/capture_writer.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : fallback;
}

struct Models {
    torch::Device device = torch::kCPU;
    torch::ScalarType dtype = torch::kFloat32;
    std::unique_ptr<dxl::models::LanguageModel> teacher, student;
};

Models& models() {
    static Models m = [] {
        Models r;
        r.device = dxl::runtime::resolve_device(env_or("DXL_BENCH_DEVICE", "auto"));
        dxl::models::LoadOptions lo;
        lo.device = r.device;
        lo.dtype = dxl::runtime::parse_dtype(env_or("DXL_BENCH_DTYPE", "auto"));
        const std::string data = DXL_SOURCE_DIR "/data/models/";
        r.teacher = dxl::models::load_model(env_or("DXL_BENCH_TEACHER", data + "tiny-teacher"), lo);
        r.student = dxl::models::load_model(env_or("DXL_BENCH_STUDENT", data + "tiny-student"), lo);
        r.teacher->module().eval();
        r.student->module().eval();
        r.dtype = r.teacher->module().parameters().front().scalar_type();
        return r;
    }();
    return m;
}

void sync(const torch::Device& d) {
    if (d.is_cuda()) torch::cuda::synchronize();
}

torch::Tensor random_tokens(int64_t T, int64_t vocab, const torch::Device& d) {
    torch::manual_seed(7);
    return torch::randint(0, vocab, {1, T}, torch::TensorOptions().dtype(torch::kInt64)).to(d);
}

// Runs fn once untimed, then times each iteration (manual time, device synchronised).
template <typename Fn>
void timed(benchmark::State& state, const torch::Device& d, int64_t tokens, Fn&& fn) {
    fn();
    sync(d);
    for (auto _ : state) {
        const auto t0 = Clock::now();
        fn();
        sync(d);
        state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    state.counters["tokens_per_s"] = benchmark::Counter(
        static_cast<double>(tokens), benchmark::Counter::kIsIterationInvariantRate);
}

int64_t clamp_context(int64_t T, const dxl::models::LanguageModel& m) {
    const int64_t ctx = m.info().context_length;
    return ctx > 0 ? std::min(T, ctx) : T;
}

void BM_teacher_forward(benchmark::State& state) {
    Models& m = models();
    const int64_t T = clamp_context(state.range(0), *m.teacher);
    const torch::Tensor tok = random_tokens(T, m.teacher->info().vocab_size, m.device);  // (1, T)
    torch::NoGradGuard no_grad;
    timed(state, m.device, T, [&] { m.teacher->forward(tok); });
}

void BM_teacher_capture4(benchmark::State& state) {
    Models& m = models();
    const int64_t T = clamp_context(state.range(0), *m.teacher);
    const torch::Tensor tok = random_tokens(T, m.teacher->info().vocab_size, m.device);  // (1, T)
    const std::string dir = (fs::temp_directory_path() / "dxl_real_scale_bench").string();
    fs::create_directories(dir);
    dxl::store::WriterOptions wo;
    wo.path = dir + "/capture4.h5";
    fs::remove(wo.path);
    fs::remove(wo.path + ".partial");
    dxl::store::CaptureWriter writer(wo);
    dxl::capture::H5SinkOptions so;
    so.teacher_layers = {0, 1, 2, 3};
    so.student_blocks = {-1};  // teacher only: the row compares with the teacher's forward
    so.state_positions = dxl::capture::StatePositions::None;
    dxl::capture::H5CaptureSink sink(&writer, so);
    torch::NoGradGuard no_grad;
    timed(state, m.device, T, [&] {
        writer.begin_sample();
        sink.reset_sample();
        m.teacher->forward(tok, {}, &sink);
        sink.finish_copies();
        writer.commit_sample();
    });
    writer.finish();
    fs::remove_all(dir);
}

void decode(benchmark::State& state, dxl::models::LanguageModel& model) {
    Models& m = models();
    const int64_t prompt_len = clamp_context(128, model), n_new = 128;
    const torch::Tensor prompt = random_tokens(prompt_len, model.info().vocab_size, m.device);
    dxl::models::GenerateOptions go;
    go.max_new_tokens = n_new;
    go.eos_token_id = -1;
    timed(state, m.device, n_new, [&] { dxl::models::generate(model, prompt, go); });
}
void BM_decode_teacher(benchmark::State& state) {
    decode(state, *models().teacher);
}
void BM_decode_student(benchmark::State& state) {
    decode(state, *models().student);
}

struct Qkv {
    torch::Tensor q, k, v;  // (1, H, T, Dh)
    torch::Tensor ig, fg;   // (1, H, T)
};
Qkv make_qkv(int64_t T, bool grad) {
    Models& m = models();
    const auto o = torch::TensorOptions().device(m.device).dtype(m.dtype).requires_grad(grad);
    torch::manual_seed(11);
    const int64_t H = 8, Dh = 128;
    Qkv x;
    x.q = torch::randn({1, H, T, Dh}, o);
    x.k = torch::randn({1, H, T, Dh}, o);
    x.v = torch::randn({1, H, T, Dh}, o);
    x.ig = torch::randn({1, H, T}, o);
    x.fg = (torch::randn({1, H, T}) + 3.0).to(o.device(), o.dtype()).set_requires_grad(grad);
    return x;
}

void mlstm(benchmark::State& state, bool backward) {
    Models& m = models();
    const int64_t T = state.range(0);
    Qkv x = make_qkv(T, backward);
    using dxl::models::mlstm::cell_precision;
    auto step = [&] {
        torch::Tensor h = dxl::models::mlstm::chunkwise(cell_precision(x.q), cell_precision(x.k),
                                                        cell_precision(x.v), cell_precision(x.ig),
                                                        cell_precision(x.fg), 64)
                              .h.to(m.dtype);  // (1, H, T, Dh)
        if (backward) h.sum().backward();
    };
    if (!backward) {
        torch::NoGradGuard no_grad;
        timed(state, m.device, T, step);
    } else {
        timed(state, m.device, T, step);
    }
}
void BM_mlstm_chunkwise_fwd(benchmark::State& state) {
    mlstm(state, false);
}
void BM_mlstm_chunkwise_fwdbwd(benchmark::State& state) {
    mlstm(state, true);
}

void sdpa(benchmark::State& state, bool backward) {
    Models& m = models();
    if (!dxl::compat::kHasFusedAttention || !m.device.is_cuda()) {
        state.SkipWithError("fused attention needs LibTorch >= 2.0 on CUDA");
        return;
    }
    const int64_t T = state.range(0);
    Qkv x = make_qkv(T, backward);
    auto step = [&] {
        torch::Tensor o = dxl::compat::fused_attention(x.q, x.k, x.v, true);  // (1, H, T, Dh)
        if (backward) o.sum().backward();
    };
    if (!backward) {
        torch::NoGradGuard no_grad;
        timed(state, m.device, T, step);
    } else {
        timed(state, m.device, T, step);
    }
}
void BM_sdpa_fwd(benchmark::State& state) {
    sdpa(state, false);
}
void BM_sdpa_fwdbwd(benchmark::State& state) {
    sdpa(state, true);
}

}  // namespace

BENCHMARK(BM_teacher_forward)->Arg(2048)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_teacher_capture4)->Arg(2048)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_decode_teacher)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_decode_student)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_mlstm_chunkwise_fwd)
    ->Arg(2048)
    ->Arg(8192)
    ->Arg(32768)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_mlstm_chunkwise_fwdbwd)
    ->Arg(2048)
    ->Arg(8192)
    ->Arg(32768)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sdpa_fwd)
    ->Arg(2048)
    ->Arg(8192)
    ->Arg(32768)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sdpa_fwdbwd)
    ->Arg(2048)
    ->Arg(8192)
    ->Arg(32768)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
