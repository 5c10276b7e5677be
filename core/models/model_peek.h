// What a model directory holds, read from config.json and the safetensors headers only: the
// facts `dxl info` prints and the checks that must refuse a pairing before gigabytes of weights
// are read.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/io/json_config.h"
#include "core/models/config_summary.h"

namespace dxl::models {

struct ModelPeek {
    std::string dir;
    io::JsonConfig config;
    ConfigSummary summary;              // from the config alone
    int64_t checkpoint_parameters = 0;  // elements over all tensors in the headers
    uint64_t checkpoint_bytes = 0;      // tensor data bytes
    size_t checkpoint_tensors = 0;
    size_t checkpoint_files = 0;
    std::map<std::string, size_t> dtypes;  // "BF16" -> tensor count
    bool has_tokenizer_json = false;
};

// IoError when the directory, config.json or the weights are missing; FormatError for invalid
// JSON or headers; UnsupportedError for an unknown model_type. No tensor data is read.
ModelPeek peek_model(const std::string& dir);

// ValueError when teacher and student cannot be paired (their vocabularies differ), naming the
// fix: a student made for that teacher. `who` prefixes the message ("capture").
void check_pairable(const ModelPeek& teacher, const ModelPeek& student, const std::string& who);

// Both directories peeked and checked (the pre-flight of commands that take a teacher and a
// student).
void check_pairable(const std::string& teacher_dir, const std::string& student_dir,
                    const std::string& who);

}  // namespace dxl::models
