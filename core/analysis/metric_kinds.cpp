// String forms of the metric, statistic and normalisation enums.
#include "core/analysis/metric_kinds.h"

#include "core/base/error.h"

namespace dxl::analysis {

const char* to_string(Metric m) noexcept {
    switch (m) {
        case Metric::Frob:
            return "frob";
        case Metric::Kl:
            return "kl";
        case Metric::Js:
            return "js";
        case Metric::Pearson:
            return "pearson";
        case Metric::Spearman:
            return "spearman";
        case Metric::Cosine:
            return "cosine";
        case Metric::TopK:
            return "topk";
    }
    return "?";
}

Metric parse_metric(const std::string& s) {
    for (Metric m : kAllMetrics)
        if (s == to_string(m)) return m;
    throw UsageError(
        "--metric: expected one of js|frob|kl|pearson|spearman|cosine|topk, but got '" + s + "'");
}

bool is_similarity(Metric m) noexcept {
    return m == Metric::Pearson || m == Metric::Spearman || m == Metric::Cosine ||
           m == Metric::TopK;
}

double match_cost(Metric m, double value) noexcept {
    return is_similarity(m) ? 1.0 - value : value;
}

const char* to_string(HeadStat s) noexcept {
    switch (s) {
        case HeadStat::Entropy:
            return "entropy";
        case HeadStat::Distance:
            return "distance";
        case HeadStat::Diagonal:
            return "diagonal";
        case HeadStat::Sink:
            return "sink";
        case HeadStat::PrevToken:
            return "prev_token";
        case HeadStat::Induction:
            return "induction";
    }
    return "?";
}

const char* to_string(StudentNorm n) noexcept {
    switch (n) {
        case StudentNorm::Raw:
            return "raw";
        case StudentNorm::AbsRow:
            return "abs-row";
        case StudentNorm::ReluRow:
            return "relu-row";
        case StudentNorm::MinMax:
            return "minmax";
        case StudentNorm::GateOnly:
            return "gate-only";
    }
    return "?";
}

StudentNorm parse_student_norm(const std::string& s) {
    std::string t = s;
    for (char& c : t)
        if (c == '_') c = '-';
    for (StudentNorm n : {StudentNorm::Raw, StudentNorm::AbsRow, StudentNorm::ReluRow,
                          StudentNorm::MinMax, StudentNorm::GateOnly})
        if (t == to_string(n)) return n;
    throw UsageError(
        "--normalize: expected one of abs-row|relu-row|raw|minmax|gate-only, but got '" + s + "'");
}

}  // namespace dxl::analysis
