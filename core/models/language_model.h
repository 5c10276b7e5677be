// The interface every loadable model implements: Transformer teachers (gpt2, llama, qwen2) and
// xLSTM students (xlstm_v1, xlstm_large). The CLI, capture and training code use only this.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/io/json_config.h"

namespace dxl::capture {
class CaptureSink;
}

namespace dxl::models {

// Which mLSTM cell form a student uses. Auto picks parallel or chunkwise by sequence length and
// head dimension from a measured table (resolve_form).
enum class MlstmForm { Auto, Parallel, Chunkwise, Recurrent };
const char* to_string(MlstmForm f) noexcept;
MlstmForm parse_mlstm_form(
    const std::string& s);  // "auto|parallel|chunkwise|recurrent", UsageError otherwise

struct ForwardOptions {
    MlstmForm form = MlstmForm::Auto;
    int64_t chunk_size = 64;  // chunkwise form
    // > 0: Auto switches to chunkwise above this T whatever the head dimension; 0: the table.
    int64_t chunkwise_threshold = 0;
};

// The form Auto runs for T tokens at head dimension head_dim (explicit forms pass through): the
// longest T at which the parallel form beat chunkwise (chunk 64) in
// bench/mlstm_forms_bench's BM_mlstm_form_crossover, by head dimension (bench/RESULTS.md).
MlstmForm resolve_form(const ForwardOptions& opts, int64_t T, int64_t head_dim) noexcept;

struct ModelInfo {
    std::string architecture;  // model_type: "gpt2", "llama", "qwen2", "xlstm_v1", "xlstm_large"
    std::string family;        // "transformer" or "xlstm"
    int64_t n_layers = 0;      // layers (teacher) or blocks (student)
    int64_t n_heads = 0;
    int64_t n_kv_heads = 0;  // = n_heads without GQA; 0 where not applicable
    int64_t d_model = 0;
    int64_t head_dim = 0;
    int64_t vocab_size = 0;
    int64_t context_length = 0;            // maximum T (0 = unbounded, recurrent models)
    std::vector<std::string> block_types;  // per layer/block: "attention", "mlstm", "slstm"
    bool tied_embeddings = false;
};

// Opaque per-sequence decoding state (KV cache or recurrent state).
class DecodeState {
  public:
    virtual ~DecodeState() = default;
    virtual int64_t position() const = 0;  // tokens consumed so far
};

class LanguageModel {
  public:
    virtual ~LanguageModel() = default;

    virtual const ModelInfo& info() const = 0;
    virtual const io::JsonConfig& config() const = 0;
    // The torch module tree (parameters, train/eval, to(device)).
    virtual torch::nn::Module& module() = 0;

    // tokens (B, T) int64 -> logits (B, T, V) float32. Validates ids < vocab and T <= context
    // (ValueError). sink may be null.
    virtual torch::Tensor forward(const torch::Tensor& tokens, const ForwardOptions& opts = {},
                                  capture::CaptureSink* sink = nullptr) = 0;

    // Incremental decoding: feed tokens (B, T>=1) after what the state has seen; returns logits
    // (B, T, V) and advances the state.
    virtual std::unique_ptr<DecodeState> new_decode_state(int64_t batch) = 0;
    virtual torch::Tensor forward_step(const torch::Tensor& tokens, DecodeState& state) = 0;

    // The read-out (final norm, head, any logit soft cap) applied to a residual-stream state as
    // emitted at capture::point::kHidden: the logit lens. hidden (B, T, D) -> logits (B, T, V)
    // float32; on the last layer's state it equals forward()'s logits. The default throws
    // UnsupportedError.
    virtual torch::Tensor unembed(const torch::Tensor& hidden);
};

// Total and trainable (requires_grad) parameter counts of a model.
int64_t count_parameters(torch::nn::Module& m, bool trainable_only);

}  // namespace dxl::models
