// H5CaptureSink, capture_sample and the size estimate (see header).
#include "core/capture/h5_capture_sink.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/base/error.h"
#include "core/models/language_model.h"
#include "core/models/mlstm_cell.h"
#include "core/store/capture_writer.h"

namespace dxl::capture {

namespace {

std::string block_path(const std::string& scope, int layer, const std::string& leaf) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s_%02d", scope == "teacher" ? "layer" : "block", layer);
    return scope + "/" + buf + "/" + leaf;
}

// Dataset name in the file for a capture point: "mlstm_q" -> "q", "slstm_c" -> "c".
std::string leaf_name(const std::string& point) {
    if (point.rfind("mlstm_", 0) == 0) return point.substr(6);
    if (point.rfind("slstm_", 0) == 0) return point.substr(6);
    return point;
}

bool is_one_of(const std::string& p, std::initializer_list<const char*> names) {
    for (const char* n : names) {
        if (p == n) return true;
    }
    return false;
}

}  // namespace

std::vector<int64_t> parse_index_ranges(const std::string& text, const std::string& what) {
    std::vector<int64_t> out;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        std::string item = text.substr(start, comma - start);
        item.erase(std::remove(item.begin(), item.end(), ' '), item.end());
        DXL_CHECK(!item.empty(), ValueError, what, ": expected a list like 0,3-5, but got '", text,
                  "'");
        try {
            const size_t dash = item.find('-', 1);
            size_t used = 0;
            if (dash == std::string::npos) {
                out.push_back(std::stoll(item, &used));
                DXL_CHECK(used == item.size(), ValueError, what, ": '", item,
                          "' is not an integer");
            } else {
                const int64_t a = std::stoll(item.substr(0, dash));
                const int64_t b = std::stoll(item.substr(dash + 1));
                DXL_CHECK(a <= b, ValueError, what, ": range ", item, " is empty");
                for (int64_t i = a; i <= b; ++i)
                    out.push_back(i);
            }
        } catch (const std::logic_error&) {
            throw ValueError(what + ": expected a list like 0,3-5, but got '" + text + "'");
        }
        start = comma + 1;
    }
    for (int64_t i : out)
        DXL_CHECK(i >= 0, ValueError, what, ": index ", i, " is negative");
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<int64_t> state_positions_for(const H5SinkOptions& opts, int64_t T) {
    std::vector<int64_t> p;
    switch (opts.state_positions) {
        case StatePositions::None:
            break;
        case StatePositions::All:
            for (int64_t t = 0; t < T; ++t)
                p.push_back(t);
            break;
        case StatePositions::Chunk:
            for (int64_t t = opts.chunk_size - 1; t < T; t += opts.chunk_size)
                p.push_back(t);
            if (T > 0 && (p.empty() || p.back() != T - 1)) p.push_back(T - 1);
            break;
        case StatePositions::List:
            for (int64_t t : opts.state_list) {
                DXL_CHECK(t < T, ValueError, "--state-positions: position ", t,
                          " is past the end of a sequence of ", T,
                          " tokens; use positions below the shortest sequence");
                p.push_back(t);
            }
            break;
    }
    return p;
}

H5CaptureSink::H5CaptureSink(store::CaptureWriter* writer, H5SinkOptions opts)
    : m_writer(writer), m_opts(std::move(opts)) {
    DXL_CHECK(m_opts.dtype == store::DType::F16 || m_opts.dtype == store::DType::F32, ValueError,
              "capture: --dtype must be f16 or f32");
    DXL_CHECK(m_opts.chunk_size > 0, ValueError, "capture: chunk size must be positive");
    if (m_writer != nullptr)
        m_copier = std::make_unique<HostCopier>(
            [writer = m_writer](store::Chunk&& c) { writer->put(std::move(c)); });
}

bool H5CaptureSink::selected(const std::vector<int64_t>& list, int64_t index) const {
    return list.empty() || std::binary_search(list.begin(), list.end(), index);
}

