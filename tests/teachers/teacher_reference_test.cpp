// Teachers against independent re-computations written here (no golden exists): Qwen2 and a
// Llama variant with llama3 RoPE scaling, biases and head_dim != hidden / heads, recomputed in
// float64 with per-head loops and complex-number RoPE on un-permuted (interleaved) weights; the
// llama3 inverse frequencies against the published formula; the typed load / forward errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/io/checkpoint.h"
#include "core/io/json_config.h"
#include "core/models/architectures.h"
#include "core/models/llama.h"
#include "core/models/transformer_common.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"
#include "tests/teachers/teacher_test_util.h"

namespace dxl {
namespace {

using capture::point::kAttnProbs;
using test::expect_throw_with;
using test::max_abs_diff;
using Weights = std::map<std::string, torch::Tensor>;

// ---- an independent float64 Llama/Qwen2 forward -------------------------------------------

struct RefConfig {
    int64_t vocab, hidden, inter, layers, heads, kv_heads, head_dim, max_pos;
    double eps;
    bool qkv_bias, o_bias, mlp_bias, tied;
};

torch::Tensor ref_rms(const torch::Tensor& x, const torch::Tensor& w, double eps) {  // (T, D)
    return x / (x.pow(2).mean(-1, true) + eps).sqrt() * w;
}

torch::Tensor ref_linear(const Weights& w, const std::string& name, const torch::Tensor& x,
                         bool bias) {
    torch::Tensor y = torch::matmul(x, w.at(name + ".weight").t());
    return bias ? y + w.at(name + ".bias") : y;
}

// Rotates interleaved pairs (x[2i], x[2i+1]) as complex numbers by pos * inv_freq[i].
torch::Tensor ref_rope_complex(const torch::Tensor& x,
                               const std::vector<double>& inv_freq) {  // (T, Dh)
    const int64_t T = x.size(0), half = x.size(1) / 2;
    torch::Tensor angles = torch::empty({T, half}, torch::kFloat64);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t i = 0; i < half; ++i)
            angles[t][i] = static_cast<double>(t) * inv_freq[static_cast<size_t>(i)];
    torch::Tensor rot = torch::polar(torch::ones_like(angles), angles);  // (T, Dh/2) complex
    torch::Tensor xc = torch::view_as_complex(x.contiguous().view({T, half, 2}));  // (T, Dh/2)
    return torch::view_as_real(xc * rot).reshape({T, 2 * half});
}

// Native (interleaved-RoPE) weights, float64; tokens (B, T). Returns logits (B, T, V) and fills
// probs[layer] (B, H, T, T).
torch::Tensor ref_forward(const RefConfig& c, const Weights& w, const torch::Tensor& tokens,
                          const std::vector<double>& inv_freq, std::vector<torch::Tensor>& probs) {
    const int64_t B = tokens.size(0), T = tokens.size(1), Dh = c.head_dim;
    const int64_t n_rep = c.heads / c.kv_heads;
    probs.clear();
    for (int64_t l = 0; l < c.layers; ++l)
        probs.push_back(torch::zeros({B, c.heads, T, T}, torch::kFloat64));
    std::vector<torch::Tensor> rows;
    for (int64_t b = 0; b < B; ++b) {
        torch::Tensor x = w.at("embed").index_select(0, tokens[b]);  // (T, D)
        for (int64_t l = 0; l < c.layers; ++l) {
            const std::string p = "layers." + std::to_string(l) + ".";
            torch::Tensor h = ref_rms(x, w.at(p + "attn_norm"), c.eps);
            torch::Tensor q = ref_linear(w, p + "wq", h, c.qkv_bias);  // (T, H*Dh)
            torch::Tensor k = ref_linear(w, p + "wk", h, c.qkv_bias);  // (T, Hkv*Dh)
            torch::Tensor v = ref_linear(w, p + "wv", h, c.qkv_bias);  // (T, Hkv*Dh)
            std::vector<torch::Tensor> outs;
            for (int64_t hq = 0; hq < c.heads; ++hq) {
                const int64_t hk = hq / n_rep;
                torch::Tensor qh = ref_rope_complex(q.narrow(1, hq * Dh, Dh), inv_freq);  // (T, Dh)
                torch::Tensor kh = ref_rope_complex(k.narrow(1, hk * Dh, Dh), inv_freq);  // (T, Dh)
                torch::Tensor s =
                    torch::matmul(qh, kh.t()) / std::sqrt(static_cast<double>(Dh));  // (T, T)
                torch::Tensor p_ = torch::zeros({T, T}, torch::kFloat64);
                for (int64_t i = 0; i < T; ++i) {
                    torch::Tensor row = s[i].narrow(0, 0, i + 1);
                    torch::Tensor e = (row - row.max()).exp();
                    p_[i].narrow(0, 0, i + 1).copy_(e / e.sum());
                }
                probs[static_cast<size_t>(l)][b][hq].copy_(p_);
                outs.push_back(torch::matmul(p_, v.narrow(1, hk * Dh, Dh)));
            }
            x = x + ref_linear(w, p + "wo", torch::cat(outs, 1), c.o_bias);
            torch::Tensor h2 = ref_rms(x, w.at(p + "ffn_norm"), c.eps);
            torch::Tensor g = ref_linear(w, p + "w1", h2, c.mlp_bias);
            torch::Tensor u = ref_linear(w, p + "w3", h2, c.mlp_bias);
            x = x + ref_linear(w, p + "w2", g * torch::sigmoid(g) * u, c.mlp_bias);
        }
        x = ref_rms(x, w.at("norm"), c.eps);
        rows.push_back(torch::matmul(x, (c.tied ? w.at("embed") : w.at("output.weight")).t()));
    }
    return torch::stack(rows);
}

// HF conversion permutation (convert_llama_weights_to_hf.py), also applied to biases.
torch::Tensor permute_rope(const torch::Tensor& w, int64_t n_heads) {
    const int64_t rows = w.size(0);
    if (w.dim() == 1)
        return w.view({n_heads, rows / n_heads / 2, 2}).transpose(1, 2).reshape({rows});
    return w.view({n_heads, rows / n_heads / 2, 2, w.size(1)})
        .transpose(1, 2)
        .reshape({rows, w.size(1)});
}

// Random native weights (float32 values), their HF-named permuted copies written to DIR with
// config.json; returns the native float64 map.
Weights write_model(const RefConfig& c, const nlohmann::json& config, const std::string& dir) {
    torch::manual_seed(2901);
    Weights w;
    std::vector<std::pair<std::string, torch::Tensor>> hf;
    auto rnd = [](std::vector<int64_t> shape, double std, double mean = 0.0) {
        return (torch::randn(shape, torch::kFloat64) * std + mean).to(torch::kFloat32);
    };
    auto add = [&](const std::string& native, const std::string& hf_name, torch::Tensor t,
                   int64_t permute_heads) {
        w[native] = t.to(torch::kFloat64);
        hf.emplace_back(hf_name,
                        permute_heads > 0 ? permute_rope(t, permute_heads).contiguous() : t);
    };
    const double s_in = 1.0 / std::sqrt(static_cast<double>(c.hidden));
    add("embed", "model.embed_tokens.weight", rnd({c.vocab, c.hidden}, 1.0), 0);
    for (int64_t l = 0; l < c.layers; ++l) {
        const std::string p = "layers." + std::to_string(l) + ".";
        const std::string hp = "model.layers." + std::to_string(l) + ".";
        const int64_t qd = c.heads * c.head_dim, kd = c.kv_heads * c.head_dim;
        add(p + "wq.weight", hp + "self_attn.q_proj.weight", rnd({qd, c.hidden}, s_in), c.heads);
        add(p + "wk.weight", hp + "self_attn.k_proj.weight", rnd({kd, c.hidden}, s_in), c.kv_heads);
        add(p + "wv.weight", hp + "self_attn.v_proj.weight", rnd({kd, c.hidden}, s_in), 0);
        add(p + "wo.weight", hp + "self_attn.o_proj.weight",
            rnd({c.hidden, qd}, 1.0 / std::sqrt(double(qd))), 0);
        if (c.qkv_bias) {
            add(p + "wq.bias", hp + "self_attn.q_proj.bias", rnd({qd}, 0.3), c.heads);
            add(p + "wk.bias", hp + "self_attn.k_proj.bias", rnd({kd}, 0.3), c.kv_heads);
            add(p + "wv.bias", hp + "self_attn.v_proj.bias", rnd({kd}, 0.3), 0);
        }
        if (c.o_bias) add(p + "wo.bias", hp + "self_attn.o_proj.bias", rnd({c.hidden}, 0.1), 0);
        add(p + "w1.weight", hp + "mlp.gate_proj.weight", rnd({c.inter, c.hidden}, s_in), 0);
        add(p + "w3.weight", hp + "mlp.up_proj.weight", rnd({c.inter, c.hidden}, s_in), 0);
        add(p + "w2.weight", hp + "mlp.down_proj.weight",
            rnd({c.hidden, c.inter}, 1.0 / std::sqrt(double(c.inter))), 0);
        if (c.mlp_bias) {
            add(p + "w1.bias", hp + "mlp.gate_proj.bias", rnd({c.inter}, 0.1), 0);
            add(p + "w3.bias", hp + "mlp.up_proj.bias", rnd({c.inter}, 0.1), 0);
            add(p + "w2.bias", hp + "mlp.down_proj.bias", rnd({c.hidden}, 0.1), 0);
        }
        add(p + "attn_norm", hp + "input_layernorm.weight", rnd({c.hidden}, 0.1, 1.0), 0);
        add(p + "ffn_norm", hp + "post_attention_layernorm.weight", rnd({c.hidden}, 0.1, 1.0), 0);
    }
    add("norm", "model.norm.weight", rnd({c.hidden}, 0.1, 1.0), 0);
    if (!c.tied) add("output.weight", "lm_head.weight", rnd({c.vocab, c.hidden}, s_in), 0);
    io::save_safetensors(dir + "/model.safetensors", hf);
    std::ofstream(dir + "/config.json") << config.dump(2);
    return w;
}

std::vector<double> default_inv_freq(int64_t dim, double theta) {
    std::vector<double> f;
    for (int64_t i = 0; i < dim / 2; ++i)
        f.push_back(std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(dim)));
    return f;
}

