// Small helpers shared by all models: form names and parameter counting.
#include <torch/torch.h>

#include "core/models/language_model.h"

#include "core/base/error.h"

namespace dxl::models {

const char* to_string(MlstmForm f) noexcept {
    switch (f) {
        case MlstmForm::Auto:
            return "auto";
        case MlstmForm::Parallel:
            return "parallel";
        case MlstmForm::Chunkwise:
            return "chunkwise";
        case MlstmForm::Recurrent:
            return "recurrent";
    }
    return "auto";
}

MlstmForm parse_mlstm_form(const std::string& s) {
    if (s == "auto") return MlstmForm::Auto;
    if (s == "parallel") return MlstmForm::Parallel;
    if (s == "chunkwise") return MlstmForm::Chunkwise;
    if (s == "recurrent") return MlstmForm::Recurrent;
    throw UsageError("--form: expected auto, parallel, chunkwise or recurrent, but got '" + s +
                     "'");
}

torch::Tensor LanguageModel::unembed(const torch::Tensor& /*hidden*/) {
    throw UnsupportedError(info().architecture +
                           ": no read-out of intermediate states (logit lens) for this model type");
}

int64_t count_parameters(torch::nn::Module& m, bool trainable_only) {
    int64_t n = 0;
    for (const auto& p : m.parameters(/*recurse=*/true)) {
        if (!trainable_only || p.requires_grad()) n += p.numel();
    }
    return n;
}

}  // namespace dxl::models
