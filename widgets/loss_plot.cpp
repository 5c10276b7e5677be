// LossPlot: faded raw series + debiased EMA per run on a log axis.
#include "widgets/loss_plot.h"

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

void LossPlot::setSmoothing(double beta) {
    m_beta = std::clamp(beta, 0.0, 0.999);
    rebuild();
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

void LossPlot::rebuild() {
    m_plot->clearGraphs();
    const int buckets = std::max(64, m_plot->axisRect()->width());
    for (size_t i = 0; i < m_series.size(); ++i) {
        const Series& s = m_series[i];
        const QPen pen = seriesPen(i, 2.0);
        const QColor c = pen.color();
        const Series raw = decimateMinMax(s, buckets);
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
        smooth.values = m_beta > 0 ? debiasedEma(s.values, m_beta) : s.values;
        const Series sm = decimateMinMax(smooth, buckets);
        QCPGraph* gs = m_plot->addGraph();
        gs->setPen(pen);
        // Several series: short legend entries (the title says what the bold lines are).
        gs->setName(m_series.size() > 1
                        ? QString::fromStdString(s.name)
                        : QString::fromStdString(s.name) + tr(" (EMA %1, debiased)").arg(m_beta));
        gs->setData(QVector<double>(sm.keys.begin(), sm.keys.end()),
                    QVector<double>(sm.values.begin(), sm.values.end()), true);
    }
    m_plot->rescaleAxes();
    if (m_logY) padLogAxis(m_plot->yAxis);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QString LossPlot::figureCsv() const {
    QString out = QStringLiteral("run,step,loss,loss_ema_debiased\n");
    for (const auto& s : m_series) {
        const std::vector<double> ema = debiasedEma(s.values, m_beta);
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

}  // namespace dxl::widgets
