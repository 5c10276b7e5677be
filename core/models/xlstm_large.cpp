// xlstm_large blocks and LM (NX-AI/xlstm xlstm/xlstm_large/model.py + components.py) with
// capture points, strict loading and incremental decoding. Operation order follows the
// reference modules so float32 results stay at the reference's rounding distance
// (tests/data/golden_xlarge/README.md).
#include <torch/torch.h>

#include "core/models/xlstm_large.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/base/error.h"
#include "core/capture/capture_sink.h"
#include "core/io/checkpoint.h"
#include "core/models/mlstm_cell.h"
#include "core/models/recurrent_lm.h"

namespace dxl::models::xlstm_large {
namespace F = torch::nn::functional;
namespace point = capture::point;

int64_t XlargeConfig::qk_dim() const {
    return static_cast<int64_t>(static_cast<double>(embedding_dim) * qk_dim_factor);
}
int64_t XlargeConfig::v_dim() const {
    return static_cast<int64_t>(static_cast<double>(embedding_dim) * v_dim_factor);
}
int64_t XlargeConfig::ffn_dim() const {  // int(((x + m - 1) // m) * m) with float x
    const double x = static_cast<double>(embedding_dim) * ffn_proj_factor;
    const double m = static_cast<double>(ffn_round_up_to_multiple_of);
    return static_cast<int64_t>(std::floor((x + m - 1.0) / m) * m);
}

namespace {

// Optional float field where JSON null means "none" (the reference's `cap_value=None`).
std::optional<double> optional_cap(const io::JsonConfig& cfg, const std::string& key,
                                   double fallback) {
    if (cfg.json().contains(key) && cfg.json().at(key).is_null()) return std::nullopt;
    const double v = cfg.get_or<double>(key, fallback);
    DXL_CHECK(v > 0.0, FormatError, cfg.source(), ": field '", key,
              "': expected a positive soft-cap value or null, but got ", v);
    return v;
}

}  // namespace

XlargeConfig parse_xlstm_large(const io::JsonConfig& cfg) {
    DXL_CHECK(cfg.model_type() == "xlstm_large", FormatError, cfg.source(),
              ": expected model_type 'xlstm_large', but got '", cfg.model_type(), "'");
    XlargeConfig c;
    auto int_alias = [&](const char* key, const char* alias) {
        if (cfg.has(key)) return cfg.get<int64_t>(key);
        DXL_CHECK(cfg.has(alias), FormatError, cfg.source(), ": field '", key,
                  "' is missing (nor is '", alias, "' given)");
        return cfg.get<int64_t>(alias);
    };
    c.embedding_dim = int_alias("embedding_dim", "hidden_size");
    c.num_blocks = int_alias("num_blocks", "num_hidden_layers");
    c.num_heads = cfg.get<int64_t>("num_heads");
    c.vocab_size = cfg.get<int64_t>("vocab_size");
    c.use_bias = cfg.get_or<bool>("use_bias", c.use_bias);
    c.norm_eps = cfg.get_or<double>("norm_eps", c.norm_eps);
    c.norm_reduction_force_float32 =
        cfg.get_or<bool>("norm_reduction_force_float32", c.norm_reduction_force_float32);
    c.add_out_norm = cfg.get_or<bool>("add_out_norm", c.add_out_norm);
    c.qk_dim_factor = cfg.get_or<double>("qk_dim_factor", c.qk_dim_factor);
    c.v_dim_factor = cfg.get_or<double>("v_dim_factor", c.v_dim_factor);
    c.eps = cfg.get_or<double>("eps", c.eps);
    c.ffn_proj_factor = cfg.get_or<double>("ffn_proj_factor", c.ffn_proj_factor);
    c.ffn_round_up_to_multiple_of =
        cfg.get_or<int64_t>("ffn_round_up_to_multiple_of", c.ffn_round_up_to_multiple_of);
    c.gate_soft_cap = optional_cap(cfg, "gate_soft_cap", 15.0);
    c.output_logit_soft_cap = optional_cap(cfg, "output_logit_soft_cap", 30.0);
    c.weight_mode = cfg.get_or<std::string>("weight_mode", c.weight_mode);
    c.tie_word_embeddings = cfg.get_or<bool>("tie_word_embeddings", c.tie_word_embeddings);

    const std::string& src = cfg.source();
    DXL_CHECK(c.weight_mode == "single" || c.weight_mode == "fused", FormatError, src,
              ": field 'weight_mode': expected 'single' or 'fused', but got '", c.weight_mode, "'");
    DXL_CHECK(c.embedding_dim > 0 && c.num_heads > 0 && c.num_blocks > 0 && c.vocab_size > 0,
              ValueError, src,
              ": expected positive embedding_dim, num_heads, num_blocks and vocab_size");
    DXL_CHECK(c.ffn_round_up_to_multiple_of > 0, ValueError, src,
              ": field 'ffn_round_up_to_multiple_of': expected > 0, but got ",
              c.ffn_round_up_to_multiple_of);
    DXL_CHECK(c.qk_dim() > 0 && c.qk_dim() % c.num_heads == 0, ValueError, src,
              ": qk dim int(embedding_dim * qk_dim_factor) = ", c.qk_dim(),
              " must be a positive multiple of num_heads = ", c.num_heads);
    DXL_CHECK(c.v_dim() > 0 && c.v_dim() % c.num_heads == 0, ValueError, src,
              ": v dim int(embedding_dim * v_dim_factor) = ", c.v_dim(),
              " must be a positive multiple of num_heads = ", c.num_heads);
    return c;
}

torch::Tensor soft_cap(const torch::Tensor& x, const std::optional<double>& c) {
    if (!c) return x;
    return *c * torch::tanh(x / *c);
}

namespace {

// A plain module whose children and parameters carry the reference names.
class Node : public torch::nn::Module {
  public:
    std::shared_ptr<Node> child(const std::string& name) {
        auto it = m_children.find(name);
        if (it != m_children.end()) return it->second;
        auto c = register_module(name, std::make_shared<Node>());
        m_children[name] = c;
        return c;
    }
    torch::Tensor add(const std::string& name, torch::Tensor init) {
        return register_parameter(name, std::move(init));
    }

