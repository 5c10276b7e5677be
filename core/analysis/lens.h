// Logit lens for a teacher and a student at once: every layer's (block's) residual-stream state
// read through the model's own final norm and head. Because the student shares the teacher's
// frozen head and vocabulary, the two models' intermediate predictions are directly comparable:
// per-position KL between a teacher layer and a student block says at which depth the student
// forms the teacher's prediction.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "core/models/language_model.h"

namespace dxl::analysis {

// The residual stream of one forward pass over tokens (T) int64.
struct Residuals {
    std::vector<torch::Tensor> hidden;  // per layer/block (T, D), the state after it
    torch::Tensor logits;               // (T, V) float32, the model's output
};
Residuals residual_stream(models::LanguageModel& model, const torch::Tensor& tokens,
                          const models::ForwardOptions& opts = {});

// One layer's read-out.
struct LayerLens {
    torch::Tensor logprobs;       // (T, V) float32 log-softmax
    torch::Tensor entropy;        // (T) float32, nats
    torch::Tensor topk_ids;       // (T, K) int64, descending; undefined when K = 0
    torch::Tensor topk_logprobs;  // (T, K) float32
};
// hidden (T, D) -> the lens through model.unembed(); topk 0 skips the top-k tensors.
LayerLens read_layer(models::LanguageModel& model, const torch::Tensor& hidden, int64_t topk);

// Per-row KL(p || q) in nats from log-probabilities; logp, logq (T, V) -> (T) float32.
// Rows where p has zero mass on a token contribute 0 there (0 log 0 = 0).
torch::Tensor kl_rows(const torch::Tensor& logp, const torch::Tensor& logq);

// The per-position summaries the studio draws for one model (L layers, T positions).
struct LensMaps {
    torch::Tensor entropy;      // (L, T) float32, nats
    torch::Tensor final_rank;   // (L, T) int64: rank (0 = top) of the final output's top-1 token
    torch::Tensor kl_to_final;  // (L, T) float32: KL(final output || layer)
    torch::Tensor final_top1;   // (T) int64: the model's top-1 token at each position
};
// Also returns every layer's log-probabilities in `logprobs` (L entries (T, V)) when non-null.
LensMaps lens_maps(models::LanguageModel& model, const Residuals& r,
                   std::vector<torch::Tensor>* logprobs = nullptr);

}  // namespace dxl::analysis
