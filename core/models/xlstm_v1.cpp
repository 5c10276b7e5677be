// xlstm_v1 blocks, stack and LM (NX-AI/xlstm xLSTMLMModel) with capture points and
// incremental decoding. Operation order follows the reference modules (xlstm/blocks/*,
// xlstm/components/*) so float32 outputs stay at the reference's rounding distance.
#include <torch/torch.h>

#include "core/models/xlstm_v1.h"

#include <cmath>
#include <map>
#include <set>

#include "core/base/error.h"
#include "core/capture/capture_sink.h"
#include "core/io/checkpoint.h"
#include "core/models/architectures.h"
#include "core/models/recurrent_lm.h"
#include "core/models/slstm_cell.h"

namespace dxl::models::xlstm_v1 {
namespace F = torch::nn::functional;
using capture::CaptureKey;
namespace point = capture::point;

namespace {

constexpr double kNormEps = 1e-5;

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

torch::Tensor small_init(std::vector<int64_t> shape, int64_t dim) {  // std sqrt(2 / (5 d))
    return torch::randn(shape) * std::sqrt(2.0 / (5.0 * static_cast<double>(dim)));
}
torch::Tensor wang_init(std::vector<int64_t> shape, int64_t dim, int64_t num_blocks) {
    return torch::randn(shape) *
           (2.0 / static_cast<double>(num_blocks) / std::sqrt(static_cast<double>(dim)));
}

// LayerNorm with residual weight (1 + w), no bias (xlstm/components/ln.py).
// Under mixed precision x arrives in bf16 while w is float32: normalise in the wider dtype.
torch::Tensor widened(const torch::Tensor& x, const torch::Tensor& w) {
    return x.scalar_type() == w.scalar_type()
               ? x
               : x.to(torch::promote_types(x.scalar_type(), w.scalar_type()));
}

torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& w) {
    return torch::layer_norm(widened(x, w), {x.size(-1)}, 1 + w, {}, kNormEps);
}

// MultiHeadLayerNorm: x (B, NH, T, DH) -> group_norm over (B*T, NH*DH), returns (B, T, NH*DH).
torch::Tensor head_norm(const torch::Tensor& x, const torch::Tensor& w) {
    const int64_t B = x.size(0), NH = x.size(1), T = x.size(2), DH = x.size(3);
    torch::Tensor y = torch::group_norm(widened(x, w).transpose(1, 2).reshape({B * T, NH * DH}), NH,
                                        1 + w, {}, kNormEps);
    return y.view({B, T, NH * DH});
}

// LinearHeadwiseExpand: x (..., NH*in) with W (NH, out, in): y[..., h, o] = sum_d x[h, d] W[h, o,
// d].
torch::Tensor headwise(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    const int64_t NH = w.size(0), in = w.size(2);
    auto sizes = x.sizes().vec();
    sizes.back() = NH;
    sizes.push_back(in);
    torch::Tensor y = torch::einsum("...hd,hod->...ho", {x.view(sizes), w});
    y = y.flatten(-2);
    return b.defined() ? y + b : y;
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    return torch::nn::functional::linear(x, w, b.defined() ? b : torch::Tensor());
}

// Causal depthwise conv over (B, T, F) with the previous K-1 inputs `buf` (B, K-1, F) (zeros if
// undefined, i.e. the reference's k-1 left padding). Returns y (B, T, F), updates buf.
torch::Tensor causal_conv(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                          torch::Tensor* buf) {
    const int64_t B = x.size(0), Fd = x.size(2), K = w.size(2);
    torch::Tensor prev = (buf && buf->defined()) ? *buf : torch::zeros({B, K - 1, Fd}, x.options());
    torch::Tensor xp = torch::cat({prev, x}, 1);  // (B, K-1+T, F)
    torch::Tensor y =
        torch::conv1d(xp.transpose(1, 2), w, b, /*stride=*/torch::IntArrayRef{1},
                      /*padding=*/torch::IntArrayRef{0}, /*dilation=*/torch::IntArrayRef{1}, Fd)
            .transpose(1, 2);
    if (buf) *buf = xp.narrow(1, xp.size(1) - (K - 1), K - 1).contiguous();
    return y;
}

bool wants(capture::CaptureSink* sink, int layer, const char* p) {
    return sink != nullptr && sink->wants(CaptureKey{"student", layer, p});
}

// ---- mLSTM block ----
class MlstmBlock : public BlockImpl {
  public:
    MlstmBlock(const XlstmConfig& cfg, int64_t idx) : m_cfg(cfg) {
        const int64_t d = cfg.embedding_dim, in = cfg.mlstm_inner_dim(), nh = cfg.mlstm_num_heads;
        const int64_t bs = cfg.qkv_proj_blocksize, K = cfg.mlstm_conv_kernel;
        auto self = std::make_shared<Node>();
        m_norm = register_module("xlstm_norm", std::make_shared<Node>())
                     ->add("weight", torch::zeros({d}));
        auto layer = register_module("xlstm", std::make_shared<Node>());
        m_up = layer->child("proj_up")->add("weight", small_init({2 * in, d}, d));
        if (cfg.bias) m_up_b = layer->child("proj_up")->add("bias", torch::zeros({2 * in}));
        auto conv = layer->child("conv1d")->child("conv");
        const double bound = 1.0 / std::sqrt(static_cast<double>(K));
        m_conv_w = conv->add("weight", torch::empty({in, 1, K}).uniform_(-bound, bound));
        m_conv_b = conv->add("bias", torch::empty({in}).uniform_(-bound, bound));
        const char* names[3] = {"q_proj", "k_proj", "v_proj"};
        for (int i = 0; i < 3; ++i) {
            auto n = layer->child(names[i]);
            m_qkv[i] = n->add("weight", small_init({in / bs, bs, bs}, bs));
            if (cfg.bias) m_qkv_b[i] = n->add("bias", torch::zeros({in}));
        }
        auto cell = layer->child("mlstm_cell");
        m_ig_w = cell->child("igate")->add("weight", torch::zeros({nh, 3 * in}));
        m_ig_b = cell->child("igate")->add("bias", torch::randn({nh}) * 0.1);
        m_fg_w = cell->child("fgate")->add("weight", torch::zeros({nh, 3 * in}));
        m_fg_b = cell->child("fgate")->add("bias", torch::linspace(3.0, 6.0, nh));
        m_outnorm = cell->child("outnorm")->add("weight", torch::zeros({in}));
        m_skip = layer->add("learnable_skip", torch::ones({in}));
        m_down = layer->child("proj_down")->add("weight", wang_init({d, in}, d, cfg.num_blocks));
        if (cfg.bias) m_down_b = layer->child("proj_down")->add("bias", torch::zeros({d}));
        (void)idx;
        (void)self;
    }

