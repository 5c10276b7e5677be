// DistillRunner: runs one distillation (core train::run_training) on its own QThread so the GUI
// thread never calls torch (docs/architecture.md#threads). Pause blocks the trainer between steps
// (inside its
// progress hook), stop cancels it through the core CancelToken (the trainer saves a checkpoint
// first), and resume starts again with `--resume auto` semantics from the newest checkpoint of
// the run folder. Progress is not signalled per step: the dock reads progress() on its timer;
// only the end of a run (finished / failed) is a queued signal.
#pragma once

#include <nlohmann/json.hpp>

#include <QObject>
#include <QString>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "app/studio/studio_types.h"
#include "core/base/cancel.h"

class QThread;

namespace dxl::studio {

struct RunProgress {
    QString stage;
    int stageIndex = 0, stages = 0;
    qint64 step = 0, totalSteps = 0;  // global
    double elapsedS = 0, etaS = 0;
    bool valid = false;  // a step has completed
};

struct RunEnd {
    qint64 steps = 0;
    bool stopped = false;  // cancelled or stopped by the non-finite policy
    QString stopReason;
    QString finalModelDir;
    QString folder;
};

class DistillRunner : public QObject {
    Q_OBJECT
  public:
    enum class State { Idle, Running, Paused, Stopping };

    explicit DistillRunner(QObject* parent = nullptr);
    ~DistillRunner() override;  // stops a running run and waits for its checkpoint

    // Starts `config` (a run-config JSON, validated by the core parser first). With resume the
    // run continues from the newest checkpoint in its out_dir. False and *error when the config
    // is invalid or a run is already going.
    bool start(const nlohmann::json& config, bool resume, QString* error);
    void pause();
    void proceed();  // continue after pause()
    void stop();
    State state() const;
    bool busy() const { return state() != State::Idle; }
    RunProgress progress() const;
    QString folder() const { return m_folder; }

  signals:
    void stateChanged(dxl::studio::DistillRunner::State state);
    void finished(const dxl::studio::RunEnd& end);
    void failed(const dxl::studio::ErrorInfo& error);

  private:
    void setState(State s);
    void waitWhilePaused();

    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    State m_state = State::Idle;
    bool m_pauseRequested = false;
    RunProgress m_progress;
    std::unique_ptr<CancelToken> m_cancel;
    QThread* m_thread = nullptr;
    QString m_folder;
};

}  // namespace dxl::studio

Q_DECLARE_METATYPE(dxl::studio::RunEnd)
Q_DECLARE_METATYPE(dxl::studio::DistillRunner::State)
