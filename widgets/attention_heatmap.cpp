// AttentionHeatmap: QCPColorMap view with LOD windows, thinned token ticks and hover tooltips.
#include "widgets/attention_heatmap.h"

#include <QFontMetrics>
#include <QJsonArray>
#include <QPainter>
#include <QResizeEvent>
#include <QToolTip>
#include <QtConcurrent/QtConcurrentRun>
#include <cmath>
#include <limits>

#include "widgets/token_text.h"

namespace dxl::widgets {

namespace {

QString tokenAxisLabel(const TokenList& tokens, int i) {
    QString text = visibleTokenText(tokens.label(i));
    if (text.isEmpty()) return QString::number(i);  // no tokens (e.g. state dimensions): index
    if (text.size() > 12) text = text.left(11) + QChar(0x2026);
    return QStringLiteral("%1 (%2)").arg(text).arg(i);
}

// Smallest step in 1, 2, 5, 10, 20, 50, ... with step * pixelsPerCell >= needed.
int niceStep(double pixelsPerCell, double needed) {
    if (pixelsPerCell <= 0) return 1;
    const double raw = needed / pixelsPerCell;
    for (int base = 1;; base *= 10) {
        for (int m : {1, 2, 5}) {
            if (base * m >= raw) return base * m;
        }
        if (base > 100000000) return base;
    }
}

}  // namespace

// The overview inset. A child widget of the QCustomPlot rather than a plot item, so
// QCustomPlot::toPainter() never draws it: exported figures show the zoomed view without the
// minimap (it is navigation chrome, like the cursor), while widget grabs show it as on screen.
// Mouse events over it never reach the plot, so it gives no cell tooltip, starts no drag pan and
// does not wheel-zoom.
class HeatmapMinimap : public QWidget {
  public:
    explicit HeatmapMinimap(QWidget* parent) : QWidget(parent) {
        setCursor(Qt::PointingHandCursor);
        setMouseTracking(true);
        setToolTip(QString());
        hide();
    }

    std::function<void(QPointF fraction)> onPick;  // position as fractions of the map, in [0, 1]
    QImage image;                                  // the coarsest LOD level, colourised
    QRectF view;                                   // visible window, in widget coordinates

    struct Key {  // what the image was built from
        const HeatmapPyramid* pyramid = nullptr;
        int colormap = -1;
        double lo = 0.0, hi = 0.0;
        QString scale;
        bool operator==(const Key& o) const {
            return pyramid == o.pyramid && colormap == o.colormap && lo == o.lo && hi == o.hi &&
                   scale == o.scale;
        }
    } key;

  protected:
    void paintEvent(QPaintEvent*) override {
        QPainter p(this);
        p.fillRect(rect(), QColor(225, 225, 225));
        if (!image.isNull()) p.drawImage(QRectF(rect()), image);  // nearest: cell-exact blocks
        p.setBrush(Qt::NoBrush);
        // The window: a white halo under a black line, legible on dark and light cells alike.
        const QRectF v = view.adjusted(0.5, 0.5, -0.5, -0.5);
        p.setPen(QPen(QColor(255, 255, 255, 230), 3.0));
        p.drawRect(v);
        p.setPen(QPen(Qt::black, 1.0));
        p.drawRect(v);
        p.setPen(QPen(QColor(70, 70, 70), 1.0));
        p.drawRect(QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5));
    }
    void mousePressEvent(QMouseEvent* event) override {
        if (event->button() == Qt::LeftButton) pick(event->position());
        event->accept();
    }
    void mouseMoveEvent(QMouseEvent* event) override {
        QToolTip::hideText();
        if (event->buttons() & Qt::LeftButton) pick(event->position());
        event->accept();
    }
    void mouseReleaseEvent(QMouseEvent* event) override { event->accept(); }
    void wheelEvent(QWheelEvent* event) override { event->accept(); }
    void enterEvent(QEnterEvent* event) override {
        QToolTip::hideText();
        QWidget::enterEvent(event);
    }

