// The maps a viewer shows for one teacher head / student head pair, shared by the studio's linked
// heatmaps and `dxl align --show` so that both produce the same numbers: one head each or the
// attention rollout, the display filters (sink dropped, top-k per row, threshold) and the
// attention each token receives (the token highlight).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/analysis/alignment.h"
#include "core/analysis/display_options.h"

namespace dxl::analysis {

// map (T, T) causal -> (T, T) filtered (DisplayFilter); cells above the diagonal are left as
// they are. signed_values: rank and threshold by |value|, never renormalise.
torch::Tensor apply_display_filter(const torch::Tensor& map, const DisplayFilter& f,
                                   bool signed_values);

// Attention received by each key j: the mean of column j over the rows i >= j that can attend to
// it. map (T, T) -> (T) doubles.
std::vector<double> attention_received(const torch::Tensor& map);

struct ShownMaps {
    torch::Tensor teacher, student;  // (T, T) as shown, float64
    bool student_signed = false;     // raw single-head student map
    std::vector<double> highlight;   // (T), empty for Highlight::None
};

// The maps of `req` for one sample (in: teacher maps, raw student A; logits for the KL highlight).
// ValueError for out-of-range layers/heads, a non-mLSTM block in single-head mode, or the KL
// highlight without logits.
ShownMaps show_maps(const AlignmentInput& in, const ShowRequest& req);

}  // namespace dxl::analysis