    bool is_slstm() const override { return false; }

    BlockState new_state(int64_t B, const torch::TensorOptions& o) const override {
        const int64_t in = m_cfg.mlstm_inner_dim(), nh = m_cfg.mlstm_num_heads;
        BlockState s;
        s.cell = mlstm::zero_state(B, nh, in / nh, mlstm::state_options(o));
        s.conv = torch::zeros({B, m_cfg.mlstm_conv_kernel - 1, in}, o);
        return s;
    }

    torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& opts, BlockState* state,
                          capture::CaptureSink* sink, int layer) override {
        const int64_t B = x.size(0), T = x.size(1), in = m_cfg.mlstm_inner_dim();
        const int64_t nh = m_cfg.mlstm_num_heads, dh = in / nh;
        torch::Tensor x_inner = linear(layer_norm(x, m_norm), m_up, m_up_b);  // (B, T, 2I)
        torch::Tensor x_m = x_inner.narrow(-1, 0, in);                        // (B, T, I)
        torch::Tensor z = x_inner.narrow(-1, in, in);                         // (B, T, I)
        torch::Tensor xc = torch::silu(
            causal_conv(x_m, m_conv_w, m_conv_b, state ? &state->conv : nullptr));  // (B, T, I)
        torch::Tensor q = headwise(xc, m_qkv[0], m_qkv_b[0]);                       // (B, T, I)
        torch::Tensor k = headwise(xc, m_qkv[1], m_qkv_b[1]);                       // (B, T, I)
        torch::Tensor v = headwise(x_m, m_qkv[2], m_qkv_b[2]);                      // (B, T, I)
        torch::Tensor if_in = torch::cat({q, k, v}, -1);                            // (B, T, 3I)
        torch::Tensor ig = linear(if_in, m_ig_w, m_ig_b).transpose(1, 2);           // (B, H, T)
        torch::Tensor fg = linear(if_in, m_fg_w, m_fg_b).transpose(1, 2);           // (B, H, T)
        auto heads = [&](const torch::Tensor& t) {  // (B, T, I) -> (B, H, T, Dh)
            return t.view({B, T, nh, dh}).transpose(1, 2);
        };
        // Reduced-precision models run the cell in float32 (mlstm::cell_precision).
        torch::Tensor qh = mlstm::cell_precision(heads(q)), kh = mlstm::cell_precision(heads(k)),
                      vh = mlstm::cell_precision(heads(v));  // (B, H, T, Dh)
        ig = mlstm::cell_precision(ig);
        fg = mlstm::cell_precision(fg);
        capture::emit(sink, {"student", layer, point::kMlstmQ}, [&] { return qh; });
        capture::emit(sink, {"student", layer, point::kMlstmK}, [&] { return kh; });
        capture::emit(sink, {"student", layer, point::kMlstmV}, [&] { return vh; });
        capture::emit(sink, {"student", layer, point::kMlstmIgatePre}, [&] { return ig; });
        capture::emit(sink, {"student", layer, point::kMlstmFgatePre}, [&] { return fg; });
        if (wants(sink, layer, point::kImplicitAttn))
            capture::emit(sink, {"student", layer, point::kImplicitAttn},
                          [&] { return mlstm::implicit_attention(qh, kh, ig, fg); });

        torch::Tensor h;  // (B, H, T, Dh)
        if (state != nullptr) {
            if (T == 1) {
                h = mlstm::step(state->cell, qh.select(2, 0), kh.select(2, 0), vh.select(2, 0),
                                ig.select(2, 0), fg.select(2, 0))
                        .unsqueeze(2);
            } else if (opts.form == MlstmForm::Recurrent) {
                auto r = mlstm::recurrent(qh, kh, vh, ig, fg, &state->cell);
                h = r.h;
                state->cell = r.last;
            } else {
                auto r = mlstm::chunkwise(qh, kh, vh, ig, fg, opts.chunk_size, &state->cell);
                h = r.h;
                state->cell = r.last;
            }
        } else {
            const MlstmForm form = resolve_form(opts, T, qh.size(-1));
            switch (form) {
                case MlstmForm::Chunkwise:
                    h = mlstm::chunkwise(qh, kh, vh, ig, fg, opts.chunk_size).h;
                    break;
                case MlstmForm::Recurrent:
                    h = mlstm::recurrent(qh, kh, vh, ig, fg).h;
                    break;
                default:
                    h = mlstm::parallel(qh, kh, vh, ig, fg);
                    break;
            }
        }
        capture::emit(sink, {"student", layer, point::kMlstmH}, [&] { return h; });
        h = h.to(x.scalar_type());
        torch::Tensor hn = head_norm(h, m_outnorm);               // (B, T, I)
        torch::Tensor out = (hn + m_skip * xc) * torch::silu(z);  // (B, T, I)
        return x + linear(out, m_down, m_down_b);
    }

