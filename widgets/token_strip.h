// Per-token strip above the token axis: a bar per token (e.g. KL(teacher || student) at each
// position) with thinned token labels, and a marker for the selected token.
#pragma once

#include "widgets/line_plot.h"

namespace dxl::widgets {

class TokenStrip : public LinePlot {
    Q_OBJECT
  public:
    explicit TokenStrip(QWidget* parent = nullptr);
    void setValues(const std::vector<double>& values, const TokenList& tokens,
                   const QString& quantity);
    const std::vector<double>& values() const { return m_values; }
    QString figureCsv() const override;

  signals:
    void tokenClicked(int index);

  private:
    QCPBars* m_bars = nullptr;
    std::vector<double> m_values;  // (T)
    TokenList m_tokens;
    QString m_quantity;
};

// Tokens as chips in one scrollable row; click selects, the selection is highlighted.
class TokenChips : public QWidget {
    Q_OBJECT
  public:
    explicit TokenChips(QWidget* parent = nullptr);
    void setTokens(const TokenList& tokens);
    void setSelected(int index);
    int selected() const { return m_selected; }
    QSize sizeHint() const override;

  signals:
    void tokenClicked(int index);

  protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;

  private:
    void relayout();
    TokenList m_tokens;
    std::vector<QRect> m_rects;
    int m_selected = -1;
};

}  // namespace dxl::widgets
