// DistillPlots: the live plots of the Distill dock, fed from RunLogTail series (never one signal
// per step): losses on a log axis with the debiased EMA over the faded raw series, the
// alpha / T / beta / CE-weight / LR schedules of the current run, gradient norm, tokens/s,
// held-out perplexity of student and teacher, and held-out agreement. Several runs overlay with
// one colour per run in every plot; loss terms and teacher/student differ by dash style.
#pragma once

#include <QWidget>
#include <vector>

class QComboBox;
class QDoubleSpinBox;

namespace dxl::widgets {
class ExportableFigure;
class LinePlot;
class LossPlot;
}  // namespace dxl::widgets

namespace dxl::studio {

class RunLogTail;

struct RunView {
    const RunLogTail* run = nullptr;
    int colour = 0;  // widgets::seriesColor index, fixed per run
};

class DistillPlots : public QWidget {
    Q_OBJECT
  public:
    explicit DistillPlots(QWidget* parent = nullptr);

    // Redraws every plot from the runs; `current` indexes the run whose schedules are shown.
    void setRuns(const std::vector<RunView>& runs, int current);
    QList<widgets::ExportableFigure*> figures() const;
    widgets::LossPlot* lossPlot() const { return m_loss; }
    widgets::LinePlot* schedulePlot() const { return m_schedules; }
    widgets::LinePlot* pplPlot() const { return m_ppl; }
    // "total", "all terms" or one term name.
    QString lossTerm() const;

  private:
    void redraw();
    void drawLosses();

    QComboBox* m_term = nullptr;
    QDoubleSpinBox* m_beta = nullptr;
    widgets::LossPlot* m_loss = nullptr;
    widgets::LinePlot *m_schedules = nullptr, *m_grad = nullptr, *m_speed = nullptr;
    widgets::LinePlot *m_ppl = nullptr, *m_agree = nullptr;
    std::vector<RunView> m_runs;
    int m_current = 0;
};

}  // namespace dxl::studio
