// Plumbing shared by the recurrent (xLSTM) language models, xlstm_v1 and xlstm_large: token
// checks, frozen modules from `dxl_frozen`, and a decode state of one state per block.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/models/language_model.h"

namespace dxl::models::recurrent {

// tokens (B, T) int64 with ids in [0, vocab); no context limit (recurrent).
inline void check_tokens(const torch::Tensor& tokens, int64_t vocab, const char* arch) {
    DXL_CHECK(tokens.dim() == 2 && tokens.scalar_type() == torch::kLong, ShapeError, arch,
              " forward: expected int64 tokens of shape (B, T), but got ", tokens.sizes(), " ",
              tokens.scalar_type());
    if (tokens.numel() == 0) return;
    const int64_t lo = tokens.min().item<int64_t>(), hi = tokens.max().item<int64_t>();
    DXL_CHECK(lo >= 0 && hi < vocab, ValueError, arch, " forward: expected token ids in [0, ",
              vocab, "), but got ", lo < 0 ? lo : hi,
              "; check that the tokenizer matches the model");
}

// Turns off gradients of the named top-level modules (`dxl_frozen` of the config at `source`).
inline void freeze(torch::nn::Module& module, const std::vector<std::string>& names,
                   const std::vector<std::string>& supported, const std::string& source) {
    for (const auto& name : names) {
        std::string list;
        for (const auto& s : supported)
            list += (list.empty() ? "" : ", ") + s;
        DXL_CHECK(std::find(supported.begin(), supported.end(), name) != supported.end(),
                  FormatError, source, ": field 'dxl_frozen': unknown module '", name,
                  "'; supported: ", list);
        for (auto& p : module.named_parameters(true))
            if (p.key().rfind(name + ".", 0) == 0) p.value().set_requires_grad(false);
    }
}

// One recurrent state per block (BlockState: the model's per-block state type).
template <typename BlockState>
class BlockDecodeState : public DecodeState {
  public:
    int64_t position() const override { return pos; }
    std::vector<BlockState> blocks;
    int64_t pos = 0;
    int64_t batch = 0;
};

// `state` as this model's kind of decode state, for a batch of tokens (B, T).
template <typename State>
State& checked_state(DecodeState& state, const torch::Tensor& tokens, const char* arch) {
    auto* s = dynamic_cast<State*>(&state);
    DXL_CHECK(s != nullptr, ValueError, arch,
              " forward_step: expected a state from this model's new_decode_state()");
    DXL_CHECK(tokens.size(0) == s->batch, ShapeError, arch, " forward_step: expected ", s->batch,
              " sequences (the state's batch), but got ", tokens.size(0));
    return *s;
}

}  // namespace dxl::models::recurrent