// The published llama3 rule (Meta's apply_scaling / HF _compute_llama3_parameters), in double.
std::vector<double> llama3_inv_freq(int64_t dim, double theta, double factor, double low,
                                    double high, double old_ctx) {
    std::vector<double> out;
    for (double f : default_inv_freq(dim, theta)) {
        const double wavelen = 2 * M_PI / f;
        if (wavelen < old_ctx / high) {
            out.push_back(f);
        } else if (wavelen > old_ctx / low) {
            out.push_back(f / factor);
        } else {
            const double smooth = (old_ctx / wavelen - low) / (high - low);
            out.push_back((1 - smooth) * f / factor + smooth * f);
        }
    }
    return out;
}

void compare_with_reference(const RefConfig& c, const nlohmann::json& config,
                            const std::vector<double>& inv_freq, const std::string& tag) {
    const std::string dir = test::scratch_dir(tag);
    const Weights w = write_model(c, config, dir);
    const io::JsonConfig cfg = io::JsonConfig::load(dir + "/config.json");
    const io::Checkpoint ckpt = io::Checkpoint::open_dir(dir);
    auto model = models::make_llama(cfg, &ckpt);
    EXPECT_EQ(model->info().architecture, config.at("model_type").get<std::string>());
    EXPECT_EQ(model->info().head_dim, c.head_dim);
    EXPECT_EQ(model->info().n_kv_heads, c.kv_heads);

    torch::Tensor tokens = torch::randint(0, c.vocab, {2, 20}, torch::kInt64);  // (2, 20)
    std::vector<torch::Tensor> probs_ref;
    torch::Tensor logits_ref = ref_forward(c, w, tokens, inv_freq, probs_ref);  // (2, 20, V)
    test::RecordingSink sink({kAttnProbs});
    torch::NoGradGuard no_grad;
    torch::Tensor logits = model->forward(tokens, {}, &sink);
    const double dev = max_abs_diff(logits, logits_ref);
    std::printf("[deviation] %-48s max|diff| %.3g (tolerance 1e-04)\n",
                (tag + " logits vs float64 ref").c_str(), dev);
    EXPECT_LE(dev, 1e-4);
    EXPECT_GT(logits_ref.abs().max().item<double>(), 1.0);  // not a trivially small output
    for (int l = 0; l < c.layers; ++l) {
        const double d =
            max_abs_diff(sink.seen.at(capture::CaptureKey{"teacher", l, kAttnProbs}.path()),
                         probs_ref[static_cast<size_t>(l)]);
        std::printf("[deviation] %-48s max|diff| %.3g (tolerance 1e-05)\n",
                    (tag + " attn_probs layer " + std::to_string(l)).c_str(), d);
        EXPECT_LE(d, 1e-5);
    }
    // Decoding with the cache reproduces the full forward.
    auto state = model->new_decode_state(2);
    torch::Tensor a = model->forward_step(tokens.narrow(1, 0, 7), *state);
    torch::Tensor b = model->forward_step(tokens.narrow(1, 7, 13), *state);
    // 1e-5 relative to the logits' scale (see decode_tol in teacher_golden_test.cpp).
    EXPECT_LE(max_abs_diff(torch::cat({a, b}, 1), logits),
              1e-5 * std::max(1.0, logits.abs().max().item<double>()));
}

