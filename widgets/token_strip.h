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

// Tokens as chips in one scrollable row; click selects, the selection is highlighted. Chips can be
// coloured by a per-token quantity (viridis over its finite range; RdBu centred on 0 when it has
// negative values), with the value in each chip's tooltip and a legend for the range.
class TokenChips : public QWidget {
    Q_OBJECT
  public:
    explicit TokenChips(QWidget* parent = nullptr);
    void setTokens(const TokenList& tokens);
    void setSelected(int index);
    int selected() const { return m_selected; }
    QSize sizeHint() const override;

    // values: (T) one per token, or empty for plain chips; NaN chips stay plain.
    void setHighlight(const std::vector<double>& values, const QString& quantity);
    const std::vector<double>& highlightValues() const { return m_values; }
    // Fill colour of chip i (the plain base colour when there is no highlight or no value).
    QColor chipColor(int index) const;
    QString chipTooltip(int index) const;
    // "<swatch> lo … <swatch> hi" for a label next to the chips; "" without a highlight.
    QString legendHtml() const;

  signals:
    void tokenClicked(int index);

  protected:
    bool event(QEvent* event) override;
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;

  private:
    void relayout();
    QColor valueColor(double v) const;
    TokenList m_tokens;
    std::vector<QRect> m_rects;
    int m_selected = -1;
    std::vector<double> m_values;  // (T) highlight, empty = none
    QString m_quantity;
    double m_lo = 0, m_hi = 0;  // colour range of m_values
    bool m_signed = false;
};

}  // namespace dxl::widgets
