// Token input for CLI commands: --text STR | --text-file F | --tokens 1,2,3 | --tokens-file F.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/cli/args.h"

namespace dxl::io {
class Tokenizer;
}

namespace dxl::cli {

// Options every token-taking command accepts.
void add_input_options(OptionSpec& spec);

// The token sequences the user asked for (one per --tokens-file line; one otherwise).
// --text needs a tokenizer (UsageError naming the model directory otherwise). Exactly one input
// option must be given.
std::vector<std::vector<int64_t>> read_token_input(const Args& args, const io::Tokenizer* tokenizer,
                                                   const std::string& model_dir);

}  // namespace dxl::cli
