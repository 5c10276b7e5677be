// One attention-style heatmap (rows = queries, cols = keys) on a QCPColorMap: cell-exact
// (setInterpolate(false)), causal upper triangle masked (transparent over a grey background),
// token labels on both axes thinned to what fits, a hover tooltip with query/key tokens, indices,
// value and row rank, colormap + linear/log/gamma colour scale, and a level-of-detail pyramid built
// off the GUI thread for large T (heatmap_lod.h). When zoomed in, a minimap in the top-right corner
// of the axis rect (where a causal map's mask leaves empty space) shows the whole map from the
// coarsest LOD level with the visible window outlined; clicking or dragging in it recentres the
// view.
#pragma once

#include "widgets/qcp.h"

#include <QFutureWatcher>
#include <QWidget>
#include <functional>
#include <memory>
#include <utility>

#include "core/base/value_types.h"
#include "widgets/colormaps.h"
#include "widgets/figure_export.h"
#include "widgets/heatmap_lod.h"

namespace dxl::widgets {

class HeatmapMinimap;

class AttentionHeatmap : public QWidget, public ExportableFigure {
    Q_OBJECT
  public:
    // Matrices with more cells than this build their pyramid on a worker thread.
    static constexpr long long kSyncCells = 512LL * 512LL;

    explicit AttentionHeatmap(QWidget* parent = nullptr);
    ~AttentionHeatmap() override;

    // New matrix (and the tokens of its rows and columns). Keeps the view range when the shape is
    // unchanged (switching heads), else resets it. Large matrices show once lodReady() fires.
    void setMatrix(HeatmapData newData, const TokenList& rowTokens, const TokenList& colTokens);
    void clear();
    const HeatmapData& matrix() const { return *m_data; }
    const TokenList& rowTokens() const { return m_rowTokens; }
    const TokenList& colTokens() const { return m_colTokens; }

    void setTitle(const QString& title);
    QString title() const { return m_titleText; }
    // The title as drawn (lines elided to the pane) and the rectangle it may use.
    QString shownTitle() const;
    QRect titleRect() const;
    void setAxisTitles(const QString& x, const QString& y);
    void setName(const QString& name) { m_name = name; }  // figure-name stem for export

    void setColormap(Colormap map);
    Colormap colormap() const { return m_colormap; }
    void setScaleTransform(const ScaleTransform& scale);
    const ScaleTransform& scaleTransform() const { return m_scale; }
    // Colour range in data units. Auto = the matrix's own finite range (symmetric about 0 for
    // signed data); a fixed range is how LinkedHeatmaps shares one scale across panes.
    void setColorRange(double lo, double hi);
    void setAutoColorRange();
    bool autoColorRange() const { return m_autoRange; }
    QCPRange colorRange() const;  // data units
    QCPRange dataRange() const;   // finite range of the matrix (data units)

    // Replaces the default tooltip (row = query, col = key, full-resolution indices).
    void setTooltipProvider(std::function<QString(int row, int col)> provider);
    QString defaultTooltip(int row, int col) const;
    QString tooltipAt(int row, int col) const;
    // Rank of the cell's value within its (unmasked) row: 1 = largest.
    int rowRank(int row, int col) const;

    QCustomPlot* plot() const { return m_plot; }
    QSize sizeHint() const override { return QSize(360, 360); }  // the plot has no layout
    QCPColorMap* colorMapItem() const { return m_map; }
    int currentLevel() const { return m_level; }
    bool lodPending() const { return m_watcher.isRunning(); }
    QCPRange viewRangeX() const;
    QCPRange viewRangeY() const;
    // Ticks currently labelled on the x axis (after thinning), for tests.
    int visibleTickLabelCount() const { return m_xTickCount; }

    // Overview inset shown while the view does not contain the whole matrix (default on).
    void setMinimapEnabled(bool enabled);
    bool minimapEnabled() const { return m_minimapEnabled; }
    bool minimapVisible() const;
    // The minimap's geometry in m_plot coordinates (empty when hidden), and the visible window's
    // rectangle in minimap coordinates (its top-left is matrix cell (0, 0)'s corner), for tests.
    QRect minimapGeometry() const;
    QRectF minimapViewRect() const;
    // Recentres the view on a full-resolution matrix position (what a minimap click does): keeps
    // the zoom, clamps to the matrix, and emits viewRangeChanged so linked panes follow.
    void centreViewOn(double col, double row);

    // ExportableFigure
    QString figureName() const override { return m_name; }
    QSize figureSize() const override { return QSize(560, 520); }
    void renderFigure(QCPPainter& painter, const QSize& size) override;
    // Draws the plot into rect, laid out (and its tick labels thinned) for that size.
    void renderInto(QCPPainter& painter, const QRect& rect);
    QString figureCsv() const override;
    QJsonObject figureJson() const override;
    QJsonObject figureProvenance() const override;

  signals:
    void cellHovered(int row, int col);
    void cellClicked(int row, int col);
    void viewRangeChanged(const QCPRange& x, const QCPRange& y);
    void lodReady();

  public slots:
    void setViewRange(const QCPRange& x, const QCPRange& y);
    void resetView();
    // Re-crops the LOD window and relabels ticks now (normally coalesced by a timer).
    void refreshNow();

  protected:
    void resizeEvent(QResizeEvent* event) override;

  private:
    // Square matrices keep square cells: the plot is centred at the size whose axis rectangle
    // is square (the rest of the pane stays empty rather than stretching the map).
    void placePlot();
    void fitTitle(int width);  // the shown title: each line of m_titleText elided to width
    void onMouseMove(QMouseEvent* event);
    void onMousePress(QMouseEvent* event);
    void onRangeChanged();
    void onPyramidReady();
    void applyWindow();
    void updateTicks();
    void updateColorScale();
    bool cellAt(const QPoint& pos, int* row, int* col) const;
    // Visible cell index range at full resolution, clamped to the matrix.
    void visibleCells(int* r0, int* r1, int* c0, int* c1) const;
    void updateMinimap();  // placement, visibility, view rectangle and (when stale) its image

    QCustomPlot* m_plot = nullptr;
    QCPColorMap* m_map = nullptr;
    QCPColorScale* m_colorScale = nullptr;
    QCPTextElement* m_title = nullptr;
    QSharedPointer<QCPAxisTickerText> m_xTicker;
    QSharedPointer<QCPAxisTickerText> m_yTicker;
    QTimer* m_refreshTimer = nullptr;

    std::shared_ptr<const HeatmapData> m_data;
    std::pair<float, float> m_finiteRange{0.0f, 0.0f};  // of *m_data, cached
    std::shared_ptr<const HeatmapPyramid> m_pyramid;
    QFutureWatcher<std::shared_ptr<const HeatmapPyramid>> m_watcher;
    quint64 m_generation = 0;  // drops stale pyramid jobs
    TokenList m_rowTokens, m_colTokens;
    QString m_titleText, m_name = QStringLiteral("heatmap");
    Colormap m_colormap = Colormap::Viridis;
    bool m_colormapExplicit = false;
    ScaleTransform m_scale;
    bool m_autoRange = true;
    double m_rangeLo = 0.0, m_rangeHi = 1.0;
    std::function<QString(int, int)> m_tooltipProvider;
    int m_level = 0;
    int m_xTickCount = 0;
    bool m_inRangeUpdate = false;
    HeatmapMinimap* m_minimap = nullptr;  // child of m_plot: never part of toPainter() exports
    bool m_minimapEnabled = true;
};

}  // namespace dxl::widgets