  private:
    std::map<std::string, std::shared_ptr<Node>> m_children;
};

// nn.Linear default init: weight and bias U(-1/sqrt(in), 1/sqrt(in)).
struct Linear {
    torch::Tensor w;  // (out, in)
    torch::Tensor b;  // (out) or undefined
    void init(Node& parent, const std::string& name, int64_t in, int64_t out, bool bias) {
        auto n = parent.child(name);
        const double bound = 1.0 / std::sqrt(static_cast<double>(in));
        w = n->add("weight", torch::empty({out, in}).uniform_(-bound, bound));
        if (bias) b = n->add("bias", torch::empty({out}).uniform_(-bound, bound));
    }
    torch::Tensor operator()(const torch::Tensor& x) const { return F::linear(x, w, b); }
};

// NormLayer weight (ones) and optional bias (zeros).
struct Affine {
    torch::Tensor w;  // (N)
    torch::Tensor b;  // (N) or undefined
    void init(Node& parent, const std::string& name, int64_t n, bool bias) {
        auto node = parent.child(name);
        w = node->add("weight", torch::ones({n}));
        if (bias) b = node->add("bias", torch::zeros({n}));
    }
    torch::Tensor apply(const torch::Tensor& x) const {
        torch::Tensor y = x * w;
        return b.defined() ? y + b : y;
    }
};

// Reduced-precision inputs are normalised in float32 (force_float32_reductions); float32 and
// float64 stay in their own dtype (the reference would downcast float64 to float32).
torch::Tensor reduction_input(const torch::Tensor& x, bool force32) {
    const bool low = x.scalar_type() == torch::kHalf || x.scalar_type() == torch::kBFloat16;
    return force32 && low ? x.to(torch::kFloat32) : x;
}

// RMSNorm over the last dim: x * rsqrt(mean(x^2) + eps), then weight/bias.
torch::Tensor rms_norm(const torch::Tensor& x, const Affine& a, double eps, bool force32) {
    torch::Tensor xf = reduction_input(x, force32);
    torch::Tensor y = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + eps);
    return a.apply(y.to(x.scalar_type()));
}

// MultiHeadLayerNorm: x (B, T, NH, DH) normalised over DH (biased variance), reshaped to
// (B, T, NH*DH), then weight/bias.
torch::Tensor head_layer_norm(const torch::Tensor& x, const Affine& a, double eps, bool force32) {
    torch::Tensor xf = reduction_input(x, force32);
    torch::Tensor centered = xf - xf.mean(-1, true);
    torch::Tensor y = centered * torch::rsqrt(xf.var(-1, /*unbiased=*/false, true) + eps);
    return a.apply(y.to(x.scalar_type()).flatten(2));
}

bool wants(capture::CaptureSink* sink, int layer, const char* p) {
    return sink != nullptr && sink->wants(capture::CaptureKey{"student", layer, p});
}

class MlstmBlock : public Node {
  public:
    explicit MlstmBlock(const XlargeConfig& cfg) : m_cfg(cfg) {
        const int64_t d = cfg.embedding_dim, nh = cfg.num_heads, qk = cfg.qk_dim(),
                      dv = cfg.v_dim(), ff = cfg.ffn_dim();
        const bool bias = cfg.use_bias, fused = cfg.weight_mode == "fused";
        m_norm_mlstm.init(*this, "norm_mlstm", d, bias);
        auto layer = child("mlstm_layer");
        if (fused) {
            m_qkvo.init(*layer, "qkv_opreact", d, 2 * qk + 2 * dv, bias);
            m_ifg.init(*layer, "ifgate_preact", d, 2 * nh, true);
        } else {
            m_q.init(*layer, "q", d, qk, bias);
            m_k.init(*layer, "k", d, qk, bias);
            m_v.init(*layer, "v", d, dv, bias);
            m_o.init(*layer, "ogate_preact", d, dv, bias);
            m_ig.init(*layer, "igate_preact", d, nh, true);
            m_fg.init(*layer, "fgate_preact", d, nh, true);
        }
        m_head_norm.init(*layer, "multihead_norm", dv, bias);
        m_out.init(*layer, "out_proj", dv, d, bias);
        m_norm_ffn.init(*this, "norm_ffn", d, bias);
        auto ffn = child("ffn");
        if (fused) {
            m_up_gate_z.init(*ffn, "proj_up_gate_z", d, 2 * ff, bias);
        } else {
            m_up_gate.init(*ffn, "proj_up_gate", d, ff, bias);
            m_up.init(*ffn, "proj_up", d, ff, bias);
        }
        m_down.init(*ffn, "proj_down", ff, d, bias);
    }

