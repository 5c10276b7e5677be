// Training-loss plot: log y axis (QCPAxisTickerLog), optional log x, each run's raw series
// faded and its smoothed curve (debiased EMA, Gaussian or running mean, computed on the full
// resolution data) drawn on top in the run's colour. Data arrive as
// whole series from a metrics ring buffer drained on a GUI timer (never one signal per step);
// both lines are min/max-decimated to the pixel width, and a badge says so.
#pragma once

#include "widgets/line_plot.h"

namespace dxl::widgets {

class LossPlot : public LinePlot {
    Q_OBJECT
  public:
    explicit LossPlot(QWidget* parent = nullptr);

    // Replaces all runs (index = run colour).
    void setRuns(const std::vector<Series>& runs);
    void setSmoothing(double beta) { setSmoothing(Smoothing::Ema, beta); }  // EMA; 0 = off
    // param: EMA beta in [0, 0.999] (typical 0.6-0.99), Gaussian sigma in steps, running-mean
    // window in steps; 0 (window <= 1) = off.
    void setSmoothing(Smoothing method, double param);
    Smoothing smoothingMethod() const { return m_method; }
    double smoothingParam() const { return m_param; }
    void setLogX(bool logX);
    // Group the runs: one mean line with a filled +-1 std band in the
    // first run's colour instead of a curve per run (graphs: 0 lower, 1 upper, 2 mean).
    void setGroupRuns(bool group);
    bool groupRuns() const { return m_group; }
    // Raw + smoothed graphs of run i when not grouped (for tests).
    QCPGraph* rawGraph(int run) const;
    QCPGraph* smoothGraph(int run) const;

    QString figureCsv() const override;
    QJsonObject figureProvenance() const override;

  private:
    void rebuild();
    void rebuildGroup(int buckets);
    QString smoothingLabel() const;  // e.g. "EMA 0.9, debiased", for the legend
    std::vector<double> smoothed(const Series& s) const;
    Smoothing m_method = Smoothing::Ema;
    double m_param = 0.9;
    bool m_group = false;
};

}  // namespace dxl::widgets
