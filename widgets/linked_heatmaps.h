// Teacher | student | difference attention panes with synced zoom and pan, one tooltip showing
// both values, the signed difference and both row ranks, a shared or per-pane colour range, and a
// visible label naming the student normalisation and any display filter.
#pragma once

#include <QWidget>

#include "core/base/value_types.h"
#include "widgets/attention_heatmap.h"

class QLabel;

namespace dxl::widgets {

class LinkedHeatmaps : public QWidget, public ExportableFigure {
    Q_OBJECT
  public:
    explicit LinkedHeatmaps(QWidget* parent = nullptr);

    // teacher and student must have the same shape (T x T); the difference is student - teacher.
    // Titles name the layer/head of each pane; normalisation names the student's normalisation.
    // filter: the display filter both maps went through ("" = none), e.g. "top-5/row, sink
    // dropped"; it is appended to every pane title and to the label, and recorded in exports.
    void setMaps(HeatmapData teacher, HeatmapData student, const TokenList& tokens,
                 const QString& teacherTitle, const QString& studentTitle,
                 const QString& normalisation, const QString& filter = QString());
    void clear();

    AttentionHeatmap* teacherPane() const { return m_panes[0]; }
    AttentionHeatmap* studentPane() const { return m_panes[1]; }
    AttentionHeatmap* differencePane() const { return m_panes[2]; }
    QString normalisationText() const;
    QString filterText() const { return m_filter; }

    // One colour range across teacher and student (true) or one per pane.
    void setSharedColorRange(bool shared);
    bool sharedColorRange() const { return m_shared; }
    void setScaleTransform(const ScaleTransform& scale);
    QString combinedTooltip(int row, int col) const;

    void setName(const QString& name) { m_name = name; }
    QString figureName() const override { return m_name; }
    QSize figureSize() const override { return QSize(1500, 560); }
    void renderFigure(QCPPainter& painter, const QSize& size) override;
    QString figureCsv() const override;
    QJsonObject figureJson() const override;
    QJsonObject figureProvenance() const override;

  signals:
    void cellHovered(int row, int col);

  private:
    void syncRange(AttentionHeatmap* source, const QCPRange& x, const QCPRange& y);
    void applyColorRanges();
    QString headerText() const;  // the label: normalisation and display filter

    AttentionHeatmap* m_panes[3] = {nullptr, nullptr, nullptr};
    QLabel* m_normLabel = nullptr;
    QString m_normalisation;
    QString m_filter;  // display filter, "" = none
    QString m_name = QStringLiteral("linked_attention");
    bool m_shared = true;
};

}  // namespace dxl::widgets
