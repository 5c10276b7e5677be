// GPT-2 teacher: config parsing, the module tree with HF names, strict loading and the forward /
// KV-cache decode over TransformerLanguageModel.
#include "core/models/gpt2.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cmath>
#include <memory>
#include <tuple>
#include <vector>

#include "core/base/error.h"
#include "core/capture/capture_sink.h"
#include "core/io/checkpoint.h"
#include "core/models/architectures.h"
#include "core/models/row_linear.h"
#include "core/models/transformer_common.h"

namespace dxl::models {

Gpt2Config parse_gpt2_config(const io::JsonConfig& cfg) {
    Gpt2Config c;
    c.vocab_size = cfg.get<int64_t>("vocab_size");
    c.n_positions = cfg.get<int64_t>("n_positions");
    c.n_embd = cfg.get<int64_t>("n_embd");
    c.n_layer = cfg.get<int64_t>("n_layer");
    c.n_head = cfg.get<int64_t>("n_head");
    c.n_inner = cfg.get_or<int64_t>("n_inner", 4 * c.n_embd);
    c.layer_norm_epsilon = cfg.get_or<double>("layer_norm_epsilon", 1e-5);
    c.activation_function = cfg.get_or<std::string>("activation_function", "gelu_new");
    c.scale_attn_weights = cfg.get_or<bool>("scale_attn_weights", true);
    c.scale_attn_by_inverse_layer_idx = cfg.get_or<bool>("scale_attn_by_inverse_layer_idx", false);
    c.tie_word_embeddings = cfg.get_or<bool>("tie_word_embeddings", true);
    const std::string& src = cfg.source();
    DXL_CHECK(c.vocab_size > 0 && c.n_positions > 0 && c.n_embd > 0 && c.n_layer > 0 &&
                  c.n_head > 0 && c.n_inner > 0,
              FormatError, src,
              ": expected positive vocab_size, n_positions, n_embd, n_layer, n_head and n_inner, "
              "but got ",
              c.vocab_size, ", ", c.n_positions, ", ", c.n_embd, ", ", c.n_layer, ", ", c.n_head,
              ", ", c.n_inner);
    DXL_CHECK(c.n_embd % c.n_head == 0, FormatError, src, ": n_embd ", c.n_embd,
              " is not divisible by n_head ", c.n_head);
    const std::string& a = c.activation_function;
    DXL_CHECK(a == "gelu_new" || a == "gelu_pytorch_tanh" || a == "gelu" || a == "relu" ||
                  a == "silu" || a == "swish",
              UnsupportedError, src, ": activation_function '", a,
              "' is not supported; supported: gelu_new, gelu_pytorch_tanh, gelu, relu, silu");
    return c;
}

namespace {

torch::Tensor activation(const torch::Tensor& x, const std::string& name) {
    if (name == "gelu_new" || name == "gelu_pytorch_tanh") return torch::gelu(x, "tanh");
    if (name == "gelu") return torch::gelu(x);
    if (name == "relu") return torch::relu(x);
    return torch::silu(x);  // silu / swish
}

// HF Conv1D: weight (in, out), y = x @ W + b.
class Conv1dImpl : public torch::nn::Module {
  public:
    Conv1dImpl(int64_t in, int64_t out) {
        weight = register_parameter("weight", torch::empty({in, out}));
        bias = register_parameter("bias", torch::zeros({out}));
        torch::nn::init::normal_(weight, 0.0, 0.02);
    }
    torch::Tensor forward(const torch::Tensor& x) {  // (..., in) -> (..., out)
        return row_linear(x, weight.t(), bias);
    }
    torch::Tensor weight;  // (in, out)
    torch::Tensor bias;    // (out)
};
TORCH_MODULE(Conv1d);

class Gpt2AttentionImpl : public torch::nn::Module {
  public:
    Gpt2AttentionImpl(const Gpt2Config& c, int layer) : m_layer(layer), m_n_head(c.n_head) {
        c_attn = register_module("c_attn", Conv1d(c.n_embd, 3 * c.n_embd));
        c_proj = register_module("c_proj", Conv1d(c.n_embd, c.n_embd));
        const double head_dim = static_cast<double>(c.n_embd / c.n_head);
        m_scale = c.scale_attn_weights ? 1.0 / std::sqrt(head_dim) : 1.0;
        if (c.scale_attn_by_inverse_layer_idx) m_scale /= static_cast<double>(layer + 1);
    }
    // x (B, T, D), mask (T, S) -> (B, T, D).
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, KvCache* cache,
                          capture::CaptureSink* sink) {
        const int64_t B = x.size(0), T = x.size(1), D = x.size(2);
        const int64_t Dh = D / m_n_head;
        auto qkv = c_attn(x).split(D, -1);          // 3 x (B, T, D)
        auto heads = [&](const torch::Tensor& t) {  // (B, T, D) -> (B, H, T, Dh)
            return t.view({B, T, m_n_head, Dh}).transpose(1, 2);
        };
        torch::Tensor q = heads(qkv[0]);                                            // (B, H, T, Dh)
        torch::Tensor k = heads(qkv[1]);                                            // (B, H, T, Dh)
        torch::Tensor v = heads(qkv[2]);                                            // (B, H, T, Dh)
        if (cache != nullptr) std::tie(k, v) = cache->append(m_layer, k, v);        // (B, H, S, Dh)
        torch::Tensor y = causal_attention(q, k, v, mask, m_scale, sink, m_layer);  // (B, H, T, Dh)
        return c_proj(y.transpose(1, 2).reshape({B, T, D}));
    }
    Conv1d c_attn{nullptr};
    Conv1d c_proj{nullptr};