TEST(Qwen2Reference, MatchesIndependentFloat64Forward) {
    RefConfig c{61, 48, 80, 2, 6, 2, 8, 64, 1e-6, true, false, false, false};
    nlohmann::json config = {{"model_type", "qwen2"},       {"vocab_size", 61},
                             {"hidden_size", 48},           {"intermediate_size", 80},
                             {"num_hidden_layers", 2},      {"num_attention_heads", 6},
                             {"num_key_value_heads", 2},    {"max_position_embeddings", 64},
                             {"rms_norm_eps", 1e-6},        {"rope_theta", 1000.0},
                             {"hidden_act", "silu"},        {"tie_word_embeddings", false},
                             {"use_sliding_window", false}, {"sliding_window", 4096},
                             {"max_window_layers", 2},      {"rope_scaling", nullptr}};
    compare_with_reference(c, config, default_inv_freq(8, 1000.0), "qwen2");
}

TEST(LlamaReference, Llama3RopeScalingBiasesAndExplicitHeadDim) {
    // head_dim 16 with hidden 48 / 4 heads (not hidden / heads), one kv head, every bias, tied.
    // theta 10 and original context 32 put the rotary pairs in all three llama3 regimes.
    RefConfig c{53, 48, 64, 2, 4, 1, 16, 64, 1e-5, true, true, true, true};
    nlohmann::json config = {{"model_type", "llama"},
                             {"vocab_size", 53},
                             {"hidden_size", 48},
                             {"intermediate_size", 64},
                             {"num_hidden_layers", 2},
                             {"num_attention_heads", 4},
                             {"num_key_value_heads", 1},
                             {"head_dim", 16},
                             {"max_position_embeddings", 64},
                             {"rms_norm_eps", 1e-5},
                             {"rope_theta", 10.0},
                             {"rope_scaling",
                              {{"rope_type", "llama3"},
                               {"factor", 4.0},
                               {"low_freq_factor", 1.0},
                               {"high_freq_factor", 4.0},
                               {"original_max_position_embeddings", 32}}},
                             {"attention_bias", true},
                             {"mlp_bias", true},
                             {"tie_word_embeddings", true}};
    const auto inv = llama3_inv_freq(16, 10.0, 4.0, 1.0, 4.0, 32.0);
    const auto plain = default_inv_freq(16, 10.0);
    int high = 0, low = 0, medium = 0;
    for (size_t i = 0; i < inv.size(); ++i) {
        if (inv[i] == plain[i])
            ++high;
        else if (std::abs(inv[i] - plain[i] / 4.0) < 1e-15)
            ++low;
        else
            ++medium;
    }
    EXPECT_GT(high, 0);
    EXPECT_GT(low, 0);
    EXPECT_GT(medium, 0);
    compare_with_reference(c, config, inv, "llama3");
}

