// Tests of the torch parts of the distillation engine: loss terms against brute-force
// double-precision loops,
// AdamW against torch::optim::AdamW, student initialisation for a teacher, graph-keeping
// capture, and end-to-end runs: determinism across a crash + resume, non-finite handling,
// pre-flight errors, and the mohawk / lolcats stage pipelines.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/io/checkpoint.h"
#include "core/io/tokenizer.h"
#include "core/models/mlstm_cell.h"
#include "core/models/registry.h"
#include "core/train/losses.h"
#include "core/train/run_log.h"
#include "core/train/student.h"
#include "core/train/train_state.h"
#include "core/train/trainer.h"
#include "tests/support/test_paths.h"
#include "tests/train/test_device.h"

namespace fs = std::filesystem;
using namespace dxl;

namespace {

nlohmann::json tiny_llama_config(int64_t context = 64) {
    return {{"model_type", "llama"},
            {"vocab_size", 259},
            {"hidden_size", 32},
            {"intermediate_size", 64},
            {"num_hidden_layers", 2},
            {"num_attention_heads", 4},
            {"num_key_value_heads", 4},
            {"max_position_embeddings", context},
            {"rms_norm_eps", 1e-5},
            {"rope_theta", 10000.0},
            {"tie_word_embeddings", false},
            {"tokenizer_class", "dxl-byte"}};
}

// A random tiny byte-level teacher written to a scratch folder (once per process).
std::string tiny_teacher_dir() {
    static std::string dir;
    if (!dir.empty()) return dir;
    dir = test::scratch_dir("train_teacher");
    torch::manual_seed(11);
    auto m = models::build_model(io::JsonConfig(tiny_llama_config(), "tiny"), nullptr);
    train::save_model_dir(*m, tiny_llama_config(), dir, true);
    return dir;
}

train::RunConfig tiny_run(const std::string& out, const std::string& preset, int64_t steps) {
    nlohmann::json j = {{"preset", preset},
                        {"teacher", tiny_teacher_dir()},
                        {"student",
                         {{"preset", "paper"},
                          {"overrides",
                           {{"num_blocks", 2},
                            {"slstm_at", {1}},
                            {"mlstm_block", {{"mlstm", {{"num_heads", 4}}}}}}}}},
                        {"data",
                         {{"spec", "fortunes+mqar@0.2"},
                          {"seq_len", 40},
                          {"max_documents", 200},
                          {"heldout_fraction", 0.1},
                          {"seed", 5}}},
                        {"batch_size", 2},
                        {"grad_accum", 2},
                        {"eval_every", 10},
                        {"eval_batches", 2},
                        {"ckpt_every", 10},
                        {"keep_last", 2},
                        {"seed", 3},
                        {"out_dir", out},
                        {"stage_overrides", {{"steps", steps}}}};
    return train::parse_run_config(j, "tiny run");
}

// Runs on DXL_TEST_DEVICE (default cpu).
train::TrainOptions on_device(bool resume = false) {
    train::TrainOptions o;
    o.resume = resume;
    o.device = test::test_device_spec();
    return o;
}

bool have_fortunes() {
    return fs::exists("/usr/share/games/fortunes");
}

std::vector<nlohmann::json> loss_records(const std::string& log) {
    std::vector<nlohmann::json> out;
    for (auto r : train::read_run_log(log).records) {
        if (r["kind"] == "event") continue;
        if (r.contains("metrics")) {
            r["metrics"].erase("tokens_per_s");
        }
        out.push_back(r);
    }
    return out;
}

}  // namespace

