// TokenStrip (bars per token) and TokenChips (tokens as chips).
#include "widgets/token_strip.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <cmath>
#include <limits>

#include "widgets/colormaps.h"
#include "widgets/token_text.h"

namespace dxl::widgets {

namespace {
// Token text for a chip with whitespace made visible (a space token must not be an empty chip).
QString chipText(const TokenList& tokens, int i) {
    return visibleTokenText(tokens.label(i));
}
}  // namespace

TokenStrip::TokenStrip(QWidget* parent) : LinePlot(parent) {
    setName(QStringLiteral("kl_per_token"));
    m_plot->legend->setVisible(false);
    m_plot->plotLayout()->take(m_plot->legend);  // one series: no legend row
    m_plot->plotLayout()->simplify();
    setMaxYTicks(3);  // a short strip: few, readable y labels
    m_bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    m_bars->setWidth(0.8);
    m_bars->setPen(Qt::NoPen);
    m_bars->setBrush(QColor(213, 94, 0));
    m_plot->setMinimumHeight(90);
    connect(m_plot, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
        const int i = static_cast<int>(std::lround(m_plot->xAxis->pixelToCoord(e->pos().x())));
        if (i >= 0 && i < static_cast<int>(m_values.size())) emit tokenClicked(i);
    });
}

void TokenStrip::setValues(const std::vector<double>& values, const TokenList& tokens,
                           const QString& quantity) {
    m_values = values;
    m_tokens = tokens;
    m_quantity = quantity;
    QVector<double> k, v;
    for (size_t i = 0; i < values.size(); ++i) {
        k << static_cast<double>(i);
        v << values[i];
    }
    m_bars->setData(k, v, true);
    m_plot->yAxis->setLabel(quantity);
    m_plot->xAxis->setLabel(tr("token (i)"));
    m_plot->xAxis->setRange(-0.5, std::max<double>(1, values.size()) - 0.5);
    double hi = 0;
    for (double x : values)
        hi = std::isfinite(x) ? std::max(hi, x) : hi;
    m_plot->yAxis->setRange(0, hi > 0 ? hi * 1.1 : 1.0);
    m_series.clear();
    Series s;
    s.name = quantity.toStdString();
    s.keys = std::vector<double>(k.begin(), k.end());
    s.values = values;
    m_series.push_back(s);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QString TokenStrip::figureCsv() const {
    QString out = QStringLiteral("position,token_id,token,%1\n").arg(m_quantity);
    for (size_t i = 0; i < m_values.size(); ++i) {
        const int t = static_cast<int>(i);
        out += QStringLiteral("%1,%2,\"%3\",%4\n")
                   .arg(t)
                   .arg(t < m_tokens.size() ? m_tokens.ids[i] : -1)
                   .arg(visibleTokenText(m_tokens.label(t)))
                   .arg(m_values[i], 0, 'g', 8);
    }
    return out;
}

TokenChips::TokenChips(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Minimum, QSizePolicy::Fixed);
}

void TokenChips::setTokens(const TokenList& tokens) {
    m_tokens = tokens;
    relayout();
    update();
}

void TokenChips::setSelected(int index) {
    m_selected = index;
    update();
}

void TokenChips::setHighlight(const std::vector<double>& values, const QString& quantity) {
    m_values = values;
    m_quantity = quantity;
    m_lo = std::numeric_limits<double>::infinity();
    m_hi = -m_lo;
    for (double v : values) {
        if (!std::isfinite(v)) continue;
        m_lo = std::min(m_lo, v);
        m_hi = std::max(m_hi, v);
    }
    if (m_lo > m_hi) m_lo = m_hi = 0;  // no finite value: every chip stays plain
    m_signed = m_lo < 0;
    if (m_signed) {  // centre 0 so its colour means "nothing"
        m_hi = std::max(-m_lo, m_hi);
        m_lo = -m_hi;
    }
    update();
}

