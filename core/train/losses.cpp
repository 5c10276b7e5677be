// Loss terms of the distillation engine (see losses.h).
#include "core/train/losses.h"

#include <torch/torch.h>

#include "core/base/error.h"
#include "core/models/mlstm_cell.h"

namespace dxl::train {

namespace {

torch::Tensor as_float_mask(const torch::Tensor& mask) {
    return mask.to(torch::kFloat32);
}

// Mean of per-position values v (B, T) over mask; 0 for an empty mask.
torch::Tensor masked_mean(const torch::Tensor& v, const torch::Tensor& mask) {
    torch::Tensor m = as_float_mask(mask);  // (B, T)
    return (v * m).sum() / m.sum().clamp_min(1.0);
}

}  // namespace

torch::Tensor loss_ce(const torch::Tensor& logits, const torch::Tensor& targets,
                      const torch::Tensor& mask) {
    DXL_CHECK(logits.dim() == 3 && targets.sizes() == logits.sizes().slice(0, 2), ShapeError,
              "loss_ce: expected logits (B, T, V) and targets (B, T), but got ", logits.sizes(),
              " and ", targets.sizes());
    torch::Tensor logp = torch::log_softmax(logits, -1);  // (B, T, V)
    torch::Tensor nll = -logp.gather(-1, targets.clamp_min(0).unsqueeze(-1)).squeeze(-1);  // (B, T)
    return masked_mean(nll, mask);
}

torch::Tensor loss_kd(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                      double temperature, const torch::Tensor& mask) {
    DXL_CHECK(student_logits.sizes() == teacher_logits.sizes(), ShapeError,
              "loss_kd: expected equal student/teacher logits shapes, but got ",
              student_logits.sizes(), " and ", teacher_logits.sizes(),
              "; the vocabularies must match");
    DXL_CHECK(temperature > 0, ValueError, "loss_kd: expected a positive temperature, but got ",
              temperature);
    torch::Tensor ls = torch::log_softmax(student_logits / temperature, -1);  // (B, T, V)
    torch::Tensor lt = torch::log_softmax(teacher_logits / temperature, -1);  // (B, T, V)
    torch::Tensor kl = (lt.exp() * (lt - ls)).sum(-1);                        // (B, T)
    return temperature * temperature * masked_mean(kl, mask);
}

torch::Tensor frobenius_rms(const torch::Tensor& a, const torch::Tensor& b,
                            const torch::Tensor& mask) {
    torch::Tensor m = as_float_mask(mask).unsqueeze(-1);  // (B, T, 1)
    torch::Tensor d = (a - b) * m;                        // (B, T, D)
    const double D = static_cast<double>(a.size(-1));
    return (d.pow(2).sum() + 1e-12).sqrt() / (m.sum() * D).clamp_min(1.0).sqrt();
}

torch::Tensor cosine_distance(const torch::Tensor& a, const torch::Tensor& b,
                              const torch::Tensor& mask) {
    torch::Tensor c = torch::cosine_similarity(a, b, -1, 1e-8);  // (B, T)
    return masked_mean(1.0 - c, mask);
}

torch::Tensor masked_mse(const torch::Tensor& a, const torch::Tensor& b,
                         const torch::Tensor& mask) {
    return masked_mean((a - b).pow(2).mean(-1), mask);
}

std::vector<std::pair<int64_t, int64_t>> ratio_groups(int64_t teacher_layers,
                                                      int64_t student_blocks) {
    DXL_CHECK(teacher_layers >= 1 && student_blocks >= 1, ValueError,
              "ratio_groups: expected positive counts");
    std::vector<std::pair<int64_t, int64_t>> g;
    const int64_t s = std::max<int64_t>(1, teacher_layers / student_blocks);
    for (int64_t b = 0; b < student_blocks; ++b) {
        int64_t first = std::min(b * s, teacher_layers - 1);
        int64_t last =
            b + 1 == student_blocks ? teacher_layers : std::min((b + 1) * s, teacher_layers);
        g.emplace_back(first, std::max(last, first + 1));
    }
    return g;
}

torch::Tensor loss_hidden(HiddenMode mode, const std::vector<torch::Tensor>& teacher_hidden,
                          const std::vector<torch::Tensor>& student_blocks,
                          const torch::Tensor& student_final, const torch::Tensor& mask) {
    DXL_CHECK(!teacher_hidden.empty(), ValueError,
              "loss_hidden: no teacher hidden states captured");
    DXL_CHECK(teacher_hidden[0].size(-1) == student_final.size(-1), ShapeError,
              "loss_hidden: expected equal teacher/student widths, but got ",
              teacher_hidden[0].size(-1), " and ", student_final.size(-1),
              "; build the student with the teacher's hidden size");
    auto mean_of = [&](int64_t first, int64_t last) {
        torch::Tensor acc = teacher_hidden[static_cast<size_t>(first)];
        for (int64_t l = first + 1; l < last; ++l)
            acc = acc + teacher_hidden[static_cast<size_t>(l)];
        return acc / static_cast<double>(last - first);
    };
    const auto LT = static_cast<int64_t>(teacher_hidden.size());
    const auto NS = static_cast<int64_t>(student_blocks.size());
    switch (mode) {
        case HiddenMode::AvgAll:
            return frobenius_rms(mean_of(0, LT), student_final, mask);
        case HiddenMode::Cosine:
            return cosine_distance(mean_of(0, LT), student_final, mask);
        case HiddenMode::Mse:
            return masked_mse(mean_of(0, LT), student_final, mask);
        case HiddenMode::Ratio:
        case HiddenMode::BlockWise: {
            DXL_CHECK(NS >= 1, ValueError, "loss_hidden: no student block outputs captured");
            const auto groups = ratio_groups(LT, NS);
            torch::Tensor acc;
            for (int64_t b = 0; b < NS; ++b) {
                // block_wise: 1:1 with the last layer of the group (== layer b when L_T == N_S).
                const auto [first, last] = groups[static_cast<size_t>(b)];
                torch::Tensor target = mode == HiddenMode::Ratio
                                           ? mean_of(first, last)
                                           : teacher_hidden[static_cast<size_t>(last - 1)];
                torch::Tensor term =
                    frobenius_rms(target, student_blocks[static_cast<size_t>(b)], mask);
                acc = acc.defined() ? acc + term : term;
            }
            return acc / static_cast<double>(NS);
        }
    }
    return {};
}

torch::Tensor loss_attention(AttnLoss kind, const torch::Tensor& teacher_probs,
                             const torch::Tensor& student_attn, const std::string& norm,
                             const torch::Tensor& mask) {
    DXL_CHECK(teacher_probs.dim() == 4 && student_attn.dim() == 4 &&
                  teacher_probs.size(0) == student_attn.size(0) &&
                  teacher_probs.size(2) == student_attn.size(2) &&
                  teacher_probs.size(3) == student_attn.size(3),
              ShapeError, "loss_attention: expected P (B, H, T, T) and A (B, H', T, T), but got ",
              teacher_probs.sizes(), " and ", student_attn.sizes());
    torch::Tensor A = models::mlstm::normalize_attention(
        student_attn, models::mlstm::parse_attn_norm(norm));  // (B, H', T, T)
    torch::Tensor P = teacher_probs;                          // (B, H, T, T)
    if (P.size(1) != A.size(1)) {
        P = P.mean(1, true);
        A = A.mean(1, true);
    }
    const int64_t T = P.size(-1);
    torch::Tensor m = as_float_mask(mask);                                  // (B, T)
    torch::Tensor pair = (m.unsqueeze(-1) * m.unsqueeze(-2)).unsqueeze(1);  // (B, 1, T, T)
    torch::Tensor causal = torch::ones({T, T}, P.options()).tril();         // (T, T)
    torch::Tensor w = pair * causal;                                        // (B, 1, T, T)
    torch::Tensor rows = m.unsqueeze(1).expand({P.size(0), P.size(1), T});  // (B, H, T)
    const torch::Tensor n_rows = rows.sum().clamp_min(1.0);
    constexpr double kEps = 1e-12;
    switch (kind) {
        case AttnLoss::Frobenius: {
            torch::Tensor d = (A - P) * w;                               // (B, H, T, T)
            torch::Tensor fro = (d.pow(2).sum({-1, -2}) + kEps).sqrt();  // (B, H)
            torch::Tensor tv = m.sum(-1, true).clamp_min(1.0);           // (B, 1)
            return (fro / tv).mean();
        }
        case AttnLoss::HedgehogCe: {
            torch::Tensor ce = -(P * w * A.clamp_min(kEps).log()).sum(-1);  // (B, H, T)
            return (ce * rows).sum() / n_rows;
        }
        case AttnLoss::RowKl: {
            torch::Tensor kl =
                (P * w * (P.clamp_min(kEps).log() - A.clamp_min(kEps).log())).sum(-1);  // (B, H, T)
            return (kl * rows).sum() / n_rows;
        }
        case AttnLoss::RowJs: {
            torch::Tensor M = 0.5 * (P + A);  // (B, H, T, T)
            torch::Tensor lm = M.clamp_min(kEps).log();
            torch::Tensor js = 0.5 * (P * w * (P.clamp_min(kEps).log() - lm)).sum(-1) +
                               0.5 * (A * w * (A.clamp_min(kEps).log() - lm)).sum(-1);  // (B, H, T)
            return (js * rows).sum() / n_rows;
        }
    }
    return {};
}

}  // namespace dxl::train