TEST(Losses, CeAndKdMatchBruteForce) {
    torch::manual_seed(0);
    const int64_t B = 2, T = 5, V = 7;
    torch::Tensor zs = torch::randn({B, T, V}), zt = torch::randn({B, T, V}) * 2;  // (B, T, V)
    torch::Tensor y = torch::randint(0, V, {B, T}, torch::kInt64);                 // (B, T)
    torch::Tensor mask = torch::ones({B, T}, torch::kBool);
    mask[1][3] = false;
    mask[1][4] = false;
    double ce = 0, kl = 0, n = 0;
    const double temp = 2.0;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < T; ++t) {
            if (!mask[b][t].item<bool>()) continue;
            double zmax = -1e30, tmax = -1e30;
            for (int64_t v = 0; v < V; ++v)
                zmax = std::max(zmax, zs[b][t][v].item<double>());
            double s = 0;
            for (int64_t v = 0; v < V; ++v)
                s += std::exp(zs[b][t][v].item<double>() - zmax);
            ce += -(zs[b][t][y[b][t].item<int64_t>()].item<double>() - zmax - std::log(s));
            double ss = 0, st = 0;
            for (int64_t v = 0; v < V; ++v) {
                tmax = std::max(tmax, zt[b][t][v].item<double>() / temp);
            }
            std::vector<double> ps(V), pt(V);
            for (int64_t v = 0; v < V; ++v) {
                ps[v] = std::exp(zs[b][t][v].item<double>() / temp - zmax / temp);
                pt[v] = std::exp(zt[b][t][v].item<double>() / temp - tmax);
                ss += ps[v];
                st += pt[v];
            }
            for (int64_t v = 0; v < V; ++v)
                kl += pt[v] / st * (std::log(pt[v] / st) - std::log(ps[v] / ss));
            ++n;
        }
    EXPECT_NEAR(train::loss_ce(zs, y, mask).item<double>(), ce / n, 1e-5);
    EXPECT_NEAR(train::loss_kd(zs, zt, temp, mask).item<double>(), temp * temp * kl / n, 1e-5);
    // The pad-including reproduction flag averages over all B*T positions instead.
    const double all =
        train::loss_kd(zs, zt, temp, torch::ones({B, T}, torch::kBool)).item<double>();
    EXPECT_GT(std::abs(all - temp * temp * kl / n), 1e-6);
    EXPECT_NEAR(train::loss_kd(zs, zs, 1.0, mask).item<double>(), 0.0, 1e-6);
}

TEST(Losses, HiddenModesAndGroups) {
    auto g = train::ratio_groups(28, 6);
    ASSERT_EQ(g.size(), 6u);
    EXPECT_EQ(g[1], std::make_pair(int64_t{4}, int64_t{8}));
    EXPECT_EQ(g[5], std::make_pair(int64_t{20}, int64_t{28}));
    torch::manual_seed(1);
    std::vector<torch::Tensor> th{torch::randn({2, 3, 4}), torch::randn({2, 3, 4}),
                                  torch::randn({2, 3, 4})};
    torch::Tensor sf = torch::randn({2, 3, 4});
    torch::Tensor mask = torch::ones({2, 3}, torch::kBool);
    torch::Tensor avg = (th[0] + th[1] + th[2]) / 3;
    const double fro = (avg - sf).pow(2).sum().sqrt().item<double>() / std::sqrt(24.0);
    EXPECT_NEAR(train::loss_hidden(train::HiddenMode::AvgAll, th, {sf}, sf, mask).item<double>(),
                fro, 1e-6);
    EXPECT_NEAR(train::loss_hidden(train::HiddenMode::Mse, th, {sf}, sf, mask).item<double>(),
                (avg - sf).pow(2).mean().item<double>(), 1e-6);
    EXPECT_NEAR(train::loss_hidden(train::HiddenMode::Cosine, th, {avg}, avg, mask).item<double>(),
                0.0, 1e-6);
    // ratio 3 -> 1 block: the mean of all three layers against the block output.
    EXPECT_NEAR(train::loss_hidden(train::HiddenMode::Ratio, th, {sf}, sf, mask).item<double>(),
                fro, 1e-6);
    // block_wise 3 -> 3: mean of per-pair norms; zero when the student reproduces each layer.
    EXPECT_NEAR(train::loss_hidden(train::HiddenMode::BlockWise, th, th, sf, mask).item<double>(),
                0.0, 1e-5);
    // Masked positions do not count.
    torch::Tensor m2 = mask.clone();
    m2[0][0] = false;
    torch::Tensor sf2 = sf.clone();
    sf2[0][0] += 100;
    EXPECT_NEAR(train::loss_hidden(train::HiddenMode::Mse, th, {sf2}, sf2, m2).item<double>(),
                train::loss_hidden(train::HiddenMode::Mse, th, {sf}, sf, m2).item<double>(), 1e-6);
}

