// Building blocks shared by the Transformer teachers (gpt2, llama, qwen2): explicit causal
// attention whose probabilities can be captured, RMSNorm, rotary embeddings (incl. the llama3
// frequency scaling), the KV-cache decode state, input validation, strict by-name weight loading
// and the TransformerLanguageModel base that turns a model's run() into the LanguageModel API.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/io/json_config.h"
#include "core/models/language_model.h"

namespace dxl::io {
class Checkpoint;
}

namespace dxl::models {

// ---- normalisation -------------------------------------------------------------------------

// x * rsqrt(mean(x^2) + eps) computed in float32, cast back to x's dtype, times weight (HF
// LlamaRMSNorm). x (..., D), weight (D) -> (..., D).
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

struct RmsNormOptions {
    explicit RmsNormOptions(int64_t dim_, double eps_ = 1e-6) : dim(dim_), eps(eps_) {}
    int64_t dim;
    double eps;
};

// RMSNorm with one parameter "weight" (D), initialised to ones.
class RmsNormImpl : public torch::nn::Module {
  public:
    explicit RmsNormImpl(const RmsNormOptions& options);
    torch::Tensor forward(const torch::Tensor& x);  // (..., D) -> (..., D)

    torch::Tensor weight;  // (D)

  private:
    RmsNormOptions m_options;
};
TORCH_MODULE(RmsNorm);

// ---- rotary position embedding -----------------------------------------------------------

// HF rope_scaling. type "default" (none), "linear" (inv_freq / factor) or "llama3".
struct RopeScaling {
    std::string type = "default";
    double factor = 1.0;
    double low_freq_factor = 1.0;                     // llama3
    double high_freq_factor = 4.0;                    // llama3
    int64_t original_max_position_embeddings = 8192;  // llama3
};

struct RopeConfig {
    int64_t rotary_dim = 0;  // even; = head_dim
    double theta = 10000.0;
    RopeScaling scaling;
};

// Reads cfg["rope_scaling"] (null or absent -> default). The kind is "rope_type" or the older
// "type"; unsupported kinds throw UnsupportedError naming them.
RopeScaling parse_rope_scaling(const io::JsonConfig& cfg);

// Inverse frequencies (rotary_dim / 2) float32, as HF _compute_default_rope_parameters /
// _compute_llama3_parameters compute them (float32 arithmetic).
torch::Tensor rope_inv_freq(const RopeConfig& rope);

// cos and sin tables (count, rotary_dim) for positions start .. start+count-1 in the
// rotate-half layout cat(freqs, freqs). inv_freq (rotary_dim / 2).
std::pair<torch::Tensor, torch::Tensor> rope_cos_sin(const torch::Tensor& inv_freq, int64_t start,
                                                     int64_t count);

// HF apply_rotary_pos_emb: x * cos + rotate_half(x) * sin. x (B, H, T, Dh), cos/sin (T, Dh).
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos,
                         const torch::Tensor& sin);

// ---- attention -----------------------------------------------------------------------------

// Boolean mask (T, S), true where key j must be hidden from query i: j > q_offset + i.
torch::Tensor causal_mask(int64_t T, int64_t S, int64_t q_offset, const torch::Device& device);

// Whether attention of q's device and dtype takes the fused kernel (LibTorch >= 2.0 on CUDA).
bool use_fused_attention(const torch::Tensor& q);

// softmax(q k^T * scale, masked) v with explicit probabilities, GQA without copying k/v: query
// head h uses kv head h / (H / Hkv). Emits kAttnLogits and kAttnProbs (B, H, T, S), per query
// head, at {"teacher", layer} when the sink wants them. Layers the sink does not ask for take
// the fused kernel where use_fused_attention() (no (T, S) matrix is formed).
// q (B, H, T, Dh), k/v (B, Hkv, S, Dh), mask (T, S) bool -> (B, H, T, Dh).
torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& mask, double scale,
                               capture::CaptureSink* sink, int layer);

// ---- KV cache --------------------------------------------------------------------------------

// Per-layer keys and values of the tokens seen so far; grows by doubling.
class KvCache : public DecodeState {
  public:
    KvCache(int64_t batch, int64_t n_layers, int64_t max_positions);
    int64_t position() const override { return m_position; }
    int64_t batch() const noexcept { return m_batch; }
    int64_t max_positions() const noexcept { return m_max_positions; }

    // Stores k/v (B, Hkv, T, Dh) of `layer` after position() and returns all keys and values
    // (B, Hkv, position() + T, Dh) of that layer.
    std::pair<torch::Tensor, torch::Tensor> append(int layer, const torch::Tensor& k,
                                                   const torch::Tensor& v);
    // Called once after every layer has appended T tokens.
    void advance(int64_t T) { m_position += T; }

  private:
    int64_t m_batch;
    int64_t m_max_positions;
    int64_t m_position = 0;
    std::vector<torch::Tensor> m_k;  // per layer (B, Hkv, capacity, Dh)
    std::vector<torch::Tensor> m_v;  // per layer (B, Hkv, capacity, Dh)
};

// ---- validation and loading -----------------------------------------------------------------

// tokens must be 2-D int64 with ids in [0, vocab) and start + T <= context (ValueError otherwise;
// `context_field` names the config field of the limit). `what` prefixes messages ("gpt2 forward").
void check_tokens(const torch::Tensor& tokens, int64_t vocab, int64_t context, int64_t start,
                  const std::string& context_field, const std::string& what);

// Copies every parameter of `module` from `ckpt` by name (strict: ShapeError / FormatError via
// Checkpoint::get), then rejects any tensor of the file that was not used and that
// `is_known_extra` does not accept (FormatError listing the names).
// to_checkpoint_name maps a module parameter name to the file's name.
void load_strict(torch::nn::Module& module, const io::Checkpoint& ckpt,
                 const std::function<std::string(const std::string&)>& to_checkpoint_name,
                 const std::function<bool(const std::string&)>& is_known_extra,
                 const std::string& what);

bool ends_with(const std::string& s, const std::string& suffix);

// ---- the LanguageModel base --------------------------------------------------------------

class TransformerLanguageModel : public LanguageModel {
  public:
    const ModelInfo& info() const override { return m_info; }
    const io::JsonConfig& config() const override { return m_config; }

    torch::Tensor forward(const torch::Tensor& tokens, const ForwardOptions& opts = {},
                          capture::CaptureSink* sink = nullptr) override;
    std::unique_ptr<DecodeState> new_decode_state(int64_t batch) override;
    torch::Tensor forward_step(const torch::Tensor& tokens, DecodeState& state) override;

  protected:
    TransformerLanguageModel(ModelInfo info, io::JsonConfig config, std::string context_field)
        : m_info(std::move(info)),
          m_config(std::move(config)),
          m_context_field(std::move(context_field)) {}

    // The model proper. tokens (B, T) validated and on the model's device; cache null for a full
    // forward; with check_layers, throws ValueError naming the first layer (or the embedding)
    // whose output is not finite. -> logits (B, T, V) float32.
    virtual torch::Tensor run(const torch::Tensor& tokens, KvCache* cache,
                              capture::CaptureSink* sink, bool check_layers) = 0;

    // Throws ValueError when check_layers and x has a NaN/Inf: "... first appear in `where`".
    void check_finite(const torch::Tensor& x, bool check_layers, const std::string& where) const;
    torch::Device device();

    ModelInfo m_info;
    io::JsonConfig m_config;
    std::string m_context_field;  // "n_positions" or "max_position_embeddings"
};

}  // namespace dxl::models
