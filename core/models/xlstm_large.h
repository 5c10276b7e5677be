// xlstm_large: the xLSTM-Large / xLSTM-7B language model (NX-AI/xlstm xlstm/xlstm_large/model.py,
// docs/method.md#blocks-and-students) with the reference state_dict names. Blocks x +=
// mLSTMLayer(RMSNorm(x));
// x += SwiGLU(RMSNorm(x)); then RMSNorm (add_out_norm) and lm_head with a soft-capped output.
// mLSTM layer: q, k = W x (d_qk = qk_dim_factor d), v = W x (d_v = v_dim_factor d), gates
// i~, f~ = softcap(W x + b, gate_soft_cap) per head, o = sigmoid(W_o x) per channel, h through
// a per-head LayerNorm (weight, bias with use_bias). The cell is mlstm_cell.h unchanged: the
// reference's mlstm_kernels cell (exponential input gate with max stabiliser, sigmoid forget
// gate, normaliser max(|q.n|, exp(-m)) + eps, q scaled by d_qk^-1/2) is the v1 cell up to the
// equivalent q-vs-k scaling. weight_mode "fused" uses the fused parameter names
// (qkv_opreact, ifgate_preact, proj_up_gate_z). context_length is 0 (recurrent model).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/io/json_config.h"
#include "core/models/architectures.h"

namespace dxl::models::xlstm_large {

// The reference xLSTMLargeConfig fields this model uses (kernel selection fields are read by the
// reference only; they are accepted and ignored here).
struct XlargeConfig {
    int64_t embedding_dim = 64;  // also read from "hidden_size" (transformers xLSTMConfig)
    int64_t num_heads = 4;
    int64_t num_blocks = 2;  // also read from "num_hidden_layers"
    int64_t vocab_size = 97;
    bool use_bias = false;
    double norm_eps = 1e-6;
    bool norm_reduction_force_float32 = true;
    bool add_out_norm = true;
    double qk_dim_factor = 0.5;
    double v_dim_factor = 1.0;
    double eps = 1e-6;  // mLSTM cell normaliser eps
    double ffn_proj_factor = 2.6667;
    int64_t ffn_round_up_to_multiple_of = 64;
    std::optional<double> gate_soft_cap = 15.0;  // JSON null = no cap
    std::optional<double> output_logit_soft_cap = 30.0;
    std::string weight_mode = "single";  // "single" | "fused"
    bool tie_word_embeddings = false;    // lm_head uses embedding.weight

    int64_t qk_dim() const;   // int(embedding_dim * qk_dim_factor)
    int64_t v_dim() const;    // int(embedding_dim * v_dim_factor)
    int64_t ffn_dim() const;  // round_up_to_next_multiple_of(d * ffn_proj_factor, multiple)
};

// Parses a model_type "xlstm_large" config.json (FormatError naming the field; ValueError for
// dimensions that do not divide into heads).
XlargeConfig parse_xlstm_large(const io::JsonConfig& cfg);

// c * tanh(x / c); no cap when c is empty.
torch::Tensor soft_cap(const torch::Tensor& x, const std::optional<double>& c);

// The LM; weights may be null (reference-style default initialisation). Loading is strict:
// every parameter must be present with its shape (FormatError / ShapeError naming the tensor)
// and no unexpected tensor may remain (lm_head.weight is tolerated when tied).
std::unique_ptr<LanguageModel> make_model(const XlargeConfig& cfg, const io::JsonConfig& json,
                                          const io::Checkpoint* weights);

}  // namespace dxl::models::xlstm_large
