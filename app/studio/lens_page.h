// The Lens page: the logit lens of teacher and student side by side. Layer x position heatmaps of
// one quantity (entropy of each layer's read-out, rank of the final top-1 token, KL to the model's
// own output), a KL(teacher layer || student block) strip for the pairs of the layer map, and the
// token chips: clicking a cell colours the chips by that layer's row, clicking a chip centres
// every map on that token.
#pragma once

#include <QWidget>

#include "app/studio/lens_types.h"

class QComboBox;
class QLabel;

namespace dxl::widgets {
class AttentionHeatmap;
class TokenChips;
}  // namespace dxl::widgets

namespace dxl::studio {

class LensPage : public QWidget {
    Q_OBJECT
  public:
    enum class Quantity { Entropy = 0, Rank = 1, KlToFinal = 2 };

    explicit LensPage(QWidget* parent = nullptr);
    void setLens(const LensResult& lens);
    void clear();
    bool hasLens() const { return m_has; }
    const LensResult& lens() const { return m_lens; }
    void setQuantity(Quantity q);
    Quantity quantity() const;
    // Colours the chips by one row of the teacher (student == false) or student map.
    void selectRow(bool student, int row);

    widgets::AttentionHeatmap* teacherMap() const { return m_teacher; }
    widgets::AttentionHeatmap* studentMap() const { return m_student; }
    widgets::AttentionHeatmap* pairMap() const { return m_pairs; }
    widgets::TokenChips* chips() const { return m_chips; }

  private:
    void redraw();
    void centreOn(int t);
    const HeatmapData& pick(const LensMaps& m) const;

    QComboBox* m_quantity = nullptr;
    QLabel* m_info = nullptr;
    QLabel* m_chipLegend = nullptr;
    widgets::TokenChips* m_chips = nullptr;
    widgets::AttentionHeatmap *m_teacher = nullptr, *m_student = nullptr, *m_pairs = nullptr;
    LensResult m_lens;
    bool m_has = false;
};

}  // namespace dxl::studio
