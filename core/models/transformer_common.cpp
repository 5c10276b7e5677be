// Shared Transformer pieces: RMSNorm, RoPE (HF rotate-half convention, llama3 scaling), explicit
// causal attention with capture points, the KV cache, validation and strict weight loading.
#include "core/models/transformer_common.h"

#include <torch/nn/init.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "core/base/error.h"
#include "core/capture/capture_sink.h"
#include "core/io/checkpoint.h"
#include "core/runtime/torch_compat.h"

namespace dxl::models {

// ---- normalisation -------------------------------------------------------------------------

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
    torch::Tensor xf = x.to(torch::kFloat32);                                   // (..., D)
    torch::Tensor var = xf.pow(2).mean(-1, /*keepdim=*/true);                   // (..., 1)
    torch::Tensor normed = (xf * torch::rsqrt(var + eps)).to(x.scalar_type());  // (..., D)
    return weight * normed;
}

RmsNormImpl::RmsNormImpl(const RmsNormOptions& options) : m_options(options) {
    weight = register_parameter("weight", torch::ones({options.dim}));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
    return rms_norm(x, weight, m_options.eps);
}

// ---- rotary position embedding -----------------------------------------------------------

RopeScaling parse_rope_scaling(const io::JsonConfig& cfg) {
    RopeScaling s;
    if (!cfg.has("rope_scaling")) return s;
    const io::JsonConfig rs = cfg.sub("rope_scaling");
    DXL_CHECK(rs.has("rope_type") || rs.has("type"), FormatError, rs.source(),
              ": expected a 'rope_type' (or 'type') field naming the RoPE scaling kind");
    s.type = rs.has("rope_type") ? rs.get<std::string>("rope_type") : rs.get<std::string>("type");
    if (s.type == "default") return s;
    if (s.type == "linear") {
        s.factor = rs.get<double>("factor");
        DXL_CHECK(s.factor > 0, FormatError, rs.source(),
                  ": field 'factor': expected > 0, but got ", s.factor);
        return s;
    }
    if (s.type == "llama3") {
        s.factor = rs.get<double>("factor");
        s.low_freq_factor = rs.get<double>("low_freq_factor");
        s.high_freq_factor = rs.get<double>("high_freq_factor");
        s.original_max_position_embeddings = rs.get<int64_t>("original_max_position_embeddings");
        DXL_CHECK(
            s.factor > 0 && s.low_freq_factor > 0 && s.high_freq_factor > s.low_freq_factor &&
                s.original_max_position_embeddings > 0,
            FormatError, rs.source(),
            ": llama3 RoPE scaling expects factor > 0, 0 < low_freq_factor < high_freq_factor and "
            "original_max_position_embeddings > 0, but got factor ",
            s.factor, ", low_freq_factor ", s.low_freq_factor, ", high_freq_factor ",
            s.high_freq_factor, ", original_max_position_embeddings ",
            s.original_max_position_embeddings);
        return s;
    }
    throw UnsupportedError(rs.source() + ": RoPE scaling '" + s.type +
                           "' is not supported; supported: default, linear, llama3");
}

