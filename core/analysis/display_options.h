// What a viewer of one teacher/student head pair shows, as plain options (torch-free, so the
// studio's GUI code and the CLI share them): the head pair or the rollout, the display filters,
// the token highlight, and the `dxl align` flags that reproduce the view (recorded in the
// provenance of every export).
#pragma once

#include <cstdint>
#include <string>

#include "core/analysis/metric_kinds.h"

namespace dxl::analysis {

// Applied in this order: drop the sink column (column 0 zeroed, rows renormalised over j >= 1),
// keep the top k causal entries of each row, zero cells below the threshold. Signed maps (the
// raw student normalisation) rank and threshold by |value| and are never renormalised.
struct DisplayFilter {
    double threshold = 0.0;  // > 0: cells with |value| < threshold become 0
    int64_t top_k = 0;       // > 0: keep the k largest (|value|) causal entries of each row
    bool drop_sink = false;  // column 0 removed from every row

    bool active() const { return threshold > 0.0 || top_k > 0 || drop_sink; }
};

// Token highlight: what colours the token chips.
enum class Highlight { None, TeacherReceived, StudentReceived, DifferenceReceived, Kl };
const char* to_string(Highlight h) noexcept;      // "none", "teacher-received", ..., "kl"
Highlight parse_highlight(const std::string& s);  // accepts '-' or '_'; UsageError otherwise

struct ShowRequest {
    int64_t teacher_layer = 0, teacher_head = 0, student_block = 0, student_head = 0;
    bool rollout = false;  // rollout up to teacher_layer / student_block (heads ignored)
    StudentNorm norm = StudentNorm::AbsRow;
    DisplayFilter filter;
    Highlight highlight = Highlight::None;
};

// "--show L.H,B.H [--rollout] [--filter-threshold X] [--filter-top-k K] [--drop-sink]
// [--highlight H] --normalize N": the `dxl align` options that reproduce the view.
std::string display_flags(const ShowRequest& q);

}  // namespace dxl::analysis
