// xlstm_v1: the NX-AI/xlstm xLSTMLMModel (mLSTM "pre up-projection" blocks, sLSTM "post
// up-projection" blocks with gated FFN, block stack, LM) with the reference state_dict names,
// reproducing its quirks (golden README, xlstm_models.h5): sLSTMLayer's module named `fgate`
// feeds the input gate and `igate` the forget gate; norm weights are 1 + param without bias;
// MultiHeadLayerNorm = group_norm with NH groups; causal depthwise conv with k-1 left padding.
// context_length is informational (recurrent model): info().context_length = 0.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/models/language_model.h"
#include "core/models/mlstm_cell.h"
#include "core/models/xlstm_config.h"

namespace dxl::models::xlstm_v1 {

// Recurrent state of one block for incremental decoding.
struct BlockState {
    mlstm::State cell;    // mLSTM: C (B, H, Dh, Dh), n (B, H, Dh), m (B, H)
    torch::Tensor slstm;  // sLSTM: (4, B, D) [h, c, n, m]
    torch::Tensor conv;   // (B, K-1, F) last K-1 conv inputs
};

class BlockImpl : public torch::nn::Module {
  public:
    // x (B, T, D) -> (B, T, D). With `state` the block continues from it and updates it
    // (T == 1: the reference step path; T > 1: chunkwise from the state). `layer` names the
    // capture points (student/block_NN/...).
    virtual torch::Tensor forward(const torch::Tensor& x, const ForwardOptions& opts,
                                  BlockState* state, capture::CaptureSink* sink, int layer) = 0;
    virtual BlockState new_state(int64_t batch, const torch::TensorOptions& options) const = 0;
    virtual bool is_slstm() const = 0;
};

// Block `block_idx` of `cfg` (mLSTM or sLSTM per slstm_at), parameter names relative to the
// block ("xlstm_norm.weight", "xlstm.proj_up.weight", ...), reference-style initialisation.
std::shared_ptr<BlockImpl> make_block(const XlstmConfig& cfg, int64_t block_idx);

// Where weights come from: name -> tensor (undefined if absent) plus the list of all names.
struct TensorSource {
    std::function<torch::Tensor(const std::string&)> get;
    // Optional: the tensor's shape ({} when absent) and a conversion straight into a parameter
    // (a checkpoint file converts from its mapping: no float32 temporary of a 545 MB frozen
    // embedding beside the parameter). Used when both are set and no layout change applies.
    std::function<std::vector<int64_t>(const std::string&)> shape;
    std::function<void(const std::string&, torch::Tensor&)> copy_into;
    std::vector<std::string> names;
    std::string description;  // for error messages
};

// Strict load into `module` (its named_parameters, optionally under `prefix`): every parameter
// must be present with its shape, and no unexpected tensor may remain (FormatError / ShapeError
// naming the tensor). sLSTM recurrent kernel / bias are converted from the CUDA layout when
// cfg.slstm_backend == "cuda". `ignore` lists names that may be present but are not loaded.
void load_parameters(torch::nn::Module& module, const XlstmConfig& cfg, const TensorSource& src,
                     const std::string& prefix = "", const std::vector<std::string>& ignore = {});
// named_parameters in the checkpoint layout of cfg (CUDA layout for slstm_backend "cuda").
std::vector<std::pair<std::string, torch::Tensor>> export_parameters(torch::nn::Module& module,
                                                                     const XlstmConfig& cfg);

// Training hook: while set, the full-sequence forward of an xlstm_v1 `model` runs block b as
// runner(b, run, x) instead of run(x) (activation checkpointing). `run` owns what it needs and
// emits no captures inside the block, so it may be called again later. An empty runner restores
// the plain forward; other architectures are left alone (returns false).
using BlockFn = std::function<torch::Tensor(const torch::Tensor&)>;
using BlockRunner =
    std::function<torch::Tensor(int64_t block, const BlockFn& run, const torch::Tensor& x)>;
bool set_block_runner(LanguageModel& model, BlockRunner runner);

// The LM from a parsed config; weights may be null (initialisation only).
std::unique_ptr<LanguageModel> make_model(const XlstmConfig& cfg, const io::JsonConfig& json,
                                          const TensorSource* weights);

}  // namespace dxl::models::xlstm_v1
