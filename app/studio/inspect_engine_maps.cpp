// InspectEngine::maps: the teacher and student maps the linked panes show, one head each or the
// attention rollout over layers / mLSTM blocks, with the display filters
// (threshold, top-k per row, sink column dropped) and the attention each token receives.
// Runs on the compute worker's thread; no Qt here.
#include <torch/torch.h>

#include <sstream>

#include "app/studio/inspect_engine.h"
#include "app/studio/inspect_engine_impl.h"
#include "core/analysis/display_maps.h"
#include "core/analysis/metrics.h"
#include "core/base/error.h"

namespace dxl::studio {

std::string filterText(const MapFilter& f, bool signedNorm) {
    std::ostringstream o;
    const char* sep = "";
    if (f.dropSink) {
        o << (signedNorm ? "sink dropped (signed: not renormalised)" : "sink dropped");
        sep = ", ";
    }
    if (f.topK > 0) {
        o << sep << "top-" << f.topK << "/row";
        sep = ", ";
    }
    if (f.threshold > 0) o << sep << (signedNorm ? "|v| \u2265 " : "\u2265 ") << f.threshold;
    return o.str();
}

namespace {

// The studio's filter as the core's (core/analysis/display_maps.h, shared with `dxl align --show`).
torch::Tensor applyFilter(const torch::Tensor& map, const MapFilter& f, bool signedValues) {
    analysis::DisplayFilter d;
    d.threshold = f.threshold;
    d.top_k = f.topK;
    d.drop_sink = f.dropSink;
    return analysis::apply_display_filter(map, d, signedValues);
}

std::vector<double> received(const torch::Tensor& map) {
    return analysis::attention_received(map);
}

}  // namespace

MapsResult InspectEngine::maps(int tl, int th, int sb, int sh, StudentNorm norm) {
    MapsRequest q;
    q.teacherLayer = tl;
    q.teacherHead = th;
    q.studentBlock = sb;
    q.studentHead = sh;
    q.norm = norm;
    return maps(q);
}

MapsResult InspectEngine::maps(const MapsRequest& q) {
    Impl& s = *m;
    DXL_CHECK(!s.teacherAttn.empty(), ValueError,
              "studio: nothing computed yet; run an input first");
    const int tl = q.teacherLayer, th = q.teacherHead, sb = q.studentBlock, sh = q.studentHead;
    DXL_CHECK(tl >= 0 && tl < static_cast<int>(s.teacherAttn.size()), ValueError,
              "studio: teacher layer ", tl, " out of range [0, ", s.teacherAttn.size(), ")");
    DXL_CHECK(q.filter.threshold >= 0 && q.filter.topK >= 0, ValueError,
              "studio: display filter needs threshold >= 0 and top-k >= 0, got ",
              q.filter.threshold, " and ", q.filter.topK, "; use 0 to switch either off");
    MapsResult r;
    r.teacherLayer = tl;
    r.teacherHead = th;
    r.studentBlock = sb;
    r.studentHead = sh;
    r.norm = q.norm;
    r.filter = q.filter;
    r.mode = q.mode;
    torch::Tensor teacher, student;  // (T, T) as shown before the filter
    bool studentSigned = q.norm == StudentNorm::Raw;
    if (q.mode == MapMode::Rollout) {
        DXL_CHECK(sb >= 0 && sb < s.studentBlocks, ValueError, "studio: student block ", sb,
                  " out of range [0, ", s.studentBlocks, ")");
        const int64_t T = s.teacherAttn.front().size(1);
        const torch::Tensor mask = torch::ones({T}, torch::kBool);  // (T)
        std::vector<torch::Tensor> tLayers(s.teacherAttn.begin(),
                                           s.teacherAttn.begin() + tl + 1);  // (H, T, T) each
        std::vector<torch::Tensor> sLayers;  // (H, T, T) per block; undefined = sLSTM, identity
        for (int b = 0; b <= sb; ++b)
            sLayers.push_back(s.studentA.count(b) ? s.studentMap(b, q.norm) : torch::Tensor());
        teacher = analysis::rollout(tLayers, mask);  // (T, T) float64
        student = analysis::rollout(sLayers, mask);  // (T, T) float64, rows are distributions
        studentSigned = false;
    } else {
        DXL_CHECK(th >= 0 && th < s.teacherAttn[static_cast<size_t>(tl)].size(0), ValueError,
                  "studio: teacher head ", th, " out of range");
        torch::Tensor a = s.studentMap(sb, q.norm);  // (H, T, T)
        DXL_CHECK(sh >= 0 && sh < a.size(0), ValueError, "studio: student head ", sh,
                  " out of range");
        teacher = s.teacherAttn[static_cast<size_t>(tl)][th];
        student = a[sh];
    }
    teacher = applyFilter(teacher, q.filter, false);
    student = applyFilter(student, q.filter, studentSigned);
    r.filterText = filterText(q.filter, studentSigned);
    const bool roll = q.mode == MapMode::Rollout;
    r.teacher =
        toHeatmap(teacher, true, false, roll ? "attention rollout" : "attention probability");
    r.student = toHeatmap(student, true, studentSigned,
                          roll ? std::string("implicit attention rollout (") + normName(q.norm) +
                                     (q.norm == StudentNorm::Raw ? ", clamped at 0)" : ")")
                               : std::string(normName(q.norm)));
    r.teacherReceived = received(teacher);
    r.studentReceived = received(student);
    r.differenceReceived =
        received((student.to(torch::kFloat64) - teacher.to(torch::kFloat64)).abs());
    return r;
}

}  // namespace dxl::studio
