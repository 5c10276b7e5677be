// Human-readable model descriptions for `dxl info`.
#pragma once

#include <string>

namespace dxl::io {
class Tokenizer;
}
namespace dxl::models {
struct ModelPeek;
}

namespace dxl::cli {

void print_config_summary(const std::string& config_path);
// `dxl info --model`: config.json and the safetensors headers only (no weight is read).
void print_peek_summary(const models::ModelPeek& peek, const io::Tokenizer* tokenizer);

}  // namespace dxl::cli
