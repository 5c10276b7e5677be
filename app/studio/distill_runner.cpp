// DistillRunner: the trainer on a QThread with pause / stop / resume.
#include "app/studio/distill_runner.h"

#include <QDir>
#include <QFileInfo>
#include <QThread>
#include <new>

#include "core/base/error.h"
#include "core/train/trainer.h"

namespace dxl::studio {

namespace {

// True when root holds a finished checkpoint (what `--resume auto` would continue from).
bool hasCheckpoint(const QString& root) {
    const QDir dir(root);
    for (const QString& n :
         dir.entryList({QStringLiteral("step_*")}, QDir::Dirs | QDir::NoDotAndDotDot))
        if (QFileInfo::exists(dir.filePath(n) + QStringLiteral("/state.json"))) return true;
    return false;
}

}  // namespace

DistillRunner::DistillRunner(QObject* parent) : QObject(parent) {}

DistillRunner::~DistillRunner() {
    if (!m_thread) return;
    stop();
    m_thread->wait();
    delete m_thread;
}

DistillRunner::State DistillRunner::state() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_state;
}

RunProgress DistillRunner::progress() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_progress;
}

void DistillRunner::setState(State s) {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_state == s) return;
        m_state = s;
    }
    emit stateChanged(s);
}

void DistillRunner::waitWhilePaused() {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_wake.wait(lock, [this] { return !m_pauseRequested || m_cancel->cancelled(); });
}

bool DistillRunner::start(const nlohmann::json& config, bool resume, QString* error) {
    if (m_thread) {
        *error = tr("A run is already going; stop it first.");
        return false;
    }
    train::RunConfig cfg;
    try {
        cfg = train::parse_run_config(config, "run config");
    } catch (const dxl::Error& e) {
        *error = QString::fromStdString(e.what());
        return false;
    }
    const QString out = QString::fromStdString(cfg.out_dir);
    const bool checkpointed = hasCheckpoint(out + QStringLiteral("/checkpoints"));
    if (!resume && checkpointed) {
        *error = tr("%1 already holds checkpoints of a run: press Resume to continue it, or "
                    "choose another output folder.")
                     .arg(out);
        return false;
    }
    if (resume && !checkpointed) {
        *error = tr("%1 holds no checkpoint to resume from; press Start.").arg(out);
        return false;
    }
    m_folder = QDir::cleanPath(QDir(out).absolutePath());
    m_cancel = std::make_unique<CancelToken>();
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_progress = RunProgress{};
        m_pauseRequested = false;
    }
    auto outcome = std::make_shared<train::TrainOutcome>();
    auto failure = std::make_shared<ErrorInfo>();
    m_thread = QThread::create([this, cfg, resume, outcome, failure] {
        train::TrainOptions opts;
        opts.resume = resume;
        train::TrainHooks hooks;
        hooks.cancel = m_cancel.get();
        hooks.on_progress = [this](const train::ProgressInfo& p) {
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                m_progress.stage = QString::fromStdString(p.stage);
                m_progress.stageIndex = static_cast<int>(p.stage_index);
                m_progress.stages = static_cast<int>(p.n_stages);
                m_progress.step = p.global_step;
                m_progress.totalSteps = p.total_steps;
                m_progress.elapsedS = p.elapsed_s;
                m_progress.etaS = p.eta_s;
                m_progress.valid = true;
            }
            waitWhilePaused();  // pause: the trainer sleeps here, between two steps
        };
        failure->action = "distilling";
        try {
            *outcome = train::run_training(cfg, opts, hooks);
        } catch (const dxl::Error& e) {
            failure->kind = static_cast<int>(e.kind());
            failure->kindName = e.kind_name();
            failure->message = e.what();
        } catch (const std::bad_alloc&) {
            failure->kindName = "OutOfMemory";
            failure->message = "out of memory; lower batch_size or seq_len";
        } catch (const std::exception& e) {  // c10::Error and friends
            failure->kindName = "Exception";
            failure->message = e.what();
        }
    });
    // QThread::finished is delivered in this (GUI) thread: the end of a run is one signal.
    connect(m_thread, &QThread::finished, this, [this, outcome, failure] {
        m_thread->deleteLater();
        m_thread = nullptr;
        setState(State::Idle);
        if (!failure->kindName.empty()) {
            emit failed(*failure);
            return;
        }
        RunEnd end;
        end.steps = outcome->global_step;
        end.stopped = outcome->stopped;
        end.stopReason = QString::fromStdString(outcome->stop_reason);
        end.finalModelDir = QString::fromStdString(outcome->final_model_dir);
        end.folder = m_folder;
        emit finished(end);
    });
    setState(State::Running);
    m_thread->start();
    return true;
}

void DistillRunner::pause() {
    if (state() != State::Running) return;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_pauseRequested = true;
    }
    setState(State::Paused);
}

void DistillRunner::proceed() {
    if (state() != State::Paused) return;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_pauseRequested = false;
    }
    m_wake.notify_all();
    setState(State::Running);
}

void DistillRunner::stop() {
    if (!m_thread) return;
    m_cancel->cancel();  // the trainer checks it before every step and saves a checkpoint
    m_wake.notify_all();
    setState(State::Stopping);
}

}  // namespace dxl::studio
