// `dxl info` and `dxl forward`: describe a model, and run one forward pass into an HDF5 file.
#include <unistd.h>

#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "app/cli/args.h"
#include "app/cli/commands.h"
#include "app/cli/device_options.h"
#include "app/cli/inputs.h"
#include "app/cli/model_summary.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "core/capture/memory_sink.h"
#include "core/io/tokenizer.h"
#include "core/models/model_peek.h"
#include "core/models/registry.h"
#include "core/runtime/device.h"
#include "core/runtime/memory_guard.h"
#include "core/runtime/runtime.h"
#include "core/store/h5.h"
#include "dxl/config.h"

namespace dxl::cli {
namespace fs = std::filesystem;

namespace {

OptionSpec common_spec() {
    OptionSpec s;
    s.with_value.insert("threads");
    return s;
}

void setup_runtime(const Args& args) {
    runtime::RuntimeOptions o;
    o.threads = static_cast<int>(args.get_int("threads", 0));
    DXL_CHECK(o.threads >= 0, UsageError, "--threads: expected a positive integer");
    runtime::configure(o);
}

// (T) int64 tensor of one sequence, validated against the model's vocabulary.
torch::Tensor to_tokens(const std::vector<int64_t>& ids, int64_t vocab) {
    DXL_CHECK(!ids.empty(), ValueError, "input: no tokens given");
    for (size_t t = 0; t < ids.size(); ++t) {
        DXL_CHECK(ids[t] >= 0 && ids[t] < vocab, ValueError, "input: token id ", ids[t],
                  " at position ", t, " is outside the vocabulary [0, ", vocab,
                  "); use ids the model's tokenizer produces");
    }
    return torch::tensor(ids, torch::kInt64);
}

// Writes a float tensor (any shape) as float32 with a dims attribute.
void write_float(const h5::Group& root, const std::string& name, const torch::Tensor& t,
                 const std::string& dims) {
    torch::Tensor c = t.to(torch::kCPU, torch::kFloat32).contiguous();  // same shape as t
    h5::Dims d(c.sizes().begin(), c.sizes().end());
    root.write<float>(name, c.data_ptr<float>(), d);
    root.set_attr("dims", dims, name);
}

}  // namespace

namespace {
const std::string kInfoUsage =
    "usage: dxl info (--model DIR | --config FILE) [--tokenizer FILE] [--threads N]\n\n"
    "Describes a model: architecture, layers/blocks, heads, width, vocabulary, context, total and\n"
    "trainable parameter counts, weights (from the safetensors headers: no weight is loaded),\n"
    "tokenizer and compute backend. --config reads a config.json "
    "alone\n"
    "(no weights needed), e.g. data/configs/student_paper_qwen2.5-1.5b.json.\n";
const std::string kForwardUsage =
    std::string(
        "usage: dxl forward --model DIR INPUT --out FILE.h5 [--form "
        "auto|parallel|chunkwise|recurrent]\n"
        "                   [--chunk-size 64] [--force] [--device D] [--dtype T] [--threads N]\n\n"
        "Runs one forward pass and writes FILE.h5 with /tokens "
        "(int64 [T]), /logits (float32 [T, V]) and\n"
        "per layer /teacher/layer_NN/attn_probs (float32 [H, T, T]) "
        "for a Transformer, or per mLSTM block\n"
        "/student/block_NN/implicit_attn (float32 [H, T, T], raw "
        "signed A) for an xLSTM. --form picks the\n"
        "mLSTM cell form (auto: parallel or chunkwise by length and head dimension, from a measured table). The "
        "file is written under FILE.h5.partial\n"
        "and renamed when complete; an existing FILE.h5 is kept "
        "unless --force.\n\n") +
    kInputHelp + kDeviceHelp;
}  // namespace

int run_info(const std::vector<std::string>& argv) {
    OptionSpec spec = common_spec();
    spec.with_value.insert({"model", "config", "tokenizer"});
    Args args("info", argv, spec);
    DXL_CHECK(args.has("model") != args.has("config"), UsageError,
              "dxl info: give exactly one of --model DIR or --config FILE");
    setup_runtime(args);
    if (auto dir = args.get("model")) {
        const models::ModelPeek peek = models::peek_model(*dir);
        auto tok = load_tokenizer_option(args, *dir);
        print_peek_summary(peek, tok.get());
    } else {
        print_config_summary(*args.get("config"));
    }
    std::printf("devices:\n");
    for (const std::string& line : runtime::describe_devices())
        std::printf("  %s\n", line.c_str());
    return 0;
}

int run_forward(const std::vector<std::string>& argv) {
    OptionSpec spec = common_spec();
    spec.with_value.insert({"model", "out", "form", "chunk-size"});
    spec.flags.insert("force");
    add_input_options(spec);
    add_device_options(spec);
    Args args("forward", argv, spec);
    const std::string dir = args.require("model");
    const std::string out = args.require("out");
    models::ForwardOptions fo;
    fo.form = models::parse_mlstm_form(args.get_or("form", "auto"));
    fo.chunk_size = args.get_int("chunk-size", 64);
    DXL_CHECK(fo.chunk_size > 0, UsageError, "--chunk-size: expected a positive integer");
    const fs::path out_dir = fs::absolute(out).parent_path();
    DXL_CHECK(fs::is_directory(out_dir), IoError, "--out: folder ", out_dir.string(),
              " does not exist");
    std::error_code ec_out;
    DXL_CHECK(!fs::is_directory(out, ec_out), IoError, "--out: ", out,
              " is a folder; give a file name such as ", out, "/forward.h5");
    DXL_CHECK(!fs::exists(out, ec_out) || args.flag("force"), UsageError, "--out: ", out,
              " exists; pass --force to replace it or choose another name");
    setup_runtime(args);
    const models::LoadOptions lo = device_load_options(args);  // refuses cuda before any work

    auto model = models::load_model(dir, lo);
    auto tok = load_tokenizer_option(args, dir);
    auto seqs = read_token_input(args, tok.get(), dir);
    DXL_CHECK(seqs.size() == 1, UsageError,
              "dxl forward: takes one sequence, but --tokens-file holds ", seqs.size(),
              "; use one line (dxl capture takes many)");
    const models::ModelInfo& info = model->info();
    torch::Tensor tokens = to_tokens(seqs[0], info.vocab_size).to(lo.device);  // (T)
    const int64_t T = tokens.size(0);
    const bool is_xlstm = info.family == "xlstm";
    // Memory guard for models without a context limit (the recurrent student): the [H, T, T]
    // maps of every layer and the [T, V] logits are held at once; refuse what cannot fit.
    runtime::check_fits_in_memory(
        "forward: " + std::to_string(T) + " tokens",
        runtime::maps_and_logits_bytes(T, info.vocab_size,
                                       std::max<int64_t>(1, info.n_heads) * info.n_layers) /
            2.0,  // one model's logits
        "shorten the input");

    capture::MemorySink sink(
        {is_xlstm ? capture::point::kImplicitAttn : capture::point::kAttnProbs});
    torch::NoGradGuard no_grad;
    model->module().eval();
    torch::Tensor logits = model->forward(tokens.unsqueeze(0), fo, &sink);  // (1, T, V)
    DXL_CHECK(torch::isfinite(logits).all().item<bool>(), ValueError,
              "forward: the model produced non-finite logits (NaN/Inf); check the weights in ",
              dir);

    // Written under a temporary name and renamed: a failure never leaves a half file at `out`,
    // and an existing file there is replaced only on success.
    const std::string partial = out + ".partial";
    try {
        h5::File f(partial, h5::File::Mode::Truncate);
        const h5::Group& root = f.root();
        root.set_attr("format", "dxl-forward");
        root.set_attr("schema_version", int64_t{1});
        root.set_attr("producer", std::string("dxl ") + DXL_VERSION + " (" + DXL_GIT_REV + ")");
        root.set_attr("model_dir", fs::absolute(dir).string());
        root.set_attr("model_type", info.architecture);
        root.set_attr("config_json", model->config().json().dump());
        root.set_attr("mlstm_form", to_string(fo.form));
        root.set_attr("device", lo.device.str());
        root.set_attr("dtype",
                      runtime::dtype_name(model->module().parameters().front().scalar_type()));
        std::vector<int64_t> ids = seqs[0];
        root.write<int64_t>("tokens", ids, {static_cast<hsize_t>(T)});
        root.set_attr("dims", "T", "tokens");
        write_float(root, "logits", logits[0], "T,V");
        for (const auto& [path, value] : sink.values()) {
            // value (1, H, T, T) -> (H, T, T)
            write_float(root, path, value[0], "H,T,T");
            if (is_xlstm)
                root.set_attr("normalization", "raw signed A (docs/method.md#implicit-attention)",
                              path);
        }
        f.flush();
    } catch (...) {
        std::error_code ec;
        fs::remove(partial, ec);
        throw;
    }
    fs::rename(partial, out);
    std::printf("wrote %s: %lld tokens, logits [%lld, %lld], %zu %s maps\n", out.c_str(),
                static_cast<long long>(T), static_cast<long long>(T),
                static_cast<long long>(logits.size(2)), sink.values().size(),
                is_xlstm ? "implicit-attention" : "attention");
    return 0;
}

DXL_CLI_COMMAND(10, "info",
                "describe a model directory or config (layers, heads, parameter counts)",
                kInfoUsage.c_str(), run_info);
DXL_CLI_COMMAND(20, "forward", "run one forward pass, write logits and attention maps to HDF5",
                kForwardUsage.c_str(), run_forward);

}  // namespace dxl::cli
