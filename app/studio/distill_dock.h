// The Distill dock: run configuration (DistillConfigForm), start / pause / stop / resume of a
// run on a DistillRunner thread, a progress bar with ETA, and the live plots (DistillPlots) of
// every run in its list, pulled from the runs' metric logs on one 40 ms timer. Runs started by
// `dxl distill` are watched by adding their folder; "Show maps" opens a checkpoint of the
// current run as the student in the Inspect views.
#pragma once

#include <QWidget>
#include <memory>
#include <vector>

#include "app/studio/distill_runner.h"
#include "app/studio/studio_types.h"

class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QTimer;

namespace dxl::widgets {
class ExportableFigure;
}

namespace dxl::studio {

class DistillConfigForm;
class DistillPlots;
class RunLogTail;

class DistillDock : public QWidget {
    Q_OBJECT
  public:
    // configDir: the data/configs folder with the presets.
    explicit DistillDock(const QString& configDir, QWidget* parent = nullptr);
    ~DistillDock() override;

    // The models loaded in the studio become the defaults (not when the student is a
    // checkpoint of a run in the list: that is "show maps", not a new pair).
    void setModels(const ModelsLoaded& models);
    void setHeadless(bool headless) { m_headless = headless; }

    // Validates the form and starts a new run (resume = continue the current run's folder from
    // its newest checkpoint). False when validation or start-up failed (statusText() says why).
    bool startRun();
    bool resumeRun();
    // Adds a run folder (e.g. one `dxl distill --out DIR` writes) to the list and watches it.
    void watchFolder(const QString& folder);
    // Reads new log records of every run now (the timer does this every 40 ms).
    void pollRuns();

    DistillConfigForm* form() const { return m_form; }
    DistillPlots* plots() const { return m_plots; }
    DistillRunner* runner() const { return m_runner; }
    QString statusText() const;
    QString progressText() const;  // the progress bar's text
    int runCount() const { return static_cast<int>(m_runs.size()); }
    const RunLogTail* run(int i) const { return m_runs[static_cast<size_t>(i)].get(); }
    // Figures for export (empty until a run has logged something).
    QList<widgets::ExportableFigure*> figures() const;
    // Checkpoints of the current run as (step, folder).
    std::vector<std::pair<qint64, QString>> currentCheckpoints() const;

  signals:
    // Open `studentDir` (a checkpoint) as the student next to the current teacher.
    void showCheckpointRequested(const QString& studentDir);
    void runFinished(const dxl::studio::RunEnd& end);
    void errorOccurred(const dxl::studio::ErrorInfo& error);

  private:
    void setStatus(const QString& text, bool error = false);
    void updateButtons();
    void updateProgress();
    void addRun(const QString& folder);
    void refreshRunList();
    void refreshCheckpoints();
    void onRunnerFinished(const RunEnd& end);

    DistillConfigForm* m_form = nullptr;
    DistillPlots* m_plots = nullptr;
    DistillRunner* m_runner = nullptr;
    QPushButton *m_start = nullptr, *m_pause = nullptr, *m_stop = nullptr, *m_resume = nullptr;
    QPushButton *m_watch = nullptr, *m_remove = nullptr, *m_show = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_status = nullptr;
    QComboBox* m_runList = nullptr;
    QComboBox* m_checkpoints = nullptr;
    QTimer* m_timer = nullptr;
    std::vector<std::unique_ptr<RunLogTail>> m_runs;
    std::vector<int> m_colours;  // per run, fixed when the run is added
    int m_nextColour = 0;
    int m_current = -1;
    bool m_headless = false;
    // Watched runs (not ours): progress rate from what the polls saw.
    qint64 m_watchStep0 = -1;
    qint64 m_watchT0 = 0;
};

}  // namespace dxl::studio
