// AlignmentInput from a capture file (schema v1, docs/capture-schema.md) through the store's
// lazy CaptureReader: teacher attn_probs, the student's implicit attention (stored, or rebuilt
// exactly from the stored q, k, igate_pre, fgate_pre), hidden states and full logits when present.
#pragma once

#include <string>
#include <vector>

#include "core/analysis/alignment.h"
#include "core/base/cancel.h"

namespace dxl::store {
class CaptureReader;
}

namespace dxl::analysis {

// Model layout recorded in a capture (root attributes and per-block group attributes).
struct CaptureLayout {
    int64_t teacher_layers = 0;
    std::vector<std::string> student_block_types;  // "mlstm" | "slstm" | "unknown" per block
};
CaptureLayout capture_layout(const store::CaptureReader& reader);

// Every committed sample (or the first max_samples when > 0). Layers/blocks that were not
// captured stay undefined. UnsupportedError when a map was stored for a head subset.
std::vector<AlignmentInput> inputs_from_capture(const store::CaptureReader& reader,
                                                int64_t max_samples = 0);

}  // namespace dxl::analysis