// ---- RoPE frequencies ----------------------------------------------------------------------

TEST(Rope, Llama3InverseFrequenciesFollowThePublishedFormula) {
    models::RopeConfig rope;
    rope.rotary_dim = 128;
    rope.theta = 500000.0;
    rope.scaling.type = "llama3";
    rope.scaling.factor = 8.0;
    rope.scaling.low_freq_factor = 1.0;
    rope.scaling.high_freq_factor = 4.0;
    rope.scaling.original_max_position_embeddings = 8192;
    torch::Tensor got = models::rope_inv_freq(rope);  // (64)
    ASSERT_EQ(got.scalar_type(), torch::kFloat32);
    ASSERT_EQ(got.size(0), 64);
    const auto want = llama3_inv_freq(128, 500000.0, 8.0, 1.0, 4.0, 8192.0);
    for (int64_t i = 0; i < 64; ++i) {
        const double g = got[i].item<double>(), w = want[static_cast<size_t>(i)];
        EXPECT_NEAR(g, w, 2e-6 * w) << "index " << i;
    }
    // Hand-derived (Llama 3.1: theta 5e5, factor 8, low 1, high 4, 8192): i = 0 and 20 keep
    // theta^(-2i/128) (wavelength < 2048); i = 63 is divided by 8 (wavelength > 8192);
    // i = 30 (wavelength 2948.3, smooth 0.59285) and i = 34 (6695.1, 0.07452) are blended.
    const std::pair<int, double> hand[] = {{0, 1.0},
                                           {20, 0.016560440080994446},
                                           {30, 0.0013718935677611381},
                                           {34, 0.0001785078127679964},
                                           {63, 3.068925988914511e-07}};
    for (const auto& [i, v] : hand)
        EXPECT_NEAR(got[i].item<double>(), v, 2e-6 * v) << "index " << i;

    rope.scaling = models::RopeScaling{};
    torch::Tensor plain = models::rope_inv_freq(rope);
    EXPECT_NEAR(plain[63].item<double>(), 2.455140791131609e-06, 1e-12);
    rope.scaling.type = "linear";
    rope.scaling.factor = 2.0;
    EXPECT_TRUE(torch::allclose(models::rope_inv_freq(rope), plain / 2.0));
}