torch::Tensor rope_inv_freq(const RopeConfig& rope) {
    DXL_CHECK(rope.rotary_dim > 0 && rope.rotary_dim % 2 == 0, ShapeError,
              "rope: expected an even rotary dimension, but got ", rope.rotary_dim);
    const auto dim = static_cast<double>(rope.rotary_dim);
    // 1 / theta^(2i / dim) in float32, as HF (torch.arange(0, dim, 2).float() / dim).
    torch::Tensor exponent =
        torch::arange(0, rope.rotary_dim, 2, torch::kInt64).to(torch::kFloat32) / dim;
    torch::Tensor inv_freq = 1.0 / torch::pow(rope.theta, exponent);  // (rotary_dim / 2)
    const RopeScaling& s = rope.scaling;
    if (s.type == "linear") return inv_freq / s.factor;
    if (s.type != "llama3") return inv_freq;
    // HF _compute_llama3_parameters: keep high frequencies, divide low ones by factor, blend
    // linearly in between (in wavelength space).
    const double old_ctx = static_cast<double>(s.original_max_position_embeddings);
    const double low_freq_wavelen = old_ctx / s.low_freq_factor;
    const double high_freq_wavelen = old_ctx / s.high_freq_factor;
    torch::Tensor wavelen = 2 * M_PI / inv_freq;  // (rotary_dim / 2)
    torch::Tensor scaled = torch::where(wavelen > low_freq_wavelen, inv_freq / s.factor, inv_freq);
    torch::Tensor smooth =
        (old_ctx / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    torch::Tensor smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
    torch::Tensor is_medium =
        (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
    return torch::where(is_medium, smoothed, scaled);
}

std::pair<torch::Tensor, torch::Tensor> rope_cos_sin(const torch::Tensor& inv_freq, int64_t start,
                                                     int64_t count) {
    torch::Tensor pos = torch::arange(
        start, start + count,
        torch::TensorOptions().dtype(torch::kFloat32).device(inv_freq.device()));  // (T)
    torch::Tensor freqs = torch::outer(pos, inv_freq.to(torch::kFloat32));         // (T, Dh/2)
    torch::Tensor emb = torch::cat({freqs, freqs}, -1);                            // (T, Dh)
    return {emb.cos(), emb.sin()};
}

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos,
                         const torch::Tensor& sin) {
    const int64_t half = x.size(-1) / 2;
    torch::Tensor x1 = x.narrow(-1, 0, half);           // (B, H, T, Dh/2)
    torch::Tensor x2 = x.narrow(-1, half, half);        // (B, H, T, Dh/2)
    torch::Tensor rotated = torch::cat({-x2, x1}, -1);  // (B, H, T, Dh)
    return (x * cos.to(x.scalar_type()) + rotated * sin.to(x.scalar_type()));
}

// ---- attention -----------------------------------------------------------------------------

bool use_fused_attention(const torch::Tensor& q) {
    // Measured choice: on the CPU the explicit path is as fast (one BLAS call each way) and keeps
    // float32 results bit-identical to the goldens; on a GPU the fused kernels win.
    return compat::kHasFusedAttention && q.is_cuda();
}

torch::Tensor causal_mask(int64_t T, int64_t S, int64_t q_offset, const torch::Device& device) {
    return torch::ones({T, S}, torch::TensorOptions().dtype(torch::kBool).device(device))
        .triu(q_offset + 1);  // (T, S)
}

torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& mask, double scale,
                               capture::CaptureSink* sink, int layer) {
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), Dh = q.size(3);
    const int64_t Hkv = k.size(1), S = k.size(2);
    DXL_ASSERT(H % Hkv == 0, "attention: ", H, " query heads vs ", Hkv, " kv heads");
    const int64_t n_rep = H / Hkv;
    // Fused kernels (flash / memory-efficient on CUDA) never materialise the (T, S) matrix, so
    // they serve every layer whose probabilities no capture asks for. The explicit path below
    // stays the reference and the only one that can hand out scores and probabilities.
    const bool captured =
        sink != nullptr && (sink->wants({"teacher", layer, capture::point::kAttnLogits}) ||
                            sink->wants({"teacher", layer, capture::point::kAttnProbs}));
    if (!captured && use_fused_attention(q) && (T == S || T == 1) &&
        scale == 1.0 / std::sqrt(static_cast<double>(Dh))) {
        // (B, Hkv, S, Dh) -> (B, H, S, Dh): each kv head serves its n_rep query heads.
        auto rep = [&](const torch::Tensor& x) {
            return n_rep == 1
                       ? x
                       : x.unsqueeze(2).expand({B, Hkv, n_rep, S, Dh}).reshape({B, H, S, Dh});
        };
        return compat::fused_attention(q, rep(k), rep(v), /*causal=*/T == S && T > 1);
    }
    // Group the n_rep query heads of each kv head: (B, Hkv, n_rep * T, Dh).
    torch::Tensor qg = q.reshape({B, Hkv, n_rep * T, Dh});
    torch::Tensor scores =
        torch::matmul(qg, k.transpose(-2, -1)).view({B, H, T, S}) * scale;  // (B, H, T, S)
    scores = scores.masked_fill(mask, -std::numeric_limits<double>::infinity());
    capture::emit(sink, {"teacher", layer, capture::point::kAttnLogits}, [&] { return scores; });
    torch::Tensor probs =
        torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type());  // (B, H, T, S)
    capture::emit(sink, {"teacher", layer, capture::point::kAttnProbs}, [&] { return probs; });
    torch::Tensor out =
        torch::matmul(probs.view({B, Hkv, n_rep * T, S}), v);  // (B, Hkv, n_rep * T, Dh)
    return out.view({B, H, T, Dh});
}

