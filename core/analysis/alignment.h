// Alignment of a teacher's attention with a student's implicit attention over one or more
// samples: input assembly from an in-memory capture, the per-sample metrics, the dataset
// aggregation (mean and t-based CI) and Hungarian head matching
// (docs/method.md#alignment-metrics, #layer-map).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/analysis/layer_map.h"
#include "core/analysis/metrics.h"
#include "core/analysis/report.h"

namespace dxl::capture {
class MemorySink;
}
namespace dxl::models {
class LanguageModel;
}

namespace dxl::analysis {

// One sample. Unused entries may stay undefined (e.g. no hidden states: no CKA).
struct AlignmentInput {
    torch::Tensor tokens;                     // (T) int64
    torch::Tensor mask;                       // (T) bool, true = real token
    std::vector<torch::Tensor> teacher_attn;  // per teacher layer (Ht, T, T) softmax P
    std::vector<torch::Tensor>
        student_attn;  // per student block (Hs, T, T) raw signed A; undefined for non-mLSTM
    std::vector<torch::Tensor>
        student_igate;  // per block (Hs, T) igate pre-activations (gate-only); optional
    std::vector<torch::Tensor>
        student_fgate;  // per block (Hs, T) fgate pre-activations (gate-only); optional
    std::vector<torch::Tensor> teacher_hidden;     // per teacher layer (T, Dt); optional
    std::vector<torch::Tensor> student_hidden;     // per student block (T, Ds); optional
    torch::Tensor teacher_logits;                  // (T, V); optional
    torch::Tensor student_logits;                  // (T, V); optional
    std::vector<std::string> student_block_types;  // per block "mlstm" | "slstm"
};

// Capture points the in-memory path asks for (teacher, student).
std::vector<std::string> teacher_capture_points();
std::vector<std::string> student_capture_points();

// Builds sample `batch_index` from MemorySinks filled by forward() (points above) and the
// logits (B, T, V) forward() returned. mask: (T) bool or undefined (all valid).
AlignmentInput input_from_memory(const capture::MemorySink& teacher,
                                 const capture::MemorySink& student, const torch::Tensor& tokens,
                                 const torch::Tensor& teacher_logits,
                                 const torch::Tensor& student_logits, int64_t n_teacher_layers,
                                 const std::vector<std::string>& student_block_types,
                                 int64_t batch_index = 0, const torch::Tensor& mask = {});

// The student map of one block under a normalisation (Hs, T, T); undefined for non-mLSTM blocks.
torch::Tensor normalize_student(const AlignmentInput& in, int64_t block, StudentNorm norm);

struct AlignOptions {
    Metric match_metric = Metric::Js;
    StudentNorm norm = StudentNorm::AbsRow;
    MetricOptions metric;
    double ci_level = 0.95;
    double rbf_sigma = 1.0;  // RBF CKA bandwidth factor on the median distance
};

// Aligns every sample and aggregates. map pairs must be valid for the inputs.
AlignmentReport align(const std::vector<AlignmentInput>& samples, const LayerMap& map,
                      const AlignOptions& opts);

// Repeated random token sequences for the induction score: n_seq rows of
// [r_0 .. r_{period-1}, r_0 .. r_{period-1}] with r uniform in [0, vocab), fixed seed. (n_seq,
// 2*period) int64.
torch::Tensor repeated_random_tokens(int64_t n_seq, int64_t period, int64_t vocab,
                                     uint64_t seed = 1234);

// Induction score per (layer/block, head) of a model from one forward over `tokens`
// (repeated_random_tokens): teacher P or the student map under `norm`. Returns per layer a
// (n_seq, H) float64 tensor (undefined for blocks without attention).
std::vector<torch::Tensor> induction_scores(models::LanguageModel& model,
                                            const torch::Tensor& tokens, int64_t period,
                                            StudentNorm norm = StudentNorm::AbsRow);

// Adds induction scores (per layer (n_seq, H)) to a HeadStatsReport as the Induction statistic.
void set_induction(HeadStatsReport& report, const std::vector<torch::Tensor>& scores,
                   double ci_level = 0.95);

}  // namespace dxl::analysis