  private:
    int m_layer;
    int64_t m_n_head;
    double m_scale = 1.0;
};
TORCH_MODULE(Gpt2Attention);

class Gpt2MlpImpl : public torch::nn::Module {
  public:
    explicit Gpt2MlpImpl(const Gpt2Config& c) : m_activation(c.activation_function) {
        c_fc = register_module("c_fc", Conv1d(c.n_embd, c.n_inner));
        c_proj = register_module("c_proj", Conv1d(c.n_inner, c.n_embd));
    }
    torch::Tensor forward(const torch::Tensor& x) {  // (B, T, D) -> (B, T, D)
        return c_proj(activation(c_fc(x), m_activation));
    }
    Conv1d c_fc{nullptr};
    Conv1d c_proj{nullptr};

  private:
    std::string m_activation;
};
TORCH_MODULE(Gpt2Mlp);

torch::nn::LayerNorm make_layer_norm(const Gpt2Config& c) {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.n_embd}).eps(c.layer_norm_epsilon));
}

class Gpt2BlockImpl : public torch::nn::Module {
  public:
    Gpt2BlockImpl(const Gpt2Config& c, int layer) {
        ln_1 = register_module("ln_1", make_layer_norm(c));
        attn = register_module("attn", Gpt2Attention(c, layer));
        ln_2 = register_module("ln_2", make_layer_norm(c));
        mlp = register_module("mlp", Gpt2Mlp(c));
    }
    // x (B, T, D) -> (B, T, D)
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, KvCache* cache,
                          capture::CaptureSink* sink) {
        torch::Tensor h = x + attn(ln_1(x), mask, cache, sink);  // (B, T, D)
        return h + mlp(ln_2(h));
    }
    torch::nn::LayerNorm ln_1{nullptr};
    Gpt2Attention attn{nullptr};
    torch::nn::LayerNorm ln_2{nullptr};
    Gpt2Mlp mlp{nullptr};
};
TORCH_MODULE(Gpt2Block);

// HF GPT2Model ("transformer." in GPT2LMHeadModel).
class Gpt2ModelImpl : public torch::nn::Module {
  public:
    explicit Gpt2ModelImpl(const Gpt2Config& c) {
        wte = register_module("wte", torch::nn::Embedding(c.vocab_size, c.n_embd));
        wpe = register_module("wpe", torch::nn::Embedding(c.n_positions, c.n_embd));
        torch::nn::init::normal_(wte->weight, 0.0, 0.02);
        torch::nn::init::normal_(wpe->weight, 0.0, 0.02);
        h = register_module("h", torch::nn::ModuleList());
        for (int l = 0; l < c.n_layer; ++l) {
            blocks.push_back(Gpt2Block(c, l));
            h->push_back(blocks.back());
        }
        ln_f = register_module("ln_f", make_layer_norm(c));
    }
    torch::nn::Embedding wte{nullptr};  // (V, D)
    torch::nn::Embedding wpe{nullptr};  // (n_positions, D)
    torch::nn::ModuleList h{nullptr};
    std::vector<Gpt2Block> blocks;  // the entries of h
    torch::nn::LayerNorm ln_f{nullptr};
};
TORCH_MODULE(Gpt2Model);

class Gpt2LmHeadModelImpl : public torch::nn::Module {
  public:
    explicit Gpt2LmHeadModelImpl(const Gpt2Config& c) {
        transformer = register_module("transformer", Gpt2Model(c));
        if (!c.tie_word_embeddings) {
            lm_head = register_module(
                "lm_head",
                torch::nn::Linear(torch::nn::LinearOptions(c.n_embd, c.vocab_size).bias(false)));
        }
    }
    const torch::Tensor& head_weight() const {  // (V, D)
        return lm_head ? lm_head->weight : transformer->wte->weight;
    }
    Gpt2Model transformer{nullptr};
    torch::nn::Linear lm_head{nullptr};  // only when not tied
};
TORCH_MODULE(Gpt2LmHeadModel);

