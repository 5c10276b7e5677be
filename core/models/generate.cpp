// Greedy and seeded top-k / temperature sampling over LanguageModel::forward_step.
#include "core/models/generate.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <limits>

#include "core/base/error.h"

namespace dxl::models {

const char* to_string(StopReason r) noexcept {
    switch (r) {
        case StopReason::MaxNewTokens:
            return "max_new_tokens";
        case StopReason::Eos:
            return "eos";
        case StopReason::ContextFull:
            return "context_full";
    }
    return "max_new_tokens";
}

torch::Tensor choose_next_token(const torch::Tensor& logits, const GenerateOptions& opts,
                                at::Generator& generator) {
    // Greedy: argmax where the logits are (one id per row crosses to the host, not V floats).
    if (opts.greedy) return logits.argmax(-1).to(torch::kCPU);  // (B)
    // Sampling draws on the host with a CPU generator, so a seed gives the same tokens on every
    // device.
    torch::Tensor l = logits.to(torch::kCPU, torch::kFloat32);  // (B, V)
    torch::Tensor scaled = l / opts.temperature;                // (B, V)
    const int64_t V = l.size(-1);
    if (opts.top_k > 0 && opts.top_k < V) {
        // Keep the k largest per row (ties at the k-th value are kept as well).
        torch::Tensor kth =
            std::get<0>(scaled.topk(opts.top_k, -1)).narrow(-1, opts.top_k - 1, 1);  // (B, 1)
        scaled = scaled.masked_fill(scaled < kth, -std::numeric_limits<double>::infinity());
    }
    torch::Tensor probs = torch::softmax(scaled, -1);                                // (B, V)
    return at::multinomial(probs, 1, /*replacement=*/false, generator).squeeze(-1);  // (B)
}

GenerateResult generate(LanguageModel& model, const torch::Tensor& prompt,
                        const GenerateOptions& opts) {
    DXL_CHECK(opts.max_new_tokens >= 0, ValueError,
              "generate: expected max_new_tokens >= 0, but got ", opts.max_new_tokens);
    DXL_CHECK(opts.greedy || opts.temperature > 0, ValueError,
              "generate: expected temperature > 0 for sampling, but got ", opts.temperature,
              "; use greedy decoding for temperature 0");
    DXL_CHECK(opts.top_k >= 0, ValueError, "generate: expected top_k >= 0, but got ", opts.top_k);
    DXL_CHECK(prompt.defined() && prompt.dim() == 2 && prompt.size(1) >= 1, ShapeError,
              "generate: expected a prompt of shape (B, T) with T >= 1");
    const ModelInfo& info = model.info();
    DXL_CHECK(opts.eos_token_id < info.vocab_size, ValueError, "generate: eos_token_id ",
              opts.eos_token_id, " is >= vocab size ", info.vocab_size);

    torch::NoGradGuard no_grad;
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(opts.seed);
    const int64_t B = prompt.size(0);
    std::unique_ptr<DecodeState> state = model.new_decode_state(B);
    torch::Tensor logits = model.forward_step(prompt, *state);  // (B, T, V)

    GenerateResult result;
    result.n_generated.assign(static_cast<size_t>(B), 0);
    std::vector<torch::Tensor> columns{prompt.to(torch::kCPU)};  // (B, T), then (B, 1) each
    std::vector<bool> finished(static_cast<size_t>(B), false);
    for (int64_t step = 0; step < opts.max_new_tokens; ++step) {
        torch::Tensor next =
            choose_next_token(logits.select(1, logits.size(1) - 1), opts, generator);  // (B)
        auto acc = next.accessor<int64_t, 1>();
        bool all_done = true;
        for (int64_t b = 0; b < B; ++b) {
            const auto ub = static_cast<size_t>(b);
            if (finished[ub]) {
                acc[b] = opts.eos_token_id;  // pad finished rows
                continue;
            }
            ++result.n_generated[ub];
            if (opts.eos_token_id >= 0 && acc[b] == opts.eos_token_id) finished[ub] = true;
            all_done = all_done && finished[ub];
        }
        columns.push_back(next.unsqueeze(1));
        if (all_done) {
            result.stop_reason = StopReason::Eos;
            break;
        }
        if (step + 1 == opts.max_new_tokens) break;
        if (info.context_length > 0 && state->position() >= info.context_length) {
            result.stop_reason = StopReason::ContextFull;  // `next` cannot be fed any more
            break;
        }
        logits = model.forward_step(next.unsqueeze(1), *state);  // (B, 1, V)
    }
    result.tokens = torch::cat(columns, 1);
    return result;
}

}  // namespace dxl::models
