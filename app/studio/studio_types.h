// Value types the compute worker sends to the GUI through queued signals. Torch- and Qt-free, so
// the torch TU (inspect_engine.cpp) never sees Qt's `emit` macro; the Q_DECLARE_METATYPEs live in
// compute_worker.h and the types are registered in compute_worker.cpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/base/value_types.h"

namespace dxl::studio {

// Student normalisations offered in the UI (mlstm::AttnNorm + gate-only).
enum class StudentNorm { Raw, AbsRow, ReluRow, MinMax, GateOnly };
const char* normName(StudentNorm n);              // "raw signed", "|A| row-normalised", ...
const char* normKey(StudentNorm n);               // "raw", "abs_row", ...
StudentNorm normFromKey(const std::string& key);  // unknown -> AbsRow

struct ModelSummary {
    std::string dir, architecture, family;
    int layers = 0, heads = 0, vocab = 0, context = 0;
    std::vector<std::string> blockTypes;  // per layer/block
    bool hasTokenizer = false;
};

struct ModelsLoaded {
    ModelSummary teacher, student;
};

// Everything about one input that is cheap to send whole.
struct InspectSummary {
    TokenList tokens;
    std::vector<double> klPerToken;                         // (T) KL(teacher || student) in nats
    std::vector<std::vector<Prediction>> teacherTopK;       // (T, k)
    std::vector<std::vector<Prediction>> studentTopK;       // (T, k)
    std::vector<HeatmapData> teacherThumbs, studentThumbs;  // layer-major, <= 48 x 48 each
    std::vector<HeadMetrics> metrics;                       // teacher and student heads
    StudentNorm norm = StudentNorm::AbsRow;
    int captureSample = -1;  // >= 0: read from the open capture file, not from a forward
};

// A capture file opened in the studio (docs/capture-schema.md): what the views need to know
// about its models, read from the root attributes and the first sample.
struct CaptureOpened {
    std::string path, status;  // status: "complete", "recovered", ...
    int samples = 0;
    std::vector<int> sampleLengths;  // T of every committed sample
    ModelsLoaded models;             // dirs and types as recorded; shapes from the stored maps
};

// The teacher layer -> student block pairs the alignment compares (core/analysis/layer_map.h).
struct LayerMapSpec {
    bool allPairs = true;  // every (teacher layer, mLSTM block); pairs ignored
    std::string source = "all pairs";
    std::vector<std::pair<int, int>> pairs;  // (teacher layer, student block)
};

// Display filters on the linked maps, applied by the engine to the teacher
// map and to the student map after its normalisation, in this order: drop the sink column
// (column 0 zeroed, rows renormalised over j >= 1), keep the top k causal entries of each row,
// zero cells below the threshold. The raw signed normalisation ranks and thresholds by |value|
// and is never renormalised (a signed row has no total to keep). Display only: alignment,
// metrics and thumbnails always see the unfiltered maps.
struct MapFilter {
    double threshold = 0.0;  // > 0: cells with |value| < threshold shown as 0
    int topK = 0;            // > 0: keep the k largest (|value|) causal entries of each row
    bool dropSink = false;   // column 0 (BOS / attention sink) removed from every row

    bool active() const { return threshold > 0.0 || topK > 0 || dropSink; }
    bool operator==(const MapFilter& o) const {
        return threshold == o.threshold && topK == o.topK && dropSink == o.dropSink;
    }
};
// "top-5/row, sink dropped", "|A| ≥ 0.05", ... ("" when inactive); signedNorm: the raw norm's
// wording (no renormalisation, |value| ranking).
std::string filterText(const MapFilter& f, bool signedNorm);

// What the linked panes show: one head of each model, or the attention rollout up to the selected
// teacher layer / student block (heads fused by mean, core/analysis rollout; sLSTM blocks count
// as identity).
enum class MapMode { SingleHead, Rollout };

struct MapsRequest {
    int teacherLayer = 0, teacherHead = 0, studentBlock = 0, studentHead = 0;
    StudentNorm norm = StudentNorm::AbsRow;
    MapFilter filter;
    MapMode mode = MapMode::SingleHead;
};

struct MapsResult {
    int teacherLayer = 0, teacherHead = 0, studentBlock = 0, studentHead = 0;
    StudentNorm norm = StudentNorm::AbsRow;
    MapFilter filter;
    MapMode mode = MapMode::SingleHead;
    std::string filterText;        // filterText(filter, norm == Raw); "" when no filter
    HeatmapData teacher, student;  // (T, T) as shown: filtered, rollout when mode == Rollout
    // Attention received by each key token j in the shown maps: column sum over the rows that
    // can attend to j (i >= j), divided by their number T - j. difference: of |student - teacher|.
    std::vector<double> teacherReceived, studentReceived, differenceReceived;  // (T)
};

struct AlignmentResult {
    std::string metric;
    bool similarity = true;
    HeatmapData scores;  // (teacher heads, student heads)
    std::vector<std::string> teacherLabels, studentLabels;
    std::vector<std::pair<int, int>> matches;
    std::vector<std::pair<int, int>> teacherHeads, studentHeads;  // index -> (layer, head)
    std::string layerMap = "all pairs";                           // LayerMapSpec::source
    std::vector<std::pair<int, int>> layerPairs;  // compared (teacher layer, student block) pairs
};

struct StateResult {
    int block = 0, head = 0, t = 0;
    std::string blockType;      // "mlstm" or "slstm"
    HeatmapData c;              // mLSTM: C_t (Dh, Dh); sLSTM: the chosen state over (T, D)
    std::vector<Series> norms;  // ||C_t||_F and effective rank over t
    std::vector<Series> gates;  // i pre-activation, f = sigmoid, stabiliser m
};

struct ErrorInfo {
    int kind = 0;          // dxl::ErrorKind value (0 = unknown std::exception)
    std::string kindName;  // "IoError", ...
    std::string message;
    std::string action;  // what was being done, e.g. "loading the teacher"
};

}  // namespace dxl::studio
