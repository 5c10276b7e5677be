// Token input for CLI commands: --text STR | --text-file F | --tokens 1,2,3 | --tokens-file F.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "app/cli/args.h"

namespace dxl::io {
class Tokenizer;
}

namespace dxl::cli {

// Options every token-taking command accepts (also --tokenizer FILE).
void add_input_options(OptionSpec& spec);

// The tokenizer given with --tokenizer FILE (a tokenizer.json), else the one in model_dir
// (tokenizer.json or a byte tokenizer named by config.json), else nullptr. IoError when FILE is
// missing.
std::unique_ptr<io::Tokenizer> load_tokenizer_option(const Args& args,
                                                     const std::string& model_dir);

// The token sequences the user asked for (one per --tokens-file line; one otherwise).
// --text needs a tokenizer (UsageError naming the model directory otherwise). Exactly one input
// option must be given.
std::vector<std::vector<int64_t>> read_token_input(const Args& args, const io::Tokenizer* tokenizer,
                                                   const std::string& model_dir);

}  // namespace dxl::cli
