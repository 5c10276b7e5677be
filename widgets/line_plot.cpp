// LinePlot: series, styles, y autoscale, decimation badge, export.
#include "widgets/line_plot.h"

#include <QJsonArray>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

namespace dxl::widgets {

void padLogAxis(QCPAxis* axis) {
    QCPRange r = axis->range();
    if (r.lower <= 0) r.lower = r.upper > 0 ? r.upper * 1e-6 : 1e-6;
    // Headroom of a quarter decade (at least 25 % of the span) on both sides, so lines at the
    // extremes are not drawn on the axis rectangle's border.
    const double span = std::max(std::log10(r.upper / r.lower), 1.0);
    const double f = std::pow(10.0, 0.25 * span);
    axis->setRange(r.lower / f, r.upper * f);
}

QColor seriesColor(int index) {
    static const QColor colours[] = {
        QColor(0, 114, 178), QColor(213, 94, 0),   QColor(0, 158, 115),   QColor(204, 121, 167),
        QColor(230, 159, 0), QColor(86, 180, 233), QColor(120, 120, 120), QColor(240, 228, 66)};
    return colours[static_cast<size_t>(index) % (sizeof colours / sizeof colours[0])];
}

SeriesStyle LinePlot::seriesStyle(size_t index) const {
    SeriesStyle st = index < m_styles.size() ? m_styles[index] : SeriesStyle{};
    if (st.colour < 0) st.colour = static_cast<int>(index);
    return st;
}

QPen LinePlot::seriesPen(size_t index, double width) const {
    const SeriesStyle st = seriesStyle(index);
    return QPen(seriesColor(st.colour), width, st.pen);
}

namespace {

// Log ticks that stay readable over less than ~1.6 decades, where QCPAxisTickerLog falls back
// to linear steps (0.5, 1, ..., 3.5 crowd together at the top of a log axis): the densest of
// 1-1.5-2-3-5-7, 1-2-5, 1-3 or powers of ten per decade that fits the tick budget.
class NiceLogTicker : public QCPAxisTickerLog {
  protected:
    QVector<double> createTickVector(double tickStep, const QCPRange& range) override {
        if (range.lower <= 0 || range.upper <= 0 || range.upper / range.lower > 40.0)
            return QCPAxisTickerLog::createTickVector(tickStep, range);
        static const std::vector<double> kDense = {1, 1.5, 2, 3, 5, 7}, k125 = {1, 2, 5},
                                         k13 = {1, 3}, k1 = {1};
        for (const std::vector<double>* mantissas : {&kDense, &k125, &k13, &k1}) {
            QVector<double> ticks;
            for (int e = static_cast<int>(std::floor(std::log10(range.lower))) - 1;
                 e <= static_cast<int>(std::ceil(std::log10(range.upper))); ++e) {
                for (double m : *mantissas) {
                    const double v = m * std::pow(10.0, e);
                    if (v >= range.lower * (1 - 1e-9) && v <= range.upper * (1 + 1e-9)) ticks << v;
                }
            }
            // Sparser sets until they fit the tick budget; always at least two ticks.
            if (ticks.size() <= tickCount() + 1 || mantissas == &k1) {
                if (ticks.size() >= 2) return ticks;
                return QCPAxisTickerLog::createTickVector(tickStep, range);
            }
        }
        return QCPAxisTickerLog::createTickVector(tickStep, range);
    }
};

}  // namespace

LinePlot::LinePlot(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_plot = new QCustomPlot(this);
    m_plot->setMinimumSize(160, 100);
    layout->addWidget(m_plot);
    m_plot->plotLayout()->insertRow(0);
    m_title = new QCPTextElement(m_plot, QString(), QFont(font().family(), 9, QFont::Bold));
    m_plot->plotLayout()->addElement(0, 0, m_title);
    // Legend in its own row between the title and the axes, laid out horizontally, so it never
    // covers the data.
    m_plot->legend->setVisible(true);
    QFont lf = m_plot->legend->font();
    lf.setPointSizeF(7.5);
    m_plot->legend->setFont(lf);
    m_plot->legend->setBorderPen(Qt::NoPen);
    m_plot->legend->setBrush(Qt::NoBrush);
    m_plot->axisRect()->insetLayout()->take(m_plot->legend);
    m_plot->plotLayout()->insertRow(1);
    m_plot->plotLayout()->addElement(1, 0, m_plot->legend);
    m_plot->legend->setFillOrder(QCPLegend::foColumnsFirst);
    m_plot->plotLayout()->setRowStretchFactor(1, 0.001);
    m_plot->plotLayout()->setRowSpacing(0);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_cursor = new QCPItemStraightLine(m_plot);
    m_cursor->setPen(QPen(QColor(200, 0, 0), 1, Qt::DashLine));
    m_cursor->setVisible(false);
    // Decimation badge, top-right inside the axis rect (where falling curves leave room); a
    // translucent background keeps it readable over a line.
    m_badge = new QCPItemText(m_plot);
    m_badge->position->setType(QCPItemPosition::ptAxisRectRatio);
    m_badge->position->setAxisRect(m_plot->axisRect());
    m_badge->position->setCoords(1.0, 0.0);
    m_badge->setPositionAlignment(Qt::AlignRight | Qt::AlignTop);
    m_badge->setPadding(QMargins(3, 1, 3, 1));
    m_badge->setFont(QFont(font().family(), 7));
    m_badge->setColor(QColor(90, 90, 90));
    m_badge->setBrush(QColor(255, 255, 255, 210));
    m_badge->setSelectable(false);
    m_badge->setVisible(false);
    connect(m_plot, &QCustomPlot::afterLayout, this, &LinePlot::fitTickCounts);
}

void LinePlot::fitTickCounts() {
    // ~30 px per label keeps 7.5-9 pt tick labels apart on a plot squeezed into a dock.
    const int n = std::clamp(m_plot->axisRect()->rect().height() / 30, 2, m_maxYTicks);
    bool changed = false;
    for (QCPAxis* axis : {m_plot->yAxis, m_plot->yAxis2}) {
        if (axis->ticker()->tickCount() != n) {
            axis->ticker()->setTickCount(n);
            changed = true;
        }
    }
    if (changed) m_plot->replot(QCustomPlot::rpQueuedReplot);  // ticks are set up before layout
}

void LinePlot::setSeries(const std::vector<Series>& series) {
    m_series = series;
    m_plot->clearGraphs();
    const int buckets = std::max(64, m_plot->axisRect()->width());
    size_t points = 0, drawn = 0;
    for (size_t i = 0; i < series.size(); ++i) {
        const Series d = decimateMinMax(series[i], buckets);
        points += series[i].keys.size();
        drawn += d.keys.size();
        const bool right = m_rightFrom >= 0 && static_cast<int>(i) >= m_rightFrom;
        QCPGraph* g = m_plot->addGraph(m_plot->xAxis, right ? m_plot->yAxis2 : m_plot->yAxis);
        g->setName(QString::fromStdString(series[i].name));
        g->setPen(seriesPen(i, 1.6));
        if (seriesStyle(i).markers)
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));
        g->setData(QVector<double>(d.keys.begin(), d.keys.end()),
                   QVector<double>(d.values.begin(), d.values.end()), true);
    }
    m_plot->yAxis2->setVisible(m_rightFrom >= 0 && static_cast<int>(series.size()) > m_rightFrom);
    setDecimation(points, drawn);
    fitYRanges();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void LinePlot::setYScale(const YScaleOptions& options) {
    m_yScale = options;
    if (m_plot->graphCount() > 0) fitYRanges();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void LinePlot::fitYRanges() {
    m_plot->rescaleAxes();
    for (QCPAxis* axis : {m_plot->yAxis, m_plot->yAxis2}) {
        const bool log = axis->scaleType() == QCPAxis::stLogarithmic;
        bool robust = false;
        if (m_yScale.ignoreOutliers) {
            std::vector<const std::vector<double>*> values;
            for (size_t i = 0; i < m_series.size(); ++i) {
                const bool right = m_rightFrom >= 0 && static_cast<int>(i) >= m_rightFrom;
                if (right == (axis == m_plot->yAxis2)) values.push_back(&m_series[i].values);
            }
            const ValueRange r = percentileRange(values, 0.01, 0.99, log);
            if (r.valid) {
                axis->setRange(r.lower, r.upper);
                robust = true;
            }
        }
        // No data on this axis yet (a perplexity plot before the first evaluation): a sane
        // default instead of whatever range QCP derives from nothing (1e-100 .. 1e100 on log).
        bool any = false;
        for (size_t i = 0; i < m_series.size() && !any; ++i) {
            const bool right = m_rightFrom >= 0 && static_cast<int>(i) >= m_rightFrom;
            if (right != (axis == m_plot->yAxis2)) continue;
            for (double v : m_series[i].values)
                any = any || (std::isfinite(v) && (!log || v > 0));
        }
        if (!any) {
            axis->setRange(log ? QCPRange(1.0, 100.0) : QCPRange(0.0, 1.0));
            continue;
        }
        const QCPRange r = axis->range();
        if (log) {
            if (!robust) {
                padLogAxis(axis);
                continue;
            }
            // A small margin (5 % of the decades shown, at least 0.02 decade): the percentile
            // bounds are already inside the data, so the wide padLogAxis headroom would waste it.
            const double f = std::pow(10.0, std::max(0.05 * std::log10(r.upper / r.lower), 0.02));
            axis->setRange(r.lower / f, r.upper * f);
            continue;
        }
        // 5 % headroom so lines at the extremes are not cut by the axis rectangle; from zero,
        // the span includes 0 and only the top gets headroom.
        const bool zero = m_yScale.fromZero && r.lower >= 0;
        const double lower = zero ? 0.0 : r.lower;
        const double span = r.upper - lower;
        const double pad = span > 0 ? 0.05 * span : 0.5;
        axis->setRange(zero ? 0.0 : lower - pad, r.upper + pad);
    }
}

void LinePlot::setDecimation(size_t points, size_t drawn) {
    m_points = points;
    m_drawn = drawn;
    m_badge->setText(decimationText());
    m_badge->setVisible(!m_badge->text().isEmpty());
}

QString LinePlot::decimationText() const {
    if (m_drawn >= m_points) return QString();
    return tr("decimated: %1 \u2192 %2 points (min/max kept)").arg(m_points).arg(m_drawn);
}

void LinePlot::setTitle(const QString& title) {
    m_title->setText(title);
}

void LinePlot::setAxisLabels(const QString& x, const QString& y) {
    m_plot->xAxis->setLabel(x);
    m_plot->yAxis->setLabel(y);
}

void LinePlot::setRightAxis(int firstIndex, const QString& label) {
    m_rightFrom = firstIndex;
    m_plot->yAxis2->setLabel(label);
    m_plot->yAxis2->setTickLabels(true);
}

void LinePlot::setLogY(bool logY) {
    m_logY = logY;
    m_plot->yAxis->setScaleType(logY ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (logY) {
        m_plot->yAxis->setTicker(QSharedPointer<NiceLogTicker>::create());
    } else {
        m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    }
    fitYRanges();  // also gives an empty plot sane axes
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void LinePlot::setCursor(double x) {
    m_cursor->setVisible(!std::isnan(x));
    if (!std::isnan(x)) {
        m_cursor->point1->setCoords(x, 0);
        m_cursor->point2->setCoords(x, 1);
    }
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void LinePlot::renderFigure(QCPPainter& painter, const QSize& size) {
    renderPlot(painter, m_plot, QRect(QPoint(0, 0), size));
}

QString LinePlot::figureCsv() const {
    QString out = QStringLiteral("series,x,y\n");
    for (const auto& s : m_series) {
        for (size_t i = 0; i < s.keys.size(); ++i) {
            out += QStringLiteral("\"%1\",%2,%3\n")
                       .arg(QString::fromStdString(s.name))
                       .arg(s.keys[i], 0, 'g', 10)
                       .arg(s.values[i], 0, 'g', 10);
        }
    }
    return out;
}

QJsonObject LinePlot::figureJson() const {
    QJsonObject o;
    o.insert(QStringLiteral("title"), m_title->text());
    QJsonArray arr;
    for (const auto& s : m_series) {
        QJsonObject so;
        so.insert(QStringLiteral("name"), QString::fromStdString(s.name));
        QJsonArray k, v;
        for (double x : s.keys)
            k.append(x);
        for (double y : s.values)
            v.append(std::isfinite(y) ? QJsonValue(y) : QJsonValue());
        so.insert(QStringLiteral("x"), k);
        so.insert(QStringLiteral("y"), v);
        arr.append(so);
    }
    o.insert(QStringLiteral("series"), arr);
    // What the drawing did to the data (the values above are always full resolution).
    const QJsonObject view = figureProvenance();
    for (auto it = view.begin(); it != view.end(); ++it)
        o.insert(it.key(), it.value());
    return o;
}

QJsonObject LinePlot::figureProvenance() const {
    QJsonObject scale;
    scale.insert(QStringLiteral("ignore_outliers"), m_yScale.ignoreOutliers);
    if (m_yScale.ignoreOutliers) scale.insert(QStringLiteral("percentiles"), QJsonArray{1, 99});
    scale.insert(QStringLiteral("y_from_zero"), m_yScale.fromZero);
    QJsonObject dec;
    dec.insert(QStringLiteral("decimated"), m_drawn < m_points);
    dec.insert(QStringLiteral("points"), static_cast<qint64>(m_points));
    dec.insert(QStringLiteral("drawn"), static_cast<qint64>(m_drawn));
    dec.insert(QStringLiteral("method"), QStringLiteral("min/max per pixel column; data exported "
                                                        "at full resolution"));
    QJsonObject o;
    o.insert(QStringLiteral("y_autoscale"), scale);
    o.insert(QStringLiteral("decimation"), dec);
    return o;
}

}  // namespace dxl::widgets
