// The Heads dock: head grids (small multiples) of teacher and student plus the sortable per-head
// metrics table. Activating a head asks the main window to open it in the linked heatmaps.
#pragma once

#include <QWidget>

#include "app/studio/studio_types.h"

namespace dxl::widgets {
class HeadGrid;
class HeadMetricsView;
}  // namespace dxl::widgets

namespace dxl::studio {

class HeadsDock : public QWidget {
    Q_OBJECT
  public:
    explicit HeadsDock(QWidget* parent = nullptr);
    void setSummary(const ModelsLoaded& models, const InspectSummary& summary);
    widgets::HeadGrid* teacherGrid() const { return m_teacher; }
    widgets::HeadGrid* studentGrid() const { return m_student; }
    widgets::HeadMetricsView* metricsView() const { return m_metrics; }

  signals:
    void teacherHeadChosen(int layer, int head);
    void studentHeadChosen(int block, int head);

  private:
    widgets::HeadGrid* m_teacher = nullptr;
    widgets::HeadGrid* m_student = nullptr;
    widgets::HeadMetricsView* m_metrics = nullptr;
};

}  // namespace dxl::studio