bool H5CaptureSink::wants(const CaptureKey& key) {
    namespace p = point;
    if (key.layer < 0) return false;
    if (key.scope == "teacher") {
        if (!selected(m_opts.teacher_layers, key.layer)) return false;
        return key.point == p::kAttnProbs || (m_opts.hidden && key.point == p::kHidden);
    }
    if (key.scope != "student" || !selected(m_opts.student_blocks, key.layer)) return false;
    if (is_one_of(key.point,
                  {p::kMlstmQ, p::kMlstmK, p::kMlstmV, p::kMlstmIgatePre, p::kMlstmFgatePre,
                   p::kSlstmIgatePre, p::kSlstmFgatePre, p::kSlstmZgatePre, p::kSlstmOgatePre,
                   p::kSlstmC, p::kSlstmN, p::kSlstmM, p::kSlstmH}))
        return true;
    return (m_opts.implicit_attn && key.point == p::kImplicitAttn) ||
           (m_opts.hidden && key.point == p::kHidden);
}

void H5CaptureSink::finish_copies() {
    if (m_copier) m_copier->drain(/*wait=*/true);
}

void H5CaptureSink::reset_sample() {
    m_mlstm.clear();
}

void H5CaptureSink::put(const std::string& path, const torch::Tensor& value, store::DType dtype,
                        const std::string& dims, bool per_head, bool image,
                        std::map<std::string, std::string> attrs,
                        std::map<std::string, std::string> group_attrs) {
    torch::Tensor t = value;  // (...) as stored
    if (per_head && !m_opts.heads.empty()) {
        const int64_t H = t.size(0);
        for (int64_t h : m_opts.heads) {
            DXL_CHECK(h < H, ValueError, "--heads: head ", h, " does not exist in ", path, " (", H,
                      " heads)");
        }
        t = t.index_select(0, torch::tensor(m_opts.heads, torch::kInt64).to(t.device()));
    }
    torch::ScalarType st = torch::kFloat32;
    switch (dtype) {
        case store::DType::F16:
            st = torch::kFloat16;
            break;
        case store::DType::F32:
            st = torch::kFloat32;
            break;
        case store::DType::I64:
            st = torch::kInt64;
            break;
        case store::DType::I32:
            st = torch::kInt32;
            break;
        case store::DType::U8:
            st = torch::kUInt8;
            break;
    }
    store::Chunk c;
    c.path = path;
    c.dtype = dtype;
    c.shape.assign(t.sizes().begin(), t.sizes().end());
    c.dims = dims;
    c.image = image;
    c.attrs = std::move(attrs);
    c.group_attrs = std::move(group_attrs);
    if (per_head) c.heads = m_opts.heads;
    if (m_writer == nullptr) {
        Recorded& r = m_recorded[path];
        r.bytes = static_cast<uint64_t>(t.numel()) * store::dtype_size(dtype);
        r.dims = dims;
        r.shape = c.shape;
        return;
    }
    // Converted on the tensor's own device, then copied (asynchronously from a GPU).
    m_copier->put(std::move(c), t.to(st));  // (...) in the stored dtype
}