  private:
    void pick(const QPointF& pos) {
        if (!onPick || width() <= 0 || height() <= 0) return;
        onPick(QPointF(std::clamp(pos.x() / width(), 0.0, 1.0),
                       std::clamp(pos.y() / height(), 0.0, 1.0)));
    }
};

AttentionHeatmap::AttentionHeatmap(QWidget* parent)
    : QWidget(parent), m_data(std::make_shared<HeatmapData>()) {
    m_plot = new QCustomPlot(this);  // placed by placePlot(), not by a layout
    setMinimumSize(160, 160);

    m_plot->plotLayout()->insertRow(0);
    m_title = new QCPTextElement(m_plot, QString(), QFont(font().family(), 10, QFont::Bold));
    m_plot->plotLayout()->addElement(0, 0, m_title);

    m_map = new QCPColorMap(m_plot->xAxis, m_plot->yAxis);
    m_map->setInterpolate(false);
    m_map->setTightBoundary(false);
    m_colorScale = new QCPColorScale(m_plot);
    // Title row over a body grid (map | colour scale): the title spans the whole pane instead of
    // the map's column, so it is clipped only where the pane itself is too narrow.
    auto* body = new QCPLayoutGrid;
    QCPAxisRect* rect = m_plot->axisRect();
    m_plot->plotLayout()->take(rect);
    m_plot->plotLayout()->addElement(1, 0, body);
    body->addElement(0, 0, rect);
    body->addElement(0, 1, m_colorScale);
    body->setColumnSpacing(0);
    m_colorScale->setType(QCPAxis::atRight);
    m_colorScale->setBarWidth(12);
    m_map->setColorScale(m_colorScale);
    auto* group = new QCPMarginGroup(m_plot);
    m_plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    m_colorScale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    m_plot->axisRect()->setBackground(QBrush(QColor(225, 225, 225), Qt::SolidPattern));

    m_xTicker = QSharedPointer<QCPAxisTickerText>::create();
    m_yTicker = QSharedPointer<QCPAxisTickerText>::create();
    m_plot->xAxis->setTicker(m_xTicker);
    m_plot->yAxis->setTicker(m_yTicker);
    m_plot->xAxis->setTickLabelRotation(-90);
    m_plot->yAxis->setRangeReversed(true);  // query 0 at the top, as in every attention figure
    m_plot->xAxis->setLabel(QStringLiteral("key token (j)"));
    m_plot->yAxis->setLabel(QStringLiteral("query token (i)"));
    QFont tickFont = m_plot->xAxis->tickLabelFont();
    tickFont.setPointSizeF(7.5);
    m_plot->xAxis->setTickLabelFont(tickFont);
    m_plot->yAxis->setTickLabelFont(tickFont);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->setMouseTracking(true);

    m_map->setGradient(makeGradient(m_colormap));

    m_refreshTimer = new QTimer(this);
    m_refreshTimer->setSingleShot(true);
    m_refreshTimer->setInterval(15);  // coalesce wheel/drag bursts into one re-crop
    connect(m_refreshTimer, &QTimer::timeout, this, &AttentionHeatmap::refreshNow);

    connect(m_plot, &QCustomPlot::mouseMove, this, &AttentionHeatmap::onMouseMove);
    connect(m_plot, &QCustomPlot::mousePress, this, &AttentionHeatmap::onMousePress);
    connect(m_plot->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this,
            &AttentionHeatmap::onRangeChanged);
    connect(m_plot->yAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this,
            &AttentionHeatmap::onRangeChanged);
    connect(&m_watcher, &QFutureWatcher<std::shared_ptr<const HeatmapPyramid>>::finished, this,
            &AttentionHeatmap::onPyramidReady);

    m_minimap = new HeatmapMinimap(m_plot);
    m_minimap->onPick = [this](QPointF f) {
        centreViewOn(f.x() * m_data->cols - 0.5, f.y() * m_data->rows - 0.5);
    };
    connect(m_plot, &QCustomPlot::afterLayout, this, &AttentionHeatmap::updateMinimap);
    // New tick labels change the axis margins, so the square size is re-fitted after a layout
    // (queued: an export lays the plot out at another size and restores it before this runs).
    connect(m_plot, &QCustomPlot::afterLayout, this, &AttentionHeatmap::placePlot,
            Qt::QueuedConnection);
}

