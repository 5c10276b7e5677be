// LayerMapEditor: which teacher layers the alignment compares with which student blocks. A grid
// of check boxes (rows teacher layers, columns student blocks; sLSTM blocks have no implicit
// attention and are disabled) with presets from core/analysis/layer_map.h: every pair, the
// ratio grouping over all blocks (the paper's, `dxl align`'s default) or over the mLSTM blocks.
// Ticking a cell switches to "Custom". Changes are coalesced (150 ms) into one mapChanged.
#pragma once

#include <QWidget>
#include <string>
#include <vector>

#include "app/studio/studio_types.h"

class QComboBox;
class QTableWidget;
class QTimer;

namespace dxl::studio {

class LayerMapEditor : public QWidget {
    Q_OBJECT
  public:
    enum class Preset { AllPairs, RatioAllBlocks, RatioMlstmOnly, Custom };

    explicit LayerMapEditor(QWidget* parent = nullptr);
    // Rebuilds the grid for these models and applies the current preset (a custom map keeps the
    // pairs that still exist).
    void setModels(int teacherLayers, const std::vector<std::string>& blockTypes);
    void setPreset(Preset preset);
    Preset preset() const;
    // Ticks exactly these (teacher layer, student block) pairs; the preset becomes Custom.
    void setPairs(const std::vector<std::pair<int, int>>& pairs);
    void setPairChecked(int teacherLayer, int studentBlock, bool checked);
    LayerMapSpec spec() const;
    QTableWidget* table() const { return m_table; }
    QComboBox* presetCombo() const { return m_preset; }

  signals:
    void mapChanged();

  private:
    void applyPairs(const std::vector<std::pair<int, int>>& pairs);
    std::vector<std::pair<int, int>> checkedPairs() const;
    std::vector<std::pair<int, int>> presetPairs(Preset p) const;
    void scheduleChange();

    QComboBox* m_preset = nullptr;
    QTableWidget* m_table = nullptr;
    QTimer* m_timer = nullptr;
    int m_teacherLayers = 0;
    std::vector<std::string> m_blockTypes;
    bool m_updating = false;
};

}  // namespace dxl::studio