TEST(Losses, AttentionTermsAreZeroAtTheTargetAndDifferentiable) {
    torch::manual_seed(2);
    const int64_t B = 2, H = 3, T = 6;
    torch::Tensor causal = torch::ones({T, T}).tril();  // (T, T)
    torch::Tensor P = torch::softmax(torch::randn({B, H, T, T}).masked_fill(causal == 0, -1e9),
                                     -1);  // (B, H, T, T)
    torch::Tensor mask = torch::ones({B, T}, torch::kBool);
    for (auto k : {train::AttnLoss::Frobenius, train::AttnLoss::RowKl, train::AttnLoss::RowJs})
        EXPECT_NEAR(train::loss_attention(k, P, P, "abs_row", mask).item<double>(), 0.0, 1e-5)
            << train::to_string(k);
    // Hedgehog CE at the target is the mean row entropy of P.
    const double ent = (-(P * P.clamp_min(1e-12).log()).sum(-1)).mean().item<double>();
    EXPECT_NEAR(
        train::loss_attention(train::AttnLoss::HedgehogCe, P, P, "abs_row", mask).item<double>(),
        ent, 1e-5);
    // Frobenius against a brute-force value for a signed A (abs_row normalised).
    torch::Tensor A = (torch::randn({B, H, T, T}) * causal).requires_grad_(true);  // (B, H, T, T)
    torch::Tensor An = A.detach().abs() / A.detach().abs().sum(-1, true);
    double acc = 0;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
            acc += (An[b][h] - P[b][h]).pow(2).sum().sqrt().item<double>() / T;
    torch::Tensor f = train::loss_attention(train::AttnLoss::Frobenius, P, A, "abs_row", mask);
    EXPECT_NEAR(f.item<double>(), acc / (B * H), 1e-5);
    f.backward();
    EXPECT_GT(A.grad().abs().sum().item<double>(), 0.0);
    // Head counts differ: both sides are head-averaged.
    torch::Tensor A4 = torch::randn({B, 4, T, T}) * causal;
    EXPECT_TRUE(std::isfinite(
        train::loss_attention(train::AttnLoss::RowKl, P, A4, "abs_row", mask).item<double>()));
}

TEST(Optim, AdamWMatchesTorch) {
    torch::manual_seed(3);
    torch::Tensor w0 = torch::randn({4, 3});
    torch::Tensor a = w0.clone().requires_grad_(true), b = w0.clone().requires_grad_(true);
    train::AdamW ours({{"w", a}});
    torch::optim::AdamW ref(
        {b}, torch::optim::AdamWOptions(0.01).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.1));
    for (int s = 0; s < 6; ++s) {
        torch::Tensor x = torch::randn({3});
        (a.matmul(x).pow(2).sum()).backward();
        (b.matmul(x).pow(2).sum()).backward();
        ours.step({0.01, 0.9, 0.99, 1e-8, 0.1});
        ref.step();
        ours.zero_grad();
        ref.zero_grad();
    }
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-6);
}

TEST(Student, InitialisedForTheTeacher) {
    auto teacher = models::load_model(tiny_teacher_dir());
    train::StudentSpec spec;
    spec.overrides = {{"num_blocks", 2}, {"slstm_at", {1}}};
    nlohmann::json cfg;
    auto s = train::make_student(*teacher, spec, &cfg);
    EXPECT_EQ(s->info().d_model, 32);
    EXPECT_EQ(s->info().vocab_size, 259);
    torch::Tensor te, th, se, sh;
    for (auto& p : teacher->module().named_parameters()) {
        if (p.key() == "model.embed_tokens.weight") te = p.value();
        if (p.key() == "lm_head.weight") th = p.value();
    }
    for (auto& p : s->module().named_parameters()) {
        if (p.key() == "token_embedding.weight") se = p.value();
        if (p.key() == "lm_head.weight") sh = p.value();
    }
    ASSERT_TRUE(se.defined() && sh.defined());
    EXPECT_TRUE(torch::equal(se, te));
    EXPECT_TRUE(torch::equal(sh, th));
    EXPECT_FALSE(se.requires_grad());
    EXPECT_FALSE(sh.requires_grad());
    auto names = train::select_trainable(*s, {"all"});
    EXPECT_FALSE(names.count("token_embedding.weight"));
    auto mixer = train::select_trainable(*s, {"mlstm_mixer"});
    for (const auto& n : mixer)
        EXPECT_NE(n.find("blocks.0.xlstm."), std::string::npos) << n;
    EXPECT_THROW(train::select_trainable(*s, {"no_such_parameter"}), UsageError);
    spec.tied = true;
    auto tied = train::make_student(*teacher, spec, nullptr);
    int64_t heads = 0;
    for (auto& p : tied->module().named_parameters())
        heads += p.key() == "lm_head.weight";
    EXPECT_EQ(heads, 0);
    EXPECT_LT(models::count_parameters(tied->module(), false),
              models::count_parameters(s->module(), false));
}

