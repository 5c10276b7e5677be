// InspectEngine::lens(): the logit lens of both loaded models on the tokens of the last run, as
// layer x position maps and the KL rows of the ratio layer map (core/analysis/lens.h).
#include <torch/torch.h>

#include <string>

#include "app/studio/inspect_engine_impl.h"
#include "core/analysis/layer_map.h"
#include "core/analysis/lens.h"

namespace dxl::studio {

namespace {

LensMaps toMaps(const analysis::LensMaps& m, const std::vector<std::string>& rowLabels) {
    LensMaps out;
    out.entropy = toHeatmap(m.entropy, false, false, "entropy (nats)");
    out.rank = toHeatmap(m.final_rank.to(torch::kFloat32), false, false, "rank of final top-1");
    out.klToFinal = toHeatmap(m.kl_to_final, false, false, "KL(final || layer) (nats)");
    out.rowLabels = rowLabels;
    return out;
}

}  // namespace

LensResult InspectEngine::lens() {
    DXL_CHECK(loaded(), ValueError, "studio: no models loaded; open a teacher and a student first");
    DXL_CHECK(m->tokens.defined() && m->tokens.numel() > 0, ValueError,
              "studio: the logit lens needs an input; run the models on one first");
    Impl& s = *m;
    const auto& ti = s.teacher->info();
    const auto& si = s.student->info();
    DXL_CHECK(ti.vocab_size == si.vocab_size, ValueError,
              "studio: the logit lens compares the two models' predictions, but the teacher has ",
              ti.vocab_size, " tokens and the student ", si.vocab_size,
              "; load a student distilled from this teacher");
    torch::NoGradGuard no_grad;
    models::ForwardOptions fo;
    fo.form = models::MlstmForm::Parallel;
    analysis::Residuals tr = analysis::residual_stream(*s.teacher, s.tokens, fo);
    analysis::Residuals sr = analysis::residual_stream(*s.student, s.tokens, fo);
    std::vector<torch::Tensor> tlp, slp;  // per layer (T, V)
    analysis::LensMaps tm = analysis::lens_maps(*s.teacher, tr, &tlp);
    analysis::LensMaps sm = analysis::lens_maps(*s.student, sr, &slp);

    LensResult r;
    r.tokens = s.tokenList;
    std::vector<std::string> tl, sl;
    for (int64_t l = 0; l < ti.n_layers; ++l)
        tl.push_back("L" + std::to_string(l));
    for (int64_t b = 0; b < si.n_layers; ++b)
        sl.push_back("B" + std::to_string(b) + " " +
                     (si.block_types[static_cast<size_t>(b)] == "slstm" ? "sLSTM" : "mLSTM"));
    r.teacher = toMaps(tm, tl);
    r.student = toMaps(sm, sl);
    // Every block has a read-out, so the pairs cover sLSTM blocks too (as `dxl lens`).
    const std::vector<std::string> all(static_cast<size_t>(si.n_layers), "mlstm");
    analysis::LayerMap map = analysis::ratio_layer_map(ti.n_layers, all);
    r.layerMap = map.source;
    const int64_t T = s.tokens.size(0);
    torch::Tensor kl = torch::empty({static_cast<int64_t>(map.pairs.size()), T});  // (P, T)
    for (size_t i = 0; i < map.pairs.size(); ++i) {
        const auto& p = map.pairs[i];
        kl[static_cast<int64_t>(i)] = analysis::kl_rows(tlp[static_cast<size_t>(p.teacher_layer)],
                                                        slp[static_cast<size_t>(p.student_block)]);
        r.pairLabels.push_back("L" + std::to_string(p.teacher_layer) + " | B" +
                               std::to_string(p.student_block));
        r.pairMeanKl.push_back(kl[static_cast<int64_t>(i)].mean().item<double>());
    }
    r.pairKl = toHeatmap(kl, false, false, "KL(teacher layer || student block) (nats)");
    return r;
}

}  // namespace dxl::studio
