// The Heads dock: head grids (small multiples) of teacher and student plus the sortable per-head
// metrics table. Activating a head asks the main window to open it in the linked heatmaps. A
// metric chooser colours grids whose cells are too small for thumbnails (layer x head heatmap)
// and sorts the table by that metric, so its top rows are the top heads.
#pragma once

#include <QWidget>
#include <vector>

#include "app/studio/studio_types.h"

namespace dxl::widgets {
class HeadGrid;
class HeadMetricsView;
}  // namespace dxl::widgets
class QComboBox;

namespace dxl::studio {

class HeadsDock : public QWidget {
    Q_OBJECT
  public:
    explicit HeadsDock(QWidget* parent = nullptr);
    void setSummary(const ModelsLoaded& models, const InspectSummary& summary);
    // Per head (layer-major), the score of its best match in the other model under the
    // alignment page's metric (NaN: not compared); `metric` names it, e.g. "cka".
    void setAlignmentValues(std::vector<double> teacher, std::vector<double> student,
                            const QString& metric);
    widgets::HeadGrid* teacherGrid() const { return m_teacher; }
    widgets::HeadGrid* studentGrid() const { return m_student; }
    widgets::HeadMetricsView* metricsView() const { return m_metrics; }
    QComboBox* metricChooser() const { return m_metric; }

  signals:
    void teacherHeadChosen(int layer, int head);
    void studentHeadChosen(int block, int head);

  private:
    void applyMetric();

    QComboBox* m_metric = nullptr;
    std::vector<HeadMetrics> m_values;
    std::vector<double> m_teacherAlignment, m_studentAlignment;
    QString m_alignmentMetric;
    int m_teacherLayers = 0, m_teacherHeads = 0, m_studentLayers = 0, m_studentHeads = 0;
    widgets::HeadGrid* m_teacher = nullptr;
    widgets::HeadGrid* m_student = nullptr;
    widgets::HeadMetricsView* m_metrics = nullptr;
};

}  // namespace dxl::studio
