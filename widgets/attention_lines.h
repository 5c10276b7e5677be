// Token-to-token line view (the bertviz "head view"), mirrored for two
// models: query tokens in the middle column, the teacher's keys on the left and the student's on
// the right, one line per kept (query, key) edge with opacity and width by weight. Only the top-k
// keys of each query row are drawn, and only as many tokens as fit at a readable row height (at
// most kMaxTokens; a window that follows the selected query and scrolls with the wheel), so long
// inputs stay legible. Clicking a query token selects it:
// then only its edges are drawn, with their weights written next to the keys.
#pragma once

#include <QWidget>
#include <algorithm>
#include <vector>

#include "core/base/value_types.h"
#include "widgets/figure_export.h"

namespace dxl::widgets {

class AttentionLines : public QWidget, public ExportableFigure {
    Q_OBJECT
  public:
    static constexpr int kMaxTokens = 128;

    struct Edge {
        bool teacher = true;
        int query = 0, key = 0;  // token indices into the full sequence
        float weight = 0.0f;     // the map value (signed for a raw student map)
        float strength = 0.0f;   // |weight| / max |weight| of the row's kept edges, in (0, 1]
    };

    explicit AttentionLines(QWidget* parent = nullptr);

    // teacher, student: (T, T) maps over the same tokens (NaN = masked); titles name what each
    // side shows (head, normalisation).
    void setMaps(const HeatmapData& teacher, const HeatmapData& student, const TokenList& tokens,
                 const QString& teacherTitle, const QString& studentTitle);
    int tokenCount() const { return std::min(m_teacher.rows, m_student.rows); }
    void setTopK(int k);  // keys kept per query row (>= 1)
    int topK() const { return m_topK; }
    // -1: every query of the window; otherwise that query only (the window moves to show it).
    void setSelectedQuery(int query);
    int selectedQuery() const { return m_selected; }
    // The window of tokens shown at the widget's size: as many as rows of readable height fit.
    int windowStart() const;
    int windowSize() const;
    // The edges drawn now (window, top-k, selection applied), teacher first.
    std::vector<Edge> edges() const;
    // Centre of the token label of `index` in the middle (query) column, for tests and tooltips.
    QPoint queryPoint(int index) const;

    QString figureName() const override { return m_name; }
    void setName(const QString& name) { m_name = name; }
    QSize figureSize() const override { return QSize(900, 700); }
    void renderFigure(QCPPainter& painter, const QSize& size) override;
    QString figureCsv() const override;
    QJsonObject figureJson() const override;
    QJsonObject figureProvenance() const override;

    QSize sizeHint() const override { return QSize(600, 500); }
    QSize minimumSizeHint() const override { return QSize(240, 160); }

  signals:
    void querySelected(int query);

  protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;

  private:
    struct Layout {
        int start = 0, n = 0;  // the token window [start, start + n)
        double top = 0, rowHeight = 0;
        double xTeacherKeys = 0, xQueries = 0, xStudentKeys = 0, columnWidth = 0;
    };
    Layout layoutFor(const QSize& size) const;
    void paint(QPainter& p, const QSize& size) const;
    std::vector<Edge> edgesIn(const Layout& L) const;
    void rowEdges(const HeatmapData& map, bool teacher, int query, const Layout& L,
                  std::vector<Edge>* out) const;

    HeatmapData m_teacher, m_student;
    TokenList m_tokens;
    QString m_teacherTitle, m_studentTitle, m_name = QStringLiteral("attention_lines");
    int m_topK = 3;
    int m_selected = -1;
    int m_start = 0;  // scroll position (the first token shown when it fits)
};

}  // namespace dxl::widgets