AttentionHeatmap::~AttentionHeatmap() {
    m_watcher.waitForFinished();
}

void AttentionHeatmap::setMatrix(HeatmapData newData, const TokenList& rowTokens,
                                 const TokenList& colTokens) {
    const bool sameShape =
        newData.rows == m_data->rows && newData.cols == m_data->cols && !m_data->empty();
    m_rowTokens = rowTokens;
    m_colTokens = colTokens;
    if (!m_colormapExplicit) m_colormap = newData.signedValues ? Colormap::RdBu : Colormap::Viridis;
    m_map->setGradient(makeGradient(m_colormap));
    m_scale.signedValues = newData.signedValues;
    m_data = std::make_shared<const HeatmapData>(std::move(newData));
    m_finiteRange = m_data->finiteRange();  // once per matrix: a T = 4096 scan costs ~10 ms
    ++m_generation;
    if (!sameShape) resetView();
    const long long cells = static_cast<long long>(m_data->rows) * m_data->cols;
    if (cells <= kSyncCells) {
        m_pyramid = HeatmapPyramid::build(*m_data);
        applyWindow();
        emit lodReady();
        return;
    }
    // Large: build the pyramid off the GUI thread; a newer setMatrix() makes this one stale.
    auto job = m_data;
    m_watcher.setFuture(QtConcurrent::run([job] { return HeatmapPyramid::build(*job); }));
    m_watcher.setProperty("generation", m_generation);
}

void AttentionHeatmap::onPyramidReady() {
    if (m_watcher.property("generation").toULongLong() != m_generation) return;  // stale
    m_pyramid = m_watcher.result();
    applyWindow();
    emit lodReady();
}

