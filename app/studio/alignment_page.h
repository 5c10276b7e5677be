// The Alignment page: metric selector, the teacher x student head alignment matrix with the
// Hungarian matches (clicking a cell opens that pair in the linked heatmaps) and the editable
// layer map (LayerMapEditor) that decides which teacher layers meet which student blocks.
#pragma once

#include <QWidget>

#include "app/studio/studio_types.h"

class QComboBox;

namespace dxl::widgets {
class AlignmentMatrix;
}

namespace dxl::studio {

class LayerMapEditor;

class AlignmentPage : public QWidget {
    Q_OBJECT
  public:
    explicit AlignmentPage(QWidget* parent = nullptr);
    void setModels(const ModelsLoaded& models);
    void setResult(const AlignmentResult& result);
    LayerMapSpec layerMap() const;
    LayerMapEditor* layerMapEditor() const { return m_layerMap; }
    QString metric() const;
    void setMetric(const QString& metric);
    widgets::AlignmentMatrix* matrix() const { return m_matrix; }

  signals:
    void metricChanged(const QString& metric);
    void layerMapChanged();
    void pairChosen(int teacherLayer, int teacherHead, int studentBlock, int studentHead);

  private:
    QComboBox* m_metric = nullptr;
    widgets::AlignmentMatrix* m_matrix = nullptr;
    LayerMapEditor* m_layerMap = nullptr;
    AlignmentResult m_result;
};

}  // namespace dxl::studio
