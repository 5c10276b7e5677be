// AlignmentMatrix: an AttentionHeatmap (not causal) plus square markers on matched pairs.
#include "widgets/alignment_matrix.h"

#include <QJsonArray>
#include <QVBoxLayout>

namespace dxl::widgets {

namespace {
TokenList labelTokens(const QStringList& labels) {
    TokenList t;
    for (int i = 0; i < labels.size(); ++i) {
        t.ids.push_back(i);
        t.labels.push_back(labels[i].toStdString());
    }
    return t;
}
}  // namespace

AlignmentMatrix::AlignmentMatrix(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_heatmap = new AttentionHeatmap(this);
    m_heatmap->setName(figureName());
    m_heatmap->setAxisTitles(tr("student head (block, head)"), tr("teacher head (layer, head)"));
    layout->addWidget(m_heatmap);
    m_matchMarks = new QCPGraph(m_heatmap->plot()->xAxis, m_heatmap->plot()->yAxis);
    m_matchMarks->setLineStyle(QCPGraph::lsNone);
    m_matchMarks->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssSquare, QPen(QColor(255, 60, 0), 2.5), Qt::NoBrush, 14));
    m_matchMarks->setName(tr("matched (Hungarian)"));
    m_heatmap->setTooltipProvider([this](int r, int c) {
        const HeatmapData& d = m_heatmap->matrix();
        bool matched = false;
        for (const auto& m : m_matches)
            matched = matched || (m.first == r && m.second == c);
        return tr("teacher %1\nstudent %2\n%3 = %4%5")
            .arg(r < m_teacherLabels.size() ? m_teacherLabels[r] : QString::number(r))
            .arg(c < m_studentLabels.size() ? m_studentLabels[c] : QString::number(c))
            .arg(m_metric)
            .arg(static_cast<double>(d.at(r, c)), 0, 'g', 4)
            .arg(matched ? tr("\nmatched pair (click to open)") : tr("\nclick to open this pair"));
    });
    connect(m_heatmap, &AttentionHeatmap::cellClicked, this, &AlignmentMatrix::cellClicked);
}

void AlignmentMatrix::setMatrix(HeatmapData scores, const QStringList& teacherLabels,
                                const QStringList& studentLabels,
                                const std::vector<std::pair<int, int>>& matches,
                                const QString& metric) {
    m_teacherLabels = teacherLabels;
    m_studentLabels = studentLabels;
    m_matches = matches;
    m_metric = metric;
    scores.causal = false;
    scores.quantity = metric.toStdString();
    m_heatmap->setTitle(tr("Alignment: %1 (\u25a1 = Hungarian match)").arg(metric));
    m_heatmap->setMatrix(std::move(scores), labelTokens(teacherLabels), labelTokens(studentLabels));
    QVector<double> xs, ys;
    for (const auto& m : matches) {
        xs << m.second;
        ys << m.first;
    }
    m_matchMarks->setData(xs, ys);
    m_heatmap->plot()->replot(QCustomPlot::rpQueuedReplot);
}

void AlignmentMatrix::renderFigure(QCPPainter& painter, const QSize& size) {
    m_heatmap->renderFigure(painter, size);
}

QString AlignmentMatrix::figureCsv() const {
    const HeatmapData& d = m_heatmap->matrix();
    return matrixCsv(m_teacherLabels, m_studentLabels, d.values.data(), d.rows, d.cols);
}

QJsonObject AlignmentMatrix::figureJson() const {
    QJsonObject o = m_heatmap->figureJson();
    o.insert(QStringLiteral("metric"), m_metric);
    o.insert(QStringLiteral("teacher_heads"), QJsonArray::fromStringList(m_teacherLabels));
    o.insert(QStringLiteral("student_heads"), QJsonArray::fromStringList(m_studentLabels));
    QJsonArray pairs;
    for (const auto& m : m_matches)
        pairs.append(QJsonArray{m.first, m.second});
    o.insert(QStringLiteral("matches"), pairs);
    return o;
}

QJsonObject AlignmentMatrix::figureProvenance() const {
    QJsonObject o = m_heatmap->figureProvenance();
    o.insert(QStringLiteral("metric"), m_metric);
    o.insert(QStringLiteral("matching"),
             QStringLiteral("Hungarian (minimum total cost: the distance, or 1 - similarity)"));
    return o;
}

}  // namespace dxl::widgets
