// Names of the alignment metrics and per-head statistics (torch-free, shared by the metric code,
// the report writers and the CLI). Every stored or printed value names its metric and the
// student normalisation it was computed under.
#pragma once

#include <array>
#include <string>

namespace dxl::analysis {

// Per (teacher head, student head) pair, over the valid causal entries (docs/alignment.md).
enum class Metric { Frob, Kl, Js, Pearson, Spearman, Cosine, TopK };
inline constexpr int kNumMetrics = 7;
inline constexpr std::array<Metric, kNumMetrics> kAllMetrics = {
    Metric::Frob,     Metric::Kl,     Metric::Js,  Metric::Pearson,
    Metric::Spearman, Metric::Cosine, Metric::TopK};
const char* to_string(
    Metric m) noexcept;  // "frob", "kl", "js", "pearson", "spearman", "cosine", "topk"
Metric parse_metric(const std::string& s);  // UsageError listing the names
bool is_similarity(
    Metric m) noexcept;  // true: higher = more alike (pearson, spearman, cosine, topk)
// Cost for head matching: distances as they are, similarities as 1 - value.
double match_cost(Metric m, double value) noexcept;

// Per head of either model, over valid rows (docs/alignment.md).
enum class HeadStat { Entropy, Distance, Diagonal, Sink, PrevToken, Induction };
inline constexpr int kNumHeadStats = 6;
const char* to_string(
    HeadStat s) noexcept;  // "entropy", "distance", "diagonal", "sink", "prev_token", "induction"

// How the student's implicit attention is made comparable to a softmax P
// (docs/method.md#normalisations).
enum class StudentNorm { Raw, AbsRow, ReluRow, MinMax, GateOnly };
const char* to_string(
    StudentNorm n) noexcept;  // "raw", "abs-row", "relu-row", "minmax", "gate-only"
StudentNorm parse_student_norm(const std::string& s);  // accepts '-' or '_'; UsageError otherwise

}  // namespace dxl::analysis
