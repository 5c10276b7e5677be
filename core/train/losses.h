// Distillation loss terms (docs/method.md#loss-terms). All take float tensors and masks on the same
// device; every term is a mean over the valid positions so it is independent of batch size.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "core/train/train_config.h"

namespace dxl::train {

// Next-token CE: logits (B, T, V), targets (B, T) int64 (already shifted: target[t] = token
// t+1), mask (B, T) bool/uint8. Mean over mask; 0 when the mask is empty.
torch::Tensor loss_ce(const torch::Tensor& logits, const torch::Tensor& targets,
                      const torch::Tensor& mask);

// T^2 * KL(softmax(z_T/T) || softmax(z_S/T)) per position, mean over mask (B, T) (pass an
// all-true mask to reproduce the authors' pad-including KL). Logits (B, T, V) not shifted.
torch::Tensor loss_kd(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                      double temperature, const torch::Tensor& mask);

// ||a - b||_F / sqrt(numel) over the masked positions: a, b (B, T, D), mask (B, T).
torch::Tensor frobenius_rms(const torch::Tensor& a, const torch::Tensor& b,
                            const torch::Tensor& mask);
// Mean of (1 - cos(a_t, b_t)) over masked positions.
torch::Tensor cosine_distance(const torch::Tensor& a, const torch::Tensor& b,
                              const torch::Tensor& mask);
// Mean squared error over masked positions and D.
torch::Tensor masked_mse(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& mask);

// Layer groups of the "ratio" mapping: s = floor(L_T / N_S); block b gets [b s, (b+1) s), the last
// block [(N_S-1) s, L_T). Returns (first, last_exclusive) per block.
std::vector<std::pair<int64_t, int64_t>> ratio_groups(int64_t teacher_layers,
                                                      int64_t student_blocks);

// Hidden alignment (docs/method.md#loss-terms). teacher_hidden: L_T layer outputs (B, T, D), the
// last one
// post-final-norm (HF hidden_states without the embedding output); student_blocks: N_S block
// outputs (B, T, D); student_final (B, T, D) post-norm; mask (B, T).
torch::Tensor loss_hidden(HiddenMode mode, const std::vector<torch::Tensor>& teacher_hidden,
                          const std::vector<torch::Tensor>& student_blocks,
                          const torch::Tensor& student_final, const torch::Tensor& mask);

// Attention-transfer term between teacher probabilities P (B, H, T, T) (rows sum to 1 on the
// causal triangle) and the student's raw implicit attention A (B, H', T, T). A is normalised
// with mlstm::normalize_attention(norm). When H != H' both sides are averaged over heads.
// Pad rows/columns (mask (B, T) false) are excluded; means run over (batch, head, valid rows).
//   Frobenius: mean_{b,h} ||Â - P||_F / T_valid (MOHAWK orientation)
//   HedgehogCe: -mean_rows sum_j P_ij log Â_ij   (Â clamped at 1e-12)
//   RowKl: mean_rows KL(P_i || Â_i);   RowJs: mean_rows JS(P_i, Â_i)
torch::Tensor loss_attention(AttnLoss kind, const torch::Tensor& teacher_probs,
                             const torch::Tensor& student_attn, const std::string& norm,
                             const torch::Tensor& mask);

}  // namespace dxl::train