    mlstm::State new_state(int64_t B, const torch::TensorOptions& o) const {
        const int64_t nh = m_cfg.num_heads;
        return mlstm::zero_state(B, nh, m_cfg.qk_dim() / nh, mlstm::state_options(o),
                                 m_cfg.v_dim() / nh);
    }

    // x (B, T, D) -> (B, T, D). With `state` the block continues from it and updates it
    // (T == 1: step; T > 1: chunkwise, or recurrent when opts.form says so).
    torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& opts, mlstm::State* state,
                          capture::CaptureSink* sink, int layer) {
        const XlargeConfig& c = m_cfg;
        const int64_t B = x.size(0), T = x.size(1), nh = c.num_heads, qk = c.qk_dim(),
                      dv = c.v_dim();
        torch::Tensor xn = rms_norm(x, m_norm_mlstm, c.norm_eps,
                                    c.norm_reduction_force_float32);  // (B, T, D)
        torch::Tensor q, k, v, o, ig, fg;  // (B, T, qk) x2, (B, T, dv) x2, (B, T, NH) x2
        if (c.weight_mode == "fused") {
            torch::Tensor qkvo = m_qkvo(xn);                           // (B, T, 2qk + 2dv)
            torch::Tensor ifg = soft_cap(m_ifg(xn), c.gate_soft_cap);  // (B, T, 2NH)
            q = qkvo.narrow(-1, 0, qk);
            k = qkvo.narrow(-1, qk, qk);
            v = qkvo.narrow(-1, 2 * qk, dv);
            o = qkvo.narrow(-1, 2 * qk + dv, dv);
            ig = ifg.narrow(-1, 0, nh);
            fg = ifg.narrow(-1, nh, nh);
        } else {
            q = m_q(xn);
            k = m_k(xn);
            v = m_v(xn);
            o = m_o(xn);
            ig = soft_cap(m_ig(xn), c.gate_soft_cap);
            fg = soft_cap(m_fg(xn), c.gate_soft_cap);
        }
        auto heads = [&](const torch::Tensor& t) {  // (B, T, NH*Dx) -> (B, NH, T, Dx)
            return t.reshape({B, T, nh, -1}).transpose(1, 2);
        };
        // Reduced-precision models run the cell in float32 (mlstm::cell_precision).
        torch::Tensor qh = mlstm::cell_precision(heads(q));  // (B, NH, T, Dqk)
        torch::Tensor kh = mlstm::cell_precision(heads(k));  // (B, NH, T, Dqk)
        torch::Tensor vh = mlstm::cell_precision(heads(v));  // (B, NH, T, Dv)
        torch::Tensor igh = mlstm::cell_precision(ig.transpose(1, 2).contiguous());  // (B, NH, T)
        torch::Tensor fgh = mlstm::cell_precision(fg.transpose(1, 2).contiguous());  // (B, NH, T)
        capture::emit(sink, {"student", layer, point::kMlstmQ}, [&] { return qh; });
        capture::emit(sink, {"student", layer, point::kMlstmK}, [&] { return kh; });
        capture::emit(sink, {"student", layer, point::kMlstmV}, [&] { return vh; });
        capture::emit(sink, {"student", layer, point::kMlstmIgatePre}, [&] { return igh; });
        capture::emit(sink, {"student", layer, point::kMlstmFgatePre}, [&] { return fgh; });
        if (wants(sink, layer, point::kImplicitAttn))
            capture::emit(sink, {"student", layer, point::kImplicitAttn},
                          [&] { return mlstm::implicit_attention(qh, kh, igh, fgh); });

        torch::Tensor h;  // (B, NH, T, Dv)
        if (state != nullptr) {
            if (T == 1) {
                h = mlstm::step(*state, qh.select(2, 0), kh.select(2, 0), vh.select(2, 0),
                                igh.select(2, 0), fgh.select(2, 0), c.eps)
                        .unsqueeze(2);
            } else if (opts.form == MlstmForm::Recurrent) {
                auto r = mlstm::recurrent(qh, kh, vh, igh, fgh, state, c.eps);
                h = r.h;
                *state = r.last;
            } else {
                auto r = mlstm::chunkwise(qh, kh, vh, igh, fgh, opts.chunk_size, state, c.eps);
                h = r.h;
                *state = r.last;
            }
        } else {
            const MlstmForm form = resolve_form(opts, T, qh.size(-1));
            switch (form) {
                case MlstmForm::Chunkwise:
                    h = mlstm::chunkwise(qh, kh, vh, igh, fgh, opts.chunk_size, nullptr, c.eps).h;
                    break;
                case MlstmForm::Recurrent:
                    h = mlstm::recurrent(qh, kh, vh, igh, fgh, nullptr, c.eps).h;
                    break;
                default:
                    h = mlstm::parallel(qh, kh, vh, igh, fgh, c.eps);
                    break;
            }
        }
        capture::emit(sink, {"student", layer, point::kMlstmH}, [&] { return h; });
        h = h.to(x.scalar_type());
        torch::Tensor hn = head_layer_norm(h.transpose(1, 2), m_head_norm, c.norm_eps,
                                           c.norm_reduction_force_float32);  // (B, T, Dv)
        torch::Tensor y = x + m_out(torch::sigmoid(o) * hn);                 // (B, T, D)

        torch::Tensor yn =
            rms_norm(y, m_norm_ffn, c.norm_eps, c.norm_reduction_force_float32);  // (B, T, D)
        torch::Tensor act;                                                        // (B, T, F)
        if (c.weight_mode == "fused") {
            torch::Tensor gz = m_up_gate_z(yn);  // (B, T, 2F)
            const int64_t ff = gz.size(-1) / 2;
            act = torch::silu(gz.narrow(-1, 0, ff)) * gz.narrow(-1, ff, ff);
        } else {
            act = torch::silu(m_up_gate(yn)) * m_up(yn);
        }
        return y + m_down(act);
    }

