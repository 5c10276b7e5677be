// Llama / Qwen2 teacher: config parsing, the module tree with HF names, strict loading and the
// forward / KV-cache decode over TransformerLanguageModel.
#include "core/models/llama.h"

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <cmath>
#include <memory>
#include <tuple>
#include <vector>

#include "core/base/error.h"
#include "core/capture/capture_sink.h"
#include "core/io/checkpoint.h"
#include "core/models/architectures.h"
#include "core/models/row_linear.h"

namespace dxl::models {

LlamaConfig parse_llama_config(const io::JsonConfig& cfg) {
    LlamaConfig c;
    const std::string& src = cfg.source();
    c.model_type = cfg.model_type();
    DXL_CHECK(c.model_type == "llama" || c.model_type == "qwen2", UnsupportedError, src,
              ": make_llama builds model_type 'llama' or 'qwen2', but got '", c.model_type, "'");
    c.vocab_size = cfg.get<int64_t>("vocab_size");
    c.hidden_size = cfg.get<int64_t>("hidden_size");
    c.intermediate_size = cfg.get<int64_t>("intermediate_size");
    c.n_layers = cfg.get<int64_t>("num_hidden_layers");
    c.n_heads = cfg.get<int64_t>("num_attention_heads");
    c.n_kv_heads = cfg.get_or<int64_t>("num_key_value_heads", c.n_heads);
    c.max_position_embeddings = cfg.get<int64_t>("max_position_embeddings");
    c.rms_norm_eps = cfg.get_or<double>("rms_norm_eps", 1e-6);
    c.tie_word_embeddings = cfg.get_or<bool>("tie_word_embeddings", false);
    DXL_CHECK(c.vocab_size > 0 && c.hidden_size > 0 && c.intermediate_size > 0 && c.n_layers > 0 &&
                  c.n_heads > 0 && c.n_kv_heads > 0 && c.max_position_embeddings > 0,
              FormatError, src,
              ": expected positive vocab_size, hidden_size, intermediate_size, num_hidden_layers, "
              "num_attention_heads, num_key_value_heads and max_position_embeddings, but got ",
              c.vocab_size, ", ", c.hidden_size, ", ", c.intermediate_size, ", ", c.n_layers, ", ",
              c.n_heads, ", ", c.n_kv_heads, ", ", c.max_position_embeddings);
    DXL_CHECK(c.n_heads % c.n_kv_heads == 0, FormatError, src, ": num_attention_heads ", c.n_heads,
              " is not a multiple of num_key_value_heads ", c.n_kv_heads);
    if (!cfg.has("head_dim")) {
        DXL_CHECK(c.hidden_size % c.n_heads == 0, FormatError, src, ": hidden_size ", c.hidden_size,
                  " is not divisible by num_attention_heads ", c.n_heads,
                  "; set head_dim explicitly");
    }
    c.head_dim = cfg.get_or<int64_t>("head_dim", c.hidden_size / c.n_heads);
    DXL_CHECK(c.head_dim > 0 && c.head_dim % 2 == 0, FormatError, src,
              ": head_dim: expected a positive even number (RoPE rotates pairs), but got ",
              c.head_dim);
    const std::string act = cfg.get_or<std::string>("hidden_act", "silu");
    DXL_CHECK(act == "silu" || act == "swish", UnsupportedError, src, ": hidden_act '", act,
              "' is not supported; supported: silu");
    DXL_CHECK(cfg.get_or<double>("partial_rotary_factor", 1.0) == 1.0, UnsupportedError, src,
              ": partial_rotary_factor != 1 is not supported");
    c.rope.rotary_dim = c.head_dim;
    c.rope.theta = cfg.get_or<double>("rope_theta", 10000.0);
    DXL_CHECK(c.rope.theta > 0, FormatError, src, ": rope_theta: expected > 0, but got ",
              c.rope.theta);
    c.rope.scaling = parse_rope_scaling(cfg);
    if (c.model_type == "qwen2") {
        DXL_CHECK(!cfg.get_or<bool>("use_sliding_window", false), UnsupportedError, src,
                  ": use_sliding_window true is not supported (sliding-window attention); "
                  "only full causal attention is implemented");
        c.qkv_bias = true;
        c.o_bias = false;
        c.mlp_bias = false;
    } else {
        c.qkv_bias = c.o_bias = cfg.get_or<bool>("attention_bias", false);
        c.mlp_bias = cfg.get_or<bool>("mlp_bias", false);
    }
    return c;
}

namespace {

// A Linear applied through row_linear (GEMV when decoding one token).
torch::Tensor lin(const torch::nn::Linear& m, const torch::Tensor& x) {
    return row_linear(x, m->weight, m->bias);
}

torch::nn::Linear linear(int64_t in, int64_t out, bool bias) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

class LlamaAttentionImpl : public torch::nn::Module {
  public:
    LlamaAttentionImpl(const LlamaConfig& c, int layer)
        : m_layer(layer), m_n_heads(c.n_heads), m_n_kv_heads(c.n_kv_heads), m_head_dim(c.head_dim) {
        q_proj =
            register_module("q_proj", linear(c.hidden_size, c.n_heads * c.head_dim, c.qkv_bias));
        k_proj =
            register_module("k_proj", linear(c.hidden_size, c.n_kv_heads * c.head_dim, c.qkv_bias));
        v_proj =
            register_module("v_proj", linear(c.hidden_size, c.n_kv_heads * c.head_dim, c.qkv_bias));
        o_proj = register_module("o_proj", linear(c.n_heads * c.head_dim, c.hidden_size, c.o_bias));
    }
    // x (B, T, D), cos/sin (T, Dh), mask (T, S) -> (B, T, D).
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos,
                          const torch::Tensor& sin, const torch::Tensor& mask, KvCache* cache,
                          capture::CaptureSink* sink) {
        const int64_t B = x.size(0), T = x.size(1);
        auto heads = [&](const torch::Tensor& t, int64_t n) {  // (B, T, n * Dh) -> (B, n, T, Dh)
            return t.view({B, T, n, m_head_dim}).transpose(1, 2);
        };
        torch::Tensor q = apply_rope(heads(lin(q_proj, x), m_n_heads), cos, sin);  // (B, H, T, Dh)
        torch::Tensor k =
            apply_rope(heads(lin(k_proj, x), m_n_kv_heads), cos, sin);        // (B, Hkv, T, Dh)
        torch::Tensor v = heads(lin(v_proj, x), m_n_kv_heads);                // (B, Hkv, T, Dh)
        if (cache != nullptr) std::tie(k, v) = cache->append(m_layer, k, v);  // (B, Hkv, S, Dh)
        const double scale = 1.0 / std::sqrt(static_cast<double>(m_head_dim));
        torch::Tensor y = causal_attention(q, k, v, mask, scale, sink, m_layer);  // (B, H, T, Dh)
        return lin(o_proj, y.transpose(1, 2).reshape({B, T, m_n_heads * m_head_dim}));
    }
    torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

