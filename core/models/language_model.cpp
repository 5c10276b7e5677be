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

MlstmForm resolve_form(const ForwardOptions& opts, int64_t T, int64_t head_dim) noexcept {
    if (opts.form != MlstmForm::Auto) return opts.form;
    if (opts.chunkwise_threshold > 0)
        return T > opts.chunkwise_threshold ? MlstmForm::Chunkwise : MlstmForm::Parallel;
    // {largest head dimension of the row, longest T the parallel form is faster for}: CPU, one
    // thread, 4 heads, 2026-12-08 (bench/RESULTS.md "mLSTM form: parallel vs chunkwise").
    struct Row {
        int64_t head_dim, parallel_up_to;
    };
    static constexpr Row kTable[] = {{64, 64}, {128, 256}, {256, 512}, {1 << 30, 512}};
    for (const Row& r : kTable)
        if (head_dim <= r.head_dim)
            return T > r.parallel_up_to ? MlstmForm::Chunkwise : MlstmForm::Parallel;
    return MlstmForm::Chunkwise;
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
