// Human-readable model descriptions for `dxl info`.
#pragma once

#include <string>

namespace dxl::io {
class Tokenizer;
}
namespace dxl::models {
class LanguageModel;
}

namespace dxl::cli {

void print_model_summary(const std::string& dir, models::LanguageModel& model,
                         const io::Tokenizer* tokenizer);
void print_config_summary(const std::string& config_path);

}  // namespace dxl::cli
