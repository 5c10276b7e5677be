// dxl_core: analytic parameter counts from configs equal the instantiated models' counts, the
// paper preset student of a Qwen2.5-1.5B-shaped teacher has 550.92 M / 84.18 M parameters
// (docs/method.md#blocks-and-students), the registry rejects unknown architectures, and thread
// defaults.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/io/json_config.h"
#include "core/models/config_summary.h"
#include "core/models/registry.h"
#include "core/runtime/runtime.h"
#include "tests/support/test_paths.h"

namespace {

using dxl::io::JsonConfig;
using dxl::models::summarize_config;

void expect_counts_match_instantiated(const nlohmann::json& j) {
    JsonConfig cfg(j, "test-config");
    auto s = summarize_config(cfg);
    auto model = dxl::models::build_model(cfg, nullptr);
    EXPECT_EQ(s.total_parameters, dxl::models::count_parameters(model->module(), false))
        << j.dump();
    EXPECT_EQ(s.trainable_parameters, dxl::models::count_parameters(model->module(), true))
        << j.dump();
    const auto& a = s.info;
    const auto& b = model->info();
    EXPECT_EQ(a.n_layers, b.n_layers);
    EXPECT_EQ(a.n_heads, b.n_heads);
    EXPECT_EQ(a.d_model, b.d_model);
    EXPECT_EQ(a.head_dim, b.head_dim);
    EXPECT_EQ(a.vocab_size, b.vocab_size);
    EXPECT_EQ(a.block_types, b.block_types);
    EXPECT_EQ(a.tied_embeddings, b.tied_embeddings);
}

TEST(ConfigSummary, Gpt2CountsEqualInstantiatedModel) {
    expect_counts_match_instantiated({{"model_type", "gpt2"},
                                      {"vocab_size", 101},
                                      {"n_positions", 40},
                                      {"n_embd", 48},
                                      {"n_layer", 3},
                                      {"n_head", 4},
                                      {"n_inner", nullptr},
                                      {"activation_function", "gelu_new"},
                                      {"layer_norm_epsilon", 1e-5}});
    expect_counts_match_instantiated({{"model_type", "gpt2"},
                                      {"vocab_size", 64},
                                      {"n_positions", 16},
                                      {"n_embd", 32},
                                      {"n_layer", 1},
                                      {"n_head", 2},
                                      {"n_inner", 80},
                                      {"activation_function", "gelu"},
                                      {"layer_norm_epsilon", 1e-5}});
}

TEST(ConfigSummary, LlamaAndQwen2CountsEqualInstantiatedModel) {
    nlohmann::json llama = {{"model_type", "llama"},       {"vocab_size", 90},
                            {"hidden_size", 64},           {"intermediate_size", 96},
                            {"num_hidden_layers", 2},      {"num_attention_heads", 4},
                            {"num_key_value_heads", 2},    {"max_position_embeddings", 64},
                            {"rms_norm_eps", 1e-5},        {"rope_theta", 10000.0},
                            {"tie_word_embeddings", false}};
    expect_counts_match_instantiated(llama);
    llama["tie_word_embeddings"] = true;
    llama["attention_bias"] = true;
    llama["mlp_bias"] = true;
    expect_counts_match_instantiated(llama);
    nlohmann::json qwen = llama;
    qwen["model_type"] = "qwen2";
    qwen["attention_bias"] = false;
    qwen["mlp_bias"] = false;
    expect_counts_match_instantiated(qwen);
}

TEST(ConfigSummary, XlstmCountsEqualInstantiatedModel) {
    auto cfg = JsonConfig::load(dxl::test::data_path("golden/models/xlstm_lm_2520/config.json"));
    expect_counts_match_instantiated(cfg.json());
}

TEST(ConfigSummary, XlstmLargeCountsEqualInstantiatedModel) {
    nlohmann::json j = {{"model_type", "xlstm_large"},
                        {"embedding_dim", 64},
                        {"num_heads", 4},
                        {"num_blocks", 2},
                        {"vocab_size", 97}};
    expect_counts_match_instantiated(j);
    j["use_bias"] = true;
    j["add_out_norm"] = false;
    j["tie_word_embeddings"] = true;
    j["weight_mode"] = "fused";
    j["v_dim_factor"] = 0.75;
    expect_counts_match_instantiated(j);
    j["tie_word_embeddings"] = false;
    j["dxl_frozen"] = {"embedding", "lm_head"};
    expect_counts_match_instantiated(j);
}

TEST(ConfigSummary, PaperPresetStudentOfQwen25_1_5B) {
    // The file the README and `dxl info --config` use; made by the student builder.
    const std::string path =
        std::string(DXL_TEST_DATA_DIR) + "/../../data/configs/student_paper_qwen2.5-1.5b.json";
    auto s = summarize_config(JsonConfig::load(path));
    EXPECT_EQ(std::lround(s.total_parameters / 1e4), 55092);     // 550.92 M
    EXPECT_EQ(std::lround(s.trainable_parameters / 1e4), 8418);  // 84.18 M
    EXPECT_EQ(s.info.n_layers, 6);
    EXPECT_EQ(s.info.block_types,
              (std::vector<std::string>{"slstm", "mlstm", "slstm", "mlstm", "slstm", "mlstm"}));
    EXPECT_EQ(s.info.d_model, 1536);
    EXPECT_EQ(s.info.n_heads, 16);
}

TEST(ConfigSummary, TeacherQwen25_1_5BShape) {
    const std::string path =
        std::string(DXL_TEST_DATA_DIR) + "/../../data/configs/teacher_qwen2.5-1.5b.json";
    auto s = summarize_config(JsonConfig::load(path));
    // Qwen2.5-1.5B: 1,543,714,304 parameters with tied embeddings (1.54 B as published).
    EXPECT_EQ(s.total_parameters, 1543714304);
    EXPECT_EQ(s.info.n_kv_heads, 2);
}

TEST(Registry, UnknownArchitectureListsKnownOnes) {
    JsonConfig cfg({{"model_type", "mamba"}}, "x/config.json");
    try {
        dxl::models::build_model(cfg, nullptr);
        FAIL();
    } catch (const dxl::UnsupportedError& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("mamba"), std::string::npos);
        EXPECT_NE(m.find("qwen2"), std::string::npos);
        EXPECT_NE(m.find("xlstm_v1"), std::string::npos);
    }
    EXPECT_THROW(dxl::models::load_model("/nonexistent/dir"), dxl::IoError);
}

TEST(Runtime, ThreadDefaultsAndOverride) {
    EXPECT_EQ(dxl::runtime::resolve_threads(3), 3);
    ::setenv("DXL_THREADS", "2", 1);
    EXPECT_EQ(dxl::runtime::resolve_threads(0), 2);
    ::setenv("DXL_THREADS", "zero", 1);
    EXPECT_THROW(dxl::runtime::resolve_threads(0), dxl::UsageError);
    ::unsetenv("DXL_THREADS");
    const unsigned cores = std::thread::hardware_concurrency();
    EXPECT_EQ(dxl::runtime::resolve_threads(0), cores <= 2 ? 1 : static_cast<int>(cores / 2));
}

}  // namespace
