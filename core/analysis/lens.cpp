// Logit lens: residual stream capture, per-layer read-out and the studio's summary maps.
#include "core/analysis/lens.h"

#include <torch/torch.h>

#include <map>

#include "core/base/error.h"
#include "core/capture/capture_sink.h"

namespace dxl::analysis {

namespace {

// Keeps the per-layer residual states ordered by layer index (not by path: "layer_100" would
// sort before "layer_11").
class HiddenSink : public capture::CaptureSink {
  public:
    bool wants(const capture::CaptureKey& key) override {
        return key.layer >= 0 && key.point == capture::point::kHidden;
    }
    bool observe(const capture::CaptureKey& key, const torch::Tensor& value) override {
        m_hidden[key.layer] = value[0].clone();  // (1, T, D) -> (T, D)
        return true;
    }
    std::map<int, torch::Tensor> m_hidden;
};

}  // namespace

Residuals residual_stream(models::LanguageModel& model, const torch::Tensor& tokens,
                          const models::ForwardOptions& opts) {
    DXL_CHECK(tokens.dim() == 1, ShapeError, "logit lens: expected tokens (T), but got ",
              tokens.sizes());
    torch::NoGradGuard no_grad;
    HiddenSink sink;
    Residuals r;
    r.logits = model.forward(tokens.unsqueeze(0), opts, &sink)[0].to(torch::kFloat32);  // (T, V)
    const int64_t L = model.info().n_layers;
    DXL_ASSERT(static_cast<int64_t>(sink.m_hidden.size()) == L, "logit lens: the model emitted ",
               sink.m_hidden.size(), " hidden states for ", L, " layers");
    for (auto& kv : sink.m_hidden)
        r.hidden.push_back(std::move(kv.second));
    return r;
}

LayerLens read_layer(models::LanguageModel& model, const torch::Tensor& hidden, int64_t topk) {
    torch::NoGradGuard no_grad;
    LayerLens out;
    torch::Tensor logits = model.unembed(hidden.unsqueeze(0))[0].to(torch::kFloat32);  // (T, V)
    out.logprobs = torch::log_softmax(logits, -1);                                     // (T, V)
    out.entropy = -(out.logprobs.exp() * out.logprobs).sum(-1);                        // (T)
    if (topk > 0) {
        auto [values, ids] = out.logprobs.topk(std::min(topk, out.logprobs.size(1)), -1);
        out.topk_logprobs = values;  // (T, K)
        out.topk_ids = ids;          // (T, K)
    }
    return out;
}

torch::Tensor kl_rows(const torch::Tensor& logp, const torch::Tensor& logq) {
    DXL_CHECK(logp.sizes() == logq.sizes(), ShapeError,
              "logit lens KL: the two models' log-probabilities differ in shape: ", logp.sizes(),
              " vs ", logq.sizes(), "; the models must share the vocabulary");
    torch::Tensor p = logp.exp();  // (T, V)
    // p * (logp - logq) with 0 where p underflows to 0 (logq may be -inf there).
    torch::Tensor term = torch::where(p > 0, p * (logp - logq), torch::zeros_like(p));
    return term.sum(-1);  // (T)
}

LensMaps lens_maps(models::LanguageModel& model, const Residuals& r,
                   std::vector<torch::Tensor>* logprobs) {
    torch::NoGradGuard no_grad;
    const int64_t L = static_cast<int64_t>(r.hidden.size());
    const int64_t T = r.logits.size(0);
    torch::Tensor final_lp = torch::log_softmax(r.logits, -1);  // (T, V)
    LensMaps m;
    m.final_top1 = final_lp.argmax(-1);  // (T)
    m.entropy = torch::empty({L, T}, torch::kFloat32);
    m.final_rank = torch::empty({L, T}, torch::kInt64);
    m.kl_to_final = torch::empty({L, T}, torch::kFloat32);
    if (logprobs) logprobs->clear();
    for (int64_t l = 0; l < L; ++l) {
        LayerLens lens = read_layer(model, r.hidden[static_cast<size_t>(l)], 0);
        m.entropy[l] = lens.entropy;
        torch::Tensor target = lens.logprobs.gather(1, m.final_top1.unsqueeze(1));  // (T, 1)
        m.final_rank[l] = (lens.logprobs > target).sum(-1);
        m.kl_to_final[l] = kl_rows(final_lp, lens.logprobs);
        if (logprobs) logprobs->push_back(lens.logprobs);
    }
    return m;
}

}  // namespace dxl::analysis
