// Teacher-layer -> student-block mapping for alignment (docs/method.md#layer-map).
//
// Ratio grouping over N student blocks: s = floor(L_T / N); block b takes teacher layers
// [b*s, (b+1)*s), the last block takes [(N-1)*s, L_T). When L_T < N (s = 0) block b takes the
// single layer floor(b * L_T / N). Two ways to honour that only mLSTM blocks have implicit
// attention:
//   AllBlocks (default, the paper's grouping): group over all N blocks, keep the mLSTM ones;
//   MlstmOnly: group over the mLSTM blocks only (N = number of mLSTM blocks).
// A user map (JSON) replaces both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dxl::analysis {

enum class LayerGrouping { AllBlocks, MlstmOnly };
const char* to_string(LayerGrouping g) noexcept;
LayerGrouping parse_layer_grouping(const std::string& s);  // "all-blocks|mlstm-only", UsageError

struct LayerPair {
    int64_t teacher_layer = 0;
    int64_t student_block = 0;
};

struct LayerMap {
    std::string source;            // "ratio/all-blocks", "ratio/mlstm-only" or "user:<file>"
    std::vector<LayerPair> pairs;  // sorted by (student_block, teacher_layer)
};

// Ratio groups for n_blocks blocks over n_teacher layers: groups[b] = teacher layers of block b.
std::vector<std::vector<int64_t>> ratio_groups(int64_t n_teacher, int64_t n_blocks);

// block_types: per student block "mlstm" | "slstm" | ... Only mLSTM blocks appear in the map.
LayerMap ratio_layer_map(int64_t n_teacher, const std::vector<std::string>& block_types,
                         LayerGrouping grouping = LayerGrouping::AllBlocks);

// Every (teacher layer, mLSTM block) pair: the full cross matrix.
LayerMap all_pairs_layer_map(int64_t n_teacher, const std::vector<std::string>& block_types);

// User map from JSON text: {"blocks": {"0": [0, 1], "2": [5]}} (student block -> teacher layers)
// or {"pairs": [[teacher_layer, student_block], ...]}. Indices are validated against the models;
// a pair on a non-mLSTM block is a ValueError. `name` is used in messages and in source.
LayerMap parse_layer_map_json(const std::string& json_text, const std::string& name,
                              int64_t n_teacher, const std::vector<std::string>& block_types);
LayerMap load_layer_map_file(const std::string& path, int64_t n_teacher,
                             const std::vector<std::string>& block_types);

}  // namespace dxl::analysis