  private:
    XlargeConfig m_cfg;
    Affine m_norm_mlstm, m_head_norm, m_norm_ffn;  // (D), (Dv), (D)
    Linear m_q, m_k, m_v, m_o;                     // single: (qk|dv, D)
    Linear m_ig, m_fg;                             // single: (NH, D) + bias
    Linear m_qkvo, m_ifg;                          // fused: (2qk + 2dv, D), (2NH, D) + bias
    Linear m_out;                                  // (D, dv)
    Linear m_up_gate, m_up, m_up_gate_z, m_down;   // (F, D) x2 | (2F, D); (D, F)
};

class XlargeModule : public Node {
  public:
    explicit XlargeModule(const XlargeConfig& cfg) {
        const int64_t d = cfg.embedding_dim, V = cfg.vocab_size;
        m_emb = child("embedding")->add("weight", torch::randn({V, d}));  // nn.Embedding: N(0, 1)
        auto backbone = child("backbone");
        auto blocks = backbone->child("blocks");
        for (int64_t b = 0; b < cfg.num_blocks; ++b)
            m_blocks.push_back(
                blocks->register_module(std::to_string(b), std::make_shared<MlstmBlock>(cfg)));
        if (cfg.add_out_norm) m_out_norm.init(*backbone, "out_norm", d, cfg.use_bias);
        if (!cfg.tie_word_embeddings) {
            Linear head;
            head.init(*this, "lm_head", d, V, false);
            m_head = head.w;
        }
    }
    torch::Tensor m_emb;  // (V, D)
    std::vector<std::shared_ptr<MlstmBlock>> m_blocks;
    Affine m_out_norm;     // (D), undefined without add_out_norm
    torch::Tensor m_head;  // (V, D), undefined when tied
};