bool H5CaptureSink::observe(const CaptureKey& key, const torch::Tensor& value) {
    namespace p = point;
    const torch::Tensor v = value[0];  // drop the batch dimension (B = 1)
    const std::string path = block_path(key.scope, key.layer, leaf_name(key.point));
    const store::DType big = m_opts.dtype;
    if (key.scope == "teacher") {
        if (key.point == p::kAttnProbs) {
            put(path, v, big, "H,T,T", true, true,
                {{"normalization", "softmax over keys (rows sum to 1)"}});
        } else {
            put(path, v, big, "T,D");
        }
        return true;
    }
    const bool is_mlstm = key.point.rfind("mlstm_", 0) == 0 || key.point == p::kImplicitAttn;
    std::map<std::string, std::string> type{{"type", is_mlstm ? "mlstm" : "slstm"}};
    if (key.point == p::kHidden) {
        put(path, v, big, "T,D");
    } else if (key.point == p::kImplicitAttn) {
        put(path, v, big, "H,T,T", true, true,
            {{"normalization", "raw signed A (docs/method.md#implicit-attention)"}}, type);
    } else if (is_one_of(key.point, {p::kMlstmQ, p::kMlstmK, p::kMlstmV})) {
        std::map<std::string, std::string> attrs;
        if (key.point == p::kMlstmK) attrs["note"] = "unscaled: the cell applies 1/sqrt(Dh)";
        put(path, v, big, "H,T,Dh", true, false, attrs, type);
    } else if (is_one_of(key.point, {p::kMlstmIgatePre, p::kMlstmFgatePre})) {
        put(path, v, store::DType::F32, "H,T", true, false, {}, type);
    } else {  // sLSTM: gate pre-activations and the stabiliser in f32, c/n/h in --dtype
        const bool f32 =
            key.point != p::kSlstmC && key.point != p::kSlstmN && key.point != p::kSlstmH;
        put(path, v, f32 ? store::DType::F32 : big, "T,D", false, false, {}, type);
    }
    // Keep what the C/n/m states need (head subset, float32).
    if (m_opts.state_positions != StatePositions::None &&
        is_one_of(key.point, {p::kMlstmK, p::kMlstmV, p::kMlstmIgatePre, p::kMlstmFgatePre})) {
        torch::Tensor t = value.to(torch::kFloat32);  // (1, H, T[, Dh])
        if (!m_opts.heads.empty())
            t = t.index_select(1, torch::tensor(m_opts.heads, torch::kInt64).to(t.device()));
        MlstmKeep& keep = m_mlstm[key.layer];
        if (key.point == p::kMlstmK) keep.k = t.clone();
        if (key.point == p::kMlstmV) keep.v = t.clone();
        if (key.point == p::kMlstmIgatePre) keep.ig = t.clone();
        if (key.point == p::kMlstmFgatePre) keep.fg = t.clone();
    }
    return true;
}

void H5CaptureSink::put_states(int64_t T) {
    const std::vector<int64_t> positions = state_positions_for(m_opts, T);
    if (positions.empty()) return;
    for (const auto& [block, keep] : m_mlstm) {
        if (!keep.k.defined() || !keep.v.defined() || !keep.ig.defined() || !keep.fg.defined())
            continue;
        models::mlstm::StatesAt s =
            models::mlstm::states_at(keep.k, keep.v, keep.ig, keep.fg, positions);
        std::map<std::string, std::string> type{{"type", "mlstm"}};
        // Heads were selected when kept: store without a second selection, but record them.
        std::map<std::string, std::string> heads_attr;
        if (!m_opts.heads.empty()) {
            std::string h;
            for (size_t i = 0; i < m_opts.heads.size(); ++i)
                h += (i ? "," : "") + std::to_string(m_opts.heads[i]);
            heads_attr["heads"] = h;
        }
        auto with = [&](std::map<std::string, std::string> a) {
            for (const auto& kv : heads_attr)
                a.insert(kv);
            return a;
        };
        const std::string base = block_path("student", block, "state/");
        put(base + "C", s.C[0], m_opts.dtype, "H,P,Dh,Dh", false, false,
            with({{"layout", "k v^T (Dh x Dh), stabilised: C_t exp(-m_t)"}}));
        put(base + "n", s.n[0], m_opts.dtype, "H,P,Dh", false, false,
            with({{"layout", "n_t exp(-m_t)"}}));
        put(base + "m", s.m[0], store::DType::F32, "H,P", false, false, with({}));
        put(base + "positions", torch::tensor(positions, torch::kInt64), store::DType::I64, "P",
            false, false, {{"meaning", "token index t: the state after consuming token t"}}, type);
    }
}

namespace {
torch::Device first_device(models::LanguageModel& m) {
    for (const auto& p : m.module().parameters())
        return p.device();
    return torch::kCPU;
}

void put_logits(H5CaptureSink& sink, const std::string& scope, const torch::Tensor& logits,
                int64_t top_k) {
    // logits (T, V)
    if (top_k <= 0) {
        sink.put(scope + "/logits", logits, sink.options().dtype, "T,V");
        return;
    }
    const int64_t k = std::min<int64_t>(top_k, logits.size(1));
    auto [values, indices] = logits.topk(k, 1);  // (T, K) each
    sink.put(scope + "/logits_topk_values", values, store::DType::F32, "T,K");
    sink.put(scope + "/logits_topk_indices", indices, store::DType::I64, "T,K");
    // The softmax normaliser over the whole vocabulary: p = exp(value - logsumexp) exactly.
    sink.put(scope + "/logits_logsumexp", logits.to(torch::kFloat32).logsumexp(1),
             store::DType::F32, "T");  // (T)
}
}  // namespace

