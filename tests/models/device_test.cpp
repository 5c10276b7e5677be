// Device and precision: --device / --dtype resolution and refusals, and every golden model
// directory loaded through models::load_model on the test device (DXL_TEST_DEVICE, cpu when
// unset) in float32 at the golden tolerances and in bf16 at the tolerances of docs/gpu.md.
// Also: capture points of a bf16 model stay float32 where docs/gpu.md says so, greedy decoding
// on the device equals the CPU, and the fused attention path (LibTorch >= 2.0 on CUDA) equals
// the explicit one.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "core/base/error.h"
#include "core/capture/memory_sink.h"
#include "core/models/generate.h"
#include "core/models/registry.h"
#include "core/models/transformer_common.h"
#include "core/runtime/device.h"
#include "core/runtime/torch_compat.h"
#include "core/store/h5.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace dxl {
namespace {

torch::Device test_device() {
    const char* env = std::getenv("DXL_TEST_DEVICE");
    return runtime::resolve_device(env != nullptr && *env != '\0' ? env : "cpu");
}

struct GoldenCase {
    const char* dir;  // under tests/data/golden/models
    bool teacher;
};
const GoldenCase kCases[] = {{"gpt2_2600", true},
                             {"llama_gqa_2710", true},
                             {"llama_mha_2700", true},
                             {"xlstm_lm_2520", false}};

// Records the dtype each capture point arrives in (MemorySink converts to float32 on the host).
class DtypeSink : public capture::CaptureSink {
  public:
    bool wants(const capture::CaptureKey& key) override {
        return key.point == capture::point::kMlstmIgatePre ||
               key.point == capture::point::kMlstmH || key.point == capture::point::kMlstmQ;
    }
    bool observe(const capture::CaptureKey& key, const torch::Tensor& value) override {
        dtypes[key.path()] = value.scalar_type();
        return true;
    }
    std::map<std::string, torch::ScalarType> dtypes;
};

struct CaseRun {
    torch::Tensor logits;  // (T, V) float32 on the CPU
    capture::MemorySink sink{
        {capture::point::kAttnProbs, capture::point::kMlstmIgatePre, capture::point::kMlstmH}};
};

CaseRun run_case(const GoldenCase& c, const models::LoadOptions& lo, const torch::Tensor& tokens) {
    CaseRun r;
    auto model = models::load_model(test::data_path(std::string("golden/models/") + c.dir), lo);
    for (const auto& p : model->module().parameters()) {
        EXPECT_EQ(p.device(), lo.device) << c.dir;
        EXPECT_EQ(p.scalar_type(), lo.dtype.value_or(torch::kFloat32)) << c.dir;
    }
    torch::NoGradGuard no_grad;
    model->module().eval();
    torch::Tensor out = model->forward(tokens.unsqueeze(0).to(lo.device), {}, &r.sink);
    EXPECT_EQ(out.scalar_type(), torch::kFloat32) << c.dir << ": logits are returned in float32";
    r.logits = out[0].to(torch::kCPU);
    return r;
}

TEST(Device, ResolvesAndRefuses) {
    EXPECT_TRUE(runtime::resolve_device("cpu").is_cpu());
    EXPECT_THROW(runtime::resolve_device("gpu"), UsageError);
    EXPECT_THROW(runtime::resolve_device("cuda:x"), UsageError);
    EXPECT_THROW(runtime::resolve_device("cuda:"), UsageError);
    if (runtime::cuda_device_count() == 0) {
        EXPECT_TRUE(runtime::resolve_device("auto").is_cpu());
        try {
            runtime::resolve_device("cuda");
            FAIL() << "cuda accepted without a device";
        } catch (const UnsupportedError& e) {
            EXPECT_NE(std::string(e.what()).find("--device cpu"), std::string::npos) << e.what();
        }
        EXPECT_THROW(runtime::resolve_device("cuda:0"), UnsupportedError);
    } else {
        EXPECT_TRUE(runtime::resolve_device("auto").is_cuda());
        EXPECT_THROW(
            runtime::resolve_device("cuda:" + std::to_string(runtime::cuda_device_count())),
            UnsupportedError);
    }
    EXPECT_FALSE(runtime::describe_devices().empty());
}

TEST(Device, DtypeChoices) {
    EXPECT_FALSE(runtime::parse_dtype("auto").has_value());
    EXPECT_EQ(*runtime::parse_dtype("bf16"), torch::kBFloat16);
    EXPECT_EQ(*runtime::parse_dtype("fp32"), torch::kFloat32);
    EXPECT_EQ(*runtime::parse_dtype("fp16"), torch::kFloat16);
    EXPECT_THROW(runtime::parse_dtype("f16"), UsageError);
    const torch::Device cpu(torch::kCPU), cuda(torch::kCUDA, 0);
    // auto: float32 on the CPU whatever the checkpoint, the checkpoint's dtype on a GPU.
    EXPECT_EQ(runtime::resolve_dtype(std::nullopt, cpu, torch::kBFloat16), torch::kFloat32);
    EXPECT_EQ(runtime::resolve_dtype(std::nullopt, cuda, torch::kBFloat16), torch::kBFloat16);
    EXPECT_EQ(runtime::resolve_dtype(std::nullopt, cuda, torch::kFloat32), torch::kFloat32);
    EXPECT_EQ(runtime::resolve_dtype(torch::kBFloat16, cpu, torch::kFloat32), torch::kBFloat16);
    EXPECT_THROW(runtime::resolve_dtype(torch::kFloat16, cpu, torch::kFloat32), UnsupportedError);
}

// float32 on the test device reproduces the goldens at their own tolerances.
TEST(Device, GoldenModelsFloat32) {
    models::LoadOptions lo;
    lo.device = test_device();
    for (const GoldenCase& c : kCases) {
        h5::File f(test::data_path(std::string("golden/models/") + c.dir + "/expected.h5"),
                   h5::File::Mode::ReadOnly);
        const torch::Tensor tokens = test::read_tensor(f.root(), "tokens", torch::kInt64);  // (T)
        const torch::Tensor golden = test::read_tensor(f.root(), "logits");  // (T, V)
        const double tol = f.root().attr_double("tolerance_logits_abs");
        CaseRun r = run_case(c, lo, tokens);
        EXPECT_LE(test::max_abs_diff(r.logits, golden), tol) << c.dir;
        if (c.teacher) {
            const torch::Tensor a0 = test::read_tensor(f.root(), "attn_probs/layer_00");
            const torch::Tensor got = r.sink.values().at("teacher/layer_00/attn_probs")[0];
            EXPECT_LE(test::max_abs_diff(got, a0), f.root().attr_double("tolerance_attn_abs"))
                << c.dir;
        }
    }
}

// bf16 weights and activations, float32 islands (docs/gpu.md): logits within 0.1 + 2 % of
// their range, attention within 0.02, the same top-1 token at >= 90 % of positions.
TEST(Device, GoldenModelsBf16) {
    models::LoadOptions lo;
    lo.device = test_device();
    lo.dtype = torch::kBFloat16;
    for (const GoldenCase& c : kCases) {
        h5::File f(test::data_path(std::string("golden/models/") + c.dir + "/expected.h5"),
                   h5::File::Mode::ReadOnly);
        const torch::Tensor tokens = test::read_tensor(f.root(), "tokens", torch::kInt64);  // (T)
        const torch::Tensor golden = test::read_tensor(f.root(), "logits");  // (T, V)
        CaseRun r = run_case(c, lo, tokens);
        const double scale = golden.abs().max().item<double>();
        const double diff = test::max_abs_diff(r.logits, golden);
        const double agree =
            (r.logits.argmax(-1) == golden.argmax(-1)).to(torch::kFloat64).mean().item<double>();
        std::printf(
            "[ bf16 ] %-15s logits max|diff| %.4f (max|logit| %.2f), top-1 agreement "
            "%.3f\n",
            c.dir, diff, scale, agree);
        EXPECT_LE(diff, 0.1 + 0.02 * scale) << c.dir;
        EXPECT_GE(agree, 0.9) << c.dir;
        if (c.teacher) {
            const torch::Tensor a0 = test::read_tensor(f.root(), "attn_probs/layer_00");
            const torch::Tensor got = r.sink.values().at("teacher/layer_00/attn_probs")[0];
            const double ad = test::max_abs_diff(got, a0);
            std::printf("[ bf16 ] %-15s attn_probs layer 0 max|diff| %.4f\n", c.dir, ad);
            EXPECT_LE(ad, 0.02) << c.dir;
        } else {
            // The cell runs in float32: its inputs (gates, q) and its output arrive as float32.
            auto model =
                models::load_model(test::data_path(std::string("golden/models/") + c.dir), lo);
            DtypeSink ds;
            torch::NoGradGuard no_grad;
            model->forward(tokens.unsqueeze(0).to(lo.device), {}, &ds);
            ASSERT_FALSE(ds.dtypes.empty());
            for (const auto& [path, t] : ds.dtypes)
                EXPECT_EQ(t, torch::kFloat32) << path;
        }
    }
}

// Greedy decoding on the test device (argmax there) gives the CPU's tokens, in float32.
TEST(Device, GreedyDecodeMatchesCpu) {
    const torch::Device dev = test_device();
    for (const char* name : {"llama_gqa_2710", "xlstm_lm_2520"}) {
        const std::string dir = test::data_path(std::string("golden/models/") + name);
        models::LoadOptions on_dev;
        on_dev.device = dev;
        auto a = models::load_model(dir);
        auto b = models::load_model(dir, on_dev);
        models::GenerateOptions go;
        go.max_new_tokens = 12;
        const torch::Tensor prompt = torch::tensor({3, 17, 42, 5}, torch::kInt64).unsqueeze(0);
        torch::Tensor ta = models::generate(*a, prompt, go).tokens;
        torch::Tensor tb = models::generate(*b, prompt.to(dev), go).tokens;
        EXPECT_TRUE(torch::equal(ta, tb.to(torch::kCPU))) << name;
    }
}

// Fused scaled-dot-product attention equals the explicit softmax path (where it exists).
TEST(Device, FusedAttentionMatchesExplicit) {
    const torch::Device dev = test_device();
    if (!compat::kHasFusedAttention || !dev.is_cuda())
        GTEST_SKIP() << "fused attention runs with LibTorch >= 2.0 on CUDA only";
    torch::manual_seed(3);
    const auto o = torch::TensorOptions().device(dev);
    const int64_t B = 2, H = 4, Hkv = 2, T = 33, Dh = 16;
    torch::Tensor q = torch::randn({B, H, T, Dh}, o), k = torch::randn({B, Hkv, T, Dh}, o),
                  v = torch::randn({B, Hkv, T, Dh}, o);
    const torch::Tensor mask = models::causal_mask(T, T, 0, dev);
    const double scale = 1.0 / std::sqrt(static_cast<double>(Dh));
    torch::Tensor fused = models::causal_attention(q, k, v, mask, scale, nullptr, 0);
    capture::MemorySink want_probs({capture::point::kAttnProbs});
    torch::Tensor expl = models::causal_attention(q, k, v, mask, scale, &want_probs, 0);
    EXPECT_LE(test::max_abs_diff(fused.cpu(), expl.cpu()), 1e-4);
}

}  // namespace
}  // namespace dxl
