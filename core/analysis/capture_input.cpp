// Reads alignment inputs from a capture file (see capture_input.h).
#include "core/analysis/capture_input.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/base/error.h"
#include "core/capture/capture_reader_torch.h"
#include "core/models/mlstm_cell.h"
#include "core/store/capture_reader.h"

namespace dxl::analysis {

namespace {

std::string indexed(const char* scope, const char* kind, int64_t i, const char* leaf) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s/%s_%02lld/%s", scope, kind, static_cast<long long>(i), leaf);
    return buf;
}

// "teacher/layer_07/..." -> 7 for the given prefix, or -1.
int64_t index_of(const std::string& path, const std::string& prefix) {
    if (path.rfind(prefix, 0) != 0) return -1;
    const size_t slash = path.find('/', prefix.size());
    try {
        return std::stoll(path.substr(prefix.size(), slash - prefix.size()));
    } catch (const std::logic_error&) {
        return -1;
    }
}

void check_all_heads(const store::CaptureReader& r, int64_t s, const std::string& path, int64_t H) {
    std::vector<int64_t> ids = r.heads(s, path), all(H);
    std::iota(all.begin(), all.end(), 0);
    DXL_CHECK(ids == all, UnsupportedError, r.path(), ": ", path, " holds a head subset (",
              ids.size(), " heads); alignment needs every head; re-capture without --heads");
}

}  // namespace

CaptureLayout capture_layout(const store::CaptureReader& reader) {
    CaptureLayout lay;
    DXL_CHECK(reader.num_samples() > 0, ValueError, reader.path(),
              ": the capture holds no committed sample");
    int64_t n_blocks = 0;
    for (const std::string& p : reader.datasets(0)) {
        lay.teacher_layers = std::max(lay.teacher_layers, index_of(p, "teacher/layer_") + 1);
        n_blocks = std::max(n_blocks, index_of(p, "student/block_") + 1);
    }
    std::vector<int64_t> slstm_at;
    bool have_cfg = false;
    for (const char* key : {"teacher_config_json", "student_config_json"}) {
        const std::string text = reader.attr(key);
        if (text.empty()) continue;
        nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
        if (j.is_discarded()) continue;
        if (std::string(key) == "teacher_config_json") {
            for (const char* n : {"n_layer", "num_hidden_layers"})
                if (j.contains(n) && j[n].is_number_integer())
                    lay.teacher_layers = std::max<int64_t>(lay.teacher_layers, j[n].get<int64_t>());
        } else {
            if (j.contains("num_blocks") && j["num_blocks"].is_number_integer())
                n_blocks = std::max<int64_t>(n_blocks, j["num_blocks"].get<int64_t>());
            if (j.contains("slstm_at") && j["slstm_at"].is_array())
                for (const auto& v : j["slstm_at"])
                    if (v.is_number_integer()) slstm_at.push_back(v.get<int64_t>());
            have_cfg = true;
        }
    }
    const h5::Group sample = reader.root().group(store::sample_group_name(0));
    for (int64_t b = 0; b < n_blocks; ++b) {
        std::string type = "unknown";
        char grp[48];
        std::snprintf(grp, sizeof grp, "student/block_%02lld", static_cast<long long>(b));
        if (sample.is_group(grp) && sample.group(grp).has_attr("type"))
            type = sample.group(grp).attr_string("type");
        else if (have_cfg)
            type = std::count(slstm_at.begin(), slstm_at.end(), b) ? "slstm" : "mlstm";
        lay.student_block_types.push_back(type);
    }
    return lay;
}

std::vector<AlignmentInput> inputs_from_capture(const store::CaptureReader& reader,
                                                int64_t max_samples) {
    torch::NoGradGuard no_grad;
    const CaptureLayout lay = capture_layout(reader);
    int64_t n = reader.num_samples();
    if (max_samples > 0) n = std::min(n, max_samples);
    std::vector<AlignmentInput> out;
    for (int64_t s = 0; s < n; ++s) {
        AlignmentInput in;
        std::vector<int64_t> ids = reader.read_int(s, "tokens");
        in.tokens = torch::tensor(ids, torch::kInt64);  // (T)
        const int64_t T = in.tokens.size(0);
        in.mask = torch::ones({T}, torch::kBool);
        in.student_block_types = lay.student_block_types;
        auto maybe = [&](const std::string& p) {
            return reader.has(s, p) ? capture::read_tensor(reader, s, p) : torch::Tensor();
        };
        for (int64_t l = 0; l < lay.teacher_layers; ++l) {
            const std::string p = indexed("teacher", "layer", l, "attn_probs");
            torch::Tensor a = maybe(p);  // (Ht, T, T)
            if (a.defined()) check_all_heads(reader, s, p, a.size(0));
            in.teacher_attn.push_back(a);
            in.teacher_hidden.push_back(maybe(indexed("teacher", "layer", l, "hidden")));
        }
        for (int64_t b = 0; b < static_cast<int64_t>(lay.student_block_types.size()); ++b) {
            torch::Tensor a = maybe(indexed("student", "block", b, "implicit_attn"));  // (Hs, T, T)
            torch::Tensor ig = maybe(indexed("student", "block", b, "igate_pre"));     // (Hs, T)
            torch::Tensor fg = maybe(indexed("student", "block", b, "fgate_pre"));     // (Hs, T)
            if (!a.defined() && ig.defined() && fg.defined()) {
                torch::Tensor q = maybe(indexed("student", "block", b, "q"));  // (Hs, T, Dh)
                torch::Tensor k = maybe(indexed("student", "block", b, "k"));  // (Hs, T, Dh)
                if (q.defined() && k.defined())
                    a = models::mlstm::implicit_attention(q.unsqueeze(0), k.unsqueeze(0),
                                                          ig.unsqueeze(0), fg.unsqueeze(0))[0];
            }
            const std::string ap = indexed("student", "block", b, "implicit_attn");
            if (a.defined())
                check_all_heads(reader, s,
                                reader.has(s, ap) ? ap : indexed("student", "block", b, "q"),
                                a.size(0));
            in.student_attn.push_back(a);
            in.student_igate.push_back(ig);
            in.student_fgate.push_back(fg);
            in.student_hidden.push_back(maybe(indexed("student", "block", b, "hidden")));
        }
        in.teacher_logits = maybe("teacher/logits");  // (T, V) when stored in full
        in.student_logits = maybe("student/logits");
        out.push_back(std::move(in));
    }
    return out;
}

}  // namespace dxl::analysis
