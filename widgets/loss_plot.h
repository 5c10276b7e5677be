// Training-loss plot: log y axis (QCPAxisTickerLog), optional log x, each run's raw series
// faded and its debiased EMA drawn on top in the run's colour (ANCHORS_TOOLS rows 36-40). Data
// arrive as whole series from a metrics ring buffer drained on a GUI timer (never one signal
// per step); the raw line is min/max-decimated to the pixel width.
#pragma once

#include "widgets/line_plot.h"

namespace dxl::widgets {

class LossPlot : public LinePlot {
    Q_OBJECT
  public:
    explicit LossPlot(QWidget* parent = nullptr);

    // Replaces all runs (index = run colour).
    void setRuns(const std::vector<Series>& runs);
    void setSmoothing(double beta);  // 0 = off, typical 0.6-0.99
    double smoothing() const { return m_beta; }
    void setLogX(bool logX);
    // Raw + smoothed graphs of run i (for tests).
    QCPGraph* rawGraph(int run) const;
    QCPGraph* smoothGraph(int run) const;

    QString figureCsv() const override;

  private:
    void rebuild();
    double m_beta = 0.9;
};

}  // namespace dxl::widgets