TEST(Rope, ScalingConfigParsing) {
    auto parse = [](nlohmann::json rs) {
        return models::parse_rope_scaling(io::JsonConfig({{"rope_scaling", rs}}, "test.json"));
    };
    auto s = parse({{"type", "llama3"},
                    {"factor", 8.0},
                    {"low_freq_factor", 1.0},
                    {"high_freq_factor", 4.0},
                    {"original_max_position_embeddings", 8192}});
    EXPECT_EQ(s.type, "llama3");
    EXPECT_EQ(s.original_max_position_embeddings, 8192);
    EXPECT_EQ(parse(nullptr).type, "default");
    expect_throw_with<UnsupportedError>(
        [&] {
            parse({{"rope_type", "yarn"}, {"factor", 4.0}});
        },
        {"yarn"});
    expect_throw_with<FormatError>(
        [&] {
            parse({{"rope_type", "llama3"}, {"factor", 8.0}});
        },
        {"low_freq_factor"});
}

// ---- errors ------------------------------------------------------------------------------

std::unique_ptr<models::LanguageModel> golden_gpt2() {
    const std::string dir = test::data_path("golden/models/gpt2_2600");
    const io::Checkpoint ckpt = io::Checkpoint::open_dir(dir);
    return models::make_gpt2(io::JsonConfig::load(dir + "/config.json"), &ckpt);
}

