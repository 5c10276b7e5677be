// LossPlot: faded raw series + a smoothed curve per run on a log axis.
#include "widgets/loss_plot.h"

#include <QJsonObject>
#include <cmath>

namespace dxl::widgets {

LossPlot::LossPlot(QWidget* parent) : LinePlot(parent) {
    setName(QStringLiteral("loss"));
    setAxisLabels(tr("step"), tr("loss"));
    setLogY(true);
}

void LossPlot::setRuns(const std::vector<Series>& runs) {
    m_series = runs;
    rebuild();
}

void LossPlot::setSmoothing(Smoothing method, double param) {
    m_method = method;
    // EMA beta of 1 would freeze the curve; sigma / window far beyond the run are pointless.
    m_param = std::clamp(param, 0.0, method == Smoothing::Ema ? 0.999 : 1e6);
    rebuild();
}

std::vector<double> LossPlot::smoothed(const Series& s) const {
    return smoothCurve(s.keys, s.values, m_method, m_param);
}

QString LossPlot::smoothingLabel() const {
    switch (m_method) {
        case Smoothing::Ema:
            return tr("EMA %1, debiased").arg(m_param);
        case Smoothing::Gaussian:
            return tr("Gaussian \u03c3 %1 steps").arg(m_param);
        case Smoothing::RunningMean:
            return tr("running mean of %1 steps").arg(m_param);
    }
    return QString();
}

void LossPlot::setLogX(bool logX) {
    m_plot->xAxis->setScaleType(logX ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (logX) {
        m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    } else {
        m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    }
    rebuild();
}

QCPGraph* LossPlot::rawGraph(int run) const {
    return m_plot->graph(2 * run);
}
QCPGraph* LossPlot::smoothGraph(int run) const {
    return m_plot->graph(2 * run + 1);
}

void LossPlot::setGroupRuns(bool group) {
    m_group = group;
    rebuild();
}

void LossPlot::rebuild() {
    m_plot->clearGraphs();
    const int buckets = std::max(64, m_plot->axisRect()->width());
    if (m_group && !m_series.empty()) {
        rebuildGroup(buckets);
        return;
    }
    size_t points = 0, drawn = 0;
    for (size_t i = 0; i < m_series.size(); ++i) {
        const Series& s = m_series[i];
        const QPen pen = seriesPen(i, 2.0);
        const QColor c = pen.color();
        const Series raw = decimateMinMax(s, buckets);
        points += s.keys.size();
        drawn += raw.keys.size();
        QCPGraph* gr = m_plot->addGraph();
        QColor faded = c;
        faded.setAlpha(60);
        gr->setPen(QPen(faded, 1.0, pen.style()));
        gr->setName(QString::fromStdString(s.name) + tr(" (raw)"));
        if (m_series.size() > 1) gr->removeFromLegend();  // one legend entry per series
        gr->setData(QVector<double>(raw.keys.begin(), raw.keys.end()),
                    QVector<double>(raw.values.begin(), raw.values.end()), true);
        Series smooth;
        smooth.keys = s.keys;
        smooth.values = smoothed(s);
        const Series sm = decimateMinMax(smooth, buckets);
        QCPGraph* gs = m_plot->addGraph();
        gs->setPen(pen);
        // Several series: short legend entries (the title says what the bold lines are).
        gs->setName(m_series.size() > 1 ? QString::fromStdString(s.name)
                                        : QString::fromStdString(s.name) +
                                              QStringLiteral(" (%1)").arg(smoothingLabel()));
        gs->setData(QVector<double>(sm.keys.begin(), sm.keys.end()),
                    QVector<double>(sm.values.begin(), sm.values.end()), true);
    }
    setDecimation(points, drawn);
    fitYRanges();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void LossPlot::rebuildGroup(int buckets) {
    // Smooth each run first, then aggregate: the band shows how the runs' trends disagree, not
    // their step-to-step noise.
    std::vector<Series> runs;
    for (const Series& s : m_series)
        runs.push_back(Series{s.name, s.keys, smoothed(s)});
    const MeanStd m = meanStdByStep(runs);
    const bool log = m_plot->yAxis->scaleType() == QCPAxis::stLogarithmic;
    Series mean{"mean", m.keys, m.mean}, lower{"lower", m.keys, {}}, upper{"upper", m.keys, {}};
    for (size_t i = 0; i < m.keys.size(); ++i) {
        const double lo = m.mean[i] - m.stddev[i];
        // A log axis cannot show mean - std <= 0: clip the band a few decades below the mean.
        lower.values.push_back(log && lo <= 0 ? m.mean[i] * 1e-3 : lo);
        upper.values.push_back(m.mean[i] + m.stddev[i]);
    }
    const QPen pen = seriesPen(0, 2.0);
    QColor edge = pen.color(), fill = pen.color();
    edge.setAlpha(90);
    fill.setAlpha(50);
    auto add = [&](const Series& s, const QPen& p) {
        const Series d = decimateMinMax(s, buckets);
        QCPGraph* g = m_plot->addGraph();
        g->setPen(p);
        g->setData(QVector<double>(d.keys.begin(), d.keys.end()),
                   QVector<double>(d.values.begin(), d.values.end()), true);
        return g;
    };
    QCPGraph* gl = add(lower, QPen(edge, 0.8));
    QCPGraph* gu = add(upper, QPen(edge, 0.8));
    gl->setBrush(fill);
    gl->setChannelFillGraph(gu);
    gl->removeFromLegend();
    gu->removeFromLegend();
    QCPGraph* gm = add(mean, QPen(pen.color(), 2.0));
    gm->setName(tr("mean \u00b1 std of %1 runs (%2)").arg(m_series.size()).arg(smoothingLabel()));
    setDecimation(m.keys.size(), static_cast<size_t>(gm->dataCount()));
    fitYRanges();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QString LossPlot::figureCsv() const {
    const QString column = m_method == Smoothing::Ema
                               ? QStringLiteral("loss_ema_debiased")
                               : QStringLiteral("loss_") + QLatin1String(smoothingName(m_method));
    QString out = QStringLiteral("run,step,loss,%1\n").arg(column);
    for (const auto& s : m_series) {
        const std::vector<double> ema = smoothed(s);
        for (size_t i = 0; i < s.keys.size(); ++i) {
            out += QStringLiteral("\"%1\",%2,%3,%4\n")
                       .arg(QString::fromStdString(s.name))
                       .arg(s.keys[i], 0, 'g', 10)
                       .arg(s.values[i], 0, 'g', 10)
                       .arg(ema[i], 0, 'g', 10);
        }
    }
    return out;
}

QJsonObject LossPlot::figureProvenance() const {
    QJsonObject o = LinePlot::figureProvenance();
    QJsonObject sm;
    sm.insert(QStringLiteral("method"), QLatin1String(smoothingName(m_method)));
    switch (m_method) {
        case Smoothing::Ema:
            sm.insert(QStringLiteral("beta"), m_param);
            sm.insert(QStringLiteral("debiased"), true);
            break;
        case Smoothing::Gaussian:
            sm.insert(QStringLiteral("sigma_steps"), m_param);
            sm.insert(QStringLiteral("truncation_sigmas"), 3);
            break;
        case Smoothing::RunningMean:
            sm.insert(QStringLiteral("window_steps"), m_param);
            break;
    }
    sm.insert(QStringLiteral("on"), m_param > (m_method == Smoothing::RunningMean ? 1.0 : 0.0));
    o.insert(QStringLiteral("smoothing"), sm);
    QJsonObject group;
    group.insert(QStringLiteral("on"), m_group);
    if (m_group) {
        group.insert(QStringLiteral("runs"), static_cast<int>(m_series.size()));
        group.insert(QStringLiteral("band"),
                     QStringLiteral("mean \u00b1 population std (ddof 0) of the smoothed runs at "
                                    "equal steps"));
    }
    o.insert(QStringLiteral("group_runs"), group);
    return o;
}

}  // namespace dxl::widgets
