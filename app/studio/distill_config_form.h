// DistillConfigForm: the run configuration of the Distill dock. A preset (Distil-xLSTM paper
// recipe, MOHAWK-style, LoLCATs-style: data/configs/distill_*.json) is the starting document;
// the form edits its common fields (models, output folder, data spec, batch, evaluation and
// checkpoint cadence, and per stage the steps, learning rate and the alpha / temperature / beta
// schedules) and the JSON tab edits everything else. The document is the run-config JSON that
// `dxl distill --config` reads; validate() runs the core parser on it and checks the folders.
#pragma once

#include <nlohmann/json.hpp>

#include <QWidget>
#include <functional>

#include "app/studio/studio_types.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;
class QTabWidget;

namespace dxl::studio {

class DistillConfigForm : public QWidget {
    Q_OBJECT
  public:
    // configDir: where distill_paper.json, distill_mohawk.json and distill_lolcats.json are.
    explicit DistillConfigForm(const QString& configDir, QWidget* parent = nullptr);

    // Defaults from the models loaded in the studio: teacher, student, and data that suit the
    // teacher (synthetic MQAR + induction without a tokenizer, fortunes + 10 % MQAR with one;
    // seq_len within the teacher's context).
    void setModels(const ModelsLoaded& models);
    // Loads a preset ("paper", "mohawk", "lolcats") and applies the model defaults to it.
    bool loadPreset(const QString& key, QString* error = nullptr);
    QString presetKey() const;
    // Replaces the document (e.g. a run's run_config.json); the form shows it.
    void setConfig(const nlohmann::json& config);
    nlohmann::json config() const { return m_doc; }
    // Empty when the document is a valid run config whose folders exist; else what is wrong
    // (the core parser's message, or the missing folder).
    QString validate() const;
    int64_t totalSteps() const;

    // Programmatic edits (walkthrough, tests): every stage's steps; evaluation cadence.
    void setStepsPerStage(int64_t steps);
    void setEvalEvery(int64_t steps);
    // "eval_alignment": per matched head JS on a held-out batch at every evaluation.
    void setEvalAlignment(bool on);
    void setOutDir(const QString& dir);
    QString outDir() const;
    // A fresh timestamped output folder when the current one was chosen automatically.
    void renewOutDir();

  signals:
    void changed();

  private:
    struct ScheduleRow {
        QComboBox* kind = nullptr;
        QDoubleSpinBox *start = nullptr, *end = nullptr;
    };
    QWidget* buildForm();
    ScheduleRow addScheduleRow(QFormLayout* form, const QString& label);
    void refresh();  // document -> widgets
    void editTop(const char* key, const nlohmann::json& value);
    nlohmann::json& stageArray();  // m_doc["stages"], one object per stage of the config
    void editStage(const std::function<void(nlohmann::json& stage)>& fn);
    void editSchedule(const char* key, const ScheduleRow& row);
    void applyModelDefaults();
    void browse(QLineEdit* edit, const QString& title);

    QString m_configDir;
    nlohmann::json m_doc = nlohmann::json::object();
    ModelsLoaded m_models;
    bool m_haveModels = false;
    bool m_autoOut = true;
    bool m_refreshing = false;

    QComboBox* m_preset = nullptr;
    QLineEdit *m_teacher = nullptr, *m_student = nullptr, *m_out = nullptr, *m_data = nullptr;
    QSpinBox *m_seqLen = nullptr, *m_batch = nullptr, *m_accum = nullptr;
    QSpinBox *m_evalEvery = nullptr, *m_ckptEvery = nullptr;
    QCheckBox* m_evalAlign = nullptr;
    QComboBox* m_stage = nullptr;
    QSpinBox* m_steps = nullptr;
    QLineEdit* m_lr = nullptr;
    ScheduleRow m_alpha, m_temperature, m_beta;
    QLabel* m_total = nullptr;
    QTabWidget* m_tabs = nullptr;
    QPlainTextEdit* m_json = nullptr;
    QLabel* m_jsonStatus = nullptr;
};

}  // namespace dxl::studio
