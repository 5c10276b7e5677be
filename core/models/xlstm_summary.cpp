// summarize_xlstm_config: `dxl info --config` facts for xLSTM students from the config alone.
#include "core/base/error.h"
#include "core/models/config_summary.h"
#include "core/models/xlstm_config.h"
#include "core/models/xlstm_large.h"

namespace dxl::models {

namespace {

// xLSTM-Large (docs/method.md#blocks-and-students): mirrors the modules of xlstm_large.cpp;
// model_tests compare it
// with instantiated models.
ConfigSummary summarize_xlstm_large(const io::JsonConfig& cfg) {
    const xlstm_large::XlargeConfig x = xlstm_large::parse_xlstm_large(cfg);
    const int64_t d = x.embedding_dim, nh = x.num_heads, qk = x.qk_dim(), dv = x.v_dim(),
                  F = x.ffn_dim();
    const int64_t V = x.vocab_size;
    const int64_t b = x.use_bias ? 1 : 0;
    int64_t block = d * (1 + b);                             // norm_mlstm
    block += d * (2 * qk + 2 * dv) + b * (2 * qk + 2 * dv);  // q, k, v, output gate
    block += d * 2 * nh + 2 * nh;                    // input and forget gates (always biased)
    block += dv * (1 + b);                           // multihead_norm
    block += dv * d + b * d;                         // out_proj
    block += d * (1 + b);                            // norm_ffn
    block += 2 * d * F + b * 2 * F + F * d + b * d;  // proj_up_gate, proj_up, proj_down
    const int64_t embedding = V * d;
    const int64_t head = x.tie_word_embeddings ? 0 : V * d;
    ConfigSummary s;
    s.total_parameters =
        embedding + x.num_blocks * block + (x.add_out_norm ? d * (1 + b) : 0) + head;
    s.trainable_parameters = s.total_parameters;
    for (const auto& name : cfg.get_or<std::vector<std::string>>("dxl_frozen", {})) {
        if (name == "embedding") s.trainable_parameters -= embedding;
        if (name == "lm_head") s.trainable_parameters -= head;
    }
    ModelInfo& info = s.info;
    info.architecture = "xlstm_large";
    info.family = "xlstm";
    info.n_layers = x.num_blocks;
    info.n_heads = nh;
    info.d_model = d;
    info.head_dim = qk / nh;
    info.vocab_size = V;
    info.tied_embeddings = x.tie_word_embeddings;
    info.block_types.assign(static_cast<size_t>(x.num_blocks), "mlstm");
    return s;
}

}  // namespace

ConfigSummary summarize_xlstm_config(const io::JsonConfig& cfg) {
    const std::string type = cfg.model_type();
    if (type == "xlstm_large") return summarize_xlstm_large(cfg);
    DXL_CHECK(type == "xlstm_v1", UnsupportedError, cfg.source(),
              ": not an xLSTM config (model_type '", type, "')");
    const XlstmConfig x = parse_xlstm_v1(cfg);
    ConfigSummary s;
    ModelInfo& info = s.info;
    info.architecture = type;
    info.family = "xlstm";
    info.n_layers = x.num_blocks;
    info.n_heads = x.has_mlstm ? x.mlstm_num_heads : x.slstm_num_heads;
    info.n_kv_heads = 0;
    info.d_model = x.embedding_dim;
    info.head_dim = x.has_mlstm ? x.mlstm_head_dim() : x.embedding_dim / x.slstm_num_heads;
    info.vocab_size = x.vocab_size;
    info.context_length = 0;
    info.tied_embeddings = x.tie_weights;
    for (int64_t b = 0; b < x.num_blocks; ++b)
        info.block_types.push_back(x.is_slstm(b) ? "slstm" : "mlstm");
    s.total_parameters = parameter_count(x, false);
    s.trainable_parameters = parameter_count(x, true);
    return s;
}

}  // namespace dxl::models
