// xlstm_v1 blocks and LM against xlstm_models.h5 / models/xlstm_lm_2520, cross-form equality,
// configs, student presets and the analytic parameter count.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/base/error.h"
#include "core/capture/capture_sink.h"
#include "core/io/checkpoint.h"
#include "core/io/json_config.h"
#include "core/models/architectures.h"
#include "core/models/xlstm_config.h"
#include "core/models/xlstm_v1.h"
#include "core/store/h5.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace {

using dxl::test::max_abs_diff;
using dxl::test::read_tensor;
namespace models = dxl::models;
namespace v1 = dxl::models::xlstm_v1;

void report(const std::string& what, double d, double tol) {
    std::printf("[dev] %-70s max_abs=%.3g tol=%.3g\n", what.c_str(), d, tol);
    EXPECT_LE(d, tol) << what;
}

// Keeps every observed tensor by path.
class MapSink : public dxl::capture::CaptureSink {
  public:
    bool wants(const dxl::capture::CaptureKey&) override { return true; }
    bool observe(const dxl::capture::CaptureKey& key, const torch::Tensor& value) override {
        values[key.path()] = value.clone();
        return true;
    }
    std::map<std::string, torch::Tensor> values;
};

v1::TensorSource h5_source(const dxl::h5::Group& params) {
    v1::TensorSource s;
    s.names = params.members();
    s.description = params.file_name() + ":" + params.path();
    s.get = [params_ptr = &params](const std::string& name) {
        return params_ptr->exists(name) ? read_tensor(*params_ptr, name) : torch::Tensor();
    };
    return s;
}

// The configuration of xlstm_models.h5 (embedding 64, 4 heads, qkv blocksize 4, FFN 1.3).
models::XlstmConfig golden_cfg(int64_t num_blocks, std::vector<int64_t> slstm_at) {
    models::XlstmConfig c;
    c.embedding_dim = 64;
    c.num_blocks = num_blocks;
    c.slstm_at = std::move(slstm_at);
    c.vocab_size = 97;
    c.context_length = 32;
    return c;
}

dxl::h5::File golden_models() {
    return dxl::h5::File(dxl::test::data_path("golden/xlstm_models.h5"),
                         dxl::h5::File::Mode::ReadOnly);
}

TEST(XlstmV1Golden, MlstmBlock) {
    auto f = golden_models();
    dxl::h5::Group g = f.root().group("mlstm_block_seed2500");
    dxl::h5::Group params = g.group("params");
    auto block = v1::make_block(golden_cfg(1, {}), 0);
    v1::load_parameters(*block, golden_cfg(1, {}), h5_source(params));
    block->eval();
    torch::NoGradGuard ng;
    torch::Tensor x = read_tensor(g, "x");  // (1, 32, 64)
    MapSink sink;
    torch::Tensor y = block->forward(x, {models::MlstmForm::Parallel}, nullptr, &sink, 0);
    report("mlstm_block_seed2500 y", max_abs_diff(y, read_tensor(g, "y")), 3e-5);
    report("mlstm_block_seed2500 act/xlstm", max_abs_diff(y - x, read_tensor(g, "act/xlstm")),
           3e-5);
    torch::Tensor q = sink.values.at("student/block_00/mlstm_q");  // (1, 4, 32, 32)
    report(
        "mlstm_block_seed2500 act/xlstm.q_proj",
        max_abs_diff(q.transpose(1, 2).reshape({1, 32, 128}), read_tensor(g, "act/xlstm.q_proj")),
        1e-5);
    torch::Tensor h = sink.values.at("student/block_00/mlstm_h");  // (1, 4, 32, 32)
    torch::Tensor hn =
        torch::group_norm(h.transpose(1, 2).reshape({32, 128}), 4,
                          1 + read_tensor(params, "xlstm.mlstm_cell.outnorm.weight"), {}, 1e-5)
            .view({1, 32, 128});
    report("mlstm_block_seed2500 act/xlstm.mlstm_cell",
           max_abs_diff(hn, read_tensor(g, "act/xlstm.mlstm_cell")), 3e-5);
    // Implicit attention captured: A V reproduces h up to eps placement.
    torch::Tensor A = sink.values.at("student/block_00/implicit_attn");
    torch::Tensor v = sink.values.at("student/block_00/mlstm_v");
    report("mlstm_block_seed2500 A V vs h (relative)",
           dxl::test::max_rel_diff(torch::matmul(A, v), h, 1.0), 1e-3);
    // Step path.
    v1::BlockState st = block->new_state(1, x.options());
    std::vector<torch::Tensor> ys;
    for (int64_t t = 0; t < 32; ++t)
        ys.push_back(block->forward(x.narrow(1, t, 1), {}, &st, nullptr, 0));
    report("mlstm_block_seed2500 y_step", max_abs_diff(torch::cat(ys, 1), read_tensor(g, "y_step")),
           3e-5);
    // Every form.
    for (auto form : {models::MlstmForm::Chunkwise, models::MlstmForm::Recurrent}) {
        models::ForwardOptions o;
        o.form = form;
        o.chunk_size = 5;  // ragged
        report(std::string("mlstm block form ") + models::to_string(form) + " vs y",
               max_abs_diff(block->forward(x, o, nullptr, nullptr, 0), read_tensor(g, "y")), 3e-5);
    }
}

