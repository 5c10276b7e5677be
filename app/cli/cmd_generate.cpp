// `dxl generate`: continue an input with greedy decoding or seeded top-k sampling.
#include <torch/torch.h>

#include <cstdio>

#include "app/cli/args.h"
#include "app/cli/commands.h"
#include "app/cli/device_options.h"
#include "app/cli/inputs.h"
#include "core/base/error.h"
#include "core/io/tokenizer.h"
#include "core/models/generate.h"
#include "core/models/registry.h"
#include "core/runtime/runtime.h"

namespace dxl::cli {

namespace {
const std::string kGenerateUsage =
    std::string(
        "usage: dxl generate --model DIR INPUT [--max-new-tokens 32] [--greedy | --temperature "
        "1.0\n"
        "                    --top-k 40 --seed 0] [--device D] [--dtype T] [--threads N]\n\n"
        "Continues the input with a KV cache (Transformers) or the recurrent state (xLSTM); "
        "prints\n"
        "the text when the model has a tokenizer, else the token ids.\n\n") +
    kInputHelp + kDeviceHelp;
}  // namespace

int run_generate(const std::vector<std::string>& argv) {
    OptionSpec spec;
    spec.with_value.insert({"model", "threads", "max-new-tokens", "temperature", "top-k", "seed"});
    spec.flags.insert("greedy");
    add_input_options(spec);
    add_device_options(spec);
    Args args("generate", argv, spec);
    const std::string dir = args.require("model");
    models::GenerateOptions go;
    go.max_new_tokens = args.get_int("max-new-tokens", 32);
    DXL_CHECK(go.max_new_tokens >= 0, UsageError,
              "--max-new-tokens: expected a non-negative integer");
    const bool sampling = args.has("temperature") || args.has("top-k") || args.has("seed");
    DXL_CHECK(!(sampling && args.flag("greedy")), UsageError,
              "dxl generate: --greedy cannot be combined with --temperature/--top-k/--seed");
    go.greedy = !sampling;
    go.temperature = args.get_double("temperature", 1.0);
    DXL_CHECK(go.temperature > 0, UsageError, "--temperature: expected a positive number");
    go.top_k = args.get_int("top-k", 0);
    DXL_CHECK(go.top_k >= 0, UsageError, "--top-k: expected a non-negative integer");
    go.seed = static_cast<uint64_t>(args.get_int("seed", 0));
    runtime::RuntimeOptions ro;
    ro.threads = static_cast<int>(args.get_int("threads", 0));
    runtime::configure(ro);
    const models::LoadOptions lo = device_load_options(args);  // refuses cuda before any work

    auto model = models::load_model(dir, lo);
    auto tok = load_tokenizer_option(args, dir);
    if (tok && tok->eos_id()) go.eos_token_id = *tok->eos_id();
    auto seqs = read_token_input(args, tok.get(), dir);
    DXL_CHECK(seqs.size() == 1, UsageError, "dxl generate: takes one sequence, but got ",
              seqs.size());
    const auto& ids = seqs[0];
    const int64_t V = model->info().vocab_size;
    for (size_t t = 0; t < ids.size(); ++t) {
        DXL_CHECK(ids[t] >= 0 && ids[t] < V, ValueError, "input: token id ", ids[t],
                  " at position ", t, " is outside the vocabulary [0, ", V, ")");
    }
    torch::NoGradGuard no_grad;
    model->module().eval();
    auto prompt = torch::tensor(ids, torch::kInt64).unsqueeze(0).to(lo.device);  // (1, T)
    models::GenerateResult r = models::generate(*model, prompt, go);
    const int64_t T = prompt.size(1);
    const int64_t n = r.n_generated.at(0);
    std::vector<int64_t> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        out[static_cast<size_t>(i)] = r.tokens[0][T + i].item<int64_t>();
    if (tok) {
        std::printf("%s", tok->decode(ids).c_str());
        std::printf("%s\n", tok->decode_for_display(out).c_str());
    } else {
        std::string s;
        for (size_t i = 0; i < out.size(); ++i)
            s += (i ? "," : "") + std::to_string(out[i]);
        std::printf("%s\n", s.c_str());
    }
    std::fflush(stdout);
    std::fprintf(stderr, "generated %lld tokens (%s, stop: %s)\n", static_cast<long long>(n),
                 go.greedy ? "greedy" : "sampled", models::to_string(r.stop_reason));
    return 0;
}

DXL_CLI_COMMAND(30, "generate", "generate a continuation (greedy or top-k sampling)",
                kGenerateUsage.c_str(), run_generate);

}  // namespace dxl::cli