// ---- KV cache --------------------------------------------------------------------------------

KvCache::KvCache(int64_t batch, int64_t n_layers, int64_t max_positions)
    : m_batch(batch), m_max_positions(max_positions), m_k(n_layers), m_v(n_layers) {}

std::pair<torch::Tensor, torch::Tensor> KvCache::append(int layer, const torch::Tensor& k,
                                                        const torch::Tensor& v) {
    DXL_ASSERT(layer >= 0 && layer < static_cast<int>(m_k.size()), "kv cache: layer ", layer);
    const int64_t T = k.size(2);
    const int64_t needed = m_position + T;
    torch::Tensor& ck = m_k[layer];  // (B, Hkv, capacity, Dh)
    torch::Tensor& cv = m_v[layer];  // (B, Hkv, capacity, Dh)
    const int64_t capacity = ck.defined() ? ck.size(2) : 0;
    if (needed > capacity) {
        int64_t grown = std::max<int64_t>({needed, 2 * capacity, 16});
        if (m_max_positions > 0) grown = std::max(needed, std::min(grown, m_max_positions));
        torch::Tensor nk = torch::empty({k.size(0), k.size(1), grown, k.size(3)}, k.options());
        torch::Tensor nv = torch::empty({v.size(0), v.size(1), grown, v.size(3)}, v.options());
        if (m_position > 0) {
            nk.narrow(2, 0, m_position).copy_(ck.narrow(2, 0, m_position));
            nv.narrow(2, 0, m_position).copy_(cv.narrow(2, 0, m_position));
        }
        ck = nk;
        cv = nv;
    }
    ck.narrow(2, m_position, T).copy_(k);
    cv.narrow(2, m_position, T).copy_(v);
    return {ck.narrow(2, 0, needed), cv.narrow(2, 0, needed)};
}

// ---- validation and loading -----------------------------------------------------------------

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void check_tokens(const torch::Tensor& tokens, int64_t vocab, int64_t context, int64_t start,
                  const std::string& context_field, const std::string& what) {
    DXL_CHECK(
        tokens.defined() && tokens.dim() == 2, ShapeError, what,
        ": expected tokens of shape (B, T), but got ",
        tokens.defined() ? std::to_string(tokens.dim()) + " dimensions" : "an undefined tensor");
    DXL_CHECK(tokens.scalar_type() == torch::kInt64, ValueError, what,
              ": expected int64 token ids, but got ", c10::toString(tokens.scalar_type()));
    const int64_t T = tokens.size(1);
    DXL_CHECK(T >= 1 && tokens.size(0) >= 1, ShapeError, what,
              ": expected at least one token in each of at least one row, but got shape ",
              tokens.sizes());
    if (context > 0) {
        if (start == 0) {
            DXL_CHECK(T <= context, ValueError, what, ": sequence length ", T,
                      " exceeds the context length ", context, " (", context_field,
                      "); try a shorter input of at most ", context, " tokens");
        } else {
            DXL_CHECK(start + T <= context, ValueError, what, ": ", start, " tokens decoded plus ",
                      T, " new ones (", start + T, ") exceed the context length ", context, " (",
                      context_field, "); try a shorter prompt or fewer new tokens");
        }
    }
    torch::Tensor cpu = tokens.to(torch::kCPU);  // (B, T)
    torch::Tensor bad = (cpu < 0).logical_or(cpu >= vocab);
    if (bad.any().item<bool>()) {
        torch::Tensor where = bad.nonzero();  // (n, 2)
        const int64_t b = where[0][0].item<int64_t>();
        const int64_t t = where[0][1].item<int64_t>();
        const int64_t id = cpu[b][t].item<int64_t>();
        std::ostringstream os;
        os << what << ": token id " << id << " at position " << start + t;
        if (tokens.size(0) > 1) os << " (batch row " << b << ")";
        if (id < 0) {
            os << " is negative; token ids must be in [0, " << vocab << ")";
        } else {
            os << " is >= vocab size " << vocab << "; was the input tokenized for another model?";
        }
        throw ValueError(os.str());
    }
}

