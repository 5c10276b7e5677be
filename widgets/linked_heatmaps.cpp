// LinkedHeatmaps: three AttentionHeatmap panes kept in step.
#include "widgets/linked_heatmaps.h"

#include <QHBoxLayout>
#include <QJsonArray>
#include <QLabel>
#include <QVBoxLayout>
#include <cmath>

#include "widgets/token_text.h"

namespace dxl::widgets {

LinkedHeatmaps::LinkedHeatmaps(QWidget* parent) : QWidget(parent) {
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(2, 2, 2, 2);
    m_normLabel = new QLabel(this);
    m_normLabel->setObjectName(QStringLiteral("normalisationLabel"));
    m_normLabel->setTextFormat(Qt::PlainText);
    QFont f = m_normLabel->font();
    f.setBold(true);
    m_normLabel->setFont(f);
    outer->addWidget(m_normLabel);
    auto* row = new QHBoxLayout();
    outer->addLayout(row, 1);
    const char* names[3] = {"teacher", "student", "difference"};
    for (int i = 0; i < 3; ++i) {
        m_panes[i] = new AttentionHeatmap(this);
        m_panes[i]->setObjectName(QString::fromLatin1(names[i]) + QStringLiteral("Pane"));
        m_panes[i]->setName(QStringLiteral("attention_") + QString::fromLatin1(names[i]));
        row->addWidget(m_panes[i], 1);
        AttentionHeatmap* pane = m_panes[i];
        connect(pane, &AttentionHeatmap::viewRangeChanged, this,
                [this, pane](const QCPRange& x, const QCPRange& y) { syncRange(pane, x, y); });
        connect(pane, &AttentionHeatmap::cellHovered, this, &LinkedHeatmaps::cellHovered);
        pane->setTooltipProvider([this](int r, int c) { return combinedTooltip(r, c); });
    }
    m_panes[2]->setColormap(Colormap::RdBu);
}

void LinkedHeatmaps::setMaps(HeatmapData teacher, HeatmapData student, const TokenList& tokens,
                             const QString& teacherTitle, const QString& studentTitle,
                             const QString& normalisation, const QString& filter) {
    HeatmapData diff(teacher.rows, teacher.cols);
    diff.causal = teacher.causal || student.causal;
    diff.signedValues = true;
    diff.quantity = "student - teacher";
    if (teacher.rows == student.rows && teacher.cols == student.cols) {
        for (size_t i = 0; i < diff.values.size(); ++i)
            diff.values[i] = student.values[i] - teacher.values[i];
    } else {
        std::fill(diff.values.begin(), diff.values.end(), std::numeric_limits<float>::quiet_NaN());
    }
    m_normalisation = normalisation;
    m_filter = filter;
    // Own line: a narrow pane would elide it after the title's second line.
    const QString suffix = filter.isEmpty() ? QString() : QStringLiteral("\n") + filter;
    m_normLabel->setText(headerText());
    m_panes[0]->setTitle(teacherTitle + suffix);
    m_panes[1]->setTitle(studentTitle + QStringLiteral("\n") + normalisation + suffix);
    m_panes[2]->setTitle(tr("Difference\nstudent \u2212 teacher") + suffix);
    m_panes[0]->setMatrix(std::move(teacher), tokens, tokens);
    m_panes[1]->setMatrix(std::move(student), tokens, tokens);
    m_panes[2]->setMatrix(std::move(diff), tokens, tokens);
    applyColorRanges();
}

void LinkedHeatmaps::clear() {
    for (auto* p : m_panes)
        p->clear();
}

QString LinkedHeatmaps::normalisationText() const {
    return m_normLabel->text();
}

QString LinkedHeatmaps::headerText() const {
    QString t = tr("Student normalisation: %1").arg(m_normalisation);
    if (!m_filter.isEmpty()) t += tr("  \u00b7  display filter (both maps): %1").arg(m_filter);
    return t;
}

void LinkedHeatmaps::setSharedColorRange(bool shared) {
    m_shared = shared;
    applyColorRanges();
}

void LinkedHeatmaps::setScaleTransform(const ScaleTransform& scale) {
    for (auto* p : m_panes)
        p->setScaleTransform(scale);
}

void LinkedHeatmaps::applyColorRanges() {
    if (!m_shared) {
        for (auto* p : m_panes)
            p->setAutoColorRange();
        return;
    }
    const QCPRange a = m_panes[0]->dataRange(), b = m_panes[1]->dataRange();
    double lo = std::min(a.lower, b.lower), hi = std::max(a.upper, b.upper);
    if (m_panes[0]->matrix().signedValues || m_panes[1]->matrix().signedValues) {
        const double m = std::max(std::fabs(lo), std::fabs(hi));
        lo = -m;
        hi = m;
    }
    m_panes[0]->setColorRange(lo, hi);
    m_panes[1]->setColorRange(lo, hi);
    m_panes[2]->setAutoColorRange();  // the difference has its own symmetric range
}

void LinkedHeatmaps::syncRange(AttentionHeatmap* source, const QCPRange& x, const QCPRange& y) {
    for (auto* p : m_panes) {
        if (p != source) p->setViewRange(x, y);
    }
}

QString LinkedHeatmaps::combinedTooltip(int row, int col) const {
    const HeatmapData& t = m_panes[0]->matrix();
    const HeatmapData& s = m_panes[1]->matrix();
    const TokenList& tok = m_panes[0]->rowTokens();
    QString text = QStringLiteral("query %1 (%2)\nkey %3 (%4)\n")
                       .arg(visibleTokenText(tok.label(row)))
                       .arg(row)
                       .arg(visibleTokenText(tok.label(col)))
                       .arg(col);
    if (t.empty() || row >= t.rows || col >= t.cols) return text;
    if (t.masked(row, col)) return text + tr("masked (causal: key after query)");
    const double tv = t.at(row, col);
    text += tr("teacher %1 (row rank %2)\n").arg(tv, 0, 'g', 5).arg(m_panes[0]->rowRank(row, col));
    if (!s.empty() && row < s.rows && col < s.cols) {
        const double sv = s.at(row, col);
        text +=
            tr("student %1 (row rank %2)\n").arg(sv, 0, 'g', 5).arg(m_panes[1]->rowRank(row, col));
        text += tr("difference %1%2\n")
                    .arg(sv - tv >= 0 ? QStringLiteral("+") : QString())
                    .arg(sv - tv, 0, 'g', 5);
    }
    text += tr("student normalisation: %1").arg(m_normalisation);
    if (!m_filter.isEmpty()) text += tr("\ndisplay filter: %1").arg(m_filter);
    return text;
}

void LinkedHeatmaps::renderFigure(QCPPainter& painter, const QSize& size) {
    const int header = 26;
    painter.save();
    QFont f = font();
    f.setBold(true);
    f.setPointSizeF(10);
    painter.setFont(f);
    painter.setPen(Qt::black);
    painter.drawText(QRect(8, 0, size.width() - 16, header), Qt::AlignVCenter | Qt::AlignLeft,
                     headerText());
    painter.restore();
    const int w = size.width() / 3;
    for (int i = 0; i < 3; ++i) {
        m_panes[i]->renderInto(painter, QRect(i * w, header, w, size.height() - header));
    }
}

QString LinkedHeatmaps::figureCsv() const {
    QString out;
    if (!m_filter.isEmpty()) out += QStringLiteral("# display filter: %1\n").arg(m_filter);
    const char* names[3] = {"teacher", "student", "difference"};
    for (int i = 0; i < 3; ++i) {
        out += QStringLiteral("# %1: %2\n")
                   .arg(QString::fromLatin1(names[i]),
                        m_panes[i]->title().replace(QLatin1Char('\n'), QLatin1Char(' ')));
        out += m_panes[i]->figureCsv();
    }
    return out;
}

QJsonObject LinkedHeatmaps::figureJson() const {
    QJsonObject o;
    o.insert(QStringLiteral("normalisation"), m_normalisation);
    o.insert(QStringLiteral("display_filter"), m_filter);
    o.insert(QStringLiteral("teacher"), m_panes[0]->figureJson());
    o.insert(QStringLiteral("student"), m_panes[1]->figureJson());
    o.insert(QStringLiteral("difference"), m_panes[2]->figureJson());
    return o;
}

QJsonObject LinkedHeatmaps::figureProvenance() const {
    QJsonObject o;
    o.insert(QStringLiteral("student_normalisation"), m_normalisation);
    o.insert(QStringLiteral("display_filter"),
             m_filter.isEmpty() ? QStringLiteral("none") : m_filter);
    o.insert(QStringLiteral("shared_color_range"), m_shared);
    o.insert(QStringLiteral("teacher"), m_panes[0]->figureProvenance());
    o.insert(QStringLiteral("student"), m_panes[1]->figureProvenance());
    o.insert(QStringLiteral("difference"), m_panes[2]->figureProvenance());
    return o;
}

}  // namespace dxl::widgets
