// Training at scale on CPU-checkable terms: activation checkpointing gives the plain gradients
// (with random numbers and autocast inside the recomputed function), bf16-mixed training stays
// within the documented tolerance of float32 with float32 gradients, the run config validates
// "precision", and the torchrun / srun environment maps to ranks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "core/base/error.h"
#include "core/dist/launcher_env.h"
#include "core/models/registry.h"
#include "core/models/xlstm_v1.h"
#include "core/runtime/torch_compat.h"
#include "core/train/activation_checkpoint.h"
#include "core/train/run_log.h"
#include "core/train/student.h"
#include "core/train/trainer.h"
#include "core/train/vocab_losses.h"
#include "tests/support/test_paths.h"
#include "tests/train/test_device.h"

namespace fs = std::filesystem;
using namespace dxl;

namespace {

nlohmann::json teacher_config() {
    return {{"model_type", "llama"},
            {"vocab_size", 259},
            {"hidden_size", 32},
            {"intermediate_size", 64},
            {"num_hidden_layers", 2},
            {"num_attention_heads", 4},
            {"num_key_value_heads", 4},
            {"max_position_embeddings", 64},
            {"rms_norm_eps", 1e-5},
            {"rope_theta", 10000.0},
            {"tie_word_embeddings", false},
            {"tokenizer_class", "dxl-byte"}};
}

const std::string& teacher_dir() {
    static std::string dir;
    if (!dir.empty()) return dir;
    dir = test::scratch_dir("scale_teacher");
    torch::manual_seed(11);
    auto m = models::build_model(io::JsonConfig(teacher_config(), "tiny"), nullptr);
    train::save_model_dir(*m, teacher_config(), dir, true);
    return dir;
}

std::unique_ptr<models::LanguageModel> tiny_student(const torch::Device& dev) {
    auto teacher = models::load_model(teacher_dir());
    train::StudentSpec spec;
    spec.overrides = {
        {"num_blocks", 3}, {"slstm_at", {1}}, {"mlstm_block", {{"mlstm", {{"num_heads", 4}}}}}};
    torch::manual_seed(5);
    auto s = train::make_student(*teacher, spec, nullptr);
    s->module().to(dev);
    return s;
}

std::map<std::string, torch::Tensor> grads_of(models::LanguageModel& m) {
    std::map<std::string, torch::Tensor> g;
    for (auto& p : m.module().named_parameters())
        if (p.value().grad().defined()) {
            g[p.key()] = p.value().grad().clone();
            p.value().mutable_grad().reset();
        }
    return g;
}

double max_rel(const std::map<std::string, torch::Tensor>& a,
               const std::map<std::string, torch::Tensor>& b) {
    EXPECT_EQ(a.size(), b.size());
    double worst = 0;
    for (const auto& [n, t] : a) {
        const torch::Tensor& u = b.at(n);
        const double scale = std::max(1e-12, u.abs().max().item<double>());
        worst = std::max(worst, (t - u).abs().max().item<double>() / scale);
    }
    return worst;
}

}  // namespace

TEST(ActivationCheckpoint, StudentGradientsEqualThePlainRun) {
    const torch::Device dev = test::test_device();
    auto s = tiny_student(dev);
    auto blocks = train::student_blocks(*s);
    ASSERT_EQ(blocks.size(), 3u);
    torch::manual_seed(2);
    torch::Tensor tokens =
        torch::randint(0, 259, {2, 24}, torch::TensorOptions(dev).dtype(torch::kInt64));
    torch::Tensor w = torch::randn({2, 24, 259}, torch::TensorOptions(dev));  // (B, T, V)
    (s->forward(tokens, {}, nullptr) * w).sum().backward();
    auto plain = grads_of(*s);

    int calls = 0;
    ASSERT_TRUE(models::xlstm_v1::set_block_runner(
        *s, [&](int64_t b, const models::xlstm_v1::BlockFn& run, const torch::Tensor& x) {
            ++calls;
            return train::checkpointed(run, x, blocks[static_cast<size_t>(b)]->parameters());
        }));
    torch::Tensor y = s->forward(tokens, {}, nullptr);
    EXPECT_EQ(calls, 3);
    (y * w).sum().backward();
    models::xlstm_v1::set_block_runner(*s, nullptr);
    auto ckpt = grads_of(*s);
    EXPECT_FALSE(plain.empty());
    EXPECT_LT(max_rel(ckpt, plain), 1e-6);
}