  private:
    XlstmConfig m_cfg;
    torch::Tensor m_norm;                // (D)
    torch::Tensor m_up, m_up_b;          // (2I, D), (2I)
    torch::Tensor m_conv_w, m_conv_b;    // (I, 1, K), (I)
    torch::Tensor m_qkv[3], m_qkv_b[3];  // (I/bs, bs, bs), (I)
    torch::Tensor m_ig_w, m_ig_b;        // (H, 3I), (H)
    torch::Tensor m_fg_w, m_fg_b;        // (H, 3I), (H)
    torch::Tensor m_outnorm;             // (I)
    torch::Tensor m_skip;                // (I)
    torch::Tensor m_down, m_down_b;      // (D, I), (D)
};

// ---- sLSTM block ----
class SlstmBlock : public BlockImpl {
  public:
    SlstmBlock(const XlstmConfig& cfg, int64_t idx) : m_cfg(cfg) {
        const int64_t d = cfg.embedding_dim, nh = cfg.slstm_num_heads, dh = d / nh;
        const int64_t K = cfg.slstm_conv_kernel, ff = cfg.ffn_dim();
        m_norm = register_module("xlstm_norm", std::make_shared<Node>())
                     ->add("weight", torch::zeros({d}));
        auto layer = register_module("xlstm", std::make_shared<Node>());
        auto conv = layer->child("conv1d")->child("conv");
        const double bound = 1.0 / std::sqrt(static_cast<double>(K));
        m_conv_w = conv->add("weight", torch::empty({d, 1, K}).uniform_(-bound, bound));
        m_conv_b = conv->add("bias", torch::empty({d}).uniform_(-bound, bound));
        // Reference module names; note `fgate` feeds the input gate, `igate` the forget gate.
        const char* names[4] = {"fgate", "igate", "zgate", "ogate"};
        for (int i = 0; i < 4; ++i)
            m_gate[i] = layer->child(names[i])->add("weight", small_init({nh, dh, dh}, d));
        auto cell = layer->child("slstm_cell");
        m_R = cell->add("_recurrent_kernel_", torch::zeros({nh, 4 * dh, dh}));
        torch::Tensor bias = torch::zeros({4, nh, dh});  // gate-major i, f, z, o
        const double ratio =
            cfg.num_blocks > 1 ? static_cast<double>(idx) / static_cast<double>(cfg.num_blocks - 1)
                               : 0.0;
        torch::Tensor j =
            torch::arange(dh, torch::kFloat64) / std::max<double>(static_cast<double>(dh - 1), 1.0);
        bias[1] = (5.0 - 12.0 * j.pow(0.3 + 1.3 * ratio))
                      .to(torch::kFloat32)
                      .unsqueeze(0)
                      .expand({nh, dh});
        m_bias = cell->add("_bias_", bias.reshape({4 * d}));
        m_gn = layer->child("group_norm")->add("weight", torch::zeros({d}));
        m_ffn_norm =
            register_module("ffn_norm", std::make_shared<Node>())->add("weight", torch::zeros({d}));
        auto ffn = register_module("ffn", std::make_shared<Node>());
        m_ffn_up = ffn->child("proj_up")->add("weight", small_init({2 * ff, d}, d));
        if (cfg.bias) m_ffn_up_b = ffn->child("proj_up")->add("bias", torch::zeros({2 * ff}));
        m_ffn_down = ffn->child("proj_down")->add("weight", wang_init({d, ff}, d, cfg.num_blocks));
        if (cfg.bias) m_ffn_down_b = ffn->child("proj_down")->add("bias", torch::zeros({d}));
    }

