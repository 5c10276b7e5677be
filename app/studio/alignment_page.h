// The Alignment page: metric selector and the teacher x student head alignment matrix with the
// Hungarian matches; clicking a cell opens that pair in the linked heatmaps.
#pragma once

#include <QWidget>

#include "app/studio/studio_types.h"

class QComboBox;

namespace dxl::widgets {
class AlignmentMatrix;
}

namespace dxl::studio {

class AlignmentPage : public QWidget {
    Q_OBJECT
  public:
    explicit AlignmentPage(QWidget* parent = nullptr);
    void setResult(const AlignmentResult& result);
    QString metric() const;
    void setMetric(const QString& metric);
    widgets::AlignmentMatrix* matrix() const { return m_matrix; }

  signals:
    void metricChanged(const QString& metric);
    void pairChosen(int teacherLayer, int teacherHead, int studentBlock, int studentHead);

  private:
    QComboBox* m_metric = nullptr;
    widgets::AlignmentMatrix* m_matrix = nullptr;
    AlignmentResult m_result;
};

}  // namespace dxl::studio
