// The distillation trainer: runs the stages of a RunConfig (or trains a model from scratch for
// `dxl train-teacher`) with metrics to a CRC-framed run log, atomic checkpoints, `--resume auto`,
// non-finite handling, pre-flight checks and optional data parallelism over a
// dist::ProcessGroup. Also the held-out evaluation `dxl eval` uses. Torch-free header.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "core/base/cancel.h"
#include "core/data/dataset.h"
#include "core/train/train_config.h"

namespace dxl::dist {
class ProcessGroup;
}
namespace dxl::models {
class LanguageModel;
}

namespace dxl::train {

struct ProgressInfo {
    std::string stage;
    int64_t stage_index = 0, n_stages = 0;
    int64_t stage_step = 0, stage_steps = 0;
    int64_t global_step = 0, total_steps = 0;
    double elapsed_s = 0, eta_s = 0;
    std::map<std::string, double> values;  // total, ce, kl, lr, ...
};

struct TrainHooks {
    std::function<void(const nlohmann::json& record)> on_record;  // every record written (rank 0)
    std::function<void(const ProgressInfo&)> on_progress;         // after every step (rank 0)
    const CancelToken* cancel = nullptr;
};

struct TrainOptions {
    bool resume = false;                  // --resume auto: continue from the newest checkpoint
    bool force = false;                   // a fresh run may replace an earlier run in out_dir
    dist::ProcessGroup* group = nullptr;  // null = single process
    // The resolved device of this rank ("cpu", "cuda:1"; see runtime::resolve_device).
    std::string device = "cpu";
};

struct TrainOutcome {
    int64_t global_step = 0;
    int64_t n_skipped = 0;
    int64_t n_rollbacks = 0;
    bool stopped = false;  // stopped early (non-finite policy "stop", or cancelled)
    std::string stop_reason;
    std::string final_model_dir;  // OUT/final (student or scratch model folder)
    nlohmann::json last_eval;
    bool resumed_from_checkpoint = false;
    std::string log_path;
};

TrainOutcome run_training(const RunConfig& cfg, const TrainOptions& opts,
                          const TrainHooks& hooks = {});

// Held-out evaluation: perplexity = exp(masked mean CE) of the model (and of the teacher, when
// given), top-1 agreement and mean KL(teacher || model) per token, synthetic-task accuracy on
// scored positions. Up to n_batches batches of batch_size from the held-out split.
nlohmann::json evaluate(models::LanguageModel& model, models::LanguageModel* teacher,
                        const data::Dataset& ds, int64_t batch_size, int64_t n_batches);

// Alignment on the first held-out batch (RunConfig::eval_alignment): for every (teacher layer,
// mLSTM block) of the trainer's layer groups (ratio, or layer_map), the JS divergence between each
// teacher head's attention and each student head's implicit attention (|A| row-normalised,
// batch mean), Hungarian-matched per pair. Keys "align_js:L<l>H<h>-B<b>H<s>" and "align_js_mean".
nlohmann::json evaluate_alignment(models::LanguageModel& student, models::LanguageModel& teacher,
                                  const data::Dataset& ds, int64_t batch_size,
                                  const std::vector<std::pair<int64_t, int64_t>>& layer_map);

// Pre-flight check of a teacher/student pair (vocab size, tokenizer fingerprints, special
// tokens, seq_len <= teacher context, memory estimate within budget_mb): ValueError /
// UnsupportedError naming the mismatch. Returns the memory estimate in MB.
double preflight(models::LanguageModel* teacher, models::LanguageModel& student,
                 const std::string& teacher_dir, const std::string& student_dir,
                 const RunConfig& cfg);

}  // namespace dxl::train