    bool is_slstm() const override { return true; }

    BlockState new_state(int64_t B, const torch::TensorOptions& o) const override {
        BlockState s;
        s.slstm = torch::zeros({4, B, m_cfg.embedding_dim}, mlstm::state_options(o));
        s.conv = torch::zeros({B, m_cfg.slstm_conv_kernel - 1, m_cfg.embedding_dim}, o);
        return s;
    }

    torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& /*opts*/, BlockState* state,
                          capture::CaptureSink* sink, int layer) override {
        const int64_t B = x.size(0), T = x.size(1), d = m_cfg.embedding_dim;
        const int64_t nh = m_cfg.slstm_num_heads;
        torch::Tensor xn = layer_norm(x, m_norm);  // (B, T, D)
        torch::Tensor xc = torch::silu(
            causal_conv(xn, m_conv_w, m_conv_b, state ? &state->conv : nullptr));  // (B, T, D)
        torch::Tensor cell_in =
            torch::cat({headwise(xc, m_gate[0], {}), headwise(xc, m_gate[1], {}),
                        headwise(xn, m_gate[2], {}), headwise(xn, m_gate[3], {})},
                       -1);  // (B, T, 4D) gate-major i, f, z, o
        const bool capture_all =
            wants(sink, layer, point::kSlstmIgatePre) ||
            wants(sink, layer, point::kSlstmFgatePre) ||
            wants(sink, layer, point::kSlstmZgatePre) ||
            wants(sink, layer, point::kSlstmOgatePre) || wants(sink, layer, point::kSlstmC) ||
            wants(sink, layer, point::kSlstmN) || wants(sink, layer, point::kSlstmM);
        // Reduced-precision models run the recurrence in float32, as the mLSTM cell does.
        slstm::Result r = slstm::forward(mlstm::cell_precision(cell_in), mlstm::cell_precision(m_R),
                                         mlstm::cell_precision(m_bias),
                                         state ? state->slstm : torch::Tensor(), capture_all);
        r.h = r.h.to(x.scalar_type());
        if (state) state->slstm = r.state;
        if (capture_all) {
            const char* gate_points[4] = {point::kSlstmIgatePre, point::kSlstmFgatePre,
                                          point::kSlstmZgatePre, point::kSlstmOgatePre};
            for (int g = 0; g < 4; ++g)
                capture::emit(sink, {"student", layer, gate_points[g]},
                              [&] { return r.raw.narrow(-1, g * d, d); });
            capture::emit(sink, {"student", layer, point::kSlstmC}, [&] { return r.c; });
            capture::emit(sink, {"student", layer, point::kSlstmN}, [&] { return r.n; });
            capture::emit(sink, {"student", layer, point::kSlstmM}, [&] { return r.m; });
        }
        capture::emit(sink, {"student", layer, point::kSlstmH}, [&] { return r.h; });
        torch::Tensor hn =
            head_norm(r.h.view({B, T, nh, d / nh}).transpose(1, 2), m_gn);  // (B, T, D)
        torch::Tensor y = x + hn;
        torch::Tensor up = linear(layer_norm(y, m_ffn_norm), m_ffn_up, m_ffn_up_b);  // (B, T, 2F)
        const int64_t ff = up.size(-1) / 2;
        torch::Tensor act = torch::gelu(up.narrow(-1, 0, ff)) * up.narrow(-1, ff, ff);
        return y + linear(act, m_ffn_down, m_ffn_down_b);
    }

  private:
    XlstmConfig m_cfg;
    torch::Tensor m_norm;                    // (D)
    torch::Tensor m_conv_w, m_conv_b;        // (D, 1, K), (D)
    torch::Tensor m_gate[4];                 // (NH, Dh, Dh) fgate(->i), igate(->f), zgate, ogate
    torch::Tensor m_R;                       // (NH, 4*Dh, Dh) vanilla layout
    torch::Tensor m_bias;                    // (4D) gate-major
    torch::Tensor m_gn;                      // (D)
    torch::Tensor m_ffn_norm;                // (D)
    torch::Tensor m_ffn_up, m_ffn_up_b;      // (2F, D), (2F)
    torch::Tensor m_ffn_down, m_ffn_down_b;  // (D, F), (D)
};

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// ---- LM ----
class XlstmV1Module : public torch::nn::Module {
  public:
    // random_init false: the vocabulary matrices are left uninitialised because a checkpoint
    // overwrites every parameter next (load_parameters fails on a missing one); at 152k x 896 a
    // random normal fill costs ~1 s and a temporary per matrix.
    XlstmV1Module(const XlstmConfig& cfg, bool random_init) {
        const int64_t d = cfg.embedding_dim, V = cfg.vocab_size;
        auto vocab_matrix = [&] {  // (V, D)
            if (!random_init) return torch::empty({V, d});
            return torch::randn({V, d}).mul_(std::sqrt(2.0 / (5.0 * static_cast<double>(d))));
        };
        m_emb = register_module("token_embedding", std::make_shared<Node>())
                    ->add("weight", vocab_matrix());
        auto stack = register_module("xlstm_block_stack", std::make_shared<Node>());
        auto blocks = stack->child("blocks");
        for (int64_t b = 0; b < cfg.num_blocks; ++b)
            m_blocks.push_back(blocks->register_module(std::to_string(b), make_block(cfg, b)));
        if (cfg.add_post_blocks_norm)
            m_post_norm = stack->child("post_blocks_norm")->add("weight", torch::zeros({d}));
        if (!cfg.tie_weights)
            m_head =
                register_module("lm_head", std::make_shared<Node>())->add("weight", vocab_matrix());
    }
    torch::Tensor m_emb;  // (V, D)
    std::vector<std::shared_ptr<BlockImpl>> m_blocks;
    torch::Tensor m_post_norm;  // (D)
    torch::Tensor m_head;       // (V, D) undefined when tied
};

