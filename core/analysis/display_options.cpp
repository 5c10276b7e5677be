// Display options: highlight names and the flags text.
#include "core/analysis/display_options.h"

#include <algorithm>
#include <cstdio>

#include "core/base/error.h"

namespace dxl::analysis {

const char* to_string(Highlight h) noexcept {
    switch (h) {
        case Highlight::None:
            return "none";
        case Highlight::TeacherReceived:
            return "teacher-received";
        case Highlight::StudentReceived:
            return "student-received";
        case Highlight::DifferenceReceived:
            return "difference-received";
        case Highlight::Kl:
            return "kl";
    }
    return "none";
}

Highlight parse_highlight(const std::string& s) {
    std::string k = s;
    std::replace(k.begin(), k.end(), '_', '-');
    for (Highlight h : {Highlight::None, Highlight::TeacherReceived, Highlight::StudentReceived,
                        Highlight::DifferenceReceived, Highlight::Kl})
        if (k == to_string(h)) return h;
    throw UsageError(
        "--highlight: expected none, teacher-received, student-received, difference-received or "
        "kl, but got '" +
        s + "'");
}

std::string display_flags(const ShowRequest& q) {
    std::string s = "--show " + std::to_string(q.teacher_layer) + "." +
                    std::to_string(q.teacher_head) + "," + std::to_string(q.student_block) + "." +
                    std::to_string(q.student_head);
    if (q.rollout) s += " --rollout";
    if (q.filter.threshold > 0) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " --filter-threshold %g", q.filter.threshold);
        s += buf;
    }
    if (q.filter.top_k > 0) s += " --filter-top-k " + std::to_string(q.filter.top_k);
    if (q.filter.drop_sink) s += " --drop-sink";
    if (q.highlight != Highlight::None) s += std::string(" --highlight ") + to_string(q.highlight);
    return s + " --normalize " + to_string(q.norm);
}

}  // namespace dxl::analysis
