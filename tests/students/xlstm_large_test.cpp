// xlstm_large (xLSTM-7B style) LM against tests/data/golden_xlarge (unmodified NX-AI/xlstm
// xlstm_large + mlstm_kernels native kernels): logits in every mLSTM form, step decoding,
// prefill + steps, float64, captures, save/load round trip and strict-loading errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>

#include "core/base/error.h"
#include "core/capture/capture_sink.h"
#include "core/io/checkpoint.h"
#include "core/io/json_config.h"
#include "core/models/architectures.h"
#include "core/models/xlstm_large.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace {

using dxl::test::max_abs_diff;
namespace models = dxl::models;
namespace xl = dxl::models::xlstm_large;
namespace point = dxl::capture::point;

// The reference's own float32-vs-float64 logit deviation is <= 2.3e-5 (README); 1e-4 leaves
// room for a different but equally valid float32 operation order.
constexpr double kTolF32 = 1e-4;
constexpr double kTolF64 = 1e-9;

void report(const std::string& what, double d, double tol) {
    std::printf("[dev] %-66s max_abs=%.3g tol=%.3g\n", what.c_str(), d, tol);
    EXPECT_LE(d, tol) << what;
}

class MapSink : public dxl::capture::CaptureSink {
  public:
    bool wants(const dxl::capture::CaptureKey&) override { return true; }
    bool observe(const dxl::capture::CaptureKey& key, const torch::Tensor& value) override {
        values[key.path()] = value.clone();
        return true;
    }
    std::map<std::string, torch::Tensor> values;
};

std::string case_dir(const std::string& name) {
    return dxl::test::data_path("golden_xlarge/" + name);
}

std::unique_ptr<models::LanguageModel> load_case(const std::string& name) {
    auto json = dxl::io::JsonConfig::load(case_dir(name) + "/config.json");
    auto ck = dxl::io::Checkpoint::open_dir(case_dir(name));
    auto lm = models::make_xlstm_large(json, &ck);
    lm->module().eval();
    return lm;
}

dxl::io::Checkpoint io_file(const std::string& name) {
    return dxl::io::Checkpoint::open_file(
        dxl::test::data_path("golden_xlarge/" + name + "_io.safetensors"));
}

// Logits fed one token at a time after `prefill` tokens through forward_step.
torch::Tensor decode(models::LanguageModel& lm, const torch::Tensor& tokens, int64_t prefill) {
    auto st = lm.new_decode_state(tokens.size(0));
    std::vector<torch::Tensor> parts;
    if (prefill > 0) parts.push_back(lm.forward_step(tokens.narrow(1, 0, prefill), *st));
    for (int64_t t = prefill; t < tokens.size(1); ++t)
        parts.push_back(lm.forward_step(tokens.narrow(1, t, 1), *st));
    EXPECT_EQ(st->position(), tokens.size(1));
    return torch::cat(parts, 1);
}

class XlstmLargeGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(XlstmLargeGolden, LogitsFormsStepsAndFloat64) {
    const std::string name = GetParam();
    auto lm = load_case(name);
    auto io = io_file(name);
    torch::NoGradGuard ng;
    torch::Tensor tokens = io.get("tokens", torch::kLong);  // (2, 32)
    torch::Tensor ref = io.get("logits");                   // (2, 32, 97)
    models::ForwardOptions par{models::MlstmForm::Parallel};
    models::ForwardOptions chunk16{models::MlstmForm::Chunkwise, 16};
    models::ForwardOptions chunk5{models::MlstmForm::Chunkwise, 5};  // ragged last chunk
    models::ForwardOptions rec{models::MlstmForm::Recurrent};
    MapSink sink;
    report(name + " logits parallel", max_abs_diff(lm->forward(tokens, par, &sink), ref), kTolF32);
    for (int b = 0; b < 2; ++b)
        report(name + " hidden_" + std::to_string(b),
               max_abs_diff(sink.values.at("student/block_0" + std::to_string(b) + "/hidden"),
                            io.get("hidden_" + std::to_string(b))),
               kTolF32);
    report(name + " logits chunkwise L=16", max_abs_diff(lm->forward(tokens, chunk16), ref),
           kTolF32);
    report(name + " logits chunkwise L=5", max_abs_diff(lm->forward(tokens, chunk5), ref), kTolF32);
    report(name + " logits recurrent", max_abs_diff(lm->forward(tokens, rec), ref), kTolF32);
    report(name + " forward_step vs reference step kernel",
           max_abs_diff(decode(*lm, tokens, 0), io.get("logits_step")), kTolF32);
    report(name + " prefill 21 + steps vs reference inference mode",
           max_abs_diff(decode(*lm, tokens, 21), io.get("logits_prefill21_step")), kTolF32);
    report(name + " step == forward", max_abs_diff(decode(*lm, tokens, 0), lm->forward(tokens)),
           kTolF32);

    lm->module().to(torch::kFloat64);
    torch::Tensor ref64 = io.get("logits_f64", torch::kFloat64);
    report(name + " float64 logits parallel", max_abs_diff(lm->forward(tokens, par), ref64),
           kTolF64);
    report(name + " float64 logits chunkwise L=16",
           max_abs_diff(lm->forward(tokens, chunk16), ref64), kTolF64);
    report(name + " float64 forward_step", max_abs_diff(decode(*lm, tokens, 0), ref64), kTolF64);
}