using XlstmDecodeState = recurrent::BlockDecodeState<BlockState>;

class XlstmV1Model : public LanguageModel {
  public:
    XlstmV1Model(const XlstmConfig& cfg, io::JsonConfig json, bool random_init)
        : m_cfg(cfg),
          m_json(std::move(json)),
          m_module(std::make_shared<XlstmV1Module>(cfg, random_init)) {
        m_info.architecture = "xlstm_v1";
        m_info.family = "xlstm";
        m_info.n_layers = cfg.num_blocks;
        bool any_m = false;
        for (int64_t b = 0; b < cfg.num_blocks; ++b) {
            m_info.block_types.push_back(cfg.is_slstm(b) ? "slstm" : "mlstm");
            any_m = any_m || !cfg.is_slstm(b);
        }
        m_info.n_heads = any_m ? cfg.mlstm_num_heads : cfg.slstm_num_heads;
        m_info.n_kv_heads = 0;
        m_info.d_model = cfg.embedding_dim;
        m_info.head_dim = any_m ? cfg.mlstm_head_dim() : cfg.embedding_dim / cfg.slstm_num_heads;
        m_info.vocab_size = cfg.vocab_size;
        m_info.context_length = 0;  // recurrent: no hard limit
        m_info.tied_embeddings = cfg.tie_weights;
        recurrent::freeze(*m_module, cfg.frozen, {"token_embedding", "lm_head"}, m_json.source());
    }

