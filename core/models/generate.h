// Autoregressive text generation over any LanguageModel's incremental decoding
// (new_decode_state / forward_step): greedy or seeded top-k / temperature sampling, stopping at
// an EOS token, after max_new_tokens, or when the model's context is full.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "core/models/language_model.h"

namespace dxl::models {

struct GenerateOptions {
    int64_t max_new_tokens = 32;
    bool greedy = true;         // argmax; false: sample from softmax(logits / temperature)
    double temperature = 1.0;   // > 0; sampling only
    int64_t top_k = 0;          // sampling only; 0 = the whole vocabulary
    uint64_t seed = 0;          // sampling only; same seed, same model, same prompt -> same tokens
    int64_t eos_token_id = -1;  // -1: no EOS stop
};

enum class StopReason { MaxNewTokens, Eos, ContextFull };
const char* to_string(StopReason r) noexcept;

struct GenerateResult {
    torch::Tensor tokens;              // (B, T + N) int64 CPU: the prompt then N generated ids;
                                       // rows that hit EOS earlier are padded with EOS
    std::vector<int64_t> n_generated;  // per row: generated ids up to and including its EOS
    StopReason stop_reason = StopReason::MaxNewTokens;
};

// prompt (B, T) int64 with T >= 1. ValueError for bad options (ids, lengths as forward()).
GenerateResult generate(LanguageModel& model, const torch::Tensor& prompt,
                        const GenerateOptions& opts);

// One decision from next-token logits (B, V): argmax when greedy, else a draw from the
// temperature-scaled top-k distribution with `generator`. -> (B) int64.
torch::Tensor choose_next_token(const torch::Tensor& logits, const GenerateOptions& opts,
                                at::Generator& generator);

}  // namespace dxl::models
