// Next-token CE and the temperature-scaled KL of distillation, computed together over token
// chunks so that no full (B, T, V) float32 temporary exists beyond the logits themselves and the
// one gradient the LM head needs. At a real vocabulary (V = 151,936, B x T = 4096) each full
// float32 copy is 2.5 GB; the plain formulation (losses.h) holds several in forward and backward.
// Values and gradients equal loss_ce / loss_kd (tests/train).
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace dxl::train {

struct VocabLossOptions {
    bool ce = true;            // compute the next-token CE
    bool kd = true;            // compute T^2 * KL(teacher || student)
    double temperature = 1.0;  // KD temperature T (> 0)
    // Token rows per chunk; 0 = as many as fit ~64 MiB of float32 per (rows, V) temporary.
    int64_t chunk_rows = 0;
};

struct VocabLosses {
    torch::Tensor ce;  // scalar, masked mean over ce_mask; undefined when !opts.ce
    torch::Tensor kl;  // scalar, T^2 * masked mean KL over kd_mask; undefined when !opts.kd
};

// student_logits (B, T, V) float / bfloat16 / half / double, with grad; teacher_logits (B, T, V)
// without grad (ignored unless kd); targets (B, T) int64 (pads < 0 are clamped, mask them out);
// ce_mask, kd_mask (B, T) bool. Works in float32 (float64 for double logits) whatever the logits'
// dtype; the gradient comes back in the logits' dtype. Empty masks give 0.
VocabLosses vocab_losses(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                         const torch::Tensor& targets, const torch::Tensor& ce_mask,
                         const torch::Tensor& kd_mask, const VocabLossOptions& opts);

}  // namespace dxl::train