    const ModelInfo& info() const override { return m_info; }
    const io::JsonConfig& config() const override { return m_json; }
    torch::nn::Module& module() override { return *m_module; }
    const XlstmConfig& cfg() const { return m_cfg; }

    torch::Tensor unembed(const torch::Tensor& hidden) override {
        auto& m = *m_module;
        torch::Tensor x = m.m_post_norm.defined() ? layer_norm(hidden, m.m_post_norm) : hidden;
        return torch::nn::functional::linear(x, m.m_head.defined() ? m.m_head : m.m_emb);
    }

    torch::Tensor forward(const torch::Tensor& tokens, const ForwardOptions& opts,
                          capture::CaptureSink* sink) override {
        recurrent::check_tokens(tokens, m_cfg.vocab_size, "xlstm_v1");
        return run(tokens, opts, nullptr, sink);
    }

    std::unique_ptr<DecodeState> new_decode_state(int64_t batch) override {
        auto s = std::make_unique<XlstmDecodeState>();
        auto o = m_module->m_emb.options();
        for (auto& b : m_module->m_blocks)
            s->blocks.push_back(b->new_state(batch, o));
        s->batch = batch;
        return s;
    }

    torch::Tensor forward_step(const torch::Tensor& tokens, DecodeState& state) override {
        recurrent::check_tokens(tokens, m_cfg.vocab_size, "xlstm_v1");
        auto& s = recurrent::checked_state<XlstmDecodeState>(state, tokens, "xlstm_v1");
        torch::Tensor logits = run(tokens, ForwardOptions{}, &s, nullptr);
        s.pos += tokens.size(1);
        return logits;
    }