TEST(XlstmV1Golden, SlstmBlockBothLayouts) {
    auto f = golden_models();
    dxl::h5::Group g = f.root().group("slstm_block_seed2510");
    for (const char* layout : {"vanilla", "cuda"}) {
        models::XlstmConfig cfg = golden_cfg(1, {0});
        cfg.slstm_backend = layout;
        dxl::h5::Group params = g.group("params");
        dxl::h5::Group cuda = g.group("params_slstm_cuda_layout");
        v1::TensorSource src = h5_source(params);
        if (cfg.slstm_backend == "cuda") {
            auto base = src.get;
            src.get = [base, &cuda](const std::string& name) {
                return cuda.exists(name) ? read_tensor(cuda, name) : base(name);
            };
        }
        auto block = v1::make_block(cfg, 0);
        v1::load_parameters(*block, cfg, src);
        torch::NoGradGuard ng;
        torch::Tensor x = read_tensor(g, "x");
        MapSink sink;
        torch::Tensor y = block->forward(x, {}, nullptr, &sink, 0);
        report(std::string("slstm_block_seed2510 y (") + layout + " params)",
               max_abs_diff(y, read_tensor(g, "y")), 3e-5);
        torch::Tensor hc = sink.values.at("student/block_00/slstm_h");  // (1, 32, 64)
        report("slstm_block_seed2510 act/xlstm.slstm_cell",
               max_abs_diff(hc.view({1, 32, 4, 16}).transpose(1, 2),
                            read_tensor(g, "act/xlstm.slstm_cell")),
               1e-5);
        v1::BlockState st = block->new_state(1, x.options());
        std::vector<torch::Tensor> ys;
        for (int64_t t = 0; t < 32; ++t)
            ys.push_back(block->forward(x.narrow(1, t, 1), {}, &st, nullptr, 0));
        report("slstm_block_seed2510 y_step",
               max_abs_diff(torch::cat(ys, 1), read_tensor(g, "y_step")), 3e-5);
        // Export in the configured layout reproduces the stored tensors.
        for (auto& [name, t] : v1::export_parameters(*block, cfg)) {
            torch::Tensor ref = src.get(name);
            EXPECT_EQ(max_abs_diff(t, ref), 0.0) << layout << " " << name;
        }
    }
}

std::string lm_config_path() {
    return dxl::test::data_path("golden/models/xlstm_lm_2520/config.json");
}