INSTANTIATE_TEST_SUITE_P(Cases, XlstmLargeGolden,
                         ::testing::Values("xlarge_seed2800", "xlarge_fused_seed2810"));

TEST(XlstmLarge, ParameterNamesAndInfo) {
    auto lm = load_case("xlarge_seed2800");
    std::vector<std::string> names;
    for (auto& p : lm->module().named_parameters(true))
        names.push_back(p.key());
    auto ck = dxl::io::Checkpoint::open_dir(case_dir("xlarge_seed2800"));
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, ck.names());  // exactly the reference state_dict
    const auto& info = lm->info();
    EXPECT_EQ(info.architecture, "xlstm_large");
    EXPECT_EQ(info.family, "xlstm");
    EXPECT_EQ(info.n_layers, 2);
    EXPECT_EQ(info.n_heads, 4);
    EXPECT_EQ(info.head_dim, 8);  // qk dim 32 / 4 heads
    EXPECT_EQ(info.context_length, 0);
    EXPECT_EQ(info.block_types, (std::vector<std::string>{"mlstm", "mlstm"}));
    // ffn: round_up(64 * 2.6667, 64) = 192; 7B: round_up(4096 * 2.667, 64) = 10944.
    EXPECT_EQ(ck.shape("backbone.blocks.0.ffn.proj_up.weight"), (std::vector<int64_t>{192, 64}));
    xl::XlargeConfig big;
    big.embedding_dim = 4096;
    big.ffn_proj_factor = 2.667;
    EXPECT_EQ(big.ffn_dim(), 10944);
    EXPECT_EQ(big.qk_dim(), 2048);
}

TEST(XlstmLarge, CapturesAndImplicitAttention) {
    auto lm = load_case("xlarge_fused_seed2810");  // gate_soft_cap 3, 2 heads, Dqk 8, Dv 16
    auto io = io_file("xlarge_fused_seed2810");
    torch::NoGradGuard ng;
    torch::Tensor tokens = io.get("tokens", torch::kLong).narrow(1, 0, 12);
    MapSink sink;
    lm->forward(tokens, {}, &sink);
    const std::string b0 = "student/block_00/";
    ASSERT_TRUE(sink.values.count(b0 + point::kMlstmQ)) << "capture paths changed?";
    EXPECT_EQ(sink.values.at(b0 + point::kMlstmQ).sizes(), torch::IntArrayRef({2, 2, 12, 8}));
    EXPECT_EQ(sink.values.at(b0 + point::kMlstmK).sizes(), torch::IntArrayRef({2, 2, 12, 8}));
    EXPECT_EQ(sink.values.at(b0 + point::kMlstmV).sizes(), torch::IntArrayRef({2, 2, 12, 16}));
    torch::Tensor ig = sink.values.at(b0 + point::kMlstmIgatePre);  // (B, H, T), capped
    EXPECT_EQ(ig.sizes(), torch::IntArrayRef({2, 2, 12}));
    EXPECT_LE(ig.abs().max().item<double>(), 3.0);
    torch::Tensor A = sink.values.at(b0 + point::kImplicitAttn);  // (B, H, T, T)
    torch::Tensor h = sink.values.at(b0 + point::kMlstmH);        // (B, H, T, Dv)
    // A carries no eps; h divides by (normaliser + 1e-6): they differ at the 1e-5 level.
    report("implicit attention A V == h",
           max_abs_diff(torch::matmul(A, sink.values.at(b0 + point::kMlstmV)), h), 3e-5);
    EXPECT_TRUE(sink.values.count("student/embed"));
    EXPECT_TRUE(sink.values.count("student/final_hidden"));
}

// Writes config.json + model.safetensors of `lm` (named_parameters) into a fresh directory.
std::string save_model_dir(models::LanguageModel& lm, const nlohmann::json& cfg,
                           const std::string& tag) {
    const std::string dir = dxl::test::scratch_dir(tag);
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (auto& p : lm.module().named_parameters(true))
        tensors.emplace_back(p.key(), p.value().detach().contiguous());
    dxl::io::save_safetensors(dir + "/model.safetensors", tensors);
    std::ofstream(dir + "/config.json") << cfg.dump(2);
    return dir;
}

