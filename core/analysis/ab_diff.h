// A/B inputs: how one edit of the input moves both models, and whether the student's change
// reproduces the teacher's. The two inputs are aligned by token position and compared on their
// common prefix length Tc = min(T_a, T_b): every map is cut to its first Tc rows and columns,
// every per-position quantity to its first Tc positions (causal models: position t sees tokens
// 0..t only, so positions before the first edited token differ by exactly 0).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "core/analysis/alignment.h"
#include "core/analysis/layer_map.h"

namespace dxl::analysis {

struct AbDifference {
    int64_t t_common = 0;
    std::vector<torch::Tensor> teacher_diff;  // per layer (Ht, Tc, Tc): P_a - P_b
    std::vector<torch::Tensor> student_diff;  // per block (Hs, Tc, Tc): A_a - A_b (raw signed);
                                              // undefined for non-mLSTM blocks
    torch::Tensor teacher_kl, student_kl;     // (Tc) KL(p_a || p_b) of the next-token
                                              // predictions; undefined without logits
    // Per pair of `map`: the difference of differences of the head-mean maps,
    // mean_g(S_a - S_b) - mean_h(P_a - P_b) (Tc, Tc), with the student maps under `norm`, and
    // the Pearson correlation of the two head-mean changes over the causal entries (NaN when
    // either change is constant, e.g. identical inputs).
    std::vector<LayerPair> pairs;
    std::vector<torch::Tensor> dd;
    std::vector<double> change_correlation;
};

AbDifference ab_difference(const AlignmentInput& a, const AlignmentInput& b, const LayerMap& map,
                           StudentNorm norm = StudentNorm::AbsRow);

}  // namespace dxl::analysis
