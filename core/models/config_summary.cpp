// Analytic parameter counts from configs. The formulas mirror the module definitions in
// gpt2.cpp / llama.cpp and xlstm_config.cpp; tests compare them with instantiated models.
#include "core/models/config_summary.h"

#include "core/base/error.h"

namespace dxl::models {

ConfigSummary summarize_transformer_config(const io::JsonConfig& cfg) {
    const std::string type = cfg.model_type();
    ConfigSummary s;
    ModelInfo& info = s.info;
    info.architecture = type;
    info.family = "transformer";
    int64_t n = 0;
    if (type == "gpt2") {
        const int64_t V = cfg.get<int64_t>("vocab_size");
        const int64_t D = cfg.get<int64_t>("n_embd");
        const int64_t L = cfg.get<int64_t>("n_layer");
        const int64_t H = cfg.get<int64_t>("n_head");
        const int64_t P = cfg.get<int64_t>("n_positions");
        const int64_t F = cfg.get_or<int64_t>("n_inner", 4 * D);
        n = V * D + P * D;
        n += L * (2 * D + (D * 3 * D + 3 * D) + (D * D + D) + 2 * D + (D * F + F) + (F * D + D));
        n += 2 * D;
        info.n_layers = L;
        info.n_heads = info.n_kv_heads = H;
        info.d_model = D;
        info.head_dim = D / H;
        info.vocab_size = V;
        info.context_length = P;
        info.tied_embeddings = true;
    } else if (type == "llama" || type == "qwen2") {
        const int64_t V = cfg.get<int64_t>("vocab_size");
        const int64_t D = cfg.get<int64_t>("hidden_size");
        const int64_t L = cfg.get<int64_t>("num_hidden_layers");
        const int64_t H = cfg.get<int64_t>("num_attention_heads");
        const int64_t KV = cfg.get_or<int64_t>("num_key_value_heads", H);
        const int64_t hd = cfg.get_or<int64_t>("head_dim", D / H);
        const int64_t F = cfg.get<int64_t>("intermediate_size");
        const bool qwen = type == "qwen2";
        const bool attn_bias = cfg.get_or<bool>("attention_bias", false);
        const bool mlp_bias = cfg.get_or<bool>("mlp_bias", false);
        const bool qkv_bias = qwen || attn_bias;
        const bool o_bias = !qwen && attn_bias;
        const bool tied = cfg.get_or<bool>("tie_word_embeddings", false);
        int64_t layer = 2 * D;                               // input / post-attention norms
        layer += D * H * hd + 2 * D * KV * hd + H * hd * D;  // q, k, v, o
        if (qkv_bias) layer += H * hd + 2 * KV * hd;
        if (o_bias) layer += D;
        layer += 3 * D * F;  // gate, up, down
        if (mlp_bias) layer += 2 * F + D;
        n = V * D + L * layer + D + (tied ? 0 : V * D);
        info.n_layers = L;
        info.n_heads = H;
        info.n_kv_heads = KV;
        info.d_model = D;
        info.head_dim = hd;
        info.vocab_size = V;
        info.context_length = cfg.get_or<int64_t>("max_position_embeddings", 0);
        info.tied_embeddings = tied;
    } else {
        throw UnsupportedError(cfg.source() + ": no parameter formula for model_type '" + type +
                               "'");
    }
    info.block_types.assign(static_cast<size_t>(info.n_layers), "attention");
    s.total_parameters = n;
    s.trainable_parameters = n;
    return s;
}

ConfigSummary summarize_config(const io::JsonConfig& cfg) {
    const std::string type = cfg.model_type();
    if (type == "gpt2" || type == "llama" || type == "qwen2")
        return summarize_transformer_config(cfg);
    if (type == "xlstm_v1" || type == "xlstm_large") return summarize_xlstm_config(cfg);
    throw UnsupportedError(
        cfg.source() + ": unknown architecture '" + type +
        "'; supported model_type values: gpt2, llama, qwen2, xlstm_v1, xlstm_large");
}

}  // namespace dxl::models
