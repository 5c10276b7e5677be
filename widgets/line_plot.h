// Line plots for traces over tokens or steps: LinePlot (several named series, optional log y,
// a vertical cursor linked to a time scrubber, min/max decimation to the pixel width before
// drawing) plus the pure helpers debiasedEma() and decimateMinMax() that LossPlot also uses.
#pragma once

#include "widgets/qcp.h"

#include <QWidget>
#include <vector>

#include "core/base/value_types.h"
#include "widgets/figure_export.h"

namespace dxl::widgets {

// TensorBoard-style debiased EMA: s_t = beta s_{t-1} + (1 - beta) x_t, s_0 = 0, reported as
// s_t / (1 - beta^t) (t counted from 1). NaN inputs are skipped (the output repeats the last
// value).
std::vector<double> debiasedEma(const std::vector<double>& values, double beta);

// Min/max-preserving decimation into `buckets` equal key intervals: each bucket keeps its min
// and max points in key order, so spikes survive. Returns the input when it is already small.
Series decimateMinMax(const Series& in, int buckets);

// A consistent colour per series index (colour-blind-friendly Okabe-Ito order).
QColor seriesColor(int index);

class LinePlot : public QWidget, public ExportableFigure {
    Q_OBJECT
  public:
    explicit LinePlot(QWidget* parent = nullptr);

    void setSeries(const std::vector<Series>& series);
    void setTitle(const QString& title);
    void setAxisLabels(const QString& x, const QString& y);
    // Series with index >= firstIndex use a second y axis on the right (e.g. a norm and a rank);
    // -1 (default) keeps every series on the left axis.
    void setRightAxis(int firstIndex, const QString& label);
    void setLogY(bool logY);
    bool logY() const { return m_logY; }
    void setCursor(double x);  // vertical marker (e.g. the scrubbed token); NaN hides it
    QCustomPlot* plot() const { return m_plot; }
    void setName(const QString& name) { m_name = name; }

    QString figureName() const override { return m_name; }
    QSize figureSize() const override { return QSize(640, 300); }
    void renderFigure(QCPPainter& painter, const QSize& size) override;
    QString figureCsv() const override;
    QJsonObject figureJson() const override;

  protected:
    QCustomPlot* m_plot = nullptr;
    QCPTextElement* m_title = nullptr;
    QCPItemStraightLine* m_cursor = nullptr;
    std::vector<Series> m_series;  // full resolution (what export writes)
    bool m_logY = false;
    int m_rightFrom = -1;
    QString m_name = QStringLiteral("line_plot");
};

}  // namespace dxl::widgets
