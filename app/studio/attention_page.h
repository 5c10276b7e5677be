// The Inspect page: input line + token chips, per-token KL strip, linked teacher | student |
// difference heatmaps with layer/head/normalisation/scale selectors, and the next-token
// predictions of both models side by side for the selected token.
#pragma once

#include <QWidget>

#include "app/studio/studio_types.h"

class QComboBox;
class QCheckBox;
class QLineEdit;
class QSpinBox;
class QTableWidget;

namespace dxl::widgets {
class LinkedHeatmaps;
class TokenStrip;
class TokenChips;
}  // namespace dxl::widgets

namespace dxl::studio {

struct Selection {
    int teacherLayer = 0, teacherHead = 0, studentBlock = 0, studentHead = 0;
    StudentNorm norm = StudentNorm::AbsRow;
    int scale = 0;  // widgets::ColorScale
    bool sharedRange = true;
    int token = -1;  // selected token (predictions, state scrubber)
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
    widgets::TokenStrip* klStrip() const { return m_kl; }

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
    void applyScale();
    void updatePredictions();

    QLineEdit* m_input = nullptr;
    widgets::TokenChips* m_chips = nullptr;
    widgets::TokenStrip* m_kl = nullptr;
    widgets::LinkedHeatmaps* m_linked = nullptr;
    QSpinBox *m_tl = nullptr, *m_th = nullptr, *m_sb = nullptr, *m_sh = nullptr;
    QComboBox *m_norm = nullptr, *m_scale = nullptr;
    QCheckBox* m_shared = nullptr;
    QTableWidget* m_predictions = nullptr;
    InspectSummary m_summary;
    ModelsLoaded m_models;
    int m_token = -1;
    bool m_updating = false;
};

}  // namespace dxl::studio
