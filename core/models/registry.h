// Architecture registry keyed by Hugging Face model_type, and the model-directory loader.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/io/json_config.h"
#include "core/models/language_model.h"

namespace dxl::io {
class Checkpoint;
}

namespace dxl::models {

// Builds a model from its config; with weights == nullptr the parameters keep their
// initialisation (used by builders and tests), otherwise every parameter is loaded strictly
// (a missing or unexpected tensor is a FormatError naming it).
using ModelFactory = std::function<std::unique_ptr<LanguageModel>(const io::JsonConfig& cfg,
                                                                  const io::Checkpoint* weights)>;

void register_architecture(const std::string& model_type, ModelFactory factory);
std::vector<std::string> registered_architectures();
bool is_registered(const std::string& model_type);

// Where a loaded model lives and in which dtype (the --device / --dtype of every command).
struct LoadOptions {
    torch::Device device = torch::kCPU;
    // nullopt = auto: the checkpoint's floating dtype on CUDA, float32 on the CPU
    // (runtime::resolve_dtype).
    std::optional<torch::ScalarType> dtype;
};

// DIR/config.json + DIR/model.safetensors (or its sharded index). IoError when files are
// missing, UnsupportedError for an unknown model_type (listing the known ones). Parameters and
// buffers end on opts.device in the resolved dtype (the model's forward casts what must stay
// float32: gates, stabilisers, normalisers, softmax).
std::unique_ptr<LanguageModel> load_model(const std::string& dir, const LoadOptions& opts = {});
std::unique_ptr<LanguageModel> build_model(const io::JsonConfig& cfg,
                                           const io::Checkpoint* weights);

}  // namespace dxl::models
