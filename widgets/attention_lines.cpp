// AttentionLines: mirrored token-to-token line view of a teacher and a student map.
#include "widgets/attention_lines.h"

#include <QJsonArray>
#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

#include "widgets/qcp.h"
#include "widgets/token_text.h"

namespace dxl::widgets {

namespace {

const QColor kTeacherColour(213, 94, 0);   // the teacher's orange elsewhere in the studio
const QColor kStudentColour(0, 114, 178);  // the student's blue
constexpr double kTitleHeight = 40.0;
constexpr double kRowPixels = 11.0;  // the row height that keeps 7-8 pt token labels readable
constexpr int kMinRows = 16;

}  // namespace

AttentionLines::AttentionLines(QWidget* parent) : QWidget(parent) {
    setBackgroundRole(QPalette::Base);
    setAutoFillBackground(true);
    setMouseTracking(false);
}

void AttentionLines::setMaps(const HeatmapData& teacher, const HeatmapData& student,
                             const TokenList& tokens, const QString& teacherTitle,
                             const QString& studentTitle) {
    m_teacher = teacher;
    m_student = student;
    m_tokens = tokens;
    m_teacherTitle = teacherTitle;
    m_studentTitle = studentTitle;
    if (m_selected >= std::min(m_teacher.rows, m_student.rows)) m_selected = -1;
    setSelectedQuery(m_selected);  // brings the selection into the window
    update();
}

void AttentionLines::setTopK(int k) {
    m_topK = std::max(1, k);
    update();
}

int AttentionLines::windowStart() const {
    return layoutFor(size()).start;
}

int AttentionLines::windowSize() const {
    return layoutFor(size()).n;
}

void AttentionLines::setSelectedQuery(int query) {
    const int T = std::min(m_teacher.rows, m_student.rows);
    m_selected = (query >= 0 && query < T) ? query : -1;
    m_start = layoutFor(size()).start;  // the window that shows the selection
    update();
}

void AttentionLines::wheelEvent(QWheelEvent* event) {
    // Scrolls the window over a long input (four rows a notch); a selection outside it clears.
    const int T = std::min(m_teacher.rows, m_student.rows);
    const Layout L = layoutFor(size());
    const int notches = event->angleDelta().y() / 120;
    if (notches == 0 || L.n >= T) return;
    m_start = std::clamp(L.start - 4 * notches, 0, T - L.n);
    if (m_selected >= 0 && (m_selected < m_start || m_selected >= m_start + L.n)) {
        m_selected = -1;
        emit querySelected(-1);
    }
    update();
    event->accept();
}

void AttentionLines::rowEdges(const HeatmapData& map, bool teacher, int query, const Layout& L,
                              std::vector<Edge>* out) const {
    if (query < 0 || query >= map.rows) return;
    const int end = std::min(L.start + L.n, map.cols);
    std::vector<std::pair<float, int>> row;  // (|weight|, key) of the unmasked keys in the window
    for (int j = L.start; j < end; ++j) {
        if (map.masked(query, j)) continue;
        row.emplace_back(std::abs(map.at(query, j)), j);
    }
    const size_t keep = std::min(row.size(), static_cast<size_t>(m_topK));
    std::partial_sort(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(keep), row.end(),
                      [](const auto& a, const auto& b) {
                          return a.first > b.first || (a.first == b.first && a.second < b.second);
                      });
    const float top = keep > 0 ? row.front().first : 0.0f;
    for (size_t k = 0; k < keep; ++k) {
        if (!(row[k].first > 0.0f)) break;  // a zero weight is no edge
        Edge e;
        e.teacher = teacher;
        e.query = query;
        e.key = row[k].second;
        e.weight = map.at(query, e.key);
        e.strength = row[k].first / top;
        out->push_back(e);
    }
}

std::vector<AttentionLines::Edge> AttentionLines::edges() const {
    return edgesIn(layoutFor(size()));
}

std::vector<AttentionLines::Edge> AttentionLines::edgesIn(const Layout& L) const {
    std::vector<Edge> out;
    for (const HeatmapData* map : {&m_teacher, &m_student}) {
        const bool teacher = map == &m_teacher;
        if (m_selected >= 0) {
            rowEdges(*map, teacher, m_selected, L, &out);
        } else {
            for (int i = L.start; i < L.start + L.n; ++i)
                rowEdges(*map, teacher, i, L, &out);
        }
    }
    return out;
}

AttentionLines::Layout AttentionLines::layoutFor(const QSize& size) const {
    Layout L;
    // As many tokens as rows of readable height fit (at least kMinRows, at most kMaxTokens),
    // starting at the scroll position, moved so that a selected query is the last row shown
    // when it would fall outside (its keys precede it).
    const int T = std::min(m_teacher.rows, m_student.rows);
    const double body = size.height() - kTitleHeight - 8.0;
    L.n = std::min({T, kMaxTokens, std::max(kMinRows, static_cast<int>(body / kRowPixels))});
    L.n = std::max(0, L.n);
    L.start = std::clamp(m_start, 0, std::max(0, T - L.n));
    if (m_selected >= 0 && (m_selected < L.start || m_selected >= L.start + L.n))
        L.start = std::clamp(m_selected - L.n + 1, 0, std::max(0, T - L.n));
    const int n = std::max(1, L.n);
    L.top = kTitleHeight;
    L.rowHeight = std::max(1.0, body / n);
    L.columnWidth = std::clamp(size.width() / 7.0, 40.0, 120.0);
    // Outer margins hold the weights written next to the selected query's keys.
    const double margin = std::min(48.0, size.width() / 12.0);
    L.xTeacherKeys = margin + L.columnWidth / 2;
    L.xQueries = size.width() / 2.0;
    L.xStudentKeys = size.width() - margin - L.columnWidth / 2;
    return L;
}

QPoint AttentionLines::queryPoint(int index) const {
    const Layout L = layoutFor(size());
    return QPoint(qRound(L.xQueries), qRound(L.top + (index - L.start + 0.5) * L.rowHeight));
}

void AttentionLines::paint(QPainter& p, const QSize& size) const {
    p.fillRect(QRect(QPoint(0, 0), size), Qt::white);
    p.setRenderHint(QPainter::Antialiasing);
    const Layout L = layoutFor(size);
    const int n = L.n;
    QFont title = font();
    title.setPointSizeF(9.5);
    title.setBold(true);
    p.setFont(title);
    const QFontMetrics tfm(title);
    const double third = size.width() / 3.0;
    auto titleAt = [&](double x, const QString& text, const QColor& colour) {
        p.setPen(colour);
        const QRectF r(x - third / 2, 2, third, kTitleHeight - 6);
        QStringList lines = text.split(QLatin1Char('\n'));
        for (QString& line : lines)
            line = tfm.elidedText(line, Qt::ElideRight, static_cast<int>(third) - 6);
        p.drawText(r, Qt::AlignHCenter | Qt::AlignTop, lines.join(QLatin1Char('\n')));
    };
    titleAt(L.xTeacherKeys + third / 2 - L.columnWidth / 2, m_teacherTitle, kTeacherColour);
    titleAt(L.xStudentKeys - third / 2 + L.columnWidth / 2, m_studentTitle, kStudentColour);
    titleAt(L.xQueries,
            m_selected >= 0 ? tr("query %1 (top %2 keys)").arg(m_selected).arg(m_topK)
                            : tr("queries %1\u2013%2 (top %3 keys each)")
                                  .arg(L.start)
                                  .arg(L.start + n - 1)
                                  .arg(m_topK),
            Qt::black);
    if (n <= 0) return;

    // Edges first, so the token labels sit on top.
    auto y = [&](int index) { return L.top + (index - L.start + 0.5) * L.rowHeight; };
    const double gap = L.columnWidth / 2 + 2;
    for (const Edge& e : edgesIn(L)) {
        QColor c = e.teacher ? kTeacherColour : kStudentColour;
        const double s = static_cast<double>(e.strength);
        c.setAlphaF(m_selected >= 0 ? 0.35 + 0.65 * s : 0.08 + 0.6 * s);
        QPen pen(c, (m_selected >= 0 ? 1.0 : 0.6) + 2.5 * s);
        if (e.weight < 0) pen.setStyle(Qt::DashLine);  // negative raw student weight
        p.setPen(pen);
        const double xq = L.xQueries + (e.teacher ? -gap : gap);
        const double xk = e.teacher ? L.xTeacherKeys + gap : L.xStudentKeys - gap;
        p.drawLine(QPointF(xq, y(e.query)), QPointF(xk, y(e.key)));
    }

    // Token labels, thinned to every step-th when rows are too short for the font.
    QFont tf = font();
    tf.setPointSizeF(std::clamp(L.rowHeight * 0.55, 5.5, 9.0));
    p.setFont(tf);
    const QFontMetrics fm(tf);
    const int step = std::max(1, static_cast<int>(std::ceil(fm.height() * 0.9 / L.rowHeight)));
    std::vector<float> keyWeight[2];  // weights of the selected query's kept keys, per side
    for (auto& w : keyWeight)
        w.assign(static_cast<size_t>(n), std::nanf(""));
    if (m_selected >= 0) {
        for (const Edge& e : edgesIn(L))
            keyWeight[e.teacher ? 0 : 1][static_cast<size_t>(e.key - L.start)] = e.weight;
    }
    for (int i = L.start; i < L.start + n; ++i) {
        const bool selected = i == m_selected;
        const bool labelled = (i - L.start) % step == 0 || selected ||
                              !std::isnan(keyWeight[0][static_cast<size_t>(i - L.start)]) ||
                              !std::isnan(keyWeight[1][static_cast<size_t>(i - L.start)]);
        if (!labelled) continue;
        const QString text =
            fm.elidedText(QStringLiteral("%1 %2").arg(visibleTokenText(m_tokens.label(i))).arg(i),
                          Qt::ElideRight, static_cast<int>(L.columnWidth) - 4);
        for (double x : {L.xTeacherKeys, L.xQueries, L.xStudentKeys}) {
            const QRectF r(x - L.columnWidth / 2, y(i) - L.rowHeight / 2, L.columnWidth,
                           std::max(L.rowHeight, static_cast<double>(fm.height())));
            QFont f = tf;
            f.setBold(selected && x == L.xQueries);
            p.setFont(f);
            p.setPen(selected && x == L.xQueries ? QColor(0, 0, 0) : QColor(60, 60, 60));
            const Qt::Alignment align = x == L.xTeacherKeys ? Qt::AlignRight
                                        : x == L.xQueries   ? Qt::AlignHCenter
                                                            : Qt::AlignLeft;
            p.drawText(r, align | Qt::AlignVCenter, text);
        }
        p.setFont(tf);
        for (int side = 0; side < 2; ++side) {
            const float w = keyWeight[side][static_cast<size_t>(i - L.start)];
            if (std::isnan(w)) continue;
            p.setPen(side == 0 ? kTeacherColour : kStudentColour);
            const double x = side == 0 ? L.xTeacherKeys - L.columnWidth / 2 - 2
                                       : L.xStudentKeys + L.columnWidth / 2 + 2;
            const double marginWidth = L.xTeacherKeys - L.columnWidth / 2 - 4;
            const QRectF r(side == 0 ? x - marginWidth : x, y(i) - fm.height() / 2.0, marginWidth,
                           fm.height());
            p.drawText(r, (side == 0 ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter,
                       QString::number(static_cast<double>(w), 'f', 3));
        }
    }
}

void AttentionLines::paintEvent(QPaintEvent*) {
    QPainter p(this);
    paint(p, size());
}

void AttentionLines::mousePressEvent(QMouseEvent* event) {
    const Layout L = layoutFor(size());
    const QPointF pos = event->position();
    if (std::abs(pos.x() - L.xQueries) > L.columnWidth / 2 || pos.y() < L.top) return;
    const int i = L.start + static_cast<int>((pos.y() - L.top) / L.rowHeight);
    if (i < L.start || i >= L.start + L.n) return;
    setSelectedQuery(i == m_selected ? -1 : i);  // a second click shows every query again
    emit querySelected(m_selected);
}

void AttentionLines::renderFigure(QCPPainter& painter, const QSize& size) {
    paint(painter, size);
}

QString AttentionLines::figureCsv() const {
    QString out = QStringLiteral("model,query,key,weight,strength\n");
    for (const Edge& e : edges()) {
        out += QStringLiteral("%1,%2,%3,%4,%5\n")
                   .arg(e.teacher ? QStringLiteral("teacher") : QStringLiteral("student"))
                   .arg(e.query)
                   .arg(e.key)
                   .arg(static_cast<double>(e.weight), 0, 'g', 9)
                   .arg(static_cast<double>(e.strength), 0, 'g', 9);
    }
    return out;
}

QJsonObject AttentionLines::figureJson() const {
    QJsonObject o;
    o.insert(QStringLiteral("teacher_title"), m_teacherTitle);
    o.insert(QStringLiteral("student_title"), m_studentTitle);
    o.insert(QStringLiteral("window_start"), windowStart());
    o.insert(QStringLiteral("window_size"), windowSize());
    o.insert(QStringLiteral("top_k"), m_topK);
    o.insert(QStringLiteral("selected_query"), m_selected);
    QJsonArray tokens;
    for (int i = windowStart(); i < windowStart() + windowSize(); ++i)
        tokens.append(QString::fromStdString(m_tokens.label(i)));
    o.insert(QStringLiteral("tokens"), tokens);
    QJsonArray edges;
    for (const Edge& e : this->edges()) {
        QJsonObject j;
        j.insert(QStringLiteral("model"),
                 e.teacher ? QStringLiteral("teacher") : QStringLiteral("student"));
        j.insert(QStringLiteral("query"), e.query);
        j.insert(QStringLiteral("key"), e.key);
        j.insert(QStringLiteral("weight"), static_cast<double>(e.weight));
        edges.append(j);
    }
    o.insert(QStringLiteral("edges"), edges);
    return o;
}

QJsonObject AttentionLines::figureProvenance() const {
    QJsonObject o;
    o.insert(QStringLiteral("view"), QStringLiteral("attention lines (top-k keys per query)"));
    o.insert(QStringLiteral("top_k"), m_topK);
    o.insert(QStringLiteral("window"),
             QStringLiteral("%1-%2").arg(windowStart()).arg(windowStart() + windowSize() - 1));
    return o;
}

}  // namespace dxl::widgets