TEST(Student, GraphSinkKeepsGradients) {
    auto teacher = models::load_model(tiny_teacher_dir());
    train::StudentSpec spec;
    spec.overrides = {{"num_blocks", 2}, {"slstm_at", {1}}};
    auto s = train::make_student(*teacher, spec, nullptr);
    train::GraphSink sink({capture::point::kImplicitAttn, capture::point::kHidden});
    s->forward(torch::randint(0, 259, {1, 8}, torch::kInt64), {}, &sink);
    torch::Tensor A = sink.get("student/block_00/implicit_attn");  // (1, H, 8, 8)
    ASSERT_TRUE(A.requires_grad());
    A.abs().sum().backward();
    double g = 0;
    for (auto& p : s->module().named_parameters())
        if (p.key().find("blocks.0.xlstm.q_proj") != std::string::npos &&
            p.value().grad().defined())
            g += p.value().grad().abs().sum().item<double>();
    EXPECT_GT(g, 0.0);
}

TEST(Trainer, PreflightRejectsBadPairs) {
    auto teacher = models::load_model(tiny_teacher_dir());
    train::RunConfig cfg = tiny_run(test::scratch_dir("train_pre"), "distil-xlstm", 1);
    train::StudentSpec spec;
    spec.overrides = {{"num_blocks", 2}, {"slstm_at", {1}}};
    auto s = train::make_student(*teacher, spec, nullptr);
    EXPECT_GT(train::preflight(teacher.get(), *s, tiny_teacher_dir(), "", cfg), 0.0);
    cfg.data.seq_len = 65;  // > teacher context 64
    EXPECT_THROW(train::preflight(teacher.get(), *s, tiny_teacher_dir(), "", cfg), ValueError);
    cfg.data.seq_len = 40;
    cfg.memory_budget_mb = 0.001;
    EXPECT_THROW(train::preflight(teacher.get(), *s, tiny_teacher_dir(), "", cfg), ValueError);
    spec.overrides["vocab_size"] = 97;
    auto s97 = models::build_model(io::JsonConfig(train::student_config_for(*teacher, spec), "s"),
                                   nullptr);
    cfg.memory_budget_mb = 0;
    EXPECT_THROW(train::preflight(teacher.get(), *s97, tiny_teacher_dir(), "", cfg), ValueError);
}

TEST(Trainer, CheckpointRefusesNonFiniteValues) {
    auto m = models::build_model(io::JsonConfig(tiny_llama_config(), "tiny"), nullptr);
    const std::string root = test::scratch_dir("train_ckpt_nan");
    fs::remove_all(root);
    train::TrainState st;
    st.global_step = 1;
    EXPECT_NO_THROW(train::write_checkpoint(root, *m, tiny_llama_config(), nullptr, st, 2));
    {
        torch::NoGradGuard ng;
        m->module().named_parameters()[0].value()[0][0] = std::nan("");
    }
    st.global_step = 2;
    EXPECT_THROW(train::write_checkpoint(root, *m, tiny_llama_config(), nullptr, st, 2),
                 InternalError);
    auto latest = train::latest_checkpoint(root);
    ASSERT_TRUE(latest.has_value());
    EXPECT_NE(latest->find("step_00000001"), std::string::npos);
    fs::create_directories(root + "/.tmp-step_00000009");
    EXPECT_EQ(train::clean_stale_checkpoints(root), 1);
}