TEST(ActivationCheckpoint, RandomNumbersAndAutocastAreReplayed) {
    const torch::Device dev = test::test_device();
    const auto o = torch::TensorOptions(dev);
    torch::manual_seed(3);
    torch::Tensor W = torch::randn({16, 16}, o).requires_grad_(true);
    torch::Tensor x0 = torch::randn({8, 16}, o);
    // Dropout-like randomness and a matrix product that autocasts to bf16.
    train::TensorFn fn = [W](const torch::Tensor& x) {
        torch::Tensor keep = (torch::rand_like(x) > 0.3).to(x.scalar_type());  // (8, 16)
        return torch::matmul(x * keep, W).to(torch::kFloat32).tanh();
    };
    for (const bool autocast : {false, true}) {
        auto run = [&](bool ckpt) {
            torch::manual_seed(9);
            torch::Tensor x = x0.clone().requires_grad_(true);
            torch::Tensor y;
            {
                compat::AutocastGuard ac(dev.type(), torch::kBFloat16, autocast);
                y = ckpt ? train::checkpointed(fn, x, {W}) : fn(x);
            }
            y.pow(2).sum().backward();
            // Randomness drawn after the backward does not see the replay.
            torch::Tensor after = torch::rand({4}, o);
            std::vector<torch::Tensor> r{y.detach(), x.grad().clone(), W.grad().clone(), after};
            W.mutable_grad().reset();
            return r;
        };
        auto a = run(false), b = run(true);
        for (size_t i = 0; i < a.size(); ++i)
            EXPECT_TRUE(torch::allclose(a[i], b[i], 1e-6, 1e-7))
                << "tensor " << i << " autocast " << autocast;
    }
}

TEST(MixedPrecision, Bf16GradientsAreFloat32AndClose) {
    const torch::Device dev = test::test_device();
    auto s = tiny_student(dev);
    torch::manual_seed(4);
    const auto io = torch::TensorOptions(dev).dtype(torch::kInt64);
    torch::Tensor tokens = torch::randint(0, 259, {2, 32}, io);
    torch::Tensor targets = torch::randint(0, 259, {2, 32}, io);
    torch::Tensor mask = torch::ones({2, 32}, torch::TensorOptions(dev).dtype(torch::kBool));
    auto loss_at = [&](bool bf16) {
        torch::Tensor logits;
        {
            compat::AutocastGuard ac(dev.type(), torch::kBFloat16, bf16);
            logits = s->forward(tokens, {}, nullptr);  // (B, T, V)
        }
        if (bf16) {
            EXPECT_EQ(logits.scalar_type(), torch::kBFloat16);
        }
        train::VocabLossOptions vo;
        vo.kd = false;
        torch::Tensor ce = train::vocab_losses(logits, {}, targets, mask, mask, vo).ce;
        EXPECT_EQ(ce.scalar_type(), torch::kFloat32);
        ce.backward();
        return ce.item<double>();
    };
    const double l32 = loss_at(false);
    auto g32 = grads_of(*s);
    const double l16 = loss_at(true);
    auto g16 = grads_of(*s);
    for (const auto& [n, g] : g16) {
        EXPECT_EQ(g.scalar_type(), torch::kFloat32) << n;
        EXPECT_TRUE(torch::isfinite(g).all().item<bool>()) << n;
    }
    EXPECT_NEAR(l16, l32, 1e-2 * std::abs(l32));
    // Gradient directions agree (bf16 rounds each product to ~3 significant digits).
    double dot = 0, n32 = 0, n16 = 0;
    for (const auto& [n, g] : g32) {
        dot += (g * g16.at(n)).sum().item<double>();
        n32 += g.pow(2).sum().item<double>();
        n16 += g16.at(n).pow(2).sum().item<double>();
    }
    EXPECT_GT(dot / std::sqrt(n32 * n16), 0.99);
}

