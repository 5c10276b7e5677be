// Inspect engine, capture files: opening a capture and reading one sample into the engine's
// state, with a typed error for every shape or content a damaged or partial file can have.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/studio/inspect_engine.h"
#include "app/studio/inspect_engine_impl.h"
#include "core/analysis/capture_input.h"
#include "core/base/error.h"
#include "core/capture/capture_reader_torch.h"
#include "core/io/tokenizer.h"
#include "core/models/mlstm_cell.h"
#include "core/store/capture_reader.h"

namespace dxl::studio {

namespace mlstm = dxl::models::mlstm;

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
    // Bytes that no longer match the checksum committed with the sample are refused, never
    // analysed as if they were real (the shown sample stays).
    DXL_CHECK(
        reader.compute_checksum(sample) == reader.manifest()[static_cast<size_t>(sample)].checksum,
        FormatError, m->capturePath, ": sample ", sample,
        " is damaged (its data no longer match the checksum written with it); `dxl inspect ",
        m->capturePath, " --repair` keeps every intact sample");
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
            // A rebuilt exactly from the stored statistics, (H, T, T)
            // (docs/method.md#implicit-attention).
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
    // `--logits topK` captures: predictions from the stored top K (probabilities through the
    // stored log-normaliser; files without it show NaN), no KL strip.
    auto stored = [&](const std::string& scope) {
        std::vector<std::vector<Prediction>> r;
        const std::string pv = scope + "/logits_topk_values", pi = scope + "/logits_topk_indices",
                          pl = scope + "/logits_logsumexp";
        if (!reader.has(sample, pv) || !reader.has(sample, pi)) return r;
        const h5::Dims d = checkDims(reader, sample, pv, {T, -1});
        checkDims(reader, sample, pi, {T, static_cast<int64_t>(d[1])});
        const std::vector<float> v = reader.read_float(sample, pv);
        const std::vector<int64_t> idx = reader.read_int(sample, pi);
        std::vector<float> lse;
        if (reader.has(sample, pl)) {
            checkDims(reader, sample, pl, {T});
            lse = reader.read_float(sample, pl);
        }
        const auto shown = static_cast<size_t>(std::min<uint64_t>(d[1], 5));
        r.resize(static_cast<size_t>(T));
        for (size_t t = 0; t < r.size(); ++t) {
            for (size_t k = 0; k < shown; ++k) {
                Prediction p;
                p.id = idx[t * d[1] + k];
                p.label = s.label(p.id);
                p.probability = lse.empty() ? std::nanf("") : std::exp(v[t * d[1] + k] - lse[t]);
                r[t].push_back(p);
            }
        }
        return r;
    };
    if (!lt.defined()) {
        if (auto p = stored("teacher"); !p.empty()) out.teacherTopK = std::move(p);
    }
    if (!ls.defined()) {
        if (auto p = stored("student"); !p.empty()) out.studentTopK = std::move(p);
    }
    out.captureSample = sample;
    return out;
}

}  // namespace dxl::studio