TEST(TeacherErrors, BadTokensAndTooLongInputs) {
    auto model = golden_gpt2();
    torch::Tensor t = torch::zeros({1, 8}, torch::kInt64);
    t[0][4] = 123;
    expect_throw_with<ValueError>([&] { model->forward(t); },
                                  {"token id 123 at position 4 is >= vocab size 97"});
    t[0][4] = -1;
    expect_throw_with<ValueError>([&] { model->forward(t); }, {"token id -1", "negative"});
    expect_throw_with<ValueError>(
        [&] {
            model->forward(torch::zeros({1, 33}, torch::kInt64));
        },
        {"33", "32", "n_positions", "shorter"});
    expect_throw_with<ShapeError>([&] { model->forward(torch::zeros({8}, torch::kInt64)); },
                                  {"(B, T)"});
    expect_throw_with<ValueError>(
        [&] {
            model->forward(torch::zeros({1, 8}, torch::kInt32));
        },
        {"int64"});

    const std::string ldir = test::data_path("golden/models/llama_mha_2700");
    const io::Checkpoint lckpt = io::Checkpoint::open_dir(ldir);
    auto llama = models::make_llama(io::JsonConfig::load(ldir + "/config.json"), &lckpt);
    expect_throw_with<ValueError>(
        [&] {
            llama->forward(torch::zeros({2, 40}, torch::kInt64));
        },
        {"40", "32", "max_position_embeddings"});
    torch::Tensor two_rows = torch::zeros({2, 8}, torch::kInt64);
    two_rows[1][6] = 97;
    expect_throw_with<ValueError>([&] { llama->forward(two_rows); },
                                  {"token id 97 at position 6", "batch row 1", "vocab size 97"});
}

TEST(TeacherErrors, NonFiniteWeightsNameTheLayer) {
    auto model = golden_gpt2();
    {
        torch::NoGradGuard no_grad;
        model->module().named_parameters()["transformer.h.1.mlp.c_fc.weight"][0][0] = NAN;
    }
    expect_throw_with<ValueError>(
        [&] {
            model->forward(torch::zeros({1, 4}, torch::kInt64));
        },
        {"non-finite", "layer 1"});
}

TEST(TeacherErrors, CancellingSinkStopsTheForward) {
    struct Cancel : capture::CaptureSink {
        bool wants(const capture::CaptureKey&) override { return true; }
        bool observe(const capture::CaptureKey&, const torch::Tensor&) override { return false; }
    } sink;
    auto model = golden_gpt2();
    EXPECT_THROW(model->forward(torch::zeros({1, 4}, torch::kInt64), {}, &sink), CancelledError);
}

// Golden GPT-2 HF tensors, edited and written to a scratch file.
std::string write_gpt2_variant(
    const std::string& tag,
    const std::function<void(std::vector<std::pair<std::string, torch::Tensor>>&)>& edit) {
    const io::Checkpoint src =
        io::Checkpoint::open_file(test::data_path("golden/gpt2_hf_seed2600.safetensors"));
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& n : src.names())
        tensors.emplace_back(n, src.get(n));
    edit(tensors);
    const std::string path = test::scratch_dir(tag) + "/model.safetensors";
    io::save_safetensors(path, tensors);
    return path;
}

