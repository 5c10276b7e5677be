// The torch side of the studio: owns the teacher and student, runs one forward per input with
// MemorySinks, and turns tensors into value types (studio_types.h). Used only from the compute
// worker's thread (docs/architecture.md#threads); this header is torch-free so Qt code can include
// it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/studio/lens_types.h"
#include "app/studio/studio_types.h"

namespace dxl::studio {

class InspectEngine {
  public:
    InspectEngine();
    ~InspectEngine();
    InspectEngine(const InspectEngine&) = delete;
    InspectEngine& operator=(const InspectEngine&) = delete;

    // The studio's --tokenizer: a tokenizer.json used instead of the teacher directory's for
    // every pair loaded afterwards (empty: the directory's own).
    static void setTokenizerFile(const std::string& path);
    // Loads both model directories (dxl::Error on failure; the old models stay loaded then).
    // "auto", "cpu" and "cuda:N" for every CUDA device this build sees.
    static std::vector<std::string> deviceChoices();
    // Empty when `device` can be used here, else the error message (docs/gpu.md).
    static std::string checkDevice(const std::string& device);
    // device: "auto" | "cpu" | "cuda" | "cuda:N" (docs/gpu.md); UnsupportedError without CUDA.
    ModelsLoaded load(const std::string& teacherDir, const std::string& studentDir,
                      const std::string& device = "auto");
    bool loaded() const;
    // Token ids for text (needs the teacher's tokenizer; ValueError otherwise).
    std::vector<int64_t> tokenize(const std::string& text) const;

    // Runs both models on tokens and keeps the captures for maps()/alignment()/state().
    InspectSummary run(const std::vector<int64_t>& tokens, StudentNorm norm);
    // The linked panes' maps: one head each or the rollout (request.mode), display filter applied
    // (inspect_engine_maps.cpp), plus the attention each token receives in them.
    MapsResult maps(const MapsRequest& request);
    MapsResult maps(int teacherLayer, int teacherHead, int studentBlock, int studentHead,
                    StudentNorm norm);
    // Teacher heads x student heads of the mLSTM blocks; cells outside `map` stay NaN and are
    // never matched.
    AlignmentResult alignment(const std::string& metric, StudentNorm norm,
                              const LayerMapSpec& map = {});
    // mLSTM block: C_t of head at token t plus traces over t; sLSTM block: `quantity` in c|n|m|h.
    StateResult state(int block, int head, int t, const std::string& quantity);
    // Logit lens of both loaded models on the last input (inspect_engine_lens.cpp).
    LensResult lens();

    // Opens a capture file (dxl capture, docs/capture-schema.md): FormatError for a damaged or
    // foreign file, UnsupportedVersion for a newer schema. Nothing shown changes until
    // captureSample() replaces the views' data with one stored sample (the student's implicit
    // attention rebuilt from the stored q, k and gates).
    CaptureOpened openCapture(const std::string& path);
    InspectSummary captureSample(int sample, StudentNorm norm);

  private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace dxl::studio