QColor TokenChips::valueColor(double v) const {
    static QCPColorGradient viridis = makeGradient(Colormap::Viridis);  // color() is non-const
    static QCPColorGradient rdbu = makeGradient(Colormap::RdBu);
    // A constant quantity (lo == hi) gets the middle colour instead of a division by zero.
    const QCPRange range = m_hi > m_lo ? QCPRange(m_lo, m_hi) : QCPRange(v - 1, v + 1);
    return QColor::fromRgba((m_signed ? rdbu : viridis).color(v, range));
}

QColor TokenChips::chipColor(int index) const {
    if (index < 0 || index >= static_cast<int>(m_values.size()) ||
        !std::isfinite(m_values[static_cast<size_t>(index)]))
        return palette().base().color();
    return valueColor(m_values[static_cast<size_t>(index)]);
}

QString TokenChips::chipTooltip(int index) const {
    if (index < 0 || index >= m_tokens.size()) return {};
    QString t = tr("token %1: %2").arg(index).arg(chipText(m_tokens, index));
    if (index < static_cast<int>(m_values.size()))
        t += QStringLiteral("\n%1: %2")
                 .arg(m_quantity)
                 .arg(m_values[static_cast<size_t>(index)], 0, 'g', 4);
    return t;
}

QString TokenChips::legendHtml() const {
    if (m_values.empty()) return {};
    auto swatch = [this](double v) {
        return QStringLiteral("<span style=\"background-color:%1\">&nbsp;&nbsp;&nbsp;&nbsp;</span>")
            .arg(valueColor(v).name());
    };
    return QStringLiteral("%1 %2 \u2026 %3 %4")
        .arg(swatch(m_lo))
        .arg(m_lo, 0, 'g', 3)
        .arg(swatch(m_hi))
        .arg(m_hi, 0, 'g', 3);
}

bool TokenChips::event(QEvent* event) {
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        for (int i = 0; i < static_cast<int>(m_rects.size()); ++i) {
            if (m_rects[static_cast<size_t>(i)].contains(help->pos())) {
                QToolTip::showText(help->globalPos(), chipTooltip(i), this);
                return true;
            }
        }
        QToolTip::hideText();
        event->ignore();
        return true;
    }
    return QWidget::event(event);
}

void TokenChips::relayout() {
    m_rects.clear();
    const QFontMetrics fm(font());
    int x = 2;
    for (int i = 0; i < m_tokens.size(); ++i) {
        const QString text = chipText(m_tokens, i);
        const int w = fm.horizontalAdvance(text) + 12;
        m_rects.emplace_back(x, 4, w, fm.height() + 6);
        x += w + 4;
    }
    setMinimumWidth(x + 2);
    updateGeometry();
}

QSize TokenChips::sizeHint() const {
    const QFontMetrics fm(font());
    return QSize(m_rects.empty() ? 100 : m_rects.back().right() + 4, fm.height() + 16);
}

void TokenChips::paintEvent(QPaintEvent* event) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QRect visible = event->rect();
    for (int i = 0; i < static_cast<int>(m_rects.size()); ++i) {
        const QRect& r = m_rects[static_cast<size_t>(i)];
        if (!r.intersects(visible)) continue;
        const bool sel = i == m_selected;
        p.setPen(QPen(sel ? palette().highlight().color() : palette().mid().color(), sel ? 2 : 1));
        const bool coloured = i < static_cast<int>(m_values.size()) &&
                              std::isfinite(m_values[static_cast<size_t>(i)]);
        const QColor fill = coloured ? chipColor(i)
                            : sel    ? palette().highlight().color().lighter(170)
                                     : palette().base().color();
        p.setBrush(fill);
        p.drawRoundedRect(r, 6, 6);
        // Dark text on light fills, light text on dark ones (viridis runs from dark to light).
        p.setPen(coloured && fill.lightnessF() < 0.5 ? QColor(Qt::white)
                                                     : palette().text().color());
        p.drawText(r, Qt::AlignCenter, chipText(m_tokens, i));
    }
}

void TokenChips::mousePressEvent(QMouseEvent* event) {
    for (int i = 0; i < static_cast<int>(m_rects.size()); ++i) {
        if (m_rects[static_cast<size_t>(i)].contains(event->pos())) {
            setSelected(i);
            emit tokenClicked(i);
            return;
        }
    }
}

}  // namespace dxl::widgets
