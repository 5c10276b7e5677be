// Line plots for traces over tokens or steps: LinePlot (several named series, optional log y,
// a vertical cursor linked to a time scrubber, min/max decimation to the pixel width before
// drawing with a badge that says so, percentile autoscale). The pure curve math
// (debiasedEma(), decimateMinMax(), ...) lives in curve_math.h.
#pragma once

#include "widgets/qcp.h"

#include <QWidget>
#include <vector>

#include "core/base/value_types.h"
#include "widgets/curve_math.h"
#include "widgets/figure_export.h"

namespace dxl::widgets {

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

// How the y axes fit the data. ignoreOutliers: the [1st, 99th]
// percentile of the finite data (positive data on log axes) plus a small margin, so one spike
// does not flatten the curve. fromZero: linear axes of non-negative data start at 0.
struct YScaleOptions {
    bool ignoreOutliers = false;
    bool fromZero = false;
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
    void setYScale(const YScaleOptions& options);  // refits the y axes now
    YScaleOptions yScale() const { return m_yScale; }
    // The decimation badge's text ("decimated: 120000 → 4000 points (min/max kept)"); empty
    // when every shown series is drawn at full resolution.
    QString decimationText() const;
    QCustomPlot* plot() const { return m_plot; }
    void setName(const QString& name) { m_name = name; }

    QString figureName() const override { return m_name; }
    QSize figureSize() const override { return QSize(640, 300); }
    void renderFigure(QCPPainter& painter, const QSize& size) override;
    QString figureCsv() const override;
    QJsonObject figureJson() const override;
    // Autoscale and decimation (and, in LossPlot, smoothing): what the figure shows.
    QJsonObject figureProvenance() const override;

  protected:
    void fitTickCounts();  // after each layout: y tick counts for the axis rect's height
    // Rescales x to the data and y per YScaleOptions (over m_series, full resolution).
    void fitYRanges();
    // Shows the badge when drawn < points (totals over the shown data series).
    void setDecimation(size_t points, size_t drawn);
    QCPItemText* m_badge = nullptr;
    size_t m_points = 0, m_drawn = 0;
    YScaleOptions m_yScale;
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
