// `dxl capture --input-b`: a second input captured as sample 1 next to input A (sample 0), and
// the A - B differences of both models written to the file's /ab group (docs/capture-schema.md,
// "A/B inputs").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/cli/args.h"
#include "core/models/language_model.h"

namespace dxl::io {
class Tokenizer;
}

namespace dxl::cli {

// Input B in the form of input A: text for --text/--text-file, ids ("1,2,3") for
// --tokens/--tokens-file. UsageError unless input A is one sequence.
std::vector<int64_t> read_input_b(const Args& args, const io::Tokenizer* tok, size_t n_inputs);

// Runs both models on a and b (float32, in memory) and writes /ab into the finished capture file
// `path` (replacing an older /ab). Prints what it wrote.
void write_ab_group(const std::string& path, models::LanguageModel& teacher,
                    models::LanguageModel& student, const std::vector<int64_t>& a,
                    const std::vector<int64_t>& b, const models::ForwardOptions& fo);

}  // namespace dxl::cli