TEST(TeacherErrors, StrictLoadingNamesTheTensor) {
    const io::JsonConfig cfg =
        io::JsonConfig::load(test::data_path("golden/models/gpt2_2600/config.json"));
    auto wrong_shape = write_gpt2_variant("shape", [](auto& t) {
        for (auto& [n, v] : t)
            if (n == "transformer.h.1.mlp.c_fc.weight") v = v.t().contiguous();  // (256, 64)
    });
    expect_throw_with<ShapeError>(
        [&] {
            const auto ck = io::Checkpoint::open_file(wrong_shape);
            models::make_gpt2(cfg, &ck);
        },
        {"transformer.h.1.mlp.c_fc.weight", "64", "256"});

    auto missing = write_gpt2_variant("missing", [](auto& t) {
        t.erase(std::remove_if(t.begin(), t.end(),
                               [](const auto& p) { return p.first == "transformer.ln_f.bias"; }),
                t.end());
    });
    expect_throw_with<FormatError>(
        [&] {
            const auto ck = io::Checkpoint::open_file(missing);
            models::make_gpt2(cfg, &ck);
        },
        {"transformer.ln_f.bias", "missing"});

    auto unexpected = write_gpt2_variant("unexpected", [](auto& t) {
        t.emplace_back("transformer.h.0.attn.c_attn.lora_A", torch::zeros({4, 64}));
    });
    expect_throw_with<FormatError>(
        [&] {
            const auto ck = io::Checkpoint::open_file(unexpected);
            models::make_gpt2(cfg, &ck);
        },
        {"unexpected", "transformer.h.0.attn.c_attn.lora_A"});

    // Known extras (mask buffers, a tied lm_head copy) load; so do un-prefixed GPT2Model names.
    auto extras = write_gpt2_variant("extras", [](auto& t) {
        torch::Tensor wte;
        for (auto& [n, v] : t)
            if (n == "transformer.wte.weight") wte = v;
        t.emplace_back("transformer.h.0.attn.bias", torch::ones({1, 1, 32, 32}).tril());
        t.emplace_back("transformer.h.1.attn.masked_bias", torch::tensor(-1e4));
        t.emplace_back("lm_head.weight", wte.clone());
    });
    auto bare = write_gpt2_variant("bare", [](auto& t) {
        for (auto& [n, v] : t)
            n = n.substr(std::string("transformer.").size());
    });
    torch::Tensor tokens = torch::arange(20, torch::kInt64).view({1, 20});
    torch::NoGradGuard no_grad;
    torch::Tensor ref = golden_gpt2()->forward(tokens);
    for (const auto& path : {extras, bare}) {
        const auto ck = io::Checkpoint::open_file(path);
        EXPECT_TRUE(torch::equal(models::make_gpt2(cfg, &ck)->forward(tokens), ref)) << path;
    }

    // A llama file with a rotary inv_freq buffer loads as well.
    const io::Checkpoint lsrc =
        io::Checkpoint::open_dir(test::data_path("golden/models/llama_gqa_2710"));
    std::vector<std::pair<std::string, torch::Tensor>> lt;
    for (const auto& n : lsrc.names())
        lt.emplace_back(n, lsrc.get(n));
    lt.emplace_back("model.layers.0.self_attn.rotary_emb.inv_freq", torch::ones({8}));
    const std::string lpath = test::scratch_dir("inv_freq") + "/model.safetensors";
    io::save_safetensors(lpath, lt);
    const auto lck = io::Checkpoint::open_file(lpath);
    EXPECT_NO_THROW(models::make_llama(
        io::JsonConfig::load(test::data_path("golden/models/llama_gqa_2710/config.json")), &lck));
}

TEST(TeacherErrors, ConfigFieldsAreChecked) {
    nlohmann::json j =
        io::JsonConfig::load(test::data_path("golden/models/gpt2_2600/config.json")).json();
    nlohmann::json no_embd = j;
    no_embd.erase("n_embd");
    expect_throw_with<FormatError>(
        [&] { models::make_gpt2(io::JsonConfig(no_embd, "cfg.json"), nullptr); },
        {"cfg.json", "n_embd", "missing"});
    nlohmann::json act = j;
    act["activation_function"] = "gelu_fast";
    expect_throw_with<UnsupportedError>(
        [&] { models::make_gpt2(io::JsonConfig(act, "cfg.json"), nullptr); }, {"gelu_fast"});

    nlohmann::json q =
        io::JsonConfig::load(test::data_path("golden/models/llama_gqa_2710/config.json")).json();
    q["model_type"] = "qwen2";
    q["use_sliding_window"] = true;
    expect_throw_with<UnsupportedError>(
        [&] { models::make_llama(io::JsonConfig(q, "q.json"), nullptr); },
        {"q.json", "use_sliding_window"});
    q["use_sliding_window"] = false;
    q["num_key_value_heads"] = 3;
    expect_throw_with<FormatError>(
        [&] { models::make_llama(io::JsonConfig(q, "q.json"), nullptr); },
        {"num_key_value_heads", "3"});
    q.erase("max_position_embeddings");
    q["num_key_value_heads"] = 2;
    expect_throw_with<FormatError>(
        [&] { models::make_llama(io::JsonConfig(q, "q.json"), nullptr); },
        {"max_position_embeddings"});
    // A qwen2 model (q/k/v biases, no o_proj bias) has the HF parameter set.
    q["max_position_embeddings"] = 32;
    auto m = models::make_llama(io::JsonConfig(q, "q.json"), nullptr);
    auto p = m->module().named_parameters();
    EXPECT_TRUE(p.contains("model.layers.1.self_attn.q_proj.bias"));
    EXPECT_TRUE(p.contains("model.layers.1.self_attn.v_proj.bias"));
    EXPECT_FALSE(p.contains("model.layers.1.self_attn.o_proj.bias"));
    EXPECT_FALSE(p.contains("model.layers.1.mlp.up_proj.bias"));
}

}  // namespace
}  // namespace dxl
