// DistillPlots: the live plots of the Distill dock, fed from RunLogTail series (never one signal
// per step): losses on a log axis with the debiased EMA over the faded raw series, the
// alpha / T / beta / CE-weight / LR schedules of the current run, gradient norm, tokens/s,
// held-out perplexity of student and teacher, held-out agreement, and (runs with
// "eval_alignment") the JS of every Hungarian-matched teacher/student head pair over the
// evaluations, with their mean. Several runs overlay with
// one colour per run in every plot; loss terms and teacher/student differ by dash style.
// The control row picks the loss smoothing (EMA / Gaussian / running mean, one parameter) and
// the y autoscale of every plot ("ignore outliers", "y from 0"); they go into each figure's
// provenance and JSON export. "group runs" draws the selected loss term of all runs as a mean
// line with a +-1 std band.
#pragma once

#include <QWidget>
#include <vector>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QTabWidget;

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
    widgets::LinePlot* alignmentPlot() const { return m_align; }
    // The plot pages: 0 training plots, 1 head alignment.
    QTabWidget* pages() const { return m_pages; }
    // True when a run logged head alignment (then alignmentPlot() is among figures()).
    bool hasAlignment() const;
    // "total", "all terms" or one term name.
    QString lossTerm() const;
    // The smoothing controls: method combo (EMA, Gaussian, running mean) and its parameter.
    QComboBox* smoothingCombo() const { return m_smoothing; }
    QDoubleSpinBox* smoothingParam() const { return m_param; }
    QLabel* smoothingParamLabel() const { return m_paramLabel; }
    QCheckBox* ignoreOutliersBox() const { return m_ignoreOutliers; }
    QCheckBox* yFromZeroBox() const { return m_fromZero; }
    // Several runs of the selected term ("total" when "all terms") as one mean +- std band.
    QCheckBox* groupRunsBox() const { return m_group; }

  private:
    void onSmoothingMethodChanged();
    void applySmoothing();
    void applyYScale();
    void redraw();
    void drawLosses();
    void drawAlignment();

    QComboBox* m_term = nullptr;
    QComboBox* m_smoothing = nullptr;
    QLabel* m_paramLabel = nullptr;
    QDoubleSpinBox* m_param = nullptr;
    QCheckBox *m_ignoreOutliers = nullptr, *m_fromZero = nullptr, *m_group = nullptr;
    // The parameter per method (EMA beta, sigma, window), kept when switching back and forth.
    double m_params[3] = {0.8, 5.0, 20.0};
    QTabWidget* m_pages = nullptr;
    widgets::LossPlot* m_loss = nullptr;
    widgets::LinePlot *m_schedules = nullptr, *m_grad = nullptr, *m_speed = nullptr;
    widgets::LinePlot *m_ppl = nullptr, *m_agree = nullptr, *m_align = nullptr;
    std::vector<RunView> m_runs;
    int m_current = 0;
};

}  // namespace dxl::studio