  private:
    int m_layer;
    int64_t m_n_heads, m_n_kv_heads, m_head_dim;
};
TORCH_MODULE(LlamaAttention);

class LlamaMlpImpl : public torch::nn::Module {
  public:
    explicit LlamaMlpImpl(const LlamaConfig& c) {
        gate_proj =
            register_module("gate_proj", linear(c.hidden_size, c.intermediate_size, c.mlp_bias));
        up_proj =
            register_module("up_proj", linear(c.hidden_size, c.intermediate_size, c.mlp_bias));
        down_proj =
            register_module("down_proj", linear(c.intermediate_size, c.hidden_size, c.mlp_bias));
    }
    torch::Tensor forward(const torch::Tensor& x) {  // (B, T, D) -> (B, T, D)
        return lin(down_proj, torch::silu(lin(gate_proj, x)) * lin(up_proj, x));
    }
    torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(LlamaMlp);

class LlamaDecoderLayerImpl : public torch::nn::Module {
  public:
    LlamaDecoderLayerImpl(const LlamaConfig& c, int layer) {
        self_attn = register_module("self_attn", LlamaAttention(c, layer));
        mlp = register_module("mlp", LlamaMlp(c));
        input_layernorm = register_module("input_layernorm",
                                          RmsNorm(RmsNormOptions(c.hidden_size, c.rms_norm_eps)));
        post_attention_layernorm = register_module(
            "post_attention_layernorm", RmsNorm(RmsNormOptions(c.hidden_size, c.rms_norm_eps)));
    }
    // x (B, T, D) -> (B, T, D)
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos,
                          const torch::Tensor& sin, const torch::Tensor& mask, KvCache* cache,
                          capture::CaptureSink* sink) {
        torch::Tensor h =
            x + self_attn(input_layernorm(x), cos, sin, mask, cache, sink);  // (B, T, D)
        return h + mlp(post_attention_layernorm(h));
    }
    LlamaAttention self_attn{nullptr};
    LlamaMlp mlp{nullptr};
    RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

// HF LlamaModel / Qwen2Model ("model." in *ForCausalLM).
class LlamaModelImpl : public torch::nn::Module {
  public:
    explicit LlamaModelImpl(const LlamaConfig& c) {
        embed_tokens =
            register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
        layers = register_module("layers", torch::nn::ModuleList());
        for (int l = 0; l < c.n_layers; ++l) {
            decoder_layers.push_back(LlamaDecoderLayer(c, l));
            layers->push_back(decoder_layers.back());
        }
        norm = register_module("norm", RmsNorm(RmsNormOptions(c.hidden_size, c.rms_norm_eps)));
        // Derived from the config, never loaded; a plain float32 tensor (not a buffer) so that
        // a dtype change of the module cannot round it.
        inv_freq = rope_inv_freq(c.rope);
    }
    torch::nn::Embedding embed_tokens{nullptr};  // (V, D)
    torch::nn::ModuleList layers{nullptr};
    std::vector<LlamaDecoderLayer> decoder_layers;  // the entries of layers
    RmsNorm norm{nullptr};
    torch::Tensor inv_freq;  // (Dh / 2) float32, CPU
};
TORCH_MODULE(LlamaModel);

class LlamaForCausalLmImpl : public torch::nn::Module {
  public:
    explicit LlamaForCausalLmImpl(const LlamaConfig& c) {
        model = register_module("model", LlamaModel(c));
        if (!c.tie_word_embeddings) {
            lm_head = register_module("lm_head", linear(c.hidden_size, c.vocab_size, false));
        }
    }
    const torch::Tensor& head_weight() const {  // (V, D)
        return lm_head ? lm_head->weight : model->embed_tokens->weight;
    }
    LlamaModel model{nullptr};
    torch::nn::Linear lm_head{nullptr};  // only when not tied
};
TORCH_MODULE(LlamaForCausalLm);

ModelInfo llama_info(const LlamaConfig& c) {
    ModelInfo info;
    info.architecture = c.model_type;
    info.family = "transformer";
    info.n_layers = c.n_layers;
    info.n_heads = c.n_heads;
    info.n_kv_heads = c.n_kv_heads;
    info.d_model = c.hidden_size;
    info.head_dim = c.head_dim;
    info.vocab_size = c.vocab_size;
    info.context_length = c.max_position_embeddings;
    info.block_types.assign(static_cast<size_t>(c.n_layers), "attention");
    info.tied_embeddings = c.tie_word_embeddings;
    return info;
}

class LlamaLanguageModel : public TransformerLanguageModel {
  public:
    LlamaLanguageModel(const LlamaConfig& c, const io::JsonConfig& cfg)
        : TransformerLanguageModel(llama_info(c), cfg, "max_position_embeddings"), m_model(c) {
        m_model->eval();
    }
    torch::nn::Module& module() override { return *m_model; }
    torch::Tensor unembed(const torch::Tensor& hidden) override {
        torch::Tensor x = m_model->model->norm(hidden);                           // (B, T, D)
        return torch::matmul(x, m_model->head_weight().t()).to(torch::kFloat32);  // (B, T, V)
    }

