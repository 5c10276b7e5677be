// Ratio grouping (Distil-xLSTM "ratio" Frobenius mode, fb62776) and user-given layer maps.
#include "core/analysis/layer_map.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/base/error.h"

namespace dxl::analysis {

const char* to_string(LayerGrouping g) noexcept {
    return g == LayerGrouping::AllBlocks ? "all-blocks" : "mlstm-only";
}

LayerGrouping parse_layer_grouping(const std::string& s) {
    if (s == "all-blocks") return LayerGrouping::AllBlocks;
    if (s == "mlstm-only") return LayerGrouping::MlstmOnly;
    throw UsageError("layer grouping: expected all-blocks or mlstm-only, but got '" + s + "'");
}

std::vector<std::vector<int64_t>> ratio_groups(int64_t n_teacher, int64_t n_blocks) {
    DXL_CHECK(n_teacher > 0 && n_blocks > 0, ValueError,
              "ratio_groups: expected positive layer counts, but got ", n_teacher,
              " teacher layers and ", n_blocks, " student blocks");
    std::vector<std::vector<int64_t>> groups(n_blocks);
    const int64_t s = n_teacher / n_blocks;
    for (int64_t b = 0; b < n_blocks; ++b) {
        if (s == 0) {
            groups[b].push_back(b * n_teacher / n_blocks);
            continue;
        }
        const int64_t end = b == n_blocks - 1 ? n_teacher : (b + 1) * s;
        for (int64_t l = b * s; l < end; ++l)
            groups[b].push_back(l);
    }
    return groups;
}

namespace {

std::vector<int64_t> mlstm_blocks(const std::vector<std::string>& block_types) {
    std::vector<int64_t> out;
    for (size_t b = 0; b < block_types.size(); ++b)
        if (block_types[b] == "mlstm") out.push_back(static_cast<int64_t>(b));
    DXL_CHECK(!out.empty(), ValueError,
              "layer map: the student has no mLSTM block (block types given: ", block_types.size(),
              "); alignment needs implicit attention from mLSTM blocks");
    return out;
}

void sort_pairs(LayerMap& m) {
    std::sort(m.pairs.begin(), m.pairs.end(), [](const LayerPair& a, const LayerPair& b) {
        return a.student_block != b.student_block ? a.student_block < b.student_block
                                                  : a.teacher_layer < b.teacher_layer;
    });
    m.pairs.erase(std::unique(m.pairs.begin(), m.pairs.end(),
                              [](const LayerPair& a, const LayerPair& b) {
                                  return a.student_block == b.student_block &&
                                         a.teacher_layer == b.teacher_layer;
                              }),
                  m.pairs.end());
}

}  // namespace

LayerMap ratio_layer_map(int64_t n_teacher, const std::vector<std::string>& block_types,
                         LayerGrouping grouping) {
    const std::vector<int64_t> mlstm = mlstm_blocks(block_types);
    LayerMap m;
    m.source = std::string("ratio/") + to_string(grouping);
    if (grouping == LayerGrouping::AllBlocks) {
        const auto groups = ratio_groups(n_teacher, static_cast<int64_t>(block_types.size()));
        for (int64_t b : mlstm)
            for (int64_t l : groups[b])
                m.pairs.push_back({l, b});
    } else {
        const auto groups = ratio_groups(n_teacher, static_cast<int64_t>(mlstm.size()));
        for (size_t g = 0; g < mlstm.size(); ++g)
            for (int64_t l : groups[g])
                m.pairs.push_back({l, mlstm[g]});
    }
    sort_pairs(m);
    return m;
}

LayerMap all_pairs_layer_map(int64_t n_teacher, const std::vector<std::string>& block_types) {
    LayerMap m;
    m.source = "all-pairs";
    for (int64_t b : mlstm_blocks(block_types))
        for (int64_t l = 0; l < n_teacher; ++l)
            m.pairs.push_back({l, b});
    sort_pairs(m);
    return m;
}

LayerMap parse_layer_map_json(const std::string& json_text, const std::string& name,
                              int64_t n_teacher, const std::vector<std::string>& block_types) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json_text);
    } catch (const std::exception& e) {
        throw FormatError("layer map " + name + ": not valid JSON (" + e.what() +
                          "); expected {\"blocks\": {\"0\": [0, 1]}} or {\"pairs\": [[0, 0]]}");
    }
    LayerMap m;
    m.source = "user:" + name;
    auto add = [&](const nlohmann::json& l, const nlohmann::json& b) {
        DXL_CHECK(l.is_number_integer() && b.is_number_integer(), FormatError, "layer map ", name,
                  ": expected integer layer and block indices, but got ", l.dump(), " and ",
                  b.dump());
        m.pairs.push_back({l.get<int64_t>(), b.get<int64_t>()});
    };
    if (j.is_object() && j.contains("blocks")) {
        DXL_CHECK(j["blocks"].is_object(), FormatError, "layer map ", name,
                  ": expected \"blocks\" to map block indices to lists of teacher layers");
        for (const auto& [key, layers] : j["blocks"].items()) {
            int64_t b = 0;
            try {
                size_t used = 0;
                b = std::stoll(key, &used);
                DXL_CHECK(used == key.size(), FormatError, "layer map ", name, ": block key '", key,
                          "' is not an integer");
            } catch (const std::logic_error&) {
                throw FormatError("layer map " + name + ": block key '" + key +
                                  "' is not an integer");
            }
            DXL_CHECK(layers.is_array(), FormatError, "layer map ", name, ": block ", key,
                      " must map to a list of teacher layers, but got ", layers.dump());
            for (const auto& l : layers)
                add(l, nlohmann::json(b));
        }
    } else if (j.is_object() && j.contains("pairs")) {
        DXL_CHECK(j["pairs"].is_array(), FormatError, "layer map ", name,
                  ": expected \"pairs\" to be a list");
        for (const auto& p : j["pairs"]) {
            DXL_CHECK(p.is_array() && p.size() == 2, FormatError, "layer map ", name,
                      ": expected each pair as [teacher_layer, student_block], but got ", p.dump());
            add(p[0], p[1]);
        }
    } else {
        throw FormatError("layer map " + name +
                          ": expected an object with \"blocks\" or \"pairs\"; e.g. {\"blocks\": "
                          "{\"0\": [0, 1]}}");
    }
    DXL_CHECK(!m.pairs.empty(), ValueError, "layer map ", name, ": the map is empty");
    const auto n_blocks = static_cast<int64_t>(block_types.size());
    for (const LayerPair& p : m.pairs) {
        DXL_CHECK(p.teacher_layer >= 0 && p.teacher_layer < n_teacher, ValueError, "layer map ",
                  name, ": teacher layer ", p.teacher_layer, " is outside [0, ", n_teacher, ")");
        DXL_CHECK(p.student_block >= 0 && p.student_block < n_blocks, ValueError, "layer map ",
                  name, ": student block ", p.student_block, " is outside [0, ", n_blocks, ")");
        DXL_CHECK(block_types[p.student_block] == "mlstm", ValueError, "layer map ", name,
                  ": student block ", p.student_block, " is a ", block_types[p.student_block],
                  " block; only mLSTM blocks have implicit attention to align");
    }
    sort_pairs(m);
    return m;
}

LayerMap load_layer_map_file(const std::string& path, int64_t n_teacher,
                             const std::vector<std::string>& block_types) {
    std::ifstream in(path);
    DXL_CHECK(in.good(), IoError, "layer map: cannot open ", path, "; check the --map path");
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_layer_map_json(ss.str(), path, n_teacher, block_types);
}

}  // namespace dxl::analysis