TEST(XlstmV1Golden, LmLogitsStepsAndForms) {
    auto f = golden_models();
    dxl::h5::Group g = f.root().group("lm_seed2520");
    dxl::h5::Group params = g.group("params");
    dxl::io::JsonConfig json = dxl::io::JsonConfig::load(lm_config_path());
    models::XlstmConfig cfg = models::parse_xlstm_v1(json);
    v1::TensorSource src = h5_source(params);
    auto lm = v1::make_model(cfg, json, &src);
    lm->module().eval();
    torch::NoGradGuard ng;
    torch::Tensor tokens = read_tensor(g, "tokens", torch::kInt64);  // (2, 32)
    MapSink sink;
    torch::Tensor logits = lm->forward(tokens, {}, &sink);
    report("lm_seed2520 logits", max_abs_diff(logits, read_tensor(g, "logits")), 4e-5);
    report("lm_seed2520 act/token_embedding",
           max_abs_diff(sink.values.at("student/embed"), read_tensor(g, "act/token_embedding")),
           1e-6);
    report("lm_seed2520 act/blocks.0",
           max_abs_diff(sink.values.at("student/block_00/hidden"),
                        read_tensor(g, "act/xlstm_block_stack.blocks.0")),
           3e-5);
    report("lm_seed2520 act/blocks.1",
           max_abs_diff(sink.values.at("student/block_01/hidden"),
                        read_tensor(g, "act/xlstm_block_stack.blocks.1")),
           3e-5);
    report("lm_seed2520 act/post_blocks_norm",
           max_abs_diff(sink.values.at("student/final_hidden"),
                        read_tensor(g, "act/xlstm_block_stack.post_blocks_norm")),
           3e-5);
    EXPECT_EQ(sink.values.at("student/block_00/implicit_attn").sizes(),
              torch::IntArrayRef({2, 4, 32, 32}));
    EXPECT_EQ(sink.values.at("student/block_01/slstm_c").sizes(), torch::IntArrayRef({2, 32, 64}));
    // Steps (one token at a time), and a prefill of 20 then steps.
    auto st = lm->new_decode_state(2);
    std::vector<torch::Tensor> steps;
    for (int64_t t = 0; t < 32; ++t)
        steps.push_back(lm->forward_step(tokens.narrow(1, t, 1), *st));
    EXPECT_EQ(st->position(), 32);
    report("lm_seed2520 logits_step",
           max_abs_diff(torch::cat(steps, 1), read_tensor(g, "logits_step")), 4e-5);
    auto st2 = lm->new_decode_state(2);
    torch::Tensor pre = lm->forward_step(tokens.narrow(1, 0, 20), *st2);
    torch::Tensor rest = lm->forward_step(tokens.narrow(1, 20, 12), *st2);
    report("lm_seed2520 prefill(20)+12 vs logits", max_abs_diff(torch::cat({pre, rest}, 1), logits),
           4e-5);
    for (auto form : {models::MlstmForm::Chunkwise, models::MlstmForm::Recurrent}) {
        models::ForwardOptions o;
        o.form = form;
        o.chunk_size = 8;
        report(std::string("lm_seed2520 form ") + models::to_string(form) + " vs logits",
               max_abs_diff(lm->forward(tokens, o), logits), 4e-5);
    }
    EXPECT_THROW(lm->forward(torch::full({1, 3}, 97, torch::kLong)), dxl::ValueError);
    EXPECT_EQ(lm->info().context_length, 0);
    EXPECT_EQ(lm->info().block_types, (std::vector<std::string>{"mlstm", "slstm"}));
}

