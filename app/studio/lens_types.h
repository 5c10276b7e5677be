// The logit-lens view's data (core/analysis/lens.h), as torch- and Qt-free value types sent from
// the compute worker to the Lens page.
#pragma once

#include <string>
#include <vector>

#include "core/base/value_types.h"

namespace dxl::studio {

// Layer x position maps of one model: each layer's read-out compared with the model's output.
struct LensMaps {
    HeatmapData entropy;    // (L, T) nats
    HeatmapData rank;       // (L, T) rank of the final top-1 token (0 = it is the layer's top-1)
    HeatmapData klToFinal;  // (L, T) KL(final output || layer) in nats
    std::vector<std::string> rowLabels;  // "L0".. or "B0 mLSTM"..
};

struct LensResult {
    TokenList tokens;
    LensMaps teacher, student;
    HeatmapData pairKl;                   // (pairs, T) KL(teacher layer || student block) in nats
    std::vector<std::string> pairLabels;  // "L1 | B0" per row of pairKl
    std::vector<double> pairMeanKl;       // (pairs) mean over positions
    std::string layerMap;                 // how the pairs were chosen
};

}  // namespace dxl::studio
