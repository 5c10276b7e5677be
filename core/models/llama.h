// Llama and Qwen2 teachers (HF LlamaForCausalLM / Qwen2ForCausalLM): RMSNorm, rotary embeddings
// in the rotate-half convention (HF files hold q/k rows already permuted for it), grouped-query
// attention and a SwiGLU MLP. Parameter names equal the HF names ("model.layers.0.self_attn.
// q_proj.weight"); make_llama (architectures.h) builds both model types.
#pragma once

#include <cstdint>
#include <string>

#include "core/io/json_config.h"
#include "core/models/transformer_common.h"

namespace dxl::models {

// The fields of HF LlamaConfig / Qwen2Config this implementation uses.
struct LlamaConfig {
    std::string model_type = "llama";  // "llama" or "qwen2"
    int64_t vocab_size = 0;
    int64_t hidden_size = 0;
    int64_t intermediate_size = 0;
    int64_t n_layers = 0;    // num_hidden_layers
    int64_t n_heads = 0;     // num_attention_heads
    int64_t n_kv_heads = 0;  // num_key_value_heads (default n_heads)
    int64_t head_dim = 0;    // default hidden_size / n_heads
    int64_t max_position_embeddings = 0;
    double rms_norm_eps = 1e-6;
    RopeConfig rope;        // theta = rope_theta, rotary_dim = head_dim, rope_scaling
    bool qkv_bias = false;  // llama: attention_bias; qwen2: always true
    bool o_bias = false;    // llama: attention_bias; qwen2: false
    bool mlp_bias = false;  // llama: mlp_bias; qwen2: false
    bool tie_word_embeddings = false;
};

// Reads and checks a llama / qwen2 config.json (FormatError for missing or wrong fields,
// UnsupportedError for hidden_act other than silu, unknown rope scaling, or qwen2 sliding window).
LlamaConfig parse_llama_config(const io::JsonConfig& cfg);

}  // namespace dxl::models