TEST(XlstmLarge, SaveLoadRoundTripAndFreshModel) {
    nlohmann::json j = {{"model_type", "xlstm_large"},
                        {"embedding_dim", 32},
                        {"num_heads", 2},
                        {"num_blocks", 3},
                        {"vocab_size", 50},
                        {"use_bias", true},
                        {"gate_soft_cap", nullptr}};
    torch::manual_seed(7);
    auto lm = models::make_xlstm_large(dxl::io::JsonConfig(j, "fresh"), nullptr);
    lm->module().eval();
    torch::NoGradGuard ng;
    torch::Tensor tokens = torch::randint(0, 50, {2, 19}, torch::kLong);
    torch::Tensor logits = lm->forward(tokens);
    EXPECT_EQ(logits.sizes(), torch::IntArrayRef({2, 19, 50}));
    EXPECT_LE(logits.abs().max().item<double>(), 30.0);
    // Forms agree on a model the golden does not cover (bias, no gate cap, 3 blocks).
    report("fresh parallel vs chunkwise L=4",
           max_abs_diff(logits, lm->forward(tokens, {models::MlstmForm::Chunkwise, 4})), 1e-5);
    report("fresh parallel vs recurrent",
           max_abs_diff(logits, lm->forward(tokens, {models::MlstmForm::Recurrent})), 1e-5);
    report("fresh step vs forward", max_abs_diff(decode(*lm, tokens, 7), logits), 1e-5);

    const std::string dir = save_model_dir(*lm, j, "xlarge_roundtrip");
    auto ck = dxl::io::Checkpoint::open_dir(dir);
    auto back = models::make_xlstm_large(dxl::io::JsonConfig::load(dir + "/config.json"), &ck);
    EXPECT_EQ(max_abs_diff(back->forward(tokens), logits), 0.0);

    // Tied embeddings: no lm_head parameter; a stored lm_head.weight is tolerated.
    j["tie_word_embeddings"] = true;
    auto tied = models::make_xlstm_large(dxl::io::JsonConfig(j, "tied"), &ck);
    EXPECT_TRUE(tied->info().tied_embeddings);
    for (auto& p : tied->module().named_parameters(true))
        EXPECT_NE(p.key(), "lm_head.weight");
}

template <typename E>
std::string expect_throw_message(const std::function<void()>& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "wrong exception type: " << e.what();
        return "";
    }
    ADD_FAILURE() << "no exception";
    return "";
}

TEST(XlstmLarge, StrictLoadingAndConfigErrors) {
    const std::string src = case_dir("xlarge_seed2800");
    auto json = dxl::io::JsonConfig::load(src + "/config.json");
    auto ck = dxl::io::Checkpoint::open_dir(src);
    const std::string victim = "backbone.blocks.1.mlstm_layer.k.weight";
    auto write =
        [&](const std::string& tag,
            const std::function<void(std::vector<std::pair<std::string, torch::Tensor>>&)>& edit) {
            std::vector<std::pair<std::string, torch::Tensor>> t;
            for (const auto& n : ck.names())
                t.emplace_back(n, ck.get(n));
            edit(t);
            const std::string dir = dxl::test::scratch_dir(tag);
            dxl::io::save_safetensors(dir + "/model.safetensors", t);
            return dxl::io::Checkpoint::open_dir(dir);
        };
    auto missing = write("xl_missing", [&](auto& t) {
        t.erase(std::remove_if(t.begin(), t.end(), [&](auto& p) { return p.first == victim; }),
                t.end());
    });
    std::string msg =
        expect_throw_message<dxl::FormatError>([&] { models::make_xlstm_large(json, &missing); });
    EXPECT_NE(msg.find(victim), std::string::npos) << msg;

    auto wrong = write("xl_shape", [&](auto& t) {
        for (auto& p : t)
            if (p.first == victim) p.second = torch::zeros({16, 64});
    });
    msg = expect_throw_message<dxl::ShapeError>([&] { models::make_xlstm_large(json, &wrong); });
    EXPECT_NE(msg.find(victim), std::string::npos) << msg;

    auto extra =
        write("xl_extra", [&](auto& t) { t.emplace_back("backbone.extra", torch::zeros({1})); });
    msg = expect_throw_message<dxl::FormatError>([&] { models::make_xlstm_large(json, &extra); });
    EXPECT_NE(msg.find("backbone.extra"), std::string::npos) << msg;

    // A fused config against single-mode weights names the first fused tensor.
    nlohmann::json j = json.json();
    j["weight_mode"] = "fused";
    msg = expect_throw_message<dxl::FormatError>(
        [&] { models::make_xlstm_large(dxl::io::JsonConfig(j, "fused"), &ck); });
    EXPECT_NE(msg.find("qkv_opreact"), std::string::npos) << msg;

    j = json.json();
    j["weight_mode"] = "packed";
    EXPECT_THROW(models::make_xlstm_large(dxl::io::JsonConfig(j, "bad"), nullptr),
                 dxl::FormatError);
    j = json.json();
    j["num_heads"] = 3;  // qk dim 32 is not a multiple of 3
    EXPECT_THROW(models::make_xlstm_large(dxl::io::JsonConfig(j, "bad"), nullptr), dxl::ValueError);
    j = json.json();
    j.erase("embedding_dim");
    EXPECT_THROW(models::make_xlstm_large(dxl::io::JsonConfig(j, "bad"), nullptr),
                 dxl::FormatError);
    j["hidden_size"] = 64;  // transformers xLSTMConfig alias
    EXPECT_NO_THROW(models::make_xlstm_large(dxl::io::JsonConfig(j, "alias"), &ck));

    auto lm = models::make_xlstm_large(json, &ck);
    EXPECT_THROW(lm->forward(torch::full({1, 3}, 97, torch::kLong)), dxl::ValueError);
}

}  // namespace
