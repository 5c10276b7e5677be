// Alignment metrics (docs/method.md#alignment-metrics; docs/alignment.md defines every formula).
// Per-head features
// of a layer come from one pass over its maps; all head pairs of one (teacher layer, student
// block) are then computed at once by one blocked pass over the valid causal entries (shared
// loads, SIMD lanes, no per-pair tensors).
//
// Conventions: a validity mask (T) bool marks real tokens (pads false). The comparison set E is
// the causal triangle j <= i restricted to valid rows and columns. "Row distributions" are rows
// restricted to valid causal columns, clamped at 0 (so signed maps become ReLU rows) and
// renormalised to sum 1; KL/JS add eps to every entry before renormalising.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "core/analysis/metric_kinds.h"

namespace dxl::analysis {

struct MetricOptions {
    double eps = 1e-8;  // KL/JS smoothing added to every valid causal entry before renormalising
    int64_t top_k = 5;  // top-k overlap: k per row (min(k, valid causal entries of that row))
};

// (T, T) bool: j <= i and mask_i and mask_j.
torch::Tensor causal_valid(const torch::Tensor& mask);

// Row distributions of attn (H, T, T): clamp(attn, 0) on the valid causal entries (+ eps), each
// valid row renormalised to sum 1; rows that sum to 0 stay 0; invalid rows and entries are 0.
// float64 result (H, T, T).
torch::Tensor row_distributions(const torch::Tensor& attn, const torch::Tensor& mask,
                                double eps = 0.0);

// P (Ht, T, T) teacher maps, A (Hs, T, T) already-normalised student maps, mask (T).
// Returns float64 (kNumMetrics, Ht, Hs) in Metric order. Pearson/Spearman/Cosine are NaN for a
// head whose entries are constant (zero variance / zero norm).
torch::Tensor pair_metrics(const torch::Tensor& P, const torch::Tensor& A,
                           const torch::Tensor& mask, const MetricOptions& opts = {});

// Per-head quantities of one layer's maps (H, T, T) that pair_metrics needs, computed once per
// teacher layer / student block in one pass over the maps and reused for every layer pair it
// takes part in (align()). Side-agnostic: the same features serve as the teacher P or the
// student A. E: the valid causal entries of the mask, row-major.
struct PairFeatures {
    int64_t heads = 0, T = 0, k = 0, E = 0;  // k: top-k size min(top_k, T)
    double rows = 0.0;                       // R: valid rows
    torch::Tensor mask;                      // (T) bool
    torch::Tensor centred;     // (H, E) float64 e - mean(e), e the valid causal entries
    torch::Tensor mean;        // (H) float64 mean(e)
    torch::Tensor sq;          // (H) float64 |e|^2
    torch::Tensor csq;         // (H) float64 |e - mean|^2 (pair kernel, self pair)
    torch::Tensor ranks;       // (H, E) int32 2 * average rank - (E + 1): exact, centred
    torch::Tensor rsq;         // (H) float64 sum ranks^2 (pair kernel, self pair)
    torch::Tensor dist;        // (H, E) float64 eps-smoothed row distributions
    torch::Tensor log_dist;    // (H, E) float64 log dist
    torch::Tensor dist_logd;   // (H) float64 sum dist log dist
    torch::Tensor dist32;      // (H, E) float32 dist (JS kernel); undefined: float64 fallback
    torch::Tensor self_slogs;  // (H) float64 sum_E f(2 dist32), f(s) = s log s (JS kernel)
    torch::Tensor topk;        // (H, T, k) int32 top-k columns of each row, ascending
    torch::Tensor topk_count;  // (T) int32 min(k, valid causal entries of the row)
};
PairFeatures pair_features(const torch::Tensor& maps, const torch::Tensor& mask,
                           const MetricOptions& opts = {});
// pair_metrics from precomputed features of the same mask and options: (kNumMetrics, Ht, Hs).
torch::Tensor pair_metrics(const PairFeatures& P, const PairFeatures& A);

// Everything align() needs from one layer's maps (H, T, T), from one pass that shares the row
// distributions between the pair features, the head statistics and the rollout.
struct LayerSummary {
    PairFeatures features;    // when asked for (heads == 0 otherwise)
    torch::Tensor stats;      // (kNumHeadStats, H) float64, as head_stats
    torch::Tensor mean_dist;  // (T, T) float64 head-mean row distribution (eps 0), as rollout
};
LayerSummary summarize_layer(const torch::Tensor& maps, const torch::Tensor& mask,
                             const MetricOptions& opts, bool features);

// The pairwise sums of pair_metrics run on a float32 s log s kernel (JS) and float64 dot
// products; Auto takes the AVX2+FMA build when the CPU has it, Portable the baseline-ISA build
// (SSE2 on x86-64). For tests and benchmarks; the default is Auto.
enum class PairKernel { Auto, Portable, Avx2 };
void set_pair_kernel(PairKernel k);  // Avx2 on a CPU without it: ValueError
PairKernel active_pair_kernel();     // Portable or Avx2

// Average ranks (ties share the mean rank, 1-based) along the last dim of x (H, N): float64.
torch::Tensor average_ranks(const torch::Tensor& x);

// Per-head statistics of attn (H, T, T) over valid rows, from row distributions (eps 0):
// float64 (kNumHeadStats, H); the Induction row is NaN here (see induction_score).
torch::Tensor head_stats(const torch::Tensor& attn, const torch::Tensor& mask);

// Induction score of attn (H, T, T) on a sequence whose tokens [offset, offset + period) repeat
// at [offset + period, offset + 2 * period): mean over i in the second copy of the row
// distribution at column i - period + 1 (the token after the earlier occurrence). (H) float64.
torch::Tensor induction_score(const torch::Tensor& attn, int64_t period, int64_t offset = 0);

// CKA between every teacher layer and every student block on hidden states: X[l] (T, Dt),
// Y[b] (T, Ds), rows restricted to valid tokens. Linear: <Kc, Lc> / (|Kc| |Lc|) with K = X X^T;
// RBF: K_ij = exp(-d_ij^2 / (2 sigma_factor^2 median(d^2))) (Kornblith et al. 2019).
// Undefined entries of Y (non-captured blocks) give NaN columns. Returns float64 (L, N).
torch::Tensor cka_matrix(const std::vector<torch::Tensor>& X, const std::vector<torch::Tensor>& Y,
                         const torch::Tensor& mask, bool rbf, double sigma_factor = 1.0);

struct LogitAgreement {
    torch::Tensor kl;        // (T) KL(softmax teacher || softmax student) per position, 0 on pads
    torch::Tensor top1;      // (T) 1 where the argmaxes agree, 0 otherwise and on pads
    double kl_mean = 0.0;    // over valid positions
    double top1_mean = 0.0;  // over valid positions
};
// teacher_logits, student_logits (T, V) with the same vocabulary.
LogitAgreement logit_agreement(const torch::Tensor& teacher_logits,
                               const torch::Tensor& student_logits, const torch::Tensor& mask);

// Attention rollout (Abnar & Zuidema 2020): per layer the head-mean row distribution M_l (from
// `layers`, each (H, T, T) or undefined = no token mixing, identity), A_l = (M_l + I) / 2
// restricted to valid entries and row-normalised, rollout = A_{L-1} ... A_0. float64 (T, T).
torch::Tensor rollout(const std::vector<torch::Tensor>& layers, const torch::Tensor& mask);

// One rollout step: r <- A r with A from the head-mean row distribution M (T, T) of a layer
// (undefined: identity), as in rollout. The first r is the masked identity (rollout_start).
torch::Tensor rollout_start(const torch::Tensor& mask);
torch::Tensor rollout_step(const torch::Tensor& r, const torch::Tensor& M,
                           const torch::Tensor& mask);

}  // namespace dxl::analysis
