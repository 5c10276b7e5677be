// Optimiser and resumable training state: AdamW (torch's update rule, state kept as plain tensors
// so it checkpoints exactly) and checkpoint folders written temp -> fsync -> rename ->
// fsync(dir) holding weights, optimiser moments, the torch RNG state, the data cursor, counters
// and the run config. A checkpoint with a non-finite value is never written.
#pragma once

#include <torch/types.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/data/dataset.h"

namespace dxl::models {
class LanguageModel;
}

namespace dxl::train {

struct AdamWOptions {
    double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
};

// torch.optim.AdamW (decoupled weight decay, bias-corrected moments).
class AdamW {
  public:
    explicit AdamW(std::vector<std::pair<std::string, torch::Tensor>> params);
    void step(const AdamWOptions& o);  // parameters without a grad are skipped
    void zero_grad();
    int64_t steps() const noexcept { return m_step; }
    const std::vector<std::pair<std::string, torch::Tensor>>& params() const noexcept {
        return m_params;
    }
    // "exp_avg/<name>", "exp_avg_sq/<name>" and "step" (int64 scalar).
    std::vector<std::pair<std::string, torch::Tensor>> state_tensors() const;
    // Restores from state_tensors() (by name; FormatError when one is missing).
    void load_state(const std::function<torch::Tensor(const std::string&)>& get);

  private:
    std::vector<std::pair<std::string, torch::Tensor>> m_params;
    std::vector<torch::Tensor> m_exp_avg;     // per param, its shape
    std::vector<torch::Tensor> m_exp_avg_sq;  // per param, its shape
    int64_t m_step = 0;
};

// Global L2 norm of the gradients of `params` (0 when none has a grad).
double grad_norm(const std::vector<std::pair<std::string, torch::Tensor>>& params);
// Scales the gradients so their global norm is at most max_norm; returns the norm before.
double clip_grad_norm(const std::vector<std::pair<std::string, torch::Tensor>>& params,
                      double max_norm);

struct TrainState {
    int64_t global_step = 0;  // optimiser steps over all stages
    int64_t stage = 0;
    int64_t stage_step = 0;   // optimiser steps within the stage
    bool stage_done = false;  // the checkpoint closes `stage`
    data::DataCursor cursor;
    double lr_scale = 1.0;  // lowered by non-finite rollbacks
    int64_t n_skipped = 0;
    int64_t n_consecutive_nonfinite = 0;
    int64_t n_rollbacks = 0;
    int64_t log_bytes = 0;  // run-log size when the checkpoint was taken
    int64_t tokens_seen = 0;
    nlohmann::json config;
};
nlohmann::json to_json(const TrainState& s);
TrainState train_state_from_json(const nlohmann::json& j, const std::string& where);

// ROOT/step_00000040/{model.safetensors, optimizer.safetensors, state.json, config.json,
// checksums.json (SHA-256 of the other four)}.
// Writes into ROOT/.tmp-step_..., fsyncs every file, renames, fsyncs ROOT; then deletes all but
// the newest keep_last checkpoints. InternalError (nothing written) when any tensor is not finite.
std::string write_checkpoint(const std::string& root, models::LanguageModel& model,
                             const nlohmann::json& model_config, const AdamW* opt,
                             const TrainState& state, int64_t keep_last);
// The newest complete checkpoint folder under ROOT, if any.
std::optional<std::string> latest_checkpoint(const std::string& root);
// Removes ROOT/.tmp-* left by a crash; returns how many.
int64_t clean_stale_checkpoints(const std::string& root);
// "" when DIR's files match its checksums.json, else what is wrong.
std::string verify_checkpoint(const std::string& dir);
struct ResumePoint {
    std::string dir;
    TrainState state;
    std::vector<std::string> skipped;  // newer checkpoints that failed verification or loading
};
// Loads the newest checkpoint under ROOT that verifies and loads (weights finite), warning for
// each newer one it skips. nullopt when ROOT holds none; FormatError when all are damaged.
std::optional<ResumePoint> restore_newest_intact(const std::string& root,
                                                 models::LanguageModel& model);
// The newest checkpoint under ROOT whose files match their checksums (rollback target).
std::optional<std::string> latest_intact_checkpoint(const std::string& root);
// One line for the user: which checkpoint and step a resume continues from, or that there is none.
std::string resume_message(const std::string& root, const std::optional<ResumePoint>& rp);
// Loads weights (into the model's named parameters) and the torch RNG; returns the state.
// ValueError when a weight is not finite.
TrainState read_checkpoint(const std::string& dir, models::LanguageModel& model);
// Loads the optimiser moments of a checkpoint (call after re-creating the stage's optimiser).
void read_optimizer(const std::string& dir, AdamW& opt);

}  // namespace dxl::train