void AttentionHeatmap::clear() {
    m_data = std::make_shared<HeatmapData>();
    m_finiteRange = {0.0f, 0.0f};
    m_pyramid.reset();
    ++m_generation;
    m_map->data()->clear();
    updateMinimap();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void AttentionHeatmap::setTitle(const QString& title) {
    m_titleText = title;
    fitTitle(m_plot->width());
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QString AttentionHeatmap::shownTitle() const {
    return m_title->text();
}

QRect AttentionHeatmap::titleRect() const {
    return m_title->outerRect();
}

void AttentionHeatmap::fitTitle(int width) {
    // Each line elided to the pane: a narrow pane shows "…" rather than a clipped title.
    const QFontMetrics fm(m_title->font());
    QStringList lines = m_titleText.split(QLatin1Char('\n'));
    for (QString& line : lines)
        line = fm.elidedText(line, Qt::ElideRight, std::max(24, width - 8));
    m_title->setText(lines.join(QLatin1Char('\n')));
}

void AttentionHeatmap::setAxisTitles(const QString& x, const QString& y) {
    m_plot->xAxis->setLabel(x);
    m_plot->yAxis->setLabel(y);
}

void AttentionHeatmap::setColormap(Colormap map) {
    m_colormap = map;
    m_colormapExplicit = true;
    m_map->setGradient(makeGradient(map));
    updateMinimap();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void AttentionHeatmap::setScaleTransform(const ScaleTransform& scale) {
    m_scale = scale;
    m_scale.signedValues = m_data->signedValues;
    applyWindow();
}

void AttentionHeatmap::setColorRange(double lo, double hi) {
    m_autoRange = false;
    m_rangeLo = lo;
    m_rangeHi = hi;
    updateColorScale();
    updateMinimap();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void AttentionHeatmap::setAutoColorRange() {
    m_autoRange = true;
    updateColorScale();
    updateMinimap();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QCPRange AttentionHeatmap::dataRange() const {
    const auto [lo, hi] = m_finiteRange;
    return QCPRange(lo, hi);
}

QCPRange AttentionHeatmap::colorRange() const {
    if (!m_autoRange) return QCPRange(m_rangeLo, m_rangeHi);
    QCPRange r = dataRange();
    if (m_data->signedValues) {
        const double m = std::max(std::fabs(r.lower), std::fabs(r.upper));
        return QCPRange(-m, m);
    }
    return r;
}

void AttentionHeatmap::updateColorScale() {
    const QCPRange r = colorRange();
    double lo = m_scale.apply(r.lower);
    double hi = m_scale.apply(r.upper);
    if (m_scale.scale == ColorScale::Log && !m_data->signedValues) {
        lo = std::max(lo, std::log10(m_scale.logFloor));
    }
    if (!(hi > lo)) hi = lo + 1e-9;
    m_map->setDataRange(QCPRange(lo, hi));
    QString label =
        QString::fromStdString(m_data->quantity.empty() ? std::string("value") : m_data->quantity);
    if (m_scale.scale != ColorScale::Linear) label += QStringLiteral(" [%1]").arg(m_scale.label());
    m_colorScale->axis()->setLabel(label);
}

void AttentionHeatmap::setTooltipProvider(std::function<QString(int, int)> provider) {
    m_tooltipProvider = std::move(provider);
}

int AttentionHeatmap::rowRank(int row, int col) const {
    const HeatmapData& d = *m_data;
    if (row < 0 || row >= d.rows || col < 0 || col >= d.cols || d.masked(row, col)) return 0;
    const float v = d.at(row, col);
    int rank = 1;
    const int cEnd = d.causal ? std::min(d.cols, row + 1) : d.cols;
    for (int c = 0; c < cEnd; ++c) {
        if (!d.masked(row, c) && d.at(row, c) > v) ++rank;
    }
    return rank;
}

QString AttentionHeatmap::defaultTooltip(int row, int col) const {
    const HeatmapData& d = *m_data;
    QString text = QStringLiteral("query %1\nkey %2\n")
                       .arg(tokenAxisLabel(m_rowTokens, row), tokenAxisLabel(m_colTokens, col));
    if (d.masked(row, col)) return text + QStringLiteral("masked (causal: key after query)");
    const int cEnd = d.causal ? std::min(d.cols, row + 1) : d.cols;
    return text + QStringLiteral("value %1\nrow rank %2 of %3")
                      .arg(static_cast<double>(d.at(row, col)), 0, 'g', 5)
                      .arg(rowRank(row, col))
                      .arg(cEnd);
}

QString AttentionHeatmap::tooltipAt(int row, int col) const {
    if (row < 0 || col < 0 || row >= m_data->rows || col >= m_data->cols) return QString();
    return m_tooltipProvider ? m_tooltipProvider(row, col) : defaultTooltip(row, col);
}

bool AttentionHeatmap::cellAt(const QPoint& pos, int* row, int* col) const {
    if (m_data->empty() || !m_plot->axisRect()->rect().contains(pos)) return false;
    if (minimapVisible() && m_minimap->geometry().contains(pos)) return false;  // no cell there
    const int c = static_cast<int>(std::lround(m_plot->xAxis->pixelToCoord(pos.x())));
    const int r = static_cast<int>(std::lround(m_plot->yAxis->pixelToCoord(pos.y())));
    if (r < 0 || c < 0 || r >= m_data->rows || c >= m_data->cols) return false;
    *row = r;
    *col = c;
    return true;
}

void AttentionHeatmap::onMouseMove(QMouseEvent* event) {
    int r = 0, c = 0;
    if (!cellAt(event->pos(), &r, &c)) {
        QToolTip::hideText();
        return;
    }
    emit cellHovered(r, c);
    QToolTip::showText(event->globalPosition().toPoint(), tooltipAt(r, c), m_plot);
}

void AttentionHeatmap::onMousePress(QMouseEvent* event) {
    int r = 0, c = 0;
    if (event->button() == Qt::LeftButton && cellAt(event->pos(), &r, &c)) emit cellClicked(r, c);
}

QCPRange AttentionHeatmap::viewRangeX() const {
    return m_plot->xAxis->range();
}
QCPRange AttentionHeatmap::viewRangeY() const {
    return m_plot->yAxis->range();
}

void AttentionHeatmap::setViewRange(const QCPRange& x, const QCPRange& y) {
    if (m_plot->xAxis->range() == x && m_plot->yAxis->range() == y) return;
    m_inRangeUpdate = true;
    m_plot->xAxis->setRange(x);
    m_plot->yAxis->setRange(y);
    m_inRangeUpdate = false;
    m_refreshTimer->start();
}

void AttentionHeatmap::resetView() {
    const double cols = std::max(1, m_data->cols), rows = std::max(1, m_data->rows);
    setViewRange(QCPRange(-0.5, cols - 0.5), QCPRange(-0.5, rows - 0.5));
}

void AttentionHeatmap::centreViewOn(double col, double row) {
    if (m_data->empty()) return;
    // Same zoom, new centre; a window smaller than the matrix stays inside it.
    auto centred = [](const QCPRange& r, double centre, int n) {
        double lo = centre - r.size() / 2, hi = centre + r.size() / 2;
        const double first = -0.5, last = n - 0.5;
        if (r.size() <= last - first) {
            if (lo < first) hi += first - lo, lo = first;
            if (hi > last) lo -= hi - last, hi = last;
        }
        return QCPRange(lo, hi);
    };
    const QCPRange x = centred(m_plot->xAxis->range(), col, m_data->cols);
    const QCPRange y = centred(m_plot->yAxis->range(), row, m_data->rows);
    m_inRangeUpdate = true;  // one viewRangeChanged for both axes, not one per axis
    m_plot->xAxis->setRange(x);
    m_plot->yAxis->setRange(y);
    m_inRangeUpdate = false;
    emit viewRangeChanged(m_plot->xAxis->range(), m_plot->yAxis->range());
    updateMinimap();
    m_refreshTimer->start();
}

void AttentionHeatmap::setMinimapEnabled(bool enabled) {
    m_minimapEnabled = enabled;
    updateMinimap();
}

bool AttentionHeatmap::minimapVisible() const {
    return !m_minimap->isHidden();
}

QRect AttentionHeatmap::minimapGeometry() const {
    return minimapVisible() ? m_minimap->geometry() : QRect();
}

QRectF AttentionHeatmap::minimapViewRect() const {
    return minimapVisible() ? m_minimap->view : QRectF();
}

void AttentionHeatmap::updateMinimap() {
    // Skip while renderInto() has the plot laid out at an export size.
    if (m_plot->viewport() != m_plot->rect()) return;
    const int rows = m_data->rows, cols = m_data->cols;
    const QCPRange x = m_plot->xAxis->range(), y = m_plot->yAxis->range();
    const double eps = 1e-6;
    const bool zoomed = x.lower > -0.5 + eps || x.upper < cols - 0.5 - eps ||
                        y.lower > -0.5 + eps || y.upper < rows - 0.5 - eps;
    const QRect ar = m_plot->axisRect()->rect();
    const int shortSide = std::min(ar.width(), ar.height());
    if (!m_minimapEnabled || !m_pyramid || m_data->empty() || !zoomed || shortSide < 160) {
        m_minimap->hide();
        return;
    }
    // 80-110 px on the long side, the matrix's aspect, in the top-right corner of the axis rect:
    // the empty causal-mask triangle of a map. A causal inset shrinks (down to 80 px) until its
    // bottom-left corner lies in the masked region, so it does not cover the diagonal.
    const int margin = 6;
    int w = 0, h = 0;
    for (int side = std::clamp(static_cast<int>(shortSide * 0.26), 80, 110); side >= 80;
         side -= 2) {
        w = cols >= rows ? side : std::max(24, side * cols / rows);
        h = rows >= cols ? side : std::max(24, side * rows / cols);
        if (!m_data->causal) break;
        const double cornerCol = m_plot->xAxis->pixelToCoord(ar.right() + 1 - margin - w - 2);
        const double cornerRow = m_plot->yAxis->pixelToCoord(ar.top() + margin + h + 2);
        if (cornerCol > cornerRow + 0.5) break;  // right of the last unmasked key of that row
    }
    m_minimap->setGeometry(ar.right() + 1 - margin - w, ar.top() + margin, w, h);

    // Image: the coarsest pyramid level (at most 256 x 256, built off the GUI thread with the
    // pyramid), colourised like the map; rebuilt only when the pyramid or colours change.
    const QCPRange dr = m_map->dataRange();
    const HeatmapMinimap::Key key{m_pyramid.get(), static_cast<int>(m_colormap), dr.lower, dr.upper,
                                  m_scale.label()};
    if (!(key == m_minimap->key)) {
        const HeatmapData& lv = m_pyramid->level(m_pyramid->levelCount() - 1);
        QCPColorGradient gradient = m_map->gradient();
        QImage img(lv.cols, lv.rows, QImage::Format_RGB32);
        const QRgb maskGrey = qRgb(225, 225, 225);
        for (int r = 0; r < lv.rows; ++r) {
            auto* line = reinterpret_cast<QRgb*>(img.scanLine(r));
            for (int c = 0; c < lv.cols; ++c) {
                if (lv.masked(r, c)) {
                    line[c] = maskGrey;
                    continue;
                }
                const double v = m_scale.apply(lv.at(r, c));
                line[c] = gradient.color(std::isfinite(v) ? v : dr.lower, dr, false);
            }
        }
        m_minimap->image = img;
        m_minimap->key = key;
    }
    // The visible window, scaled from cell edges [-0.5, n - 0.5] to the inset, clipped to it and
    // at least 3 px so a deep zoom still shows where it is.
    const double sx = w / static_cast<double>(cols), sy = h / static_cast<double>(rows);
    QRectF v(QPointF((x.lower + 0.5) * sx, (y.lower + 0.5) * sy),
             QPointF((x.upper + 0.5) * sx, (y.upper + 0.5) * sy));
    v = v.intersected(QRectF(0, 0, w, h));
    if (v.width() < 3) v.adjust(-(3 - v.width()) / 2, 0, (3 - v.width()) / 2, 0);
    if (v.height() < 3) v.adjust(0, -(3 - v.height()) / 2, 0, (3 - v.height()) / 2);
    m_minimap->view = v;
    m_minimap->show();
    m_minimap->raise();
    m_minimap->update();
}

void AttentionHeatmap::onRangeChanged() {
    updateMinimap();
    m_refreshTimer->start();
    if (!m_inRangeUpdate) emit viewRangeChanged(m_plot->xAxis->range(), m_plot->yAxis->range());
}

void AttentionHeatmap::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    placePlot();
    m_refreshTimer->start();
}

void AttentionHeatmap::placePlot() {
    const QRect full = rect();
    QRect target = full;
    if (!m_data->empty() && m_data->rows == m_data->cols) {
        // The plot's non-map parts (title, tick labels, colour scale) as laid out now.
        const QRect ar = m_plot->axisRect()->rect();
        const int dw = m_plot->width() - ar.width(), dh = m_plot->height() - ar.height();
        if (ar.width() > 0 && ar.height() > 0) {
            const int side = std::max(40, std::min(full.width() - dw, full.height() - dh));
            const QSize s(std::min(full.width(), side + dw), std::min(full.height(), side + dh));
            target = QRect(QPoint((full.width() - s.width()) / 2, 0), s);  // top: titles line up
        }
    }
    const QRect now = m_plot->geometry();
    const bool moved = std::abs(now.x() - target.x()) > 2 || std::abs(now.y() - target.y()) > 2 ||
                       std::abs(now.width() - target.width()) > 2 ||
                       std::abs(now.height() - target.height()) > 2;
    if (!moved) return;
    m_plot->setGeometry(target);
    fitTitle(target.width());
}

void AttentionHeatmap::refreshNow() {
    m_refreshTimer->stop();
    applyWindow();
}

void AttentionHeatmap::visibleCells(int* r0, int* r1, int* c0, int* c1) const {
    const QCPRange x = m_plot->xAxis->range(), y = m_plot->yAxis->range();
    *c0 = std::clamp(static_cast<int>(std::floor(x.lower + 0.5)), 0, std::max(0, m_data->cols - 1));
    *c1 =
        std::clamp(static_cast<int>(std::ceil(x.upper - 0.5)), *c0, std::max(0, m_data->cols - 1));
    *r0 = std::clamp(static_cast<int>(std::floor(y.lower + 0.5)), 0, std::max(0, m_data->rows - 1));
    *r1 =
        std::clamp(static_cast<int>(std::ceil(y.upper - 0.5)), *r0, std::max(0, m_data->rows - 1));
}

void AttentionHeatmap::applyWindow() {
    updateColorScale();
    updateMinimap();
    if (!m_pyramid || m_data->empty()) {
        m_plot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    int r0, r1, c0, c1;
    visibleCells(&r0, &r1, &c0, &c1);
    const QRect ar = m_plot->axisRect()->rect();
    const int px = std::max(ar.width(), 64), py = std::max(ar.height(), 64);
    m_level = m_pyramid->chooseLevel(c1 - c0 + 1, r1 - r0 + 1, px, py);
    // Crop with a margin of half the view on each side, so small pans need no re-crop.
    const double mc = 0.5 * (c1 - c0 + 1), mr = 0.5 * (r1 - r0 + 1);
    const HeatmapPyramid::Window w = m_pyramid->window(m_level, c0 - mc, c1 + mc, r0 - mr, r1 + mr);
    const double s = m_pyramid->blockSize(m_level);
    // Level cell k covers full cells [k*s, k*s + s - 1]; its centre is k*s + (s - 1) / 2.
    const double x0 = (w.col0) * s + (s - 1) / 2, y0 = (w.row0) * s + (s - 1) / 2;
    QCPColorMapData* md = m_map->data();
    md->setSize(w.data.cols, w.data.rows);
    md->setRange(QCPRange(x0, x0 + (w.data.cols - 1) * s),
                 QCPRange(y0, y0 + (w.data.rows - 1) * s));
    for (int r = 0; r < w.data.rows; ++r) {
        for (int c = 0; c < w.data.cols; ++c)
            md->setCell(c, r, m_scale.apply(w.data.at(r, c)));
    }
    updateTicks();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void AttentionHeatmap::updateTicks() {
    int r0, r1, c0, c1;
    visibleCells(&r0, &r1, &c0, &c1);
    const QFontMetrics fm(m_plot->xAxis->tickLabelFont());
    const double needed = fm.height() + 2.0;
    const QRect ar = m_plot->axisRect()->rect();
    const double ppcX = ar.width() / std::max(1e-9, m_plot->xAxis->range().size());
    const double ppcY = ar.height() / std::max(1e-9, m_plot->yAxis->range().size());
    const int stepX = niceStep(ppcX, needed), stepY = niceStep(ppcY, needed);
    QMap<double, QString> xt, yt;
    for (int c = (c0 / stepX) * stepX; c <= c1; c += stepX)
        xt.insert(c, tokenAxisLabel(m_colTokens, c));
    for (int r = (r0 / stepY) * stepY; r <= r1; r += stepY)
        yt.insert(r, tokenAxisLabel(m_rowTokens, r));
    m_xTicker->setTicks(xt);
    m_yTicker->setTicks(yt);
    m_xTickCount = xt.size();
}

void AttentionHeatmap::renderFigure(QCPPainter& painter, const QSize& size) {
    renderInto(painter, QRect(QPoint(0, 0), size));
}

void AttentionHeatmap::renderInto(QCPPainter& painter, const QRect& rect) {
    // Tick labels are thinned for the axis length, so lay the plot out at the export size first
    // (twice: the new labels change the margins), draw, then restore the on-screen layout.
    const QRect onScreen = m_plot->viewport();
    auto layoutAt = [this](const QRect& viewport) {
        fitTitle(viewport.width());
        m_plot->setViewport(viewport);
        m_plot->plotLayout()->update(QCPLayoutElement::upPreparation);
        m_plot->plotLayout()->update(QCPLayoutElement::upMargins);
        m_plot->plotLayout()->update(QCPLayoutElement::upLayout);
        updateTicks();
    };
    layoutAt(QRect(QPoint(0, 0), rect.size()));
    layoutAt(QRect(QPoint(0, 0), rect.size()));
    renderPlot(painter, m_plot, rect);
    layoutAt(onScreen);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QString AttentionHeatmap::figureCsv() const {
    int r0, r1, c0, c1;
    visibleCells(&r0, &r1, &c0, &c1);
    if (m_data->empty()) return QString();
    QStringList rl, cl;
    HeatmapData crop(r1 - r0 + 1, c1 - c0 + 1);
    for (int r = r0; r <= r1; ++r) {
        rl << tokenAxisLabel(m_rowTokens, r);
        for (int c = c0; c <= c1; ++c) {
            crop.at(r - r0, c - c0) =
                m_data->masked(r, c) ? std::numeric_limits<float>::quiet_NaN() : m_data->at(r, c);
        }
    }
    for (int c = c0; c <= c1; ++c)
        cl << tokenAxisLabel(m_colTokens, c);
    return matrixCsv(rl, cl, crop.values.data(), crop.rows, crop.cols);
}

QJsonObject AttentionHeatmap::figureJson() const {
    int r0, r1, c0, c1;
    visibleCells(&r0, &r1, &c0, &c1);
    QJsonObject o;
    o.insert(QStringLiteral("title"), m_titleText);
    o.insert(QStringLiteral("quantity"), QString::fromStdString(m_data->quantity));
    o.insert(QStringLiteral("row0"), r0);
    o.insert(QStringLiteral("col0"), c0);
    o.insert(QStringLiteral("rows"), m_data->empty() ? 0 : r1 - r0 + 1);
    o.insert(QStringLiteral("cols"), m_data->empty() ? 0 : c1 - c0 + 1);
    o.insert(QStringLiteral("layout"),
             QStringLiteral("row-major, rows = queries, cols = keys, null = masked"));
    QJsonArray values, rowIds, colIds;
    if (!m_data->empty()) {
        for (int r = r0; r <= r1; ++r) {
            QJsonArray row;
            for (int c = c0; c <= c1; ++c) {
                row.append(m_data->masked(r, c)
                               ? QJsonValue()
                               : QJsonValue(static_cast<double>(m_data->at(r, c))));
            }
            values.append(row);
            if (r < m_rowTokens.size())
                rowIds.append(static_cast<qint64>(m_rowTokens.ids[static_cast<size_t>(r)]));
        }
        for (int c = c0; c <= c1; ++c) {
            if (c < m_colTokens.size())
                colIds.append(static_cast<qint64>(m_colTokens.ids[static_cast<size_t>(c)]));
        }
    }
    o.insert(QStringLiteral("row_token_ids"), rowIds);
    o.insert(QStringLiteral("col_token_ids"), colIds);
    o.insert(QStringLiteral("values"), values);
    return o;
}

QJsonObject AttentionHeatmap::figureProvenance() const {
    QJsonObject o;
    o.insert(QStringLiteral("title"), m_titleText);
    o.insert(QStringLiteral("colormap"), colormapName(m_colormap));
    o.insert(QStringLiteral("color_scale"), m_scale.label());
    const QCPRange r = colorRange();
    o.insert(QStringLiteral("color_range"), QJsonArray{r.lower, r.upper});
    o.insert(QStringLiteral("color_range_mode"),
             m_autoRange ? QStringLiteral("per pane (auto)") : QStringLiteral("fixed/shared"));
    o.insert(QStringLiteral("view_x"), QJsonArray{viewRangeX().lower, viewRangeX().upper});
    o.insert(QStringLiteral("view_y"), QJsonArray{viewRangeY().lower, viewRangeY().upper});
    o.insert(QStringLiteral("lod_level"), m_level);
    return o;
}

}  // namespace dxl::widgets
