// InspectEngine: model loading, capture forward, metrics (core/analysis), alignment with
// Hungarian matching, and recurrent states (mlstm::states_at). Capture files:
// inspect_engine_capture.cpp; shown maps, filters, rollout: inspect_engine_maps.cpp. The studio's
// torch TUs are these three; none includes Qt.
#include <torch/torch.h>

#include "app/studio/inspect_engine.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "app/studio/inspect_engine_impl.h"
#include "core/analysis/capture_input.h"
#include "core/analysis/hungarian.h"
#include "core/analysis/metric_kinds.h"
#include "core/analysis/metrics.h"
#include "core/base/error.h"
#include "core/capture/capture_reader_torch.h"
#include "core/capture/memory_sink.h"
#include "core/io/tokenizer.h"
#include "core/io/tokenizer_bpe.h"
#include "core/models/finite_weights.h"
#include "core/models/mlstm_cell.h"
#include "core/models/model_peek.h"
#include "core/models/registry.h"
#include "core/runtime/device.h"
#include "core/store/capture_reader.h"
#include "widgets/heatmap_lod.h"

namespace dxl::studio {

namespace cp = dxl::capture::point;
namespace mlstm = dxl::models::mlstm;

const char* normName(StudentNorm n) {
    switch (n) {
        case StudentNorm::Raw:
            return "raw signed A";
        case StudentNorm::AbsRow:
            return "|A| row-normalised";
        case StudentNorm::ReluRow:
            return "ReLU(A) row-normalised";
        case StudentNorm::MinMax:
            return "min-max of |A|";
        case StudentNorm::GateOnly:
            return "gate-only D (row-normalised)";
    }
    return "";
}
const char* normKey(StudentNorm n) {
    switch (n) {
        case StudentNorm::Raw:
            return "raw";
        case StudentNorm::AbsRow:
            return "abs_row";
        case StudentNorm::ReluRow:
            return "relu_row";
        case StudentNorm::MinMax:
            return "minmax";
        case StudentNorm::GateOnly:
            return "gate_only";
    }
    return "";
}
StudentNorm normFromKey(const std::string& key) {
    for (StudentNorm n : {StudentNorm::Raw, StudentNorm::AbsRow, StudentNorm::ReluRow,
                          StudentNorm::MinMax, StudentNorm::GateOnly}) {
        if (key == normKey(n)) return n;
    }
    return StudentNorm::AbsRow;
}

// (rows, cols) float tensor -> HeatmapData.
HeatmapData toHeatmap(const torch::Tensor& m2, bool causal, bool signedValues,
                      const std::string& quantity) {
    torch::Tensor c = m2.to(torch::kFloat32).contiguous();  // (rows, cols)
    HeatmapData d(static_cast<int>(c.size(0)), static_cast<int>(c.size(1)));
    std::copy_n(c.data_ptr<float>(), d.values.size(), d.values.begin());
    d.causal = causal;
    d.signedValues = signedValues;
    d.quantity = quantity;
    return d;
}

namespace {

HeatmapData thumbnail(HeatmapData d, int maxSide = 48) {
    auto p = widgets::HeatmapPyramid::build(d, maxSide);
    HeatmapData t = p->level(p->levelCount() - 1);
    t.causal = false;  // the mask is baked into NaN cells
    return t;
}

ModelSummary summarize(const models::LanguageModel& model, const std::string& dir, bool tokenizer) {
    const auto& i = model.info();
    ModelSummary s;
    s.dir = dir;
    s.architecture = i.architecture;
    s.family = i.family;
    s.layers = static_cast<int>(i.n_layers);
    s.heads = static_cast<int>(i.n_heads);
    s.vocab = static_cast<int>(i.vocab_size);
    s.context = static_cast<int>(i.context_length);
    s.blockTypes = i.block_types;
    s.hasTokenizer = tokenizer;
    return s;
}

}  // namespace

namespace {
std::string& tokenizerFile() {
    static std::string path;  // set once from the command line before the worker starts
    return path;
}
}  // namespace

void InspectEngine::setTokenizerFile(const std::string& path) {
    tokenizerFile() = path;
}

InspectEngine::InspectEngine() : m(std::make_unique<Impl>()) {}
InspectEngine::~InspectEngine() = default;

bool InspectEngine::loaded() const {
    return m->teacher && m->student;
}

std::vector<std::string> InspectEngine::deviceChoices() {
    std::vector<std::string> out{"auto", "cpu"};
    for (int i = 0; i < runtime::cuda_device_count(); ++i)
        out.push_back("cuda:" + std::to_string(i));
    return out;
}

std::string InspectEngine::checkDevice(const std::string& device) {
    try {
        (void)runtime::resolve_device(device);
        return {};
    } catch (const Error& e) {
        return e.what();
    }
}

ModelsLoaded InspectEngine::load(const std::string& teacherDir, const std::string& studentDir,
                                 const std::string& device) {
    // A pair of different vocabularies is refused from the configs, before any weight is read
    // (a 152k-token teacher with a byte-level student would load and show meaningless KL).
    models::check_pairable(teacherDir, studentDir, "studio");
    models::LoadOptions lo;
    lo.device = runtime::resolve_device(device);
    auto teacher = models::load_model(teacherDir, lo);
    auto student = models::load_model(studentDir, lo);
    // A diverged or damaged model (NaN/inf weights) is refused with the CLI's message instead of
    // showing meaningless maps or failing later inside torch.
    models::require_finite_weights(*teacher, teacherDir);
    models::require_finite_weights(*student, studentDir);
    DXL_CHECK(teacher->info().family == "transformer", UnsupportedError, "studio: the teacher ",
              teacherDir, " is a ", teacher->info().family,
              " model; expected a Transformer (gpt2, llama, qwen2)");
    DXL_CHECK(student->info().family == "xlstm", UnsupportedError, "studio: the student ",
              studentDir, " is a ", student->info().family,
              " model; expected an xLSTM (xlstm_v1, xlstm_large)");
    auto tok = tokenizerFile().empty() ? io::load_tokenizer(teacherDir)
                                       : io::BpeTokenizer::load(tokenizerFile());
    teacher->module().eval();
    student->module().eval();
    m->teacher = std::move(teacher);
    m->student = std::move(student);
    m->tokenizer = std::move(tok);
    m->summary.teacher = summarize(*m->teacher, teacherDir, m->tokenizer != nullptr);
    m->summary.student = summarize(*m->student, studentDir, m->tokenizer != nullptr);
    return m->summary;
}

std::vector<int64_t> InspectEngine::tokenize(const std::string& text) const {
    DXL_CHECK(m->tokenizer != nullptr, ValueError, "studio: the teacher ", m->summary.teacher.dir,
              " has no tokenizer; enter token ids (e.g. 37,0,93) instead of text");
    return m->tokenizer->encode(text);
}

InspectSummary InspectEngine::run(const std::vector<int64_t>& ids, StudentNorm norm) {
    DXL_CHECK(loaded(), ValueError, "studio: no models loaded; open a teacher and a student first");
    DXL_CHECK(!ids.empty(), ValueError,
              "studio: the input has no tokens; enter at least one token");
    const auto& ti = m->teacher->info();
    const auto& si = m->student->info();
    for (size_t t = 0; t < ids.size(); ++t) {
        DXL_CHECK(ids[t] >= 0 && ids[t] < std::min(ti.vocab_size, si.vocab_size), ValueError,
                  "studio: token id ", ids[t], " at position ", t,
                  " is outside the vocabulary [0, ", std::min(ti.vocab_size, si.vocab_size),
                  "); use ids below the vocabulary size");
    }
    torch::NoGradGuard no_grad;
    torch::Tensor tokens = torch::tensor(ids, torch::kInt64).unsqueeze(0);  // (1, T)
    capture::MemorySink tsink({cp::kAttnProbs});
    capture::MemorySink ssink({cp::kImplicitAttn, cp::kMlstmK, cp::kMlstmV, cp::kMlstmIgatePre,
                               cp::kMlstmFgatePre, cp::kSlstmC, cp::kSlstmN, cp::kSlstmM,
                               cp::kSlstmH});
    // Logits come back to the host; captured maps already are (MemorySink).
    torch::Tensor lt = m->teacher->forward(tokens, {}, &tsink).to(torch::kCPU);  // (1, T, V)
    models::ForwardOptions fo;
    fo.form = models::MlstmForm::Parallel;
    torch::Tensor ls = m->student->forward(tokens, fo, &ssink).to(torch::kCPU);  // (1, T, V)

    Impl& s = *m;
    s.tokens = tokens[0].contiguous();
    s.clearCaptures();
    s.teacherLayers = static_cast<int>(ti.n_layers);
    s.studentBlocks = static_cast<int>(si.n_layers);
    s.studentHeads = static_cast<int>(si.n_heads);
    s.labelTokenizer = s.tokenizer.get();
    for (int l = 0; l < ti.n_layers; ++l) {
        auto it = tsink.values().find(capture::CaptureKey{"teacher", l, cp::kAttnProbs}.path());
        DXL_CHECK(it != tsink.values().end(), InternalError, "studio: teacher layer ", l,
                  " captured no attn_probs");
        s.teacherAttn.push_back(it->second[0].to(torch::kFloat32));  // (H, T, T)
    }
    auto get = [&](int b, const char* point) -> torch::Tensor {
        auto it = ssink.values().find(capture::CaptureKey{"student", b, point}.path());
        return it == ssink.values().end() ? torch::Tensor() : it->second[0].to(torch::kFloat32);
    };
    for (int b = 0; b < si.n_layers; ++b) {
        if (torch::Tensor a = get(b, cp::kImplicitAttn); a.defined()) {
            s.studentA[b] = a;                            // (H, T, T)
            s.studentIg[b] = get(b, cp::kMlstmIgatePre);  // (H, T)
            s.studentFg[b] = get(b, cp::kMlstmFgatePre);  // (H, T)
            s.studentK[b] = get(b, cp::kMlstmK);          // (H, T, Dh)
            s.studentV[b] = get(b, cp::kMlstmV);          // (H, T, Dh)
        }
        for (const char* q : {cp::kSlstmC, cp::kSlstmN, cp::kSlstmM, cp::kSlstmH}) {
            if (torch::Tensor x = get(b, q); x.defined())
                s.slstm[std::to_string(b) + "/" + q] = x;  // (T, D)
        }
    }

    s.tokenList = TokenList();
    for (int64_t id : ids) {
        s.tokenList.ids.push_back(id);
        s.tokenList.labels.push_back(s.label(id));
    }
    return s.summarize(lt[0], ls[0], norm);
}

InspectSummary InspectEngine::Impl::summarize(const torch::Tensor& lt, const torch::Tensor& ls,
                                              StudentNorm norm) {
    Impl& s = *this;
    InspectSummary out;
    out.norm = norm;
    const int64_t T = s.tokens.size(0);
    out.tokens = s.tokenList;
    // Per-token KL(teacher || student) and top-5 predictions.
    if (!lt.defined() || !ls.defined()) {
        out.klPerToken.assign(static_cast<size_t>(T), std::nan(""));
        out.teacherTopK.assign(static_cast<size_t>(T), {});
        out.studentTopK.assign(static_cast<size_t>(T), {});
    }
    torch::Tensor lpt =
        lt.defined() ? torch::log_softmax(lt.to(torch::kFloat64), -1) : torch::Tensor();  // (T, V)
    torch::Tensor lps =
        ls.defined() ? torch::log_softmax(ls.to(torch::kFloat64), -1) : torch::Tensor();  // (T, V)
    if (!lpt.defined() || !lps.defined()) {
    } else if (lpt.size(1) == lps.size(1)) {
        torch::Tensor kl = (lpt.exp() * (lpt - lps)).sum(-1);  // (T)
        out.klPerToken.assign(kl.data_ptr<double>(), kl.data_ptr<double>() + T);
    } else {
        out.klPerToken.assign(static_cast<size_t>(T), std::nan(""));
    }
    auto topk = [&](const torch::Tensor& lp) {
        std::vector<std::vector<Prediction>> r(static_cast<size_t>(T));
        auto [vals, idx] = lp.exp().topk(std::min<int64_t>(5, lp.size(1)), -1);  // (T, k)
        for (int64_t t = 0; t < T; ++t) {
            for (int64_t k = 0; k < vals.size(1); ++k) {
                Prediction p;
                p.id = idx[t][k].item<int64_t>();
                p.probability = static_cast<float>(vals[t][k].item<double>());
                p.label = s.label(p.id);
                r[static_cast<size_t>(t)].push_back(p);
            }
        }
        return r;
    };
    if (lpt.defined() && lps.defined()) {
        out.teacherTopK = topk(lpt);
        out.studentTopK = topk(lps);
    }

    // Thumbnails and per-head metrics (core/analysis head_stats; induction on this input).
    torch::Tensor mask = torch::ones({T}, torch::kBool);  // (T)
    auto addMetrics = [&](const std::string& who, int layer,
                          const torch::Tensor& attn /* (H, T, T) */) {
        torch::Tensor st =
            analysis::head_stats(attn, mask).to(torch::kFloat64).contiguous();  // (6, H)
        for (int64_t h = 0; h < attn.size(0); ++h) {
            HeadMetrics hm;
            hm.model = who;
            hm.layer = layer;
            hm.head = static_cast<int>(h);
            hm.entropy = st[static_cast<int>(analysis::HeadStat::Entropy)][h].item<double>();
            hm.meanDistance = st[static_cast<int>(analysis::HeadStat::Distance)][h].item<double>();
            hm.sinkMass = st[static_cast<int>(analysis::HeadStat::Sink)][h].item<double>();
            hm.previousToken =
                st[static_cast<int>(analysis::HeadStat::PrevToken)][h].item<double>();
            hm.induction = s.induction(attn[h]);
            out.metrics.push_back(hm);
        }
    };
    for (int l = 0; l < s.teacherLayers; ++l) {
        const torch::Tensor& a = s.teacherAttn[static_cast<size_t>(l)];  // (H, T, T)
        for (int64_t h = 0; h < a.size(0); ++h) {
            out.teacherThumbs.push_back(
                thumbnail(toHeatmap(a[h], true, false, "attention probability")));
        }
        addMetrics("teacher", l, a);
    }
    for (int b = 0; b < s.studentBlocks; ++b) {
        if (s.studentA.count(b) == 0) {
            for (int64_t h = 0; h < s.studentHeads; ++h)
                out.studentThumbs.emplace_back();
            continue;
        }
        torch::Tensor a = s.studentMap(b, norm);  // (H, T, T)
        for (int64_t h = 0; h < a.size(0); ++h) {
            out.studentThumbs.push_back(
                thumbnail(toHeatmap(a[h], true, norm == StudentNorm::Raw, normName(norm))));
        }
        addMetrics("student", b, a);
    }
    return out;
}

AlignmentResult InspectEngine::alignment(const std::string& metricName, StudentNorm norm,
                                         const LayerMapSpec& map) {
    Impl& s = *m;
    DXL_CHECK(!s.teacherAttn.empty(), ValueError,
              "studio: nothing computed yet; run an input first");
    const analysis::Metric metric = analysis::parse_metric(metricName);
    AlignmentResult r;
    r.metric = metricName;
    r.similarity = analysis::is_similarity(metric);
    for (int l = 0; l < static_cast<int>(s.teacherAttn.size()); ++l) {
        for (int h = 0; h < s.teacherAttn[static_cast<size_t>(l)].size(0); ++h) {
            r.teacherHeads.emplace_back(l, h);
            r.teacherLabels.push_back("L" + std::to_string(l) + "H" + std::to_string(h));
        }
    }
    for (const auto& [b, a] : s.studentA) {
        for (int h = 0; h < a.size(0); ++h) {
            r.studentHeads.emplace_back(b, h);
            r.studentLabels.push_back("B" + std::to_string(b) + "H" + std::to_string(h));
        }
    }
    const int R = static_cast<int>(r.teacherHeads.size()),
              C = static_cast<int>(r.studentHeads.size());
    DXL_CHECK(C > 0, ValueError,
              "studio: the student has no mLSTM block; alignment needs implicit attention");
    r.scores = HeatmapData(R, C);
    std::fill(r.scores.values.begin(), r.scores.values.end(), std::nanf(""));  // unmapped: NaN
    r.scores.quantity =
        metricName + (r.similarity ? " (higher = more alike)" : " (lower = more alike)");
    r.layerMap = map.allPairs ? "all pairs" : map.source;
    auto mapped = [&](int l, int b) {
        return map.allPairs || std::find(map.pairs.begin(), map.pairs.end(),
                                         std::make_pair(l, b)) != map.pairs.end();
    };
    for (int l = 0; l < static_cast<int>(s.teacherAttn.size()); ++l)
        for (const auto& kv : s.studentA)
            if (mapped(l, kv.first)) r.layerPairs.emplace_back(l, kv.first);
    DXL_CHECK(!r.layerPairs.empty(), ValueError,
              "studio: the layer map pairs no teacher layer with an mLSTM block; tick at least "
              "one (teacher layer, student block) cell or choose a preset");
    const int64_t T = s.tokens.size(0);
    torch::Tensor mask = torch::ones({T}, torch::kBool);  // (T)
    int row0 = 0;
    for (int l = 0; l < static_cast<int>(s.teacherAttn.size()); ++l) {
        const torch::Tensor& P = s.teacherAttn[static_cast<size_t>(l)];  // (Ht, T, T)
        int col0 = 0;
        for (const auto& kv : s.studentA) {
            if (!mapped(l, kv.first)) {  // left NaN, not compared
                col0 += static_cast<int>(kv.second.size(0));
                continue;
            }
            torch::Tensor A = s.studentMap(kv.first, norm);  // (Hs, T, T)
            torch::Tensor pm = analysis::pair_metrics(P, A, mask, analysis::MetricOptions{})
                                   .to(torch::kFloat64);                      // (nM, Ht, Hs)
            torch::Tensor v = pm[static_cast<int64_t>(metric)].contiguous();  // (Ht, Hs)
            for (int64_t i = 0; i < v.size(0); ++i)
                for (int64_t j = 0; j < v.size(1); ++j)
                    r.scores.at(row0 + static_cast<int>(i), col0 + static_cast<int>(j)) =
                        static_cast<float>(v[i][j].item<double>());
            col0 += static_cast<int>(A.size(0));
        }
        row0 += static_cast<int>(P.size(0));
    }
    std::vector<double> cost(static_cast<size_t>(R) * static_cast<size_t>(C));
    for (int i = 0; i < R; ++i) {
        for (int j = 0; j < C; ++j) {
            const double v = r.scores.at(i, j);
            cost[static_cast<size_t>(i * C + j)] =
                std::isfinite(v) ? analysis::match_cost(metric, v) : 1e9;
        }
    }
    const analysis::Assignment as = analysis::hungarian(cost, R, C);
    for (int i = 0; i < R; ++i) {
        const int j = static_cast<int>(as.row_to_col[static_cast<size_t>(i)]);
        // A pair outside the layer map is no match, only the assignment's filler.
        if (j >= 0 && mapped(r.teacherHeads[static_cast<size_t>(i)].first,
                             r.studentHeads[static_cast<size_t>(j)].first))
            r.matches.emplace_back(i, j);
    }
    return r;
}

StateResult InspectEngine::state(int block, int head, int t, const std::string& quantity) {
    Impl& s = *m;
    DXL_CHECK(!s.teacherAttn.empty(), ValueError,
              "studio: nothing computed yet; run an input first");
    StateResult r;
    r.block = block;
    r.head = head;
    const int64_t T = s.tokens.size(0);
    r.t = std::clamp<int>(t, 0, static_cast<int>(T) - 1);
    if (s.studentA.count(block) == 0) {
        r.blockType = "slstm";
        auto it = s.slstm.find(std::to_string(block) + "/slstm_" + quantity);
        DXL_CHECK(it != s.slstm.end(), ValueError, "studio: student block ", block,
                  " has no recurrent state '", quantity,
                  "'; choose c, n, m or h of an sLSTM block");
        r.c =
            toHeatmap(it->second, false, true, "sLSTM " + quantity + " (token x unit)");  // (T, D)
        return r;
    }
    r.blockType = "mlstm";
    torch::Tensor k = s.studentK[block];  // (H, T, Dh)
    DXL_CHECK(head >= 0 && head < k.size(0), ValueError, "studio: student head ", head,
              " out of range");
    torch::Tensor kh = k.slice(0, head, head + 1).unsqueeze(0);                   // (1, 1, T, Dh)
    torch::Tensor vh = s.studentV[block].slice(0, head, head + 1).unsqueeze(0);   // (1, 1, T, Dh)
    torch::Tensor ig = s.studentIg[block].slice(0, head, head + 1).unsqueeze(0);  // (1, 1, T)
    torch::Tensor fg = s.studentFg[block].slice(0, head, head + 1).unsqueeze(0);  // (1, 1, T)
    Series norm{"\u2016C_t\u2016_F (left axis)", {}, {}},
        rank{"effective rank (right axis)", {}, {}};
    for (int64_t p0 = 0; p0 < T; p0 += 256) {
        std::vector<int64_t> pos;
        for (int64_t p = p0; p < std::min(T, p0 + 256); ++p)
            pos.push_back(p);
        mlstm::StatesAt st = mlstm::states_at(kh, vh, ig, fg, pos);
        torch::Tensor C = st.C[0][0].to(torch::kFloat64);  // (P, Dh, Dh)
        torch::Tensor fro = C.flatten(1).norm(2, 1);       // (P)
        torch::Tensor sv = torch::linalg_svdvals(C);       // (P, Dh)
        torch::Tensor pr = sv / sv.sum(-1, true).clamp_min(1e-300);
        torch::Tensor er = torch::exp(-(pr * pr.clamp_min(1e-300).log()).sum(-1));  // (P)
        for (size_t i = 0; i < pos.size(); ++i) {
            norm.keys.push_back(static_cast<double>(pos[i]));
            norm.values.push_back(fro[static_cast<int64_t>(i)].item<double>());
            rank.keys.push_back(static_cast<double>(pos[i]));
            rank.values.push_back(er[static_cast<int64_t>(i)].item<double>());
        }
        if (r.t >= p0 && r.t < p0 + static_cast<int64_t>(pos.size())) {
            r.c = toHeatmap(st.C[0][0][r.t - p0], false, true, "C_t (k x v)");
        }
        {
            torch::Tensor mm = st.m[0][0];  // (P)
            if (r.gates.empty()) {
                r.gates = {Series{"i pre-activation", {}, {}}, Series{"f = sigmoid", {}, {}},
                           Series{"stabiliser m", {}, {}}};
            }
            for (size_t i = 0; i < pos.size(); ++i) {
                const int64_t p = pos[i];
                r.gates[0].keys.push_back(static_cast<double>(p));
                r.gates[0].values.push_back(ig[0][0][p].item<double>());
                r.gates[1].keys.push_back(static_cast<double>(p));
                r.gates[1].values.push_back(torch::sigmoid(fg[0][0][p]).item<double>());
                r.gates[2].keys.push_back(static_cast<double>(p));
                r.gates[2].values.push_back(mm[static_cast<int64_t>(i)].item<double>());
            }
        }
    }
    r.norms = {norm, rank};
    return r;
}

}  // namespace dxl::studio
