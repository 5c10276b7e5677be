// Model facts and parameter counts from a config.json alone (no weights, no allocation), for
// `dxl info --config` and for planning (a 1.5B teacher need not be instantiated to be described).
#pragma once

#include <cstdint>

#include "core/io/json_config.h"
#include "core/models/language_model.h"

namespace dxl::models {

struct ConfigSummary {
    ModelInfo info;
    int64_t total_parameters = 0;
    int64_t trainable_parameters = 0;  // excludes parameters the config marks frozen
};

// UnsupportedError for an unknown model_type; FormatError for missing fields.
ConfigSummary summarize_config(const io::JsonConfig& cfg);

// Analytic counts for the Transformer teachers (gpt2, llama, qwen2).
ConfigSummary summarize_transformer_config(const io::JsonConfig& cfg);

// Analytic counts for xLSTM students (xlstm_v1, xlstm_large); implemented beside the xLSTM config.
ConfigSummary summarize_xlstm_config(const io::JsonConfig& cfg);

}  // namespace dxl::models
