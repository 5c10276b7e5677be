// Distillation run configuration (one JSON file): teacher, student, data, batch, stages with
// their loss terms, schedules, LR and trainable parameters, checkpoint/log policy. Presets
// "distil-xlstm", "mohawk" and "lolcats" expand to stage lists (docs/method.md#stage-presets).
// Torch-free.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/data/dataset.h"
#include "core/train/schedule.h"

namespace dxl::train {

// Hidden-state alignment modes (docs/method.md#loss-terms):
// avg_all = ||mean_l h_T^l - h_S||_F / sqrt(numel)
// (teacher embedding output excluded, last teacher state post-norm as in HF); ratio = grouped
// per block; block_wise = 1:1 pairs; cosine = 1 - cos; mse = mean squared error vs the average.
enum class HiddenMode { AvgAll, Ratio, BlockWise, Cosine, Mse };
HiddenMode parse_hidden_mode(const std::string& s);
const char* to_string(HiddenMode m) noexcept;

// Attention-transfer terms on mapped (teacher layer, student mLSTM block) pairs
// (docs/method.md#attention-transfer-terms).
enum class AttnLoss { Frobenius, HedgehogCe, RowKl, RowJs };
AttnLoss parse_attn_loss(const std::string& s);
const char* to_string(AttnLoss k) noexcept;

struct AttnTerm {
    AttnLoss kind = AttnLoss::Frobenius;
    Schedule weight = Schedule::constant(1.0);
    std::string norm = "abs_row";  // student A normalisation: abs_row | relu_row | raw | minmax
};

struct LossConfig {
    // "additive": CE weight = 1 - alpha - beta (clamped at 0); "explicit": ce_weight schedule.
    std::string weighting = "additive";
    bool ce = true;
    bool kd = true;
    bool hidden = false;
    Schedule ce_weight = Schedule::constant(1.0);
    Schedule alpha = Schedule::constant(0.5);        // KD weight
    Schedule temperature = Schedule::constant(1.0);  // KD temperature
    Schedule beta = Schedule::constant(0.1);         // hidden-alignment weight
    bool kd_include_pad = false;  // authors' KL over pad positions (docs/method.md#loss-terms)
    HiddenMode hidden_mode = HiddenMode::AvgAll;
    std::vector<AttnTerm> attention;
    // LoLCATs / MOHAWK-2 mixer-output MSE: student block b fed the teacher's input to its layer
    // group (teacher-forced) vs the teacher's output of that group; weight x factor.
    bool output = false;
    Schedule output_weight = Schedule::constant(1.0);
    double output_factor = 1.0;
    bool teacher_forced = true;  // attention terms: feed student blocks the teacher's hidden input
};

struct StageConfig {
    std::string name = "distill";
    int64_t steps = 0;   // optimiser steps; or
    int64_t tokens = 0;  // a token budget (steps = ceil(tokens / (global batch * T)))
    double lr = 2e-4;
    double warmup_fraction = 0.1;
    double min_lr_ratio = 0.0;
    double weight_decay = 0.0;
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    double clip = 1.0;  // global grad-norm clip (<= 0: off)
    // Which student parameters train: "all" (everything not frozen), "mlstm", "slstm",
    // "mlstm_mixer" (mLSTM layer weights, not the FFN/norms), or name substrings.
    std::vector<std::string> trainable{"all"};
    LossConfig loss;
};

struct StudentSpec {
    std::string dir;                                      // an existing student model folder, or:
    std::string preset = "paper";                         // xlstm_config student_for_teacher preset
    nlohmann::json overrides = nlohmann::json::object();  // xlstm_v1 config fields to override
    bool tied = false;  // tie the student LM head to its (copied) embedding
    bool copy_teacher_embeddings = true;
};

struct NonFinitePolicy {
    int64_t max_consecutive = 3;      // K consecutive skipped steps trigger `action`
    std::string action = "rollback";  // rollback | stop
    double lr_factor = 0.5;           // rollback multiplies the LR scale by this
    int64_t max_rollbacks = 3;
};

struct RunConfig {
    std::string preset;  // informational once expanded
    std::string
        teacher;  // teacher model folder; empty = train a model from scratch (train-teacher)
    nlohmann::json scratch_model;  // train-teacher: config.json of the model to train
    StudentSpec student;
    data::DataConfig data;
    int64_t batch_size = 8;  // per rank, per micro-batch
    int64_t grad_accum = 1;
    int64_t eval_every = 50;  // steps (0 = only at the end)
    int64_t eval_batches = 8;
    // Each evaluation also aligns teacher attention with student implicit attention on the first
    // held-out batch: per mapped (teacher layer, mLSTM block) pair the Hungarian-matched heads'
    // JS divergence (|A| row-normalised), logged as "align_js:L1H2-B1H3" and "align_js_mean".
    bool eval_alignment = false;
    int64_t ckpt_every = 100;
    int64_t keep_last = 3;
    int64_t log_every = 1;
    uint64_t seed = 0;
    int64_t threads = 0;
    double memory_budget_mb = 0;  // 0 = 80 % of physical memory
    // Where the run computes: "auto" | "cpu" | "cuda" | "cuda:N" (--device overrides it).
    std::string device = "auto";
    // "fp32", or "bf16-mixed": the matrix products autocast to bfloat16 while the weights,
    // gradients, optimiser state, mLSTM gates/stabiliser/normaliser, softmaxes and losses stay
    // float32.
    std::string precision = "fp32";
    // Recompute each student block in the backward pass instead of keeping its activations
    // (memory ~ one block's activations instead of all of them, for about one more forward).
    bool activation_checkpointing = false;
    std::string out_dir = "runs/distill";
    NonFinitePolicy nonfinite;
    std::vector<StageConfig> stages;
    std::vector<int64_t> debug_nan_steps;  // testing: force a non-finite loss at these global steps
    std::vector<std::pair<int64_t, int64_t>>
        layer_map;  // optional explicit (teacher layer, student block)
};

// Parses a run config (FormatError naming `where` and the field). A "preset" expands to its
// stages; explicit "stages" replace them; per-stage keys may override preset values.
RunConfig parse_run_config(const nlohmann::json& j, const std::string& where);
RunConfig load_run_config(const std::string& path);
nlohmann::json to_json(const RunConfig& c);

// The stages of a preset: "distil-xlstm" (paper recipe, one stage), "mohawk" (orientation ->
// hidden alignment -> end-to-end KD), "lolcats" (output alignment -> fine-tune),
// "teacher" (CE only, for train-teacher). UsageError for an unknown name.
std::vector<StageConfig> preset_stages(const std::string& preset);

}  // namespace dxl::train