    void set_block_runner(BlockRunner runner) { m_block_runner = std::move(runner); }

  private:
    torch::Tensor run(const torch::Tensor& tokens, const ForwardOptions& opts,
                      XlstmDecodeState* state, capture::CaptureSink* sink) {
        auto& m = *m_module;
        torch::Tensor x = m.m_emb.index_select(0, tokens.reshape({-1}).to(m.m_emb.device()))
                              .view({tokens.size(0), tokens.size(1), -1});  // (B, T, D)
        capture::emit(sink, {"student", -1, point::kEmbed}, [&] { return x; });
        for (size_t b = 0; b < m.m_blocks.size(); ++b) {
            if (m_block_runner && !state) {
                auto run_block = [block = m.m_blocks[b], opts,
                                  layer = static_cast<int>(b)](const torch::Tensor& in) {
                    return block->forward(in, opts, nullptr, nullptr, layer);
                };
                x = m_block_runner(static_cast<int64_t>(b), run_block, x);
            } else {
                x = m.m_blocks[b]->forward(x, opts, state ? &state->blocks[b] : nullptr, sink,
                                           static_cast<int>(b));
            }
            capture::emit(sink, {"student", static_cast<int>(b), point::kHidden},
                          [&] { return x; });
        }
        if (m.m_post_norm.defined()) x = layer_norm(x, m.m_post_norm);
        capture::emit(sink, {"student", -1, point::kFinalHidden}, [&] { return x; });
        // Logits of a reduced-precision model are returned in float32, as the teachers' are;
        // under autocast (float32 weights) they stay in the autocast dtype for the chunked
        // losses, which never hold a second full-vocabulary copy.
        torch::Tensor logits =
            torch::nn::functional::linear(x, m.m_head.defined() ? m.m_head : m.m_emb);  // (B,T,V)
        return mlstm::is_reduced(m.m_emb.scalar_type()) ? logits.to(torch::kFloat32) : logits;
    }

    XlstmConfig m_cfg;
    io::JsonConfig m_json;
    std::shared_ptr<XlstmV1Module> m_module;
    ModelInfo m_info;
    BlockRunner m_block_runner;
};

}  // namespace

bool set_block_runner(LanguageModel& model, BlockRunner runner) {
    auto* m = dynamic_cast<XlstmV1Model*>(&model);
    if (m) m->set_block_runner(std::move(runner));
    return m != nullptr;
}

std::shared_ptr<BlockImpl> make_block(const XlstmConfig& cfg, int64_t block_idx) {
    if (cfg.is_slstm(block_idx)) return std::make_shared<SlstmBlock>(cfg, block_idx);
    return std::make_shared<MlstmBlock>(cfg, block_idx);
}