TEST(MixedPrecision, Bf16TrainingFollowsFloat32) {
    auto run = [](const std::string& precision) {
        const std::string out = test::scratch_dir("scale_" + precision);
        fs::remove_all(out);
        nlohmann::json j = {{"preset", "distil-xlstm"},
                            {"teacher", teacher_dir()},
                            {"student",
                             {{"preset", "paper"},
                              {"overrides",
                               {{"num_blocks", 2},
                                {"slstm_at", {1}},
                                {"mlstm_block", {{"mlstm", {{"num_heads", 4}}}}}}}}},
                            {"data", {{"spec", "mqar"}, {"seq_len", 32}, {"max_documents", 64}}},
                            {"batch_size", 4},
                            {"eval_every", 0},
                            {"eval_batches", 1},
                            {"ckpt_every", 0},
                            {"seed", 3},
                            {"precision", precision},
                            {"activation_checkpointing", precision == "bf16-mixed"},
                            {"out_dir", out},
                            {"stage_overrides", {{"steps", 6}}}};
        train::TrainOptions o;
        o.device = test::test_device_spec();
        train::run_training(train::parse_run_config(j, precision), o);
        std::vector<double> totals;
        for (const auto& r : train::read_run_log(out + "/run.dxlrec").records)
            if (r["kind"] == "train") totals.push_back(r["metrics"]["total"].get<double>());
        return totals;
    };
    const auto a = run("fp32"), b = run("bf16-mixed");
    ASSERT_EQ(a.size(), 6u);
    ASSERT_EQ(b.size(), 6u);
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_TRUE(std::isfinite(b[i]));
        EXPECT_NEAR(b[i], a[i], 2e-2 * std::abs(a[i])) << "step " << i + 1;
    }
}

TEST(MixedPrecision, RunConfigValidatesPrecision) {
    nlohmann::json j = {{"preset", "distil-xlstm"}, {"teacher", "t"}, {"precision", "fp8"}};
    EXPECT_THROW(train::parse_run_config(j, "cfg"), FormatError);
    j["precision"] = "bf16-mixed";
    EXPECT_EQ(train::parse_run_config(j, "cfg").precision, "bf16-mixed");
    EXPECT_EQ(train::to_json(train::parse_run_config(j, "cfg"))["precision"], "bf16-mixed");
}

TEST(LauncherEnv, TorchrunAndSlurmVariables) {
    auto lookup = [](std::map<std::string, std::string> env) {
        return [env](const char* n) -> const char* {
            auto it = env.find(n);
            return it == env.end() ? nullptr : it->second.c_str();
        };
    };
    EXPECT_FALSE(dist::launcher_env(lookup({})));
    auto t = dist::launcher_env(lookup({{"RANK", "3"},
                                        {"WORLD_SIZE", "8"},
                                        {"LOCAL_RANK", "1"},
                                        {"MASTER_ADDR", "node0"},
                                        {"MASTER_PORT", "29400"},
                                        {"TORCHELASTIC_USE_AGENT_STORE", "True"}}));
    ASSERT_TRUE(t);
    EXPECT_EQ(t->rank, 3);
    EXPECT_EQ(t->world_size, 8);
    EXPECT_EQ(t->local_rank, 1);
    EXPECT_EQ(t->master_addr, "node0");
    EXPECT_EQ(t->master_port, 29400);
    EXPECT_TRUE(t->agent_store);
    EXPECT_EQ(t->source, "torchrun");
    // srun without torchrun: the SLURM task ids, with the batch script's MASTER_ADDR.
    auto s = dist::launcher_env(lookup({{"SLURM_PROCID", "5"},
                                        {"SLURM_NTASKS", "8"},
                                        {"SLURM_LOCALID", "1"},
                                        {"MASTER_ADDR", "node0"}}));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->rank, 5);
    EXPECT_EQ(s->local_rank, 1);
    EXPECT_EQ(s->master_port, 29500);
    EXPECT_FALSE(s->agent_store);
    EXPECT_EQ(s->source, "slurm");
    // An allocation alone (no MASTER_ADDR) is not a launch: no rank waits for peers.
    EXPECT_FALSE(dist::launcher_env(lookup({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}})));
    EXPECT_THROW(dist::launcher_env(lookup({{"RANK", "2"}, {"WORLD_SIZE", "2"}})), UsageError);
    EXPECT_THROW(dist::launcher_env(lookup({{"RANK", "x"}, {"WORLD_SIZE", "2"}})), UsageError);
    EXPECT_THROW(dist::launcher_env(lookup({{"RANK", "0"}})), UsageError);
}
