// model_type -> factory map and the model-directory loader.
#include <torch/torch.h>

#include "core/models/registry.h"

#include <filesystem>
#include <map>
#include <mutex>

#include "core/base/error.h"
#include "core/io/checkpoint.h"
#include "core/models/architectures.h"
#include "core/runtime/device.h"

namespace dxl::models {
namespace {

std::mutex g_mutex;

std::map<std::string, ModelFactory>& factories() {  // guarded by g_mutex
    static std::map<std::string, ModelFactory> map = {
        {"gpt2", make_gpt2},
        {"llama", make_llama},
        {"qwen2", make_llama},
        {"xlstm_v1", make_xlstm_v1},
        {"xlstm_large", make_xlstm_large},
    };
    return map;
}

std::string known_list() {
    std::string s;
    for (const auto& [name, f] : factories())
        s += (s.empty() ? "" : ", ") + name;
    return s;
}

}  // namespace

void register_architecture(const std::string& model_type, ModelFactory factory) {
    std::lock_guard<std::mutex> lock(g_mutex);
    factories()[model_type] = std::move(factory);
}

std::vector<std::string> registered_architectures() {
    std::lock_guard<std::mutex> lock(g_mutex);
    std::vector<std::string> out;
    for (const auto& [name, f] : factories())
        out.push_back(name);
    return out;
}

bool is_registered(const std::string& model_type) {
    std::lock_guard<std::mutex> lock(g_mutex);
    return factories().count(model_type) > 0;
}

std::unique_ptr<LanguageModel> build_model(const io::JsonConfig& cfg,
                                           const io::Checkpoint* weights) {
    const std::string type = cfg.model_type();
    ModelFactory f;
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        auto it = factories().find(type);
        DXL_CHECK(it != factories().end(), UnsupportedError, cfg.source(),
                  ": unknown architecture '", type,
                  "'; supported model_type values: ", known_list());
        f = it->second;
    }
    return f(cfg, weights);
}

std::unique_ptr<LanguageModel> load_model(const std::string& dir, const LoadOptions& opts) {
    namespace fs = std::filesystem;
    DXL_CHECK(fs::exists(dir), IoError, dir, ": no such model directory");
    DXL_CHECK(fs::is_directory(dir), IoError, dir,
              ": expected a model directory (config.json + model.safetensors), but got a file");
    const std::string cfg_path = (fs::path(dir) / "config.json").string();
    DXL_CHECK(
        fs::exists(cfg_path), IoError, dir,
        ": config.json is missing; a model directory holds config.json and model.safetensors");
    io::JsonConfig cfg = io::JsonConfig::load(cfg_path);
    // Check the architecture before touching the weights: an unknown type is the clearer error.
    (void)cfg.model_type();
    DXL_CHECK(is_registered(cfg.model_type()), UnsupportedError, cfg_path,
              ": unknown architecture '", cfg.model_type(),
              "'; supported model_type values: ", known_list());
    io::Checkpoint weights = io::Checkpoint::open_dir(dir);
    const torch::ScalarType dtype =
        runtime::resolve_dtype(opts.dtype, opts.device, weights.floating_dtype());
    std::unique_ptr<LanguageModel> model = build_model(cfg, &weights);
    if (dtype != torch::kFloat32 || !opts.device.is_cpu()) model->module().to(opts.device, dtype);
    return model;
}

}  // namespace dxl::models