TEST(XlstmV1Golden, CheckpointAndModelDirectory) {
    auto f = golden_models();
    dxl::h5::Group g = f.root().group("lm_seed2520");
    dxl::io::JsonConfig json = dxl::io::JsonConfig::load(lm_config_path());
    torch::NoGradGuard ng;
    torch::Tensor tokens = read_tensor(g, "tokens", torch::kInt64);
    auto ck = dxl::io::Checkpoint::open_file(
        dxl::test::data_path("golden/xlstm_lm_seed2520.safetensors"));
    auto lm = models::make_xlstm_v1(json, &ck);
    report("xlstm_lm_seed2520.safetensors logits",
           max_abs_diff(lm->forward(tokens), read_tensor(g, "logits")), 4e-5);
    // Model directory + expected.h5 (batch row 0, tolerance from the file).
    const std::string dir = dxl::test::data_path("golden/models/xlstm_lm_2520");
    auto ck_dir = dxl::io::Checkpoint::open_dir(dir);
    auto lm2 = models::make_xlstm_v1(json, &ck_dir);
    dxl::h5::File ex(dir + "/expected.h5", dxl::h5::File::Mode::ReadOnly);
    torch::Tensor tok = read_tensor(ex.root(), "tokens", torch::kInt64).unsqueeze(0);
    torch::Tensor got = lm2->forward(tok).squeeze(0);
    report("models/xlstm_lm_2520 expected.h5 logits",
           max_abs_diff(got, read_tensor(ex.root(), "logits")),
           ex.root().attr_double("tolerance_logits_abs"));
    // Strictness: a config with one block more is missing tensors.
    nlohmann::json j = json.json();
    j["num_blocks"] = 3;
    j["slstm_at"] = std::vector<int64_t>{1};
    EXPECT_THROW(models::make_xlstm_v1(dxl::io::JsonConfig(j, "modified"), &ck), dxl::FormatError);
}

// ---- configs and parameter counts ----

TEST(XlstmConfig, ParseAndRoundTrip) {
    dxl::io::JsonConfig json = dxl::io::JsonConfig::load(lm_config_path());
    models::XlstmConfig c = models::parse_xlstm_v1(json);
    EXPECT_EQ(c.mlstm_inner_dim(), 128);
    EXPECT_EQ(c.ffn_dim(), 128);
    EXPECT_EQ(c.slstm_at, std::vector<int64_t>{1});
    nlohmann::json j = models::to_json(c);
    // Every primary field of the reference config survives.
    for (const char* k :
         {"num_blocks", "embedding_dim", "vocab_size", "slstm_at", "_block_map", "tie_weights"})
        EXPECT_EQ(j[k], json.json()[k]) << k;
    EXPECT_EQ(j["mlstm_block"]["mlstm"], json.json()["mlstm_block"]["mlstm"]);
    models::XlstmConfig c2 = models::parse_xlstm_v1(dxl::io::JsonConfig(j, "roundtrip"));
    EXPECT_EQ(models::parameter_count(c2, false), models::parameter_count(c, false));
    nlohmann::json bad = json.json();
    bad["slstm_at"] = std::vector<int64_t>{5};
    EXPECT_THROW(models::parse_xlstm_v1(dxl::io::JsonConfig(bad, "bad")), dxl::FormatError);
}

TEST(XlstmConfig, AnalyticCountMatchesInstantiatedModels) {
    std::vector<models::XlstmConfig> cfgs;
    cfgs.push_back(golden_cfg(2, {1}));
    models::TeacherDims small{128, 6, 4, 2, 50};
    cfgs.push_back(models::student_for_teacher(small, "paper"));
    cfgs.push_back(models::student_for_teacher(small, "v2"));
    cfgs.push_back(models::student_for_teacher(small, "v2_div4"));
    models::XlstmConfig tied = golden_cfg(3, {0, 2});
    tied.tie_weights = true;
    tied.bias = true;
    tied.add_post_blocks_norm = false;
    tied.frozen = {"token_embedding"};
    cfgs.push_back(tied);
    models::XlstmConfig mixed = golden_cfg(4, {});
    mixed.mlstm_num_heads = 2;
    mixed.qkv_proj_blocksize = 8;
    mixed.mlstm_proj_factor = 1.5;
    mixed.mlstm_conv_kernel = 3;
    cfgs.push_back(mixed);
    for (const auto& c : cfgs) {
        auto lm = v1::make_model(c, dxl::io::JsonConfig(models::to_json(c), "test"), nullptr);
        for (bool tr : {false, true}) {
            const int64_t got = models::count_parameters(lm->module(), tr);
            const int64_t want = models::parameter_count(c, tr);
            std::printf(
                "[dev] count d=%lld blocks=%lld trainable=%d analytic=%lld instantiated=%lld\n",
                static_cast<long long>(c.embedding_dim), static_cast<long long>(c.num_blocks),
                tr ? 1 : 0, static_cast<long long>(want), static_cast<long long>(got));
            EXPECT_EQ(got, want);
        }
    }
}