void load_strict(torch::nn::Module& module, const io::Checkpoint& ckpt,
                 const std::function<std::string(const std::string&)>& to_checkpoint_name,
                 const std::function<bool(const std::string&)>& is_known_extra,
                 const std::string& what) {
    torch::NoGradGuard no_grad;
    std::set<std::string> used;
    for (auto& item : module.named_parameters(/*recurse=*/true)) {
        const std::string name = to_checkpoint_name(item.key());
        torch::Tensor& param = item.value();
        torch::Tensor w = ckpt.get(name, param.sizes().vec(), param.scalar_type());
        param.copy_(w);
        used.insert(name);
    }
    std::vector<std::string> unexpected;
    for (const std::string& name : ckpt.names()) {
        if (used.count(name) == 0 && !is_known_extra(name)) unexpected.push_back(name);
    }
    if (!unexpected.empty()) {
        std::ostringstream os;
        os << what << ": " << ckpt.description() << " holds " << unexpected.size()
           << " unexpected tensor(s) that no parameter of the model uses: ";
        for (size_t i = 0; i < unexpected.size() && i < 8; ++i)
            os << (i ? ", " : "") << "'" << unexpected[i] << "'";
        if (unexpected.size() > 8) os << ", ...";
        os << "; is the config.json (layers, biases, tie_word_embeddings) the one of these "
              "weights?";
        throw FormatError(os.str());
    }
}

// ---- the LanguageModel base --------------------------------------------------------------

torch::Device TransformerLanguageModel::device() {
    for (const auto& p : module().parameters())
        return p.device();
    return torch::Device(torch::kCPU);
}

void TransformerLanguageModel::check_finite(const torch::Tensor& x, bool check_layers,
                                            const std::string& where) const {
    if (!check_layers) return;
    DXL_CHECK(torch::isfinite(x).all().item<bool>(), ValueError, m_info.architecture,
              " forward: non-finite values (NaN or Inf) first appear in ", where,
              "; check the weights (a corrupt or overflowing checkpoint?)");
}

torch::Tensor TransformerLanguageModel::forward(const torch::Tensor& tokens,
                                                const ForwardOptions& opts,
                                                capture::CaptureSink* sink) {
    (void)opts;  // the mLSTM form options do not apply to attention models
    check_tokens(tokens, m_info.vocab_size, m_info.context_length, 0, m_context_field,
                 m_info.architecture + " forward");
    torch::Tensor ids = tokens.to(device());                // (B, T)
    torch::Tensor logits = run(ids, nullptr, sink, false);  // (B, T, V)
    if (!torch::isfinite(logits).all().item<bool>()) {
        // Rare: find the first layer that produced a NaN/Inf (throws), else a generic error.
        torch::NoGradGuard no_grad;
        run(ids, nullptr, nullptr, true);
        throw ValueError(m_info.architecture + " forward: non-finite logits (NaN or Inf)");
    }
    return logits;
}

std::unique_ptr<DecodeState> TransformerLanguageModel::new_decode_state(int64_t batch) {
    DXL_CHECK(batch >= 1, ValueError, m_info.architecture,
              " decode: expected a batch size >= 1, but got ", batch);
    return std::make_unique<KvCache>(batch, m_info.n_layers, m_info.context_length);
}

torch::Tensor TransformerLanguageModel::forward_step(const torch::Tensor& tokens,
                                                     DecodeState& state) {
    auto* cache = dynamic_cast<KvCache*>(&state);
    DXL_CHECK(cache != nullptr, ValueError, m_info.architecture,
              " decode: the decode state was not made by this model's new_decode_state()");
    const std::string what = m_info.architecture + " decode";
    check_tokens(tokens, m_info.vocab_size, m_info.context_length, cache->position(),
                 m_context_field, what);
    DXL_CHECK(tokens.size(0) == cache->batch(), ShapeError, what, ": expected ", cache->batch(),
              " rows (the batch of the decode state), but got ", tokens.size(0));
    torch::NoGradGuard no_grad;
    torch::Tensor logits = run(tokens.to(device()), cache, nullptr, false);  // (B, T, V)
    cache->advance(tokens.size(1));
    DXL_CHECK(torch::isfinite(logits).all().item<bool>(), ValueError, what,
              ": non-finite logits (NaN or Inf) at positions ", cache->position() - tokens.size(1),
              "..", cache->position() - 1);
    return logits;
}

}  // namespace dxl::models
