// LinePlot and the EMA / decimation helpers.
#include "widgets/line_plot.h"

#include <QJsonArray>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

namespace dxl::widgets {

std::vector<double> debiasedEma(const std::vector<double>& values, double beta) {
    std::vector<double> out(values.size(), std::nan(""));
    double s = 0.0;
    int n = 0;
    double last = std::nan("");
    for (size_t t = 0; t < values.size(); ++t) {
        if (std::isfinite(values[t])) {
            s = beta * s + (1.0 - beta) * values[t];
            ++n;
            last = s / (1.0 - std::pow(beta, n));
        }
        out[t] = last;
    }
    return out;
}

Series decimateMinMax(const Series& in, int buckets) {
    const size_t n = in.keys.size();
    if (buckets <= 0 || n <= static_cast<size_t>(2 * buckets)) return in;
    Series out;
    out.name = in.name;
    const double k0 = in.keys.front(), k1 = in.keys.back();
    const double width = (k1 - k0) / buckets;
    size_t i = 0;
    for (int b = 0; b < buckets && i < n; ++b) {
        const double end = (b == buckets - 1) ? k1 : k0 + (b + 1) * width;
        size_t lo = i, hi = i;
        size_t j = i;
        for (; j < n && (in.keys[j] <= end || b == buckets - 1); ++j) {
            if (in.values[j] < in.values[lo]) lo = j;
            if (in.values[j] > in.values[hi]) hi = j;
        }
        if (j == i) continue;
        const size_t first = std::min(lo, hi), second = std::max(lo, hi);
        out.keys.push_back(in.keys[first]);
        out.values.push_back(in.values[first]);
        if (second != first) {
            out.keys.push_back(in.keys[second]);
            out.values.push_back(in.values[second]);
        }
        i = j;
    }
    return out;
}

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
    for (size_t i = 0; i < series.size(); ++i) {
        const Series d = decimateMinMax(series[i], buckets);
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
    m_plot->rescaleAxes();
    // 5 % headroom so lines at the extremes are not cut by the axis rectangle.
    for (QCPAxis* axis : {m_plot->yAxis, m_plot->yAxis2}) {
        if (m_logY && axis == m_plot->yAxis) continue;
        const QCPRange r = axis->range();
        const double pad = r.size() > 0 ? 0.05 * r.size() : 0.5;
        axis->setRange(r.lower - pad, r.upper + pad);
    }
    if (m_logY) padLogAxis(m_plot->yAxis);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
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
    return o;
}

}  // namespace dxl::widgets
