// Refuses a model whose weights hold NaN or inf (a diverged training run, a damaged export)
// before any command spends time on it or reports meaningless numbers from it.
#pragma once

#include <torch/torch.h>

#include <string>

#include "core/base/error.h"
#include "core/models/language_model.h"

namespace dxl::cli {

inline void require_finite_weights(models::LanguageModel& model, const std::string& dir) {
    torch::NoGradGuard no_grad;
    for (const auto& p : model.module().named_parameters(true))
        DXL_CHECK(!p.value().is_floating_point() || torch::isfinite(p.value()).all().item<bool>(),
                  ValueError, dir, ": weight '", p.key(),
                  "' holds a non-finite value (NaN or inf); the model is broken (a diverged run?), "
                  "use an earlier checkpoint");
}

}  // namespace dxl::cli
