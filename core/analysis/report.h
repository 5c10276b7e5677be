// Alignment results as plain values (torch-free), and their writers: summary.json, pairs.csv,
// heads.csv, the /align group of a capture file (schema in docs/alignment.md) and the terminal
// summary. Every value carries the student normalisation it was computed under.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/analysis/layer_map.h"
#include "core/analysis/metric_kinds.h"
#include "core/analysis/stats.h"

namespace dxl::h5 {
class Group;
}

namespace dxl::analysis {

// (rows, cols) matrix of mean/CI values across samples, row-major.
struct MatrixCi {
    int64_t rows = 0, cols = 0;
    std::vector<MeanCi> values;
    const MeanCi& at(int64_t r, int64_t c) const { return values[r * cols + c]; }
};

// All head pairs of one (teacher layer, student block): one (Ht, Hs) matrix per metric.
struct LayerPairReport {
    int64_t teacher_layer = 0;
    int64_t student_block = 0;
    std::array<MatrixCi, kNumMetrics> metrics;  // Metric order
    std::vector<int64_t> match;  // (Ht) matched student head per teacher head, -1 none
    MeanCi matched_mean;         // match metric over matched pairs (per-sample mean, then CI)
};

// Per head statistics of one model: stats[s] is (layers, H); NaN rows for non-attention blocks.
struct HeadStatsReport {
    std::string scope;                          // "teacher" or "student"
    std::array<MatrixCi, kNumHeadStats> stats;  // HeadStat order
};

struct AlignmentReport {
    std::string normalization;  // student normalisation, e.g. "abs-row"
    Metric match_metric = Metric::Js;
    LayerMap layer_map;
    int64_t n_samples = 0;
    double ci_level = 0.95;
    double eps = 0.0;
    int64_t top_k = 0;
    std::vector<std::string> student_block_types;
    int64_t teacher_layers = 0, teacher_heads = 0, student_heads = 0;

    std::vector<LayerPairReport> pairs;
    HeadStatsReport teacher_heads_stats, student_heads_stats;
    MatrixCi cka_linear,
        cka_rbf;  // (teacher layers, student blocks) on hidden states; empty if absent
    MeanCi logit_kl, logit_top1;              // n = 0 when logits were absent
    std::array<MeanCi, kNumMetrics> rollout;  // teacher rollout vs student implicit rollout
    std::vector<double> rollout_teacher, rollout_student;  // (T, T) of sample 0, row-major
    int64_t rollout_T = 0;
    MeanCi mean_alignment;  // match metric over all matched head pairs of every layer pair
};

void write_summary_json(const AlignmentReport& r, const std::string& path);
void write_pairs_csv(const AlignmentReport& r, const std::string& path);
void write_heads_csv(const AlignmentReport& r, const std::string& path);
// Replaces `align` under `parent` (usually the file root) with the results.
void write_align_group(const AlignmentReport& r, const h5::Group& parent);
// Plain-text summary: normalisation, layer map, mean alignment, best and worst matched heads.
void print_summary(const AlignmentReport& r, std::FILE* out, int64_t n_best = 5);

}  // namespace dxl::analysis
