// Small multiples of every (layer, head) attention map of one model, with keyboard navigation
// (arrows: head left/right, layer up/down; Home/End; Enter activates) and an optional per-cell
// score drawn as the cell border (e.g. alignment of the matched head). Thumbnails are painted
// from QImages (cheap for hundreds of heads); each arrives already downsampled by the worker.
// When cells get too small for a thumbnail to show anything (a 24 x 14 teacher in a dock) and a
// per-head metric is set, the grid becomes a layer x head heatmap of that metric; hovering a
// cell names the head and its value, in both modes.
#pragma once

#include <QImage>
#include <QWidget>
#include <vector>

#include "core/base/value_types.h"
#include "widgets/figure_export.h"

namespace dxl::widgets {

class HeadGrid : public QWidget, public ExportableFigure {
    Q_OBJECT
  public:
    explicit HeadGrid(QWidget* parent = nullptr);

    // thumbnails: layers * heads maps, layer-major; an empty map draws rowNotes[layer] instead
    // (e.g. "sLSTM: no attention").
    void setThumbnails(std::vector<HeatmapData> thumbnails, int layers, int heads,
                       const QString& title, const QString& layerPrefix = QStringLiteral("L"),
                       const QStringList& rowNotes = QStringList());
    // Optional scores in [0, 1] per cell (layer-major); NaN = none. Drawn as border thickness.
    void setCellScores(std::vector<double> scores);
    // Per-cell metric values (layer-major, NaN = none) named `metric` ("entropy"): the colour
    // of each cell when cells are smaller than thumbnailMinSide() pixels.
    void setCellValues(std::vector<double> values, const QString& metric);
    static constexpr int thumbnailMinSide() { return 40; }
    bool showsMetricHeatmap() const;  // at the current size
    int layers() const { return m_layers; }
    int heads() const { return m_heads; }
    int currentLayer() const { return m_curLayer; }
    int currentHead() const { return m_curHead; }
    QRect cellRect(int layer, int head) const;

    QString figureName() const override { return m_name; }
    void setName(const QString& name) { m_name = name; }
    QSize figureSize() const override;
    void renderFigure(QCPPainter& painter, const QSize& size) override;
    QString figureCsv() const override;
    QJsonObject figureJson() const override;

    QSize sizeHint() const override;
    // Metric heatmap cells of at least 4 x 6 px: a 32-layer teacher stays a readable heatmap
    // when a dock shares the height.
    QSize minimumSizeHint() const override;

  signals:
    void currentChanged(int layer, int head);
    void activated(int layer, int head);

  public slots:
    void setCurrent(int layer, int head);

  protected:
    void paintEvent(QPaintEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;

  private:
    void paintGrid(QPainter& p, const QSize& size) const;
    bool heatmapAt(const QSize& size) const;
    bool hitTest(const QPoint& pos, int* layer, int* head) const;

    std::vector<HeatmapData> m_thumbs;
    std::vector<QImage> m_images;
    std::vector<double> m_scores;
    std::vector<double> m_values;
    QString m_metric;
    QStringList m_rowNotes;
    QString m_title, m_prefix = QStringLiteral("L"), m_name = QStringLiteral("head_grid");
    int m_layers = 0, m_heads = 0, m_curLayer = 0, m_curHead = 0;
};

// Colours a map into an image (viridis, or RdBu symmetric about 0 for signed data); NaN -> light
// grey.
QImage heatmapImage(const HeatmapData& data);

}  // namespace dxl::widgets