models::TeacherDims qwen15() {
    return {1536, 28, 12, 2, 151936};
}

TEST(XlstmConfig, PaperPresetQwen15Counts) {
    models::XlstmConfig c = models::student_for_teacher(qwen15(), "paper");
    const double total = models::parameter_count(c, false) / 1e6;
    const double trainable = models::parameter_count(c, true) / 1e6;
    std::printf("[dev] paper preset Qwen2.5-1.5B: total %.4f M, trainable %.4f M\n", total,
                trainable);
    EXPECT_NEAR(std::round(total * 100) / 100, 550.92, 1e-9);
    EXPECT_NEAR(std::round(trainable * 100) / 100, 84.18, 1e-9);
    models::XlstmConfig v2 = models::student_for_teacher(qwen15(), "v2");
    EXPECT_EQ(v2.num_blocks, 14);
    EXPECT_EQ(v2.slstm_at.size(), 7u);
    EXPECT_EQ(v2.mlstm_num_heads, 12);
    const double v2_total = models::parameter_count(v2, false) / 1e6;
    const double v2_tr = models::parameter_count(v2, true) / 1e6;
    std::printf("[dev] v2 preset Qwen2.5-1.5B: total %.4f M, trainable %.4f M\n", v2_total, v2_tr);
    EXPECT_NEAR(v2_tr, 198.6, 0.05);
    EXPECT_NEAR(v2_total, 665.4, 0.05);
}

TEST(XlstmConfig, ShippedStudentAndTeacherConfigs) {
    const std::filesystem::path root = std::filesystem::path(dxl::test::data_path("golden"))
                                           .parent_path()
                                           .parent_path()
                                           .parent_path();
    const std::string student = (root / "data/configs/student_paper_qwen2.5-1.5b.json").string();
    dxl::io::JsonConfig js = dxl::io::JsonConfig::load(student);
    EXPECT_EQ(js.model_type(), "xlstm_v1");
    models::XlstmConfig c = models::parse_xlstm_v1(js);
    EXPECT_EQ(models::to_json(c), js.json()) << "regenerate " << student << " from to_json()";
    EXPECT_EQ(models::parameter_count(c, false), 550923360);
    EXPECT_EQ(models::parameter_count(c, true), 84175968);
    dxl::io::JsonConfig jt =
        dxl::io::JsonConfig::load((root / "data/configs/teacher_qwen2.5-1.5b.json").string());
    EXPECT_EQ(jt.model_type(), "qwen2");
    EXPECT_EQ(jt.get<int64_t>("hidden_size"), 1536);
    EXPECT_EQ(jt.get<int64_t>("vocab_size"), 151936);
}

}  // namespace

// --form auto: explicit forms pass through, a fixed threshold overrides, and the measured table
// switches to chunkwise past its last parallel win for the head dimension.
TEST(MlstmForm, AutoFollowsTheMeasuredTable) {
    using dxl::models::MlstmForm;
    using dxl::models::resolve_form;
    dxl::models::ForwardOptions o;
    EXPECT_EQ(resolve_form(o, 64, 64), MlstmForm::Parallel);
    EXPECT_EQ(resolve_form(o, 65, 64), MlstmForm::Chunkwise);
    EXPECT_EQ(resolve_form(o, 256, 112), MlstmForm::Parallel);  // the Qwen paper student
    EXPECT_EQ(resolve_form(o, 257, 128), MlstmForm::Chunkwise);
    EXPECT_EQ(resolve_form(o, 512, 384), MlstmForm::Parallel);
    EXPECT_EQ(resolve_form(o, 513, 4096), MlstmForm::Chunkwise);
    o.chunkwise_threshold = 1000;
    EXPECT_EQ(resolve_form(o, 1000, 64), MlstmForm::Parallel);
    EXPECT_EQ(resolve_form(o, 1001, 512), MlstmForm::Chunkwise);
    o.form = MlstmForm::Recurrent;
    EXPECT_EQ(resolve_form(o, 10, 64), MlstmForm::Recurrent);
}
