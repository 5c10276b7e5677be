// Private to the studio's inspect engine (inspect_engine.cpp, inspect_engine_capture.cpp): the
// state the engine holds between calls. A torch header: include it from torch TUs only.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "app/studio/inspect_engine.h"
#include "core/base/error.h"
#include "core/io/tokenizer.h"
#include "core/models/mlstm_cell.h"
#include "core/models/registry.h"

namespace dxl::studio {

// (rows, cols) float tensor -> HeatmapData (inspect_engine.cpp).
HeatmapData toHeatmap(const torch::Tensor& m2, bool causal, bool signedValues,
                      const std::string& quantity);

struct InspectEngine::Impl {
    std::unique_ptr<models::LanguageModel> teacher, student;
    std::unique_ptr<io::Tokenizer> tokenizer;
    ModelsLoaded summary;
    // Captures of the last run (batch index 0 taken out).
    torch::Tensor tokens;                               // (T) int64
    std::vector<torch::Tensor> teacherAttn;             // per layer (H, T, T) softmax P
    std::map<int, torch::Tensor> studentA;              // mLSTM block -> (H, T, T) raw signed A
    std::map<int, torch::Tensor> studentIg, studentFg;  // block -> (H, T) gate pre-activations
    std::map<int, torch::Tensor> studentK, studentV;    // block -> (H, T, Dh)
    std::map<std::string, torch::Tensor> slstm;         // "b/c" -> (T, D)
    std::map<std::pair<int, int>, torch::Tensor> normCache;  // (block, norm) -> (H, T, T)
    TokenList tokenList;
    int teacherLayers = 0, studentBlocks = 0, studentHeads = 0;  // of the shown source
    // The open capture file (empty: none) and the teacher's tokenizer when its fingerprint
    // matches the capture's tokenizer_hash (labels of predictions).
    std::string capturePath;
    std::unique_ptr<io::Tokenizer> captureTokenizer;
    const io::Tokenizer* labelTokenizer = nullptr;  // tokenizer of the shown source, or null

    std::string label(int64_t id) const {
        return labelTokenizer ? io::escape_invalid_utf8(labelTokenizer->decode_for_display({id}))
                              : std::to_string(id);
    }

    void clearCaptures() {
        teacherAttn.clear();
        studentA.clear();
        studentIg.clear();
        studentFg.clear();
        studentK.clear();
        studentV.clear();
        slstm.clear();
        normCache.clear();
    }

    // KL strip, predictions, thumbnails and head metrics of the captures held. lt/ls: (T, V)
    // logits, or undefined when the source has none (capture with top-k logits).
    InspectSummary summarize(const torch::Tensor& lt, const torch::Tensor& ls, StudentNorm norm);

    torch::Tensor studentMap(int block, StudentNorm norm) {
        auto key = std::make_pair(block, static_cast<int>(norm));
        auto it = normCache.find(key);
        if (it != normCache.end()) return it->second;
        DXL_CHECK(studentA.count(block) > 0, ValueError, "studio: student block ", block,
                  " has no implicit attention (not an mLSTM block); choose an mLSTM block");
        torch::Tensor r;  // (H, T, T)
        switch (norm) {
            case StudentNorm::Raw:
                r = studentA[block];
                break;
            case StudentNorm::AbsRow:
                r = models::mlstm::normalize_attention(studentA[block],
                                                       models::mlstm::AttnNorm::AbsRow);
                break;
            case StudentNorm::ReluRow:
                r = models::mlstm::normalize_attention(studentA[block],
                                                       models::mlstm::AttnNorm::ReluRow);
                break;
            case StudentNorm::MinMax:
                r = models::mlstm::normalize_attention(studentA[block],
                                                       models::mlstm::AttnNorm::MinMax);
                break;
            case StudentNorm::GateOnly:
                r = models::mlstm::gate_only(studentIg[block].unsqueeze(0),
                                             studentFg[block].unsqueeze(0))
                        .squeeze(0);
                break;
        }
        normCache[key] = r;
        return r;
    }

    // Mean attention on the token after an earlier occurrence of the query's token.
    double induction(const torch::Tensor& attn /* (T, T) */) const {
        const int64_t T = tokens.size(0);
        auto tok = tokens.accessor<int64_t, 1>();
        torch::Tensor a = attn.to(torch::kFloat64).contiguous();  // (T, T)
        auto acc = a.accessor<double, 2>();
        double sum = 0;
        int n = 0;
        for (int64_t i = 1; i < T; ++i) {
            double mass = 0;
            bool any = false;
            for (int64_t j = 0; j < i; ++j) {  // earlier copy at j: its successor j + 1 <= i
                if (tok[j] == tok[i]) {
                    mass += acc[i][j + 1];
                    any = true;
                }
            }
            if (any) {
                sum += mass;
                ++n;
            }
        }
        return n > 0 ? sum / n : std::nan("");
    }
};

}  // namespace dxl::studio