using XlargeDecodeState = recurrent::BlockDecodeState<mlstm::State>;

class XlargeModel : public LanguageModel {
  public:
    XlargeModel(const XlargeConfig& cfg, io::JsonConfig json)
        : m_cfg(cfg), m_json(std::move(json)), m_module(std::make_shared<XlargeModule>(cfg)) {
        m_info.architecture = "xlstm_large";
        m_info.family = "xlstm";
        m_info.n_layers = cfg.num_blocks;
        m_info.n_heads = cfg.num_heads;
        m_info.n_kv_heads = 0;
        m_info.d_model = cfg.embedding_dim;
        m_info.head_dim = cfg.qk_dim() / cfg.num_heads;  // q/k head dim (v: v_dim / NH)
        m_info.vocab_size = cfg.vocab_size;
        m_info.context_length = 0;  // recurrent: no hard limit
        m_info.block_types.assign(static_cast<size_t>(cfg.num_blocks), "mlstm");
        m_info.tied_embeddings = cfg.tie_word_embeddings;
        recurrent::freeze(*m_module, m_json.get_or<std::vector<std::string>>("dxl_frozen", {}),
                          {"embedding", "lm_head"}, m_json.source());
    }

    const ModelInfo& info() const override { return m_info; }
    const io::JsonConfig& config() const override { return m_json; }
    torch::nn::Module& module() override { return *m_module; }
    torch::Tensor unembed(const torch::Tensor& hidden) override {
        auto& m = *m_module;
        torch::Tensor x = hidden;  // (B, T, D)
        if (m.m_out_norm.w.defined())
            x = rms_norm(x, m.m_out_norm, m_cfg.norm_eps, m_cfg.norm_reduction_force_float32);
        torch::Tensor logits = F::linear(x, m.m_head.defined() ? m.m_head : m.m_emb);  // (B,T,V)
        return soft_cap(logits, m_cfg.output_logit_soft_cap);
    }

    torch::Tensor forward(const torch::Tensor& tokens, const ForwardOptions& opts,
                          capture::CaptureSink* sink) override {
        recurrent::check_tokens(tokens, m_cfg.vocab_size, "xlstm_large");
        return run(tokens, opts, nullptr, sink);
    }

    std::unique_ptr<DecodeState> new_decode_state(int64_t batch) override {
        auto s = std::make_unique<XlargeDecodeState>();
        auto o = m_module->m_emb.options();
        for (auto& b : m_module->m_blocks)
            s->blocks.push_back(b->new_state(batch, o));
        s->batch = batch;
        return s;
    }

