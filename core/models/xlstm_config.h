// xLSTM student configuration: the NX-AI xLSTMLMModelConfig fields of a "xlstm_v1" config.json
// (derived fields recomputed from the primary ones), the student builder for a teacher
// (presets) and the analytic parameter count (docs/method.md#blocks-and-students).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/io/json_config.h"

namespace dxl::models {

struct XlstmConfig {
    int64_t embedding_dim = 64;
    int64_t num_blocks = 2;
    int64_t vocab_size = 97;
    int64_t context_length = 32;  // informational: not a hard limit for the recurrent model
    std::vector<int64_t> slstm_at;
    bool add_post_blocks_norm = true;
    bool tie_weights = false;
    bool bias = false;      // Linear / head-wise biases of mLSTM layers and FFN (reference `bias`)
    bool has_mlstm = true;  // config has an mlstm_block
    bool has_slstm = true;  // config has an slstm_block
    // mLSTM layer
    int64_t mlstm_num_heads = 4;
    int64_t mlstm_conv_kernel = 4;
    int64_t qkv_proj_blocksize = 4;
    double mlstm_proj_factor = 2.0;
    // sLSTM layer + FFN
    int64_t slstm_num_heads = 4;
    int64_t slstm_conv_kernel = 4;
    std::string slstm_backend = "vanilla";  // "cuda" checkpoints store R/bias in the CUDA layout
    std::string slstm_bias_init = "powerlaw_blockdependent";
    double ffn_proj_factor = 1.3;
    std::string ffn_act = "gelu";
    // Parameters frozen in training (names of top-level modules): "token_embedding", "lm_head".
    std::vector<std::string> frozen;

    int64_t mlstm_inner_dim() const;  // ceil(proj_factor * d / 64) * 64
    int64_t mlstm_head_dim() const { return mlstm_inner_dim() / mlstm_num_heads; }
    int64_t ffn_dim() const;  // ceil(ffn_proj_factor * d / 64) * 64
    bool is_slstm(int64_t block) const;
};

// ceil(factor * dim / multiple) * multiple, as the reference's _proj_up_dim.
int64_t round_up_proj(double factor, int64_t dim, int64_t multiple = 64);

// Parses a model_type "xlstm_v1" config.json (FormatError naming the field on bad input).
XlstmConfig parse_xlstm_v1(const io::JsonConfig& cfg);
// A config.json the parser (and the reference's dataclasses) read back, derived fields filled.
nlohmann::json to_json(const XlstmConfig& cfg);

// Analytic parameter count (reference module structure); trainable_only excludes `frozen`.
int64_t parameter_count(const XlstmConfig& cfg, bool trainable_only);

struct TeacherDims {
    int64_t hidden = 0;
    int64_t n_layers = 0;
    int64_t n_heads = 0;
    int64_t n_kv_heads = 0;
    int64_t vocab = 0;
};
// Student for a teacher (docs/method.md#blocks-and-students). preset "paper": 6 blocks, sLSTM at
// [0, 2, 4], 16 heads;
// "v2": L_T // 2 blocks, sLSTM at range(0, blocks-1, 2), heads round_up_4(H_T); "v2_div4": v2
// with heads round_up_4(H_T) / 4 (the later 791f6df variant). Width = teacher hidden, vocab =
// teacher vocab, embedding and LM head frozen (copied from the teacher), tie_weights false.
XlstmConfig student_for_teacher(const TeacherDims& teacher, const std::string& preset);

}  // namespace dxl::models
