// Explicit capture interface (docs/architecture.md#capture). LibTorch C++ has no forward
// hooks, so every model asks sink.wants(key) and, if so, calls sink.observe(key, tensor) at
// named points during forward. observe() returning false cancels the run (CancelledError).
#pragma once

#include <torch/types.h>

#include <cstdio>
#include <string>

#include "core/base/error.h"

namespace dxl::capture {

// Named capture points. Shapes are for one forward over tokens (B, T).
namespace point {
// Transformer teacher, per layer:
inline constexpr const char* kAttnProbs =
    "attn_probs";  // (B, H, T, T) softmax probabilities, per query head
inline constexpr const char* kAttnLogits =
    "attn_logits";                                // (B, H, T, T) pre-softmax scores (masked = -inf)
inline constexpr const char* kHidden = "hidden";  // (B, T, D) residual stream after the layer/block
// Model level (layer = -1):
inline constexpr const char* kEmbed = "embed";               // (B, T, D) embedding output
inline constexpr const char* kFinalHidden = "final_hidden";  // (B, T, D) after the final norm
// xLSTM student, per mLSTM block (cell inputs, exactly as fed to the cell):
inline constexpr const char* kMlstmQ = "mlstm_q";                 // (B, H, T, Dh)
inline constexpr const char* kMlstmK = "mlstm_k";                 // (B, H, T, Dh) unscaled
inline constexpr const char* kMlstmV = "mlstm_v";                 // (B, H, T, Dh)
inline constexpr const char* kMlstmIgatePre = "mlstm_igate_pre";  // (B, H, T)
inline constexpr const char* kMlstmFgatePre = "mlstm_fgate_pre";  // (B, H, T)
inline constexpr const char* kImplicitAttn = "implicit_attn";     // (B, H, T, T) raw signed A
inline constexpr const char* kMlstmH =
    "mlstm_h";  // (B, H, T, Dh) cell output before the group norm
// xLSTM student, per sLSTM block:
inline constexpr const char* kSlstmIgatePre =
    "slstm_igate_pre";  // (B, T, D) incl. recurrent part + bias
inline constexpr const char* kSlstmFgatePre = "slstm_fgate_pre";  // (B, T, D)
inline constexpr const char* kSlstmZgatePre = "slstm_zgate_pre";  // (B, T, D)
inline constexpr const char* kSlstmOgatePre = "slstm_ogate_pre";  // (B, T, D)
inline constexpr const char* kSlstmC = "slstm_c";                 // (B, T, D) state after each step
inline constexpr const char* kSlstmN = "slstm_n";                 // (B, T, D)
inline constexpr const char* kSlstmM = "slstm_m";                 // (B, T, D)
inline constexpr const char* kSlstmH = "slstm_h";                 // (B, T, D)
}  // namespace point

struct CaptureKey {
    std::string scope;  // "teacher" or "student"
    int layer = -1;     // layer (teacher) or block (student) index; -1 for model-level points
    std::string point;  // one of point::k*

    // "teacher/layer_03/attn_probs", "student/block_01/implicit_attn", "teacher/embed".
    std::string path() const {
        if (layer < 0) return scope + "/" + point;
        char buf[32];
        std::snprintf(buf, sizeof buf, "%s_%02d", scope == "teacher" ? "layer" : "block", layer);
        return scope + "/" + buf + "/" + point;
    }
};

class CaptureSink {
  public:
    virtual ~CaptureSink() = default;
    virtual bool wants(const CaptureKey& key) = 0;
    // value is detached from autograd (unless keeps_graph()); the sink copies what it keeps.
    // false cancels the run.
    virtual bool observe(const CaptureKey& key, const torch::Tensor& value) = 0;
    // A training sink returns true to receive values still attached to the autograd graph
    // (loss terms on captured points, core/train). Such a sink must not modify them in place.
    virtual bool keeps_graph() const { return false; }
};

// Computes and hands over a value only when the sink wants it:
//   capture::emit(sink, {"teacher", l, point::kAttnProbs}, [&] { return probs; });
// Throws CancelledError when the sink returns false from observe().
template <typename MakeValue>
void emit(CaptureSink* sink, const CaptureKey& key, MakeValue&& make_value) {
    if (sink == nullptr || !sink->wants(key)) return;
    torch::Tensor value = make_value();
    if (!sink->observe(key, sink->keeps_graph() ? value : value.detach())) {
        throw CancelledError("capture: cancelled by the sink at " + key.path());
    }
}

}  // namespace dxl::capture