    torch::Tensor forward_step(const torch::Tensor& tokens, DecodeState& state) override {
        recurrent::check_tokens(tokens, m_cfg.vocab_size, "xlstm_large");
        auto& s = recurrent::checked_state<XlargeDecodeState>(state, tokens, "xlstm_large");
        torch::Tensor logits = run(tokens, ForwardOptions{}, &s, nullptr);
        s.pos += tokens.size(1);
        return logits;
    }

    // Strict load by reference state_dict name.
    void load(const io::Checkpoint& ck) {
        const std::string desc = ck.description();
        std::set<std::string> expected;
        torch::NoGradGuard no_grad;
        for (auto& p : m_module->named_parameters(true)) {
            const std::string& name = p.key();
            expected.insert(name);
            DXL_CHECK(ck.contains(name), FormatError, desc, ": tensor '", name,
                      "' is missing; the checkpoint does not match this xlstm_large config "
                      "(use_bias / weight_mode / add_out_norm / num_blocks?)");
            const std::vector<int64_t> shape = ck.shape(name);
            DXL_CHECK(p.value().sizes() == torch::IntArrayRef(shape), ShapeError, desc,
                      ": tensor '", name, "': expected ", p.value().sizes(), ", but got ",
                      torch::IntArrayRef(shape),
                      "; check embedding_dim, num_heads, qk/v_dim_factor and ffn_proj_factor");
            p.value().copy_(ck.get(name, p.value().scalar_type()));
        }
        for (const auto& n : ck.names()) {
            if (m_cfg.tie_word_embeddings && n == "lm_head.weight") continue;
            DXL_CHECK(expected.count(n) > 0, FormatError, desc, ": unexpected tensor '", n,
                      "' for this xlstm_large config (num_blocks / use_bias / weight_mode / "
                      "tie_word_embeddings mismatch?)");
        }
    }

  private:
    torch::Tensor run(const torch::Tensor& tokens, const ForwardOptions& opts,
                      XlargeDecodeState* state, capture::CaptureSink* sink) {
        auto& m = *m_module;
        torch::Tensor x = m.m_emb.index_select(0, tokens.reshape({-1}).to(m.m_emb.device()))
                              .view({tokens.size(0), tokens.size(1), -1});  // (B, T, D)
        capture::emit(sink, {"student", -1, point::kEmbed}, [&] { return x; });
        for (size_t b = 0; b < m.m_blocks.size(); ++b) {
            x = m.m_blocks[b]->forward(x, opts, state ? &state->blocks[b] : nullptr, sink,
                                       static_cast<int>(b));
            capture::emit(sink, {"student", static_cast<int>(b), point::kHidden},
                          [&] { return x; });
        }
        if (m.m_out_norm.w.defined())
            x = rms_norm(x, m.m_out_norm, m_cfg.norm_eps, m_cfg.norm_reduction_force_float32);
        capture::emit(sink, {"student", -1, point::kFinalHidden}, [&] { return x; });
        torch::Tensor logits = F::linear(x, m.m_head.defined() ? m.m_head : m.m_emb);  // (B,T,V)
        // Logits of a reduced-precision model are returned in float32, as the teachers' are;
        // under autocast (float32 weights) they stay in the autocast dtype.
        logits = soft_cap(logits, m_cfg.output_logit_soft_cap);
        return mlstm::is_reduced(m.m_emb.scalar_type()) ? logits.to(torch::kFloat32) : logits;
    }

    XlargeConfig m_cfg;
    io::JsonConfig m_json;
    std::shared_ptr<XlargeModule> m_module;
    ModelInfo m_info;
};

}  // namespace

std::unique_ptr<LanguageModel> make_model(const XlargeConfig& cfg, const io::JsonConfig& json,
                                          const io::Checkpoint* weights) {
    auto model = std::make_unique<XlargeModel>(cfg, json);
    if (weights) model->load(*weights);
    return model;
}

}  // namespace dxl::models::xlstm_large

namespace dxl::models {

std::unique_ptr<LanguageModel> make_xlstm_large(const io::JsonConfig& cfg,
                                                const io::Checkpoint* weights) {
    return xlstm_large::make_model(xlstm_large::parse_xlstm_large(cfg), cfg, weights);
}

}  // namespace dxl::models