    void load(const io::Checkpoint& ckpt, const LlamaConfig& c) {
        if (c.tie_word_embeddings && ckpt.contains("lm_head.weight")) {
            ckpt.get("lm_head.weight", {c.vocab_size, c.hidden_size});  // ignored, but must fit
        }
        load_strict(
            *m_model, ckpt, [](const std::string& name) { return name; },
            [&c](const std::string& name) {
                return ends_with(name, "rotary_emb.inv_freq") ||
                       (c.tie_word_embeddings && name == "lm_head.weight");
            },
            c.model_type + " load");
    }

  protected:
    torch::Tensor run(const torch::Tensor& tokens, KvCache* cache, capture::CaptureSink* sink,
                      bool check_layers) override {
        const int64_t T = tokens.size(1);
        const int64_t start = cache ? cache->position() : 0;
        LlamaModelImpl& m = *m_model->model;
        torch::Tensor x = m.embed_tokens(tokens);  // (B, T, D)
        capture::emit(sink, {"teacher", -1, capture::point::kEmbed}, [&] { return x; });
        check_finite(x, check_layers, "the embedding");
        auto [cos, sin] = rope_cos_sin(m.inv_freq.to(tokens.device()), start, T);  // (T, Dh) each
        torch::Tensor mask = causal_mask(T, start + T, start, tokens.device());    // (T, S)
        for (size_t l = 0; l < m.decoder_layers.size(); ++l) {
            x = m.decoder_layers[l](x, cos, sin, mask, cache, sink);  // (B, T, D)
            const int layer = static_cast<int>(l);
            capture::emit(sink, {"teacher", layer, capture::point::kHidden}, [&] { return x; });
            check_finite(
                x, check_layers,
                "layer " + std::to_string(l) + " (model.layers." + std::to_string(l) + ")");
        }
        x = m.norm(x);  // (B, T, D)
        capture::emit(sink, {"teacher", -1, capture::point::kFinalHidden}, [&] { return x; });
        check_finite(x, check_layers, "the final norm (model.norm)");
        return row_linear(x, m_model->head_weight()).to(torch::kFloat32);  // (B, T, V)
    }

  private:
    LlamaForCausalLm m_model;
};

}  // namespace

std::unique_ptr<LanguageModel> make_llama(const io::JsonConfig& cfg,
                                          const io::Checkpoint* weights) {
    const LlamaConfig c = parse_llama_config(cfg);
    auto model = std::make_unique<LlamaLanguageModel>(c, cfg);
    if (weights != nullptr) model->load(*weights, c);
    return model;
}

}  // namespace dxl::models
