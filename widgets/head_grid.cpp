// HeadGrid: painted small multiples with keyboard navigation.
#include "widgets/head_grid.h"

#include "widgets/qcp.h"

#include <QJsonArray>
#include <QKeyEvent>
#include <QPainter>
#include <QToolTip>
#include <cmath>
#include <limits>

#include "widgets/colormaps.h"

namespace dxl::widgets {

namespace {
constexpr int kLabelW = 44;   // layer labels on the left
constexpr int kHeaderH = 36;  // title + head labels
constexpr int kGap = 4;
}  // namespace

QImage heatmapImage(const HeatmapData& data) {
    if (data.empty()) return QImage();
    QImage img(data.cols, data.rows, QImage::Format_ARGB32);
    QCPColorGradient g = makeGradient(data.signedValues ? Colormap::RdBu : Colormap::Viridis);
    auto [lo, hi] = data.finiteRange();
    if (data.signedValues) {
        const float m = std::max(std::fabs(lo), std::fabs(hi));
        lo = -m;
        hi = m;
    }
    if (!(hi > lo)) hi = lo + 1e-6f;
    std::vector<double> row(static_cast<size_t>(data.cols));
    for (int r = 0; r < data.rows; ++r) {
        for (int c = 0; c < data.cols; ++c) {
            row[static_cast<size_t>(c)] = data.masked(r, c) ? std::nan("") : data.at(r, c);
        }
        auto* line = reinterpret_cast<QRgb*>(img.scanLine(r));
        g.colorize(row.data(), QCPRange(lo, hi), line, data.cols);
        for (int c = 0; c < data.cols; ++c) {
            if (std::isnan(row[static_cast<size_t>(c)])) line[c] = qRgb(230, 230, 230);
        }
    }
    return img;
}

HeadGrid::HeadGrid(QWidget* parent) : QWidget(parent) {
    setFocusPolicy(Qt::StrongFocus);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setMouseTracking(true);  // hover names the head under the cursor
}

void HeadGrid::setThumbnails(std::vector<HeatmapData> thumbnails, int layers, int heads,
                             const QString& title, const QString& layerPrefix,
                             const QStringList& rowNotes) {
    m_thumbs = std::move(thumbnails);
    m_layers = layers;
    m_heads = heads;
    m_title = title;
    m_prefix = layerPrefix;
    m_rowNotes = rowNotes;
    m_images.clear();
    for (const auto& t : m_thumbs)
        m_images.push_back(heatmapImage(t));
    m_scores.assign(m_thumbs.size(), std::nan(""));
    m_curLayer = std::clamp(m_curLayer, 0, std::max(0, layers - 1));
    m_curHead = std::clamp(m_curHead, 0, std::max(0, heads - 1));
    updateGeometry();
    update();
}

void HeadGrid::setCellScores(std::vector<double> scores) {
    m_scores = std::move(scores);
    update();
}

void HeadGrid::setCellValues(std::vector<double> values, const QString& metric) {
    m_values = std::move(values);
    m_metric = metric;
    update();
}

bool HeadGrid::showsMetricHeatmap() const {
    return heatmapAt(size());
}

QSize HeadGrid::sizeHint() const {
    return QSize(kLabelW + std::max(1, m_heads) * 64, kHeaderH + std::max(1, m_layers) * 64);
}
QSize HeadGrid::minimumSizeHint() const {
    return QSize(std::max(120, kLabelW + m_heads * 4), std::max(80, kHeaderH + m_layers * 6));
}
QSize HeadGrid::figureSize() const {
    return QSize(kLabelW + std::max(1, m_heads) * 96, kHeaderH + std::max(1, m_layers) * 96);
}

namespace {
// The side a cell would get if the grid filled `size` (may be below any useful size).
int naturalSide(const QSize& size, int layers, int heads) {
    const int cw = (size.width() - kLabelW) / std::max(1, heads);
    const int ch = (size.height() - kHeaderH) / std::max(1, layers);
    return std::min(cw, ch);
}

// Thumbnails keep a gap and at least 8 px; metric heatmap cells are contiguous and may shrink to
// 3 px, so a 32 x 32 teacher still fits a dock.
QRect cellRectIn(const QSize& size, int layers, int heads, int layer, int head, bool heat) {
    const int gap = heat ? 0 : kGap;
    const int side = std::max(heat ? 3 : 8, naturalSide(size, layers, heads));
    return QRect(kLabelW + head * side + gap / 2, kHeaderH + layer * side + gap / 2, side - gap,
                 side - gap);
}
}  // namespace

QRect HeadGrid::cellRect(int layer, int head) const {
    return cellRectIn(size(), m_layers, m_heads, layer, head, heatmapAt(size()));
}

bool HeadGrid::heatmapAt(const QSize& size) const {
    if (m_values.empty() || m_layers == 0 || m_heads == 0) return false;
    return naturalSide(size, m_layers, m_heads) < thumbnailMinSide();
}

void HeadGrid::paintGrid(QPainter& p, const QSize& size) const {
    p.fillRect(QRect(QPoint(0, 0), size), palette().window());
    p.setPen(palette().windowText().color());
    QFont bold = font();
    bold.setBold(true);
    p.setFont(bold);
    const bool heat = heatmapAt(size);
    auto cell = [&](int l, int h) { return cellRectIn(size, m_layers, m_heads, l, h, heat); };
    // Metric colour scale over the finite values (the range goes into the title).
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (double v : m_values) {
        if (std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    }
    const bool anyValue = hi >= lo;
    if (!(hi > lo)) hi = lo + 1e-9;
    QString title = m_title;
    if (heat) {
        title += anyValue ? tr("  ·  %1: dark %2 … bright %3")
                                .arg(m_metric)
                                .arg(lo, 0, 'g', 3)
                                .arg(hi, 0, 'g', 3)
                          : tr("  ·  %1: not computed yet").arg(m_metric);
    }
    p.drawText(QRect(0, 0, size.width(), 18), Qt::AlignLeft | Qt::AlignVCenter,
               p.fontMetrics().elidedText(title, Qt::ElideRight, size.width()));
    p.setFont(font());
    // Small cells: label every k-th head / layer so labels never overlap.
    const int side = std::max(1, cell(0, 1).left() - cell(0, 0).left());
    const int headStep = std::max(
        1, (p.fontMetrics().horizontalAdvance(QStringLiteral("H00")) + 4 + side - 1) / side);
    const int layerStep = std::max(1, (p.fontMetrics().height() + side - 1) / side);
    for (int h = 0; h < m_heads; h += headStep) {
        const QRect r = cell(0, h);
        p.drawText(QRect(r.center().x() - 20, 18, 40, 16), Qt::AlignCenter,
                   QStringLiteral("H%1").arg(h));
    }
    QCPColorGradient gradient = makeGradient(Colormap::Viridis);  // color() is non-const
    const QColor noValue(235, 235, 235);
    for (int l = 0; l < m_layers; ++l) {
        const QRect r0 = cell(l, 0);
        if (l % layerStep == 0)
            p.drawText(QRect(0, r0.center().y() - 10, kLabelW - 4, 20),
                       Qt::AlignRight | Qt::AlignVCenter,
                       QStringLiteral("%1%2").arg(m_prefix).arg(l));
        QRect empty;  // cells of this row without an image: the row note is written once across
        for (int h = 0; h < m_heads; ++h) {
            const QRect r = cell(l, h);
            const size_t idx = static_cast<size_t>(l * m_heads + h);
            const double v = idx < m_values.size() ? m_values[idx] : std::nan("");
            if (heat) {
                p.fillRect(r, std::isfinite(v)
                                  ? QColor::fromRgb(gradient.color(v, QCPRange(lo, hi)))
                                  : noValue);
                continue;
            }
            if (idx < m_images.size() && !m_images[idx].isNull()) {
                p.drawImage(r, m_images[idx]);
            } else {
                p.fillRect(r, noValue);
                empty = empty.united(r);
            }
            if (idx < m_scores.size() && !std::isnan(m_scores[idx])) {
                const double s = std::clamp(m_scores[idx], 0.0, 1.0);
                p.setPen(QPen(QColor(255, 140, 0), 1.0 + 3.0 * s));
                p.drawRect(r.adjusted(1, 1, -1, -1));
                p.setPen(palette().windowText().color());
            }
        }
        // A row without attention (an sLSTM block) says so across its cells, in both modes.
        const QString note = l < m_rowNotes.size() ? m_rowNotes[l] : QString();
        if (heat && !note.isEmpty())
            empty = QRect(cell(l, 0).topLeft(), cell(l, m_heads - 1).bottomRight());
        if (!empty.isNull() && !note.isEmpty() && empty.height() >= p.fontMetrics().height() - 4) {
            p.setPen(QColor(110, 110, 110));  // readable on the light cell fill in both palettes
            p.drawText(empty, Qt::AlignCenter,
                       p.fontMetrics().elidedText(note, Qt::ElideRight, empty.width() - 4));
            p.setPen(palette().windowText().color());
        }
    }
    if (m_layers > 0 && m_heads > 0) {
        p.setPen(QPen(palette().highlight().color(), heat ? 2 : 3));
        p.drawRect(cell(m_curLayer, m_curHead).adjusted(-2, -2, 2, 2));
    }
}

void HeadGrid::paintEvent(QPaintEvent*) {
    QPainter p(this);
    paintGrid(p, size());
    if (hasFocus()) {
        p.setPen(QPen(palette().highlight().color(), 1, Qt::DotLine));
        p.drawRect(rect().adjusted(0, 0, -1, -1));
    }
}

void HeadGrid::renderFigure(QCPPainter& painter, const QSize& size) {
    painter.save();
    painter.fillRect(QRect(QPoint(0, 0), size), Qt::white);
    paintGrid(painter, size);
    painter.restore();
}

void HeadGrid::setCurrent(int layer, int head) {
    if (m_layers == 0 || m_heads == 0) return;
    layer = std::clamp(layer, 0, m_layers - 1);
    head = std::clamp(head, 0, m_heads - 1);
    if (layer == m_curLayer && head == m_curHead) return;
    m_curLayer = layer;
    m_curHead = head;
    update();
    emit currentChanged(layer, head);
}

void HeadGrid::keyPressEvent(QKeyEvent* event) {
    switch (event->key()) {
        case Qt::Key_Left:
            setCurrent(m_curLayer, m_curHead - 1);
            break;
        case Qt::Key_Right:
            setCurrent(m_curLayer, m_curHead + 1);
            break;
        case Qt::Key_Up:
            setCurrent(m_curLayer - 1, m_curHead);
            break;
        case Qt::Key_Down:
            setCurrent(m_curLayer + 1, m_curHead);
            break;
        case Qt::Key_Home:
            setCurrent(0, 0);
            break;
        case Qt::Key_End:
            setCurrent(m_layers - 1, m_heads - 1);
            break;
        case Qt::Key_Return:
        case Qt::Key_Enter:
            emit activated(m_curLayer, m_curHead);
            break;
        default:
            QWidget::keyPressEvent(event);
            return;
    }
    event->accept();
}

bool HeadGrid::hitTest(const QPoint& pos, int* layer, int* head) const {
    const int pad = heatmapAt(size()) ? 0 : 2;  // heatmap cells touch: no slack between them
    for (int l = 0; l < m_layers; ++l) {
        for (int h = 0; h < m_heads; ++h) {
            if (cellRect(l, h).adjusted(-pad, -pad, pad, pad).contains(pos)) {
                *layer = l;
                *head = h;
                return true;
            }
        }
    }
    return false;
}

void HeadGrid::mousePressEvent(QMouseEvent* event) {
    int l = 0, h = 0;
    setFocus(Qt::MouseFocusReason);
    if (hitTest(event->pos(), &l, &h)) setCurrent(l, h);
}

void HeadGrid::mouseDoubleClickEvent(QMouseEvent* event) {
    int l = 0, h = 0;
    if (hitTest(event->pos(), &l, &h)) emit activated(l, h);
}

void HeadGrid::mouseMoveEvent(QMouseEvent* event) {
    int l = 0, h = 0;
    if (!hitTest(event->pos(), &l, &h)) {
        QToolTip::hideText();
        return;
    }
    QString text = QStringLiteral("%1%2 H%3").arg(m_prefix).arg(l).arg(h);
    const size_t idx = static_cast<size_t>(l * m_heads + h);
    if (idx < m_values.size() && std::isfinite(m_values[idx]))
        text += QStringLiteral("\n%1: %2").arg(m_metric).arg(m_values[idx], 0, 'g', 4);
    else if (l < m_rowNotes.size() && !m_rowNotes[l].isEmpty())
        text += QStringLiteral("\n") + m_rowNotes[l];
    text += tr("\nclick: open");
    QToolTip::showText(event->globalPosition().toPoint(), text, this);
}

QString HeadGrid::figureCsv() const {
    // The metric column holds the value that colours the small-cell heatmap (empty: none).
    const QString metric = m_metric.isEmpty() ? QStringLiteral("metric") : m_metric;
    QString out = QStringLiteral("layer,head,rows,cols,min,max,%1\n").arg(metric);
    for (int l = 0; l < m_layers; ++l) {
        for (int h = 0; h < m_heads; ++h) {
            const size_t idx = static_cast<size_t>(l * m_heads + h);
            if (idx >= m_thumbs.size()) continue;
            const auto [lo, hi] = m_thumbs[idx].finiteRange();
            const double v = idx < m_values.size() ? m_values[idx] : std::nan("");
            out += QStringLiteral("%1,%2,%3,%4,%5,%6,%7\n")
                       .arg(l)
                       .arg(h)
                       .arg(m_thumbs[idx].rows)
                       .arg(m_thumbs[idx].cols)
                       .arg(static_cast<double>(lo))
                       .arg(static_cast<double>(hi))
                       .arg(std::isfinite(v) ? QString::number(v, 'g', 8) : QString());
        }
    }
    return out;
}

QJsonObject HeadGrid::figureJson() const {
    QJsonObject o;
    o.insert(QStringLiteral("title"), m_title);
    o.insert(QStringLiteral("layers"), m_layers);
    o.insert(QStringLiteral("heads"), m_heads);
    QJsonArray thumbs;
    for (const auto& t : m_thumbs) {
        QJsonObject th;
        th.insert(QStringLiteral("rows"), t.rows);
        th.insert(QStringLiteral("cols"), t.cols);
        QJsonArray v;
        for (float x : t.values)
            v.append(std::isnan(x) ? QJsonValue() : QJsonValue(static_cast<double>(x)));
        th.insert(QStringLiteral("values"), v);
        thumbs.append(th);
    }
    o.insert(QStringLiteral("thumbnails"), thumbs);
    return o;
}

}  // namespace dxl::widgets