void capture_sample(store::CaptureWriter& writer, H5CaptureSink& sink,
                    models::LanguageModel& teacher, models::LanguageModel& student,
                    const SampleInput& input, const models::ForwardOptions& fo) {
    DXL_CHECK(!input.tokens.empty(), ValueError, "capture: a sample has no tokens");
    torch::NoGradGuard no_grad;
    writer.begin_sample();
    sink.reset_sample();
    const torch::Tensor tokens = torch::tensor(input.tokens, torch::kInt64);  // (T)
    const int64_t T = tokens.size(0);
    sink.put("tokens", tokens, store::DType::I64, "T");
    if (!input.token_strings.empty()) {
        store::Chunk c;
        c.path = "token_strings";
        c.strings = input.token_strings;
        c.shape = {input.token_strings.size()};
        c.dims = "T";
        writer.put(std::move(c));
    }
    // On the models' device (the teacher's; the CLI puts both on one device).
    const torch::Tensor batch = tokens.unsqueeze(0).to(first_device(teacher));  // (1, T)
    torch::Tensor tl = teacher.forward(batch, fo, &sink);                       // (1, T, V)
    put_logits(sink, "teacher", tl[0], sink.options().logits_top_k);
    torch::Tensor sl = student.forward(batch, fo, &sink);  // (1, T, V)
    put_logits(sink, "student", sl[0], sink.options().logits_top_k);
    sink.put_states(T);
    sink.finish_copies();
    writer.commit_sample();
}

uint64_t estimate_capture_bytes(models::LanguageModel& teacher, models::LanguageModel& student,
                                const H5SinkOptions& opts, const std::vector<int64_t>& lengths,
                                const models::ForwardOptions& fo) {
    if (lengths.empty()) return 0;
    const int64_t T0 = std::min<int64_t>(*std::min_element(lengths.begin(), lengths.end()), 16);
    H5SinkOptions dry_opts = opts;
    // One state position in the dry run gives the bytes per position.
    dry_opts.state_positions =
        opts.state_positions == StatePositions::None ? StatePositions::None : StatePositions::List;
    dry_opts.state_list = {T0 - 1};
    H5CaptureSink dry(nullptr, dry_opts);
    {
        torch::NoGradGuard no_grad;
        const torch::Tensor tok = torch::zeros({1, T0}, torch::kInt64);  // (1, T0)
        torch::Tensor tl = teacher.forward(tok, fo, &dry);               // (1, T0, V)
        put_logits(dry, "teacher", tl[0], opts.logits_top_k);
        torch::Tensor sl = student.forward(tok, fo, &dry);  // (1, T0, V)
        put_logits(dry, "student", sl[0], opts.logits_top_k);
        dry.put_states(T0);
    }
    double total = 0;
    for (int64_t T : lengths) {
        const double P = opts.state_positions == StatePositions::List
                             ? static_cast<double>(opts.state_list.size())
                             : static_cast<double>(state_positions_for(opts, T).size());
        for (const auto& [path, r] : dry.recorded()) {
            double b = static_cast<double>(r.bytes);
            // Scale every T (and P) dimension from the dry-run length to T.
            size_t start = 0;
            const std::string& d = r.dims;
            while (start <= d.size()) {
                size_t comma = d.find(',', start);
                if (comma == std::string::npos) comma = d.size();
                const std::string letter = d.substr(start, comma - start);
                if (letter == "T") b *= static_cast<double>(T) / static_cast<double>(T0);
                if (letter == "P") b *= P;
                start = comma + 1;
            }
            total += b;
        }
        total += 8.0 * static_cast<double>(T);  // tokens
    }
    return static_cast<uint64_t>(std::ceil(total));
}

}  // namespace dxl::capture
