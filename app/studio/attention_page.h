// The Inspect page: input line + token chips (optionally coloured by a per-token quantity),
// per-token KL strip, linked teacher | student | difference heatmaps with
// layer/head/normalisation/scale selectors, single head or rollout, display filters, and the
// next-token predictions of both models side by side for the selected token.
#pragma once

#include <QWidget>

#include "app/studio/studio_types.h"

class QComboBox;
class QCheckBox;
class QDoubleSpinBox;
class QLabel;
class QToolButton;
class QLineEdit;
class QSpinBox;
class QTableWidget;
class QTabWidget;

namespace dxl::widgets {
class AttentionLines;
class LinkedHeatmaps;
class TokenStrip;
class TokenChips;
}  // namespace dxl::widgets

namespace dxl::studio {

// What colours the token chips: attention received in the shown maps
// (MapsResult::*Received) or KL(teacher || student) per token (InspectSummary::klPerToken).
enum class TokenHighlight { None, TeacherReceived, StudentReceived, DifferenceReceived, Kl };
const char* highlightKey(TokenHighlight h);               // "none", "teacher_received", ...
TokenHighlight highlightFromKey(const std::string& key);  // unknown -> None

struct Selection {
    int teacherLayer = 0, teacherHead = 0, studentBlock = 0, studentHead = 0;
    StudentNorm norm = StudentNorm::AbsRow;
    int scale = 0;  // widgets::ColorScale
    bool sharedRange = true;
    int token = -1;  // selected token (predictions, state scrubber)
    MapFilter filter;
    MapMode mode = MapMode::SingleHead;
    TokenHighlight highlight = TokenHighlight::None;
};

class AttentionPage : public QWidget {
    Q_OBJECT
  public:
    explicit AttentionPage(QWidget* parent = nullptr);

    void setModels(const ModelsLoaded& models);
    void setSummary(const InspectSummary& summary);
    void setMaps(const MapsResult& maps);
    Selection selection() const;
    void setSelection(const Selection& s);
    QString input() const;
    void setInput(const QString& text);
    widgets::LinkedHeatmaps* linked() const { return m_linked; }
    widgets::AttentionLines* lines() const { return m_lines; }
    QTabWidget* viewTabs() const { return m_views; }
    widgets::TokenStrip* klStrip() const { return m_kl; }
    widgets::TokenChips* chips() const { return m_chips; }
    QString filterButtonText() const;

  signals:
    void selectionChanged();
    void normChanged();
    void runRequested(const QString& input);
    void tokenSelected(int t);

  public slots:
    void stepTeacherHead(int delta);
    void stepTeacherLayer(int delta);
    void stepStudentHead(int delta);
    void stepStudentBlock(int delta);
    void selectToken(int t);

  private:
    QWidget* buildFilterControls();
    void filterEdited();
    void updateHighlight();
    void applyScale();
    void updatePredictions();

    QLineEdit* m_input = nullptr;
    widgets::TokenChips* m_chips = nullptr;
    widgets::TokenStrip* m_kl = nullptr;
    widgets::LinkedHeatmaps* m_linked = nullptr;
    widgets::AttentionLines* m_lines = nullptr;  // the same maps as lines
    QTabWidget* m_views = nullptr;               // heatmaps | lines
    QSpinBox *m_tl = nullptr, *m_th = nullptr, *m_sb = nullptr, *m_sh = nullptr;
    int m_prevBlock = 0;  // last mLSTM block shown (sLSTM blocks are skipped)
    QComboBox *m_norm = nullptr, *m_scale = nullptr, *m_mode = nullptr, *m_highlight = nullptr;
    QCheckBox *m_shared = nullptr, *m_dropSink = nullptr;
    QToolButton* m_filter = nullptr;
    QDoubleSpinBox* m_threshold = nullptr;
    QSpinBox* m_topK = nullptr;
    QLabel* m_legend = nullptr;
    QString m_filterHelp;  // the filter button's tooltip after the active filters
    QTableWidget* m_predictions = nullptr;
    InspectSummary m_summary;
    MapsResult m_maps;  // last shown (highlight values)
    ModelsLoaded m_models;
    int m_token = -1;
    bool m_updating = false;
};

}  // namespace dxl::studio
