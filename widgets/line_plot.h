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

// Pads a log axis range multiplicatively (and clamps a non-positive lower bound).
void padLogAxis(QCPAxis* axis);

// A consistent colour per series index (colour-blind-friendly Okabe-Ito order).
QColor seriesColor(int index);

// How one series is drawn: colour index into seriesColor() (-1 = the series index), dash style,
// and point markers (for sparse series such as evaluations every N steps).
struct SeriesStyle {
    int colour = -1;
    Qt::PenStyle pen = Qt::SolidLine;
    bool markers = false;
};

class LinePlot : public QWidget, public ExportableFigure {
    Q_OBJECT
  public:
    explicit LinePlot(QWidget* parent = nullptr);

    void setSeries(const std::vector<Series>& series);
    // Styles for the next setSeries() (index-aligned; missing entries use the defaults), so
    // several runs keep one colour each across plots.
    void setSeriesStyles(const std::vector<SeriesStyle>& styles) { m_styles = styles; }
    SeriesStyle seriesStyle(size_t index) const;
    QPen seriesPen(size_t index, double width) const;
    void setTitle(const QString& title);
    void setAxisLabels(const QString& x, const QString& y);
    // Series with index >= firstIndex use a second y axis on the right (e.g. a norm and a rank);
    // -1 (default) keeps every series on the left axis.
    void setRightAxis(int firstIndex, const QString& label);
    void setLogY(bool logY);
    bool logY() const { return m_logY; }
    void setCursor(double x);  // vertical marker (e.g. the scrubbed token); NaN hides it
    // At most this many y ticks; fewer on a short plot so tick labels never overlap.
    void setMaxYTicks(int n) { m_maxYTicks = n; }
    QCustomPlot* plot() const { return m_plot; }
    void setName(const QString& name) { m_name = name; }

    QString figureName() const override { return m_name; }
    QSize figureSize() const override { return QSize(640, 300); }
    void renderFigure(QCPPainter& painter, const QSize& size) override;
    QString figureCsv() const override;
    QJsonObject figureJson() const override;

  protected:
    void fitTickCounts();  // after each layout: y tick counts for the axis rect's height
    QCustomPlot* m_plot = nullptr;
    QCPTextElement* m_title = nullptr;
    QCPItemStraightLine* m_cursor = nullptr;
    std::vector<Series> m_series;  // full resolution (what export writes)
    std::vector<SeriesStyle> m_styles;
    bool m_logY = false;
    int m_rightFrom = -1;
    int m_maxYTicks = 5;
    QString m_name = QStringLiteral("line_plot");
};

}  // namespace dxl::widgets
