// Refuses a model whose weights hold NaN or inf (a diverged training run, a damaged export)
// before any command spends time on it or reports meaningless numbers from it.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/base/error.h"
#include "core/models/language_model.h"

namespace dxl::models {

// Whether every element is finite, in chunks: a float64 sum is non-finite exactly when an element
// is (float32/bf16 values cannot overflow it: |sum| <= n * 3.4e38); float64 weights, which can,
// get the exact test. isfinite() of a whole 152k x 896 embedding allocated two 545 MB
// temporaries and took seconds.
inline bool all_finite(const torch::Tensor& w) {
    constexpr int64_t kChunk = int64_t{1} << 22;  // elements (32 MB as float64)
    const torch::Tensor flat = w.detach().reshape({-1});
    for (int64_t i = 0; i < flat.numel(); i += kChunk) {
        const torch::Tensor part = flat.narrow(0, i, std::min(kChunk, flat.numel() - i));
        const bool ok = w.scalar_type() == torch::kFloat64
                            ? torch::isfinite(part).all().item<bool>()
                            : std::isfinite(part.sum(torch::kFloat64).item<double>());
        if (!ok) return false;
    }
    return true;
}

inline void require_finite_weights(LanguageModel& model, const std::string& dir) {
    torch::NoGradGuard no_grad;
    for (const auto& p : model.module().named_parameters(true))
        DXL_CHECK(!p.value().is_floating_point() || all_finite(p.value()), ValueError, dir,
                  ": weight '", p.key(),
                  "' holds a non-finite value (NaN or inf); the model is broken (a diverged run?), "
                  "use an earlier checkpoint");
}

}  // namespace dxl::models
