// `dxl info` output: one aligned "key  value" line per fact.
#include <torch/torch.h>

#include "app/cli/model_summary.h"

#include <cstdio>
#include <string>

#include "core/io/json_config.h"
#include "core/io/tokenizer.h"
#include "core/models/config_summary.h"
#include "core/models/language_model.h"
#include "core/models/model_peek.h"
#include "dxl/kernels/backend.h"

namespace dxl::cli {
namespace {

std::string millions(int64_t n) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f M", static_cast<double>(n) / 1e6);
    return buf;
}

std::string with_commas(int64_t n) {
    std::string s = std::to_string(n);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
        s.insert(static_cast<size_t>(i), ",");
    return s;
}

void line(const char* key, const std::string& value) {
    std::printf("%-13s %s\n", key, value.c_str());
}

void print_info(const models::ModelInfo& info, int64_t total, int64_t trainable) {
    line("architecture", info.architecture + " (" + info.family + ")");
    std::string layers =
        std::to_string(info.n_layers) + (info.family == "xlstm" ? " blocks" : " layers");
    if (info.family == "xlstm" && !info.block_types.empty()) {
        layers += ":";
        for (size_t i = 0; i < info.block_types.size(); ++i)
            layers += (i ? ", " : " ") + info.block_types[i];
    }
    line("layers", layers);
    std::string heads = std::to_string(info.n_heads);
    if (info.n_kv_heads > 0 && info.n_kv_heads != info.n_heads)
        heads += " query / " + std::to_string(info.n_kv_heads) + " key-value (GQA)";
    heads += ", head dim " + std::to_string(info.head_dim);
    line("heads", heads);
    line("width", std::to_string(info.d_model));
    line("vocab", std::to_string(info.vocab_size));
    line("context", info.context_length > 0 ? std::to_string(info.context_length) + " tokens"
                                            : std::string("unbounded (recurrent)"));
    line("embeddings", info.tied_embeddings ? "tied (LM head = token embedding)" : "untied");
    line("parameters", millions(total) + " total (" + with_commas(total) + "), " +
                           millions(trainable) + " trainable (" + with_commas(trainable) + ")");
}

void print_backend() {
    // The backend in use: models run on the CPU through LibTorch (this build's LibTorch has no
    // CUDA); the fused CPU kernels serve the recurrent step. CUDA kernels, when compiled in, are
    // used only for tensors on a GPU.
    const bool torch_cuda = torch::cuda::is_available();
    std::string in_use = torch_cuda && kernels::cuda_available() ? "cuda" : "cpu";
    line("backend", in_use + " (torch " + TORCH_VERSION + (torch_cuda ? " with CUDA" : " CPU") +
                        ", " + std::to_string(torch::get_num_threads()) +
                        " intra-op thread(s)); kernels compiled: " + kernels::compiled_backends() +
                        (kernels::cuda_available() ? "; GPU visible" : ""));
}

}  // namespace

void print_config_summary(const std::string& config_path) {
    io::JsonConfig cfg = io::JsonConfig::load(config_path);
    models::ConfigSummary s = models::summarize_config(cfg);
    line("config", config_path);
    print_info(s.info, s.total_parameters, s.trainable_parameters);
    line("counted", "from the config alone (no weights read)");
    print_backend();
}

void print_peek_summary(const models::ModelPeek& peek, const io::Tokenizer* tokenizer) {
    line("model", peek.dir);
    print_info(peek.summary.info, peek.summary.total_parameters, peek.summary.trainable_parameters);
    std::string dtypes;
    for (const auto& [name, count] : peek.dtypes)
        dtypes += (dtypes.empty() ? "" : ", ") + name +
                  (peek.dtypes.size() > 1 ? " x" + std::to_string(count) : "");
    char gb[32];
    std::snprintf(gb, sizeof gb, "%.3f GB", static_cast<double>(peek.checkpoint_bytes) / 1e9);
    std::string weights = std::to_string(peek.checkpoint_tensors) + " tensors in " +
                          std::to_string(peek.checkpoint_files) + " file(s), " + dtypes + ", " +
                          gb + " (headers read, no weights loaded)";
    // A checkpoint may legitimately hold extras (a tied head stored twice, rotary buffers), so a
    // difference is reported, not refused; `dxl forward` names the offending tensor.
    if (peek.checkpoint_parameters != peek.summary.total_parameters)
        weights += "; holds " + with_commas(peek.checkpoint_parameters) +
                   " elements, the config implies " + with_commas(peek.summary.total_parameters);
    line("weights", weights);
    line("tokenizer", tokenizer ? tokenizer->description()
                                : std::string("none (no tokenizer.json; use --tokens or "
                                              "--tokenizer FILE)"));
    print_backend();
}

}  // namespace dxl::cli