ModelInfo gpt2_info(const Gpt2Config& c) {
    ModelInfo info;
    info.architecture = "gpt2";
    info.family = "transformer";
    info.n_layers = c.n_layer;
    info.n_heads = c.n_head;
    info.n_kv_heads = c.n_head;
    info.d_model = c.n_embd;
    info.head_dim = c.n_embd / c.n_head;
    info.vocab_size = c.vocab_size;
    info.context_length = c.n_positions;
    info.block_types.assign(static_cast<size_t>(c.n_layer), "attention");
    info.tied_embeddings = c.tie_word_embeddings;
    return info;
}

class Gpt2LanguageModel : public TransformerLanguageModel {
  public:
    Gpt2LanguageModel(const Gpt2Config& c, const io::JsonConfig& cfg)
        : TransformerLanguageModel(gpt2_info(c), cfg, "n_positions"), m_model(c) {
        m_model->eval();
    }
    torch::nn::Module& module() override { return *m_model; }
    torch::Tensor unembed(const torch::Tensor& hidden) override {
        torch::Tensor x = m_model->transformer->ln_f(hidden);                     // (B, T, D)
        return torch::matmul(x, m_model->head_weight().t()).to(torch::kFloat32);  // (B, T, V)
    }

    void load(const io::Checkpoint& ckpt, const Gpt2Config& c) {
        // GPT2LMHeadModel files use "transformer."; GPT2Model hub files have no prefix.
        const bool prefixed =
            ckpt.contains("transformer.wte.weight") || !ckpt.contains("wte.weight");
        const std::string what = "gpt2 load";
        if (c.tie_word_embeddings && ckpt.contains("lm_head.weight")) {
            // Tied: the file's copy is ignored, but it must at least fit.
            ckpt.get("lm_head.weight", {c.vocab_size, c.n_embd});
        }
        load_strict(
            *m_model, ckpt,
            [prefixed](const std::string& name) {
                const std::string prefix = "transformer.";
                if (!prefixed && name.compare(0, prefix.size(), prefix) == 0)
                    return name.substr(prefix.size());
                return name;
            },
            [&c](const std::string& name) {
                return ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias") ||
                       (c.tie_word_embeddings && name == "lm_head.weight");
            },
            what);
    }

  protected:
    torch::Tensor run(const torch::Tensor& tokens, KvCache* cache, capture::CaptureSink* sink,
                      bool check_layers) override {
        const int64_t T = tokens.size(1);
        const int64_t start = cache ? cache->position() : 0;
        Gpt2ModelImpl& tr = *m_model->transformer;
        torch::Tensor pos = torch::arange(start, start + T, tokens.options());  // (T)
        torch::Tensor x = tr.wte(tokens) + tr.wpe(pos);                         // (B, T, D)
        capture::emit(sink, {"teacher", -1, capture::point::kEmbed}, [&] { return x; });
        check_finite(x, check_layers, "the embedding");
        torch::Tensor mask = causal_mask(T, start + T, start, tokens.device());  // (T, S)
        for (size_t l = 0; l < tr.blocks.size(); ++l) {
            x = tr.blocks[l](x, mask, cache, sink);  // (B, T, D)
            const int layer = static_cast<int>(l);
            capture::emit(sink, {"teacher", layer, capture::point::kHidden}, [&] { return x; });
            check_finite(
                x, check_layers,
                "layer " + std::to_string(l) + " (transformer.h." + std::to_string(l) + ")");
        }
        x = tr.ln_f(x);  // (B, T, D)
        capture::emit(sink, {"teacher", -1, capture::point::kFinalHidden}, [&] { return x; });
        check_finite(x, check_layers, "the final layer norm (transformer.ln_f)");
        return row_linear(x, m_model->head_weight()).to(torch::kFloat32);  // (B, T, V)
    }

  private:
    Gpt2LmHeadModel m_model;
};

}  // namespace

std::unique_ptr<LanguageModel> make_gpt2(const io::JsonConfig& cfg, const io::Checkpoint* weights) {
    const Gpt2Config c = parse_gpt2_config(cfg);
    auto model = std::make_unique<Gpt2LanguageModel>(c, cfg);
    if (weights != nullptr) model->load(*weights, c);
    return model;
}

}  // namespace dxl::models
