// InspectEngine: model loading, capture forward, maps, metrics (core/analysis), alignment with
// Hungarian matching, and recurrent states (mlstm::states_at). The studio's only torch TU.
#include <torch/torch.h>

#include "app/studio/inspect_engine.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "core/analysis/capture_input.h"
#include "core/analysis/hungarian.h"
#include "core/analysis/metric_kinds.h"
#include "core/analysis/metrics.h"
#include "core/base/error.h"
#include "core/capture/capture_reader_torch.h"
#include "core/capture/memory_sink.h"
#include "core/io/tokenizer.h"
#include "core/models/mlstm_cell.h"
#include "core/models/registry.h"
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

namespace {

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
        return labelTokenizer ? io::escape_invalid_utf8(labelTokenizer->decode({id}))
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
                r = mlstm::normalize_attention(studentA[block], mlstm::AttnNorm::AbsRow);
                break;
            case StudentNorm::ReluRow:
                r = mlstm::normalize_attention(studentA[block], mlstm::AttnNorm::ReluRow);
                break;
            case StudentNorm::MinMax:
                r = mlstm::normalize_attention(studentA[block], mlstm::AttnNorm::MinMax);
                break;
            case StudentNorm::GateOnly:
                r = mlstm::gate_only(studentIg[block].unsqueeze(0), studentFg[block].unsqueeze(0))
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

InspectEngine::InspectEngine() : m(std::make_unique<Impl>()) {}
InspectEngine::~InspectEngine() = default;

bool InspectEngine::loaded() const {
    return m->teacher && m->student;
}

ModelsLoaded InspectEngine::load(const std::string& teacherDir, const std::string& studentDir) {
    auto teacher = models::load_model(teacherDir);
    auto student = models::load_model(studentDir);
    DXL_CHECK(teacher->info().family == "transformer", UnsupportedError, "studio: the teacher ",
              teacherDir, " is a ", teacher->info().family,
              " model; expected a Transformer (gpt2, llama, qwen2)");
    DXL_CHECK(student->info().family == "xlstm", UnsupportedError, "studio: the student ",
              studentDir, " is a ", student->info().family,
              " model; expected an xLSTM (xlstm_v1, xlstm_large)");
    auto tok = io::load_tokenizer(teacherDir);
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
    torch::Tensor lt = m->teacher->forward(tokens, {}, &tsink);  // (1, T, V)
    models::ForwardOptions fo;
    fo.form = models::MlstmForm::Parallel;
    torch::Tensor ls = m->student->forward(tokens, fo, &ssink);  // (1, T, V)

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

namespace {

std::string layerPath(const char* scope, const char* kind, int64_t i, const char* leaf) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s/%s_%02lld/%s", scope, kind, static_cast<long long>(i), leaf);
    return buf;
}

// Every head stored along dimension 0 of `path` (a --heads subset cannot fill the views).
void checkAllHeads(const store::CaptureReader& r, int64_t sample, const std::string& path,
                   int64_t H) {
    std::vector<int64_t> ids = r.heads(sample, path);
    bool all = static_cast<int64_t>(ids.size()) == H;
    for (int64_t h = 0; all && h < H; ++h)
        all = ids[static_cast<size_t>(h)] == h;
    DXL_CHECK(all, UnsupportedError, r.path(), ": ", path, " holds a head subset (", ids.size(),
              " heads); the studio shows every head; re-capture without --heads");
}

// Dataset dims with the expected rank and sizes (-1 = any); FormatError otherwise.
h5::Dims checkDims(const store::CaptureReader& r, int64_t sample, const std::string& path,
                   const std::vector<int64_t>& expected) {
    const h5::Dims d = r.info(sample, path).dims;
    bool ok = d.size() == expected.size();
    for (size_t i = 0; ok && i < d.size(); ++i)
        ok = expected[i] < 0 || static_cast<int64_t>(d[i]) == expected[i];
    std::string shape;
    for (size_t i = 0; i < d.size(); ++i)
        shape += (i ? "x" : "") + std::to_string(d[i]);
    DXL_CHECK(ok, FormatError, r.path(), ": sample ", sample, " ", path, " has shape ",
              shape.empty() ? "()" : shape,
              ", which does not match the sample's tokens; the file is damaged; ",
              "re-run dxl capture");
    return d;
}

int configInt(const std::string& json, std::initializer_list<const char*> keys) {
    nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return 0;
    for (const char* k : keys)
        if (j.contains(k) && j[k].is_number_integer()) return j[k].get<int>();
    return 0;
}

}  // namespace

CaptureOpened InspectEngine::openCapture(const std::string& path) {
    store::CaptureReader reader(path);  // format, schema version and manifest checked here
    const analysis::CaptureLayout lay = analysis::capture_layout(reader);
    DXL_CHECK(lay.teacher_layers > 0, FormatError, path,
              ": the capture holds no teacher attention (teacher/layer_NN/attn_probs); capture "
              "with a Transformer teacher");
    CaptureOpened c;
    c.path = path;
    c.status = reader.status();
    c.samples = static_cast<int>(reader.num_samples());
    for (int64_t i = 0; i < reader.num_samples(); ++i)
        c.sampleLengths.push_back(static_cast<int>(reader.info(i, "tokens").dims.at(0)));
    ModelSummary& t = c.models.teacher;
    t.dir = reader.attr("teacher_dir");
    t.architecture = reader.attr("teacher_model_type");
    t.family = "transformer";
    t.layers = static_cast<int>(lay.teacher_layers);
    const std::string a0 = layerPath("teacher", "layer", 0, "attn_probs");
    t.heads = reader.has(0, a0) ? static_cast<int>(reader.info(0, a0).dims.at(0)) : 0;
    const std::string tcfg = reader.attr("teacher_config_json"),
                      scfg = reader.attr("student_config_json");
    t.vocab = configInt(tcfg, {"vocab_size"});
    t.context = configInt(tcfg, {"n_positions", "max_position_embeddings", "n_ctx"});
    t.blockTypes.assign(static_cast<size_t>(t.layers), "attention");
    ModelSummary& st = c.models.student;
    st.dir = reader.attr("student_dir");
    st.architecture = reader.attr("student_model_type");
    st.family = "xlstm";
    st.layers = static_cast<int>(lay.student_block_types.size());
    st.blockTypes = lay.student_block_types;
    st.vocab = configInt(scfg, {"vocab_size"});
    st.context = configInt(scfg, {"context_length"});
    for (int b = 0; b < st.layers && st.heads == 0; ++b) {
        const std::string q = layerPath("student", "block", b, "q");
        if (reader.has(0, q)) st.heads = static_cast<int>(reader.info(0, q).dims.at(0));
    }
    DXL_CHECK(st.heads > 0, FormatError, path,
              ": the capture holds no mLSTM statistics (student/block_NN/q, k, igate_pre, "
              "fgate_pre); capture with an xLSTM student that has an mLSTM block");
    t.hasTokenizer = st.hasTokenizer = reader.has(0, "token_strings");
    // Prediction labels: the teacher's tokenizer, when it is still there and is the one used.
    std::unique_ptr<io::Tokenizer> tok;
    try {
        if (!t.dir.empty()) tok = io::load_tokenizer(t.dir);
    } catch (const dxl::Error&) {
        tok.reset();  // labels fall back to ids
    }
    if (tok && tok->fingerprint() != reader.attr("tokenizer_hash")) tok.reset();
    m->capturePath = path;
    m->captureTokenizer = std::move(tok);
    return c;
}

InspectSummary InspectEngine::captureSample(int sample, StudentNorm norm) {
    DXL_CHECK(!m->capturePath.empty(), ValueError,
              "studio: no capture file is open; open one with File > Open capture");
    torch::NoGradGuard no_grad;
    store::CaptureReader reader(m->capturePath);
    DXL_CHECK(sample >= 0 && sample < reader.num_samples(), ValueError, "studio: sample ", sample,
              " is not in ", m->capturePath, " (", reader.num_samples(),
              " committed samples); choose 0 to ", reader.num_samples() - 1);
    const analysis::CaptureLayout lay = analysis::capture_layout(reader);
    // Everything is read into locals first: a damaged sample leaves the shown one intact.
    const std::vector<int64_t> ids = reader.read_int(sample, "tokens");
    const auto T = static_cast<int64_t>(ids.size());
    DXL_CHECK(T > 0, FormatError, m->capturePath, ": sample ", sample, " has no tokens");
    std::vector<torch::Tensor> teacher;
    for (int64_t l = 0; l < lay.teacher_layers; ++l) {
        const std::string p = layerPath("teacher", "layer", l, "attn_probs");
        DXL_CHECK(reader.has(sample, p), UnsupportedError, m->capturePath, ": sample ", sample,
                  " has no ", p,
                  "; the studio needs every teacher layer; re-capture without "
                  "--layers");
        const h5::Dims d = checkDims(reader, sample, p, {-1, T, T});
        checkAllHeads(reader, sample, p, static_cast<int64_t>(d[0]));
        teacher.push_back(capture::read_tensor(reader, sample, p));  // (H, T, T)
    }
    std::map<int, torch::Tensor> A, ig, fg, K, V;
    std::map<std::string, torch::Tensor> sl;
    int heads = 0;
    for (int b = 0; b < static_cast<int>(lay.student_block_types.size()); ++b) {
        auto path = [&](const char* leaf) { return layerPath("student", "block", b, leaf); };
        if (reader.has(sample, path("q"))) {
            const h5::Dims d = checkDims(reader, sample, path("q"), {-1, T, -1});
            const auto H = static_cast<int64_t>(d[0]);
            checkAllHeads(reader, sample, path("q"), H);
            torch::Tensor x[5];
            const char* leaves[5] = {"q", "k", "v", "igate_pre", "fgate_pre"};
            for (int i = 0; i < 5; ++i) {
                DXL_CHECK(reader.has(sample, path(leaves[i])), FormatError, m->capturePath,
                          ": sample ", sample, " has ", path("q"), " but no ", path(leaves[i]),
                          "; the file is damaged; re-run dxl capture");
                checkDims(reader, sample, path(leaves[i]),
                          i < 3 ? std::vector<int64_t>{H, T, static_cast<int64_t>(d[2])}
                                : std::vector<int64_t>{H, T});
                x[i] = capture::read_tensor(reader, sample, path(leaves[i]));
            }
            // A rebuilt exactly from the stored statistics (METHOD.md 3.1), (H, T, T).
            A[b] = mlstm::implicit_attention(x[0].unsqueeze(0), x[1].unsqueeze(0),
                                             x[3].unsqueeze(0), x[4].unsqueeze(0))[0];
            K[b] = x[1];   // (H, T, Dh)
            V[b] = x[2];   // (H, T, Dh)
            ig[b] = x[3];  // (H, T)
            fg[b] = x[4];  // (H, T)
            heads = std::max(heads, static_cast<int>(H));
        }
        for (const char* q : {"c", "n", "m", "h"}) {
            if (!reader.has(sample, path(q))) continue;
            checkDims(reader, sample, path(q), {T, -1});
            sl[std::to_string(b) + "/slstm_" + q] = capture::read_tensor(reader, sample, path(q));
        }
    }
    DXL_CHECK(!A.empty(), FormatError, m->capturePath, ": sample ", sample,
              " holds no mLSTM statistics (student/block_NN/q); re-capture with the default "
              "options");
    auto logits = [&](const char* p) {
        if (!reader.has(sample, p)) return torch::Tensor();  // top-k logits: no KL, no ranking
        checkDims(reader, sample, p, {T, -1});
        return capture::read_tensor(reader, sample, p);  // (T, V)
    };
    torch::Tensor lt = logits("teacher/logits"), ls = logits("student/logits");
    std::vector<std::string> strings;
    if (reader.has(sample, "token_strings")) strings = reader.read_strings(sample, "token_strings");

    Impl& s = *m;
    s.clearCaptures();
    s.tokens = torch::tensor(ids, torch::kInt64);  // (T)
    s.teacherAttn = std::move(teacher);
    s.studentA = std::move(A);
    s.studentIg = std::move(ig);
    s.studentFg = std::move(fg);
    s.studentK = std::move(K);
    s.studentV = std::move(V);
    s.slstm = std::move(sl);
    s.teacherLayers = static_cast<int>(s.teacherAttn.size());
    s.studentBlocks = static_cast<int>(lay.student_block_types.size());
    s.studentHeads = heads;
    s.labelTokenizer = s.captureTokenizer.get();
    s.tokenList = TokenList();
    for (int64_t t = 0; t < T; ++t) {
        const int64_t id = ids[static_cast<size_t>(t)];
        s.tokenList.ids.push_back(id);
        s.tokenList.labels.push_back(static_cast<int64_t>(strings.size()) == T
                                         ? io::escape_invalid_utf8(strings[static_cast<size_t>(t)])
                                         : s.label(id));
    }
    InspectSummary out = s.summarize(lt, ls, norm);
    out.captureSample = sample;
    return out;
}

MapsResult InspectEngine::maps(int tl, int th, int sb, int sh, StudentNorm norm) {
    Impl& s = *m;
    DXL_CHECK(!s.teacherAttn.empty(), ValueError,
              "studio: nothing computed yet; run an input first");
    DXL_CHECK(tl >= 0 && tl < static_cast<int>(s.teacherAttn.size()), ValueError,
              "studio: teacher layer ", tl, " out of range [0, ", s.teacherAttn.size(), ")");
    DXL_CHECK(th >= 0 && th < s.teacherAttn[static_cast<size_t>(tl)].size(0), ValueError,
              "studio: teacher head ", th, " out of range");
    torch::Tensor a = s.studentMap(sb, norm);  // (H, T, T)
    DXL_CHECK(sh >= 0 && sh < a.size(0), ValueError, "studio: student head ", sh, " out of range");
    MapsResult r;
    r.teacherLayer = tl;
    r.teacherHead = th;
    r.studentBlock = sb;
    r.studentHead = sh;
    r.norm = norm;
    r.teacher =
        toHeatmap(s.teacherAttn[static_cast<size_t>(tl)][th], true, false, "attention probability");
    r.student = toHeatmap(a[sh], true, norm == StudentNorm::Raw, normName(norm));
    return r;
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