TEST(Trainer, CrashAndResumeIsByteIdentical) {
    if (!have_fortunes()) GTEST_SKIP() << "package fortunes not installed";
    const std::string a = test::scratch_dir("train_det_a"), b = test::scratch_dir("train_det_b");
    fs::remove_all(a);
    fs::remove_all(b);
    train::TrainOutcome oa = train::run_training(tiny_run(a, "distil-xlstm", 40), on_device());
    EXPECT_EQ(oa.global_step, 40);
    // Run B "crashes" (an exception, no clean shutdown) at step 27; checkpoint 20 survives.
    train::TrainHooks crash;
    crash.on_progress = [](const train::ProgressInfo& p) {
        if (p.global_step == 27) throw std::runtime_error("simulated crash");
    };
    EXPECT_THROW(train::run_training(tiny_run(b, "distil-xlstm", 40), on_device(), crash),
                 std::runtime_error);
    EXPECT_THROW(train::run_training(tiny_run(b, "distil-xlstm", 40), on_device()),
                 UsageError);  // needs --resume
    train::TrainOptions resume = on_device(true);
    train::TrainOutcome ob = train::run_training(tiny_run(b, "distil-xlstm", 40), resume);
    EXPECT_TRUE(ob.resumed_from_checkpoint);
    EXPECT_EQ(ob.global_step, 40);
    auto wa = io::Checkpoint::open_dir(a + "/final"), wb = io::Checkpoint::open_dir(b + "/final");
    ASSERT_EQ(wa.names(), wb.names());
    for (const auto& n : wa.names())
        EXPECT_TRUE(torch::equal(wa.get(n), wb.get(n))) << n;
    auto la = loss_records(a + "/run.dxlrec"), lb = loss_records(b + "/run.dxlrec");
    ASSERT_EQ(la.size(), lb.size());
    for (size_t i = 0; i < la.size(); ++i)
        EXPECT_EQ(la[i], lb[i]) << "record " << i;
    // Metrics every step, evals with perplexities; keep_last 2 checkpoints.
    int n_train = 0, n_eval = 0;
    for (const auto& r : la) {
        n_train += r["kind"] == "train";
        if (r["kind"] == "eval") {
            ++n_eval;
            EXPECT_TRUE(r["metrics"].contains("teacher_ppl"));
            EXPECT_TRUE(r["metrics"].contains("task_acc"));
        }
    }
    EXPECT_EQ(n_train, 40);
    EXPECT_EQ(n_eval, 5);  // steps 10, 20, 30, 40 + final
    int n_ckpt = 0;
    for (const auto& e : fs::directory_iterator(a + "/checkpoints"))
        n_ckpt += e.is_directory();
    EXPECT_EQ(n_ckpt, 2);
    EXPECT_TRUE(la[0]["metrics"].contains("alpha") && la[0]["metrics"].contains("kl") &&
                la[0]["metrics"].contains("hidden") && la[0]["metrics"].contains("grad_norm"));
    EXPECT_NEAR(la[0]["metrics"]["alpha"].get<double>(), 0.8, 1e-12);
}

TEST(Trainer, NonFiniteStepsAreSkippedRolledBackOrStop) {
    if (!have_fortunes()) GTEST_SKIP() << "package fortunes not installed";
    const std::string out = test::scratch_dir("train_nan");
    fs::remove_all(out);
    train::RunConfig c = tiny_run(out, "distil-xlstm", 30);
    c.eval_every = 0;
    c.debug_nan_steps = {5, 14, 15, 16};
    train::TrainOutcome o = train::run_training(c, on_device());
    EXPECT_FALSE(o.stopped);
    EXPECT_EQ(o.global_step, 30);
    EXPECT_EQ(o.n_skipped, 4);
    EXPECT_EQ(o.n_rollbacks,
              1);  // 14, 15, 16 consecutive -> back to step 10 with half the LR, replay clean
    bool saw = false;
    for (const auto& r : train::read_run_log(out + "/run.dxlrec").records)
        saw |= r["kind"] == "event" && r["event"] == "rollback";
    EXPECT_TRUE(saw);
    auto w = io::Checkpoint::open_dir(out + "/final");
    for (const auto& n : w.names())
        EXPECT_TRUE(torch::isfinite(w.get(n)).all().item<bool>()) << n;
    // Policy "stop": the run ends early without a checkpoint of the bad state.
    const std::string out2 = test::scratch_dir("train_nan_stop");
    fs::remove_all(out2);
    c.out_dir = out2;
    c.nonfinite.action = "stop";
    c.debug_nan_steps = {3, 4, 5};
    train::TrainOutcome s = train::run_training(c, on_device());
    EXPECT_TRUE(s.stopped);
    EXPECT_EQ(s.global_step, 6);  // steps 3, 4, 5 skipped (counted), then the policy stops
    EXPECT_EQ(s.n_skipped, 3);
    EXPECT_FALSE(fs::exists(out2 + "/final"));
}

TEST(Trainer, MohawkAndLolcatsPipelinesRun) {
    if (!have_fortunes()) GTEST_SKIP() << "package fortunes not installed";
    for (const std::string preset : {"mohawk", "lolcats"}) {
        const std::string out = test::scratch_dir("train_" + preset);
        fs::remove_all(out);
        train::RunConfig c = tiny_run(out, preset, 6);
        c.eval_every = 0;
        train::TrainOutcome o = train::run_training(c, on_device());
        EXPECT_EQ(o.global_step, 6 * static_cast<int64_t>(c.stages.size())) << preset;
        auto recs = train::read_run_log(o.log_path).records;
        double first = -1, last = -1;
        for (const auto& r : recs) {
            if (r["kind"] != "train" || r["stage"] != 0) continue;
            const double v = r["metrics"]["total"].get<double>();
            EXPECT_TRUE(std::isfinite(v));
            if (first < 0) first = v;
            last = v;
        }
        EXPECT_GT(first, 0.0) << preset;
        EXPECT_NE(first, last) << preset;
        EXPECT_TRUE(fs::exists(out + "/final/model.safetensors"));
    }
}
