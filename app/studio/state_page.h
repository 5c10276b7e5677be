// The Recurrent-state page: C_t of a chosen mLSTM head as a heatmap with a time scrubber linked
// to the tokens, ||C_t|| and effective rank over t, gate traces and the stabiliser m; for sLSTM
// blocks the chosen state (c/n/m/h) over tokens x units.
#pragma once

#include <QWidget>

#include "app/studio/studio_types.h"

class QComboBox;
class QSlider;
class QSpinBox;
class QLabel;

namespace dxl::widgets {
class AttentionHeatmap;
class LinePlot;
}  // namespace dxl::widgets

namespace dxl::studio {

class StatePage : public QWidget {
    Q_OBJECT
  public:
    explicit StatePage(QWidget* parent = nullptr);
    void setModels(const ModelsLoaded& models);
    void setTokens(const TokenList& tokens);
    void setState(const StateResult& state);
    int block() const;
    int head() const;
    int t() const;
    QString quantity() const;
    widgets::AttentionHeatmap* stateMap() const { return m_map; }
    widgets::LinePlot* normPlot() const { return m_norms; }
    widgets::LinePlot* gatePlot() const { return m_gates; }

  signals:
    void requestChanged();

  public slots:
    void setT(int t);

  private:
    QSpinBox *m_block = nullptr, *m_head = nullptr;
    QComboBox* m_quantity = nullptr;
    QSlider* m_scrubber = nullptr;
    QLabel* m_tokenLabel = nullptr;
    widgets::AttentionHeatmap* m_map = nullptr;
    widgets::LinePlot *m_norms = nullptr, *m_gates = nullptr;
    TokenList m_tokens;
};

}  // namespace dxl::studio
