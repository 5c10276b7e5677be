// Alignment matrix: teacher heads (rows) x student heads (columns) for one metric, with the
// Hungarian-matched pairs marked; clicking a cell emits cellClicked(teacherIndex, studentIndex)
// so the app can open that pair in the linked heatmaps.
#pragma once

#include <QWidget>
#include <utility>
#include <vector>

#include "core/base/value_types.h"
#include "widgets/attention_heatmap.h"

namespace dxl::widgets {

class AlignmentMatrix : public QWidget, public ExportableFigure {
    Q_OBJECT
  public:
    explicit AlignmentMatrix(QWidget* parent = nullptr);

    // scores (teacher heads x student heads); labels e.g. "L0H1"; matches = (row, col) pairs.
    void setMatrix(HeatmapData scores, const QStringList& teacherLabels,
                   const QStringList& studentLabels,
                   const std::vector<std::pair<int, int>>& matches, const QString& metric);
    const std::vector<std::pair<int, int>>& matches() const { return m_matches; }
    AttentionHeatmap* heatmap() const { return m_heatmap; }
    QString metric() const { return m_metric; }

    QString figureName() const override { return QStringLiteral("alignment_matrix"); }
    QSize figureSize() const override { return QSize(620, 560); }
    void renderFigure(QCPPainter& painter, const QSize& size) override;
    QString figureCsv() const override;
    QJsonObject figureJson() const override;
    QJsonObject figureProvenance() const override;

  signals:
    void cellClicked(int teacherIndex, int studentIndex);

  private:
    AttentionHeatmap* m_heatmap = nullptr;
    QCPGraph* m_matchMarks = nullptr;
    std::vector<std::pair<int, int>> m_matches;
    QStringList m_teacherLabels, m_studentLabels;
    QString m_metric;
};

}  // namespace dxl::widgets
