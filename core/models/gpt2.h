// GPT-2 teacher (HF GPT2LMHeadModel): learned positions, pre-LayerNorm blocks with Conv1D
// projections (weights stored (in, out): y = x @ W + b), tied or separate LM head. Parameter names
// equal the HF names ("transformer.h.0.attn.c_attn.weight"); make_gpt2 (architectures.h) builds it.
#pragma once

#include <cstdint>
#include <string>

#include "core/io/json_config.h"

namespace dxl::models {

// The fields of HF GPT2Config this implementation uses.
struct Gpt2Config {
    int64_t vocab_size = 0;
    int64_t n_positions = 0;  // context length
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_inner = 0;  // MLP width; config null -> 4 * n_embd
    double layer_norm_epsilon = 1e-5;
    std::string activation_function =
        "gelu_new";                  // gelu_new | gelu_pytorch_tanh | gelu | relu | silu
    bool scale_attn_weights = true;  // divide scores by sqrt(head_dim)
    bool scale_attn_by_inverse_layer_idx = false;  // and by (layer + 1)
    bool tie_word_embeddings = true;               // lm_head = wte
};

// Reads and checks a gpt2 config.json (FormatError naming missing or wrong fields,
// UnsupportedError for an unknown activation).
Gpt2Config parse_gpt2_config(const io::JsonConfig& cfg);

}  // namespace dxl::models