void load_parameters(torch::nn::Module& module, const XlstmConfig& cfg, const TensorSource& src,
                     const std::string& prefix, const std::vector<std::string>& ignore) {
    const bool cuda = cfg.slstm_backend == "cuda";
    std::set<std::string> expected;
    torch::NoGradGuard no_grad;
    for (auto& p : module.named_parameters(true)) {
        const std::string name = prefix + p.key();
        expected.insert(name);
        const bool relayout = cuda && (ends_with(name, "slstm_cell._recurrent_kernel_") ||
                                       ends_with(name, "slstm_cell._bias_"));
        if (src.copy_into && src.shape && !relayout) {
            const std::vector<int64_t> have = src.shape(name);
            DXL_CHECK(!have.empty() || p.value().dim() == 0, FormatError, src.description,
                      ": tensor '", name,
                      "' is missing; the checkpoint does not match this xlstm_v1 config");
            DXL_CHECK(have == p.value().sizes().vec(), ShapeError, src.description, ": tensor '",
                      name, "': expected ", p.value().sizes(), ", but got ",
                      c10::IntArrayRef(have));
            torch::Tensor dst = p.value();
            src.copy_into(name, dst);
            continue;
        }
        torch::Tensor t = src.get(name);
        DXL_CHECK(t.defined(), FormatError, src.description, ": tensor '", name,
                  "' is missing; the checkpoint does not match this xlstm_v1 config");
        if (cuda && ends_with(name, "slstm_cell._recurrent_kernel_") && t.dim() == 3 &&
            t.size(2) == 4 * t.size(1))
            t = slstm::recurrent_kernel_from_cuda(t);
        else if (cuda && ends_with(name, "slstm_cell._bias_"))
            t = slstm::bias_from_cuda(t, cfg.slstm_num_heads);
        DXL_CHECK(t.sizes() == p.value().sizes(), ShapeError, src.description, ": tensor '", name,
                  "': expected ", p.value().sizes(), ", but got ", t.sizes(),
                  ends_with(name, "_recurrent_kernel_")
                      ? " (vanilla (NH, 4*Dh, Dh) vs CUDA (NH, Dh, 4*Dh) layout: check "
                        "slstm.backend in config.json)"
                      : "");
        p.value().copy_(t);
    }
    for (const auto& n : src.names) {
        if (n.compare(0, prefix.size(), prefix) != 0) continue;
        if (std::find(ignore.begin(), ignore.end(), n) != ignore.end()) continue;
        DXL_CHECK(expected.count(n) > 0, FormatError, src.description, ": unexpected tensor '", n,
                  "' for this xlstm_v1 config (num_blocks / slstm_at / tie_weights mismatch?)");
    }
}

std::vector<std::pair<std::string, torch::Tensor>> export_parameters(torch::nn::Module& module,
                                                                     const XlstmConfig& cfg) {
    const bool cuda = cfg.slstm_backend == "cuda";
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (auto& p : module.named_parameters(true)) {
        torch::Tensor t = p.value().detach();
        if (cuda && ends_with(p.key(), "slstm_cell._recurrent_kernel_"))
            t = slstm::recurrent_kernel_to_cuda(t);
        else if (cuda && ends_with(p.key(), "slstm_cell._bias_"))
            t = slstm::bias_to_cuda(t, cfg.slstm_num_heads);
        out.emplace_back(p.key(), t.contiguous());
    }
    return out;
}

std::unique_ptr<LanguageModel> make_model(const XlstmConfig& cfg, const io::JsonConfig& json,
                                          const TensorSource* weights) {
    auto model = std::make_unique<XlstmV1Model>(cfg, json, /*random_init=*/weights == nullptr);
    if (weights) {
        std::vector<std::string> ignore;
        if (cfg.tie_weights) ignore.push_back("lm_head.weight");  // the reference saves both names
        load_parameters(model->module(), cfg, *weights, "", ignore);
    }
    return model;
}

}  // namespace dxl::models::xlstm_v1

namespace dxl::models {

std::unique_ptr<LanguageModel> make_xlstm_v1(const io::JsonConfig& cfg,
                                             const io::Checkpoint* weights) {
    XlstmConfig c = parse_xlstm_v1(cfg);
    if (!weights) return xlstm_v1::make_model(c, cfg, nullptr);
    xlstm_v1::TensorSource src;
    src.names = weights->names();
    src.description = weights->description();
    src.get = [weights](const std::string& name) {
        return weights->contains(name) ? weights->get(name) : torch::Tensor();
    };
    src.shape = [weights](const std::string& name) {
        return weights->contains(name) ? weights->shape(name) : std::vector<int64_t>{};
    };
    src.copy_into = [weights](const std::string& name, torch::Tensor& dst) {
        weights->copy_to(name, dst);
    };
    return xlstm_v1::make_model(c, cfg, &src);
}

}  // namespace dxl::models
