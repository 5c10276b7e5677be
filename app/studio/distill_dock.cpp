// DistillDock: form + run controls + run list + live plots, one polling timer.
#include "app/studio/distill_dock.h"

#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSplitter>
#include <QTimer>
#include <QVBoxLayout>

#include "app/studio/distill_config_form.h"
#include "app/studio/distill_plots.h"
#include "app/studio/run_log_tail.h"
#include "widgets/line_plot.h"

namespace dxl::studio {

namespace {

constexpr int kPollMs = 40;  // GUI pulls metrics every 30-50 ms (docs/architecture.md#threads)

QString duration(double s) {
    const qint64 t = static_cast<qint64>(s + 0.5);
    if (t >= 3600)
        return QStringLiteral("%1h%2m").arg(t / 3600).arg((t / 60) % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1m%2s").arg(t / 60).arg(t % 60, 2, 10, QLatin1Char('0'));
}

QIcon swatch(int colour) {
    QPixmap p(12, 12);
    p.fill(widgets::seriesColor(colour));
    return QIcon(p);
}

}  // namespace

DistillDock::DistillDock(const QString& configDir, QWidget* parent) : QWidget(parent) {
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    auto* split = new QSplitter(Qt::Horizontal, this);
    layout->addWidget(split);

    // Left: configuration, controls, progress.
    auto* left = new QWidget(split);
    auto* ll = new QVBoxLayout(left);
    ll->setContentsMargins(0, 0, 0, 0);
    auto* scroll = new QScrollArea(left);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    m_form = new DistillConfigForm(configDir, scroll);
    scroll->setWidget(m_form);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setMinimumWidth(m_form->minimumSizeHint().width() +
                            scroll->verticalScrollBar()->sizeHint().width() + 4);
    ll->addWidget(scroll, 1);
    auto* buttons = new QHBoxLayout();
    m_start = new QPushButton(tr("&Start"), left);
    m_pause = new QPushButton(tr("&Pause"), left);
    m_stop = new QPushButton(tr("S&top"), left);
    m_resume = new QPushButton(tr("&Resume"), left);
    m_start->setObjectName(QStringLiteral("distillStart"));
    m_start->setToolTip(tr("Validate the configuration and start a new run (Ctrl+Return)"));
    m_start->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    m_pause->setToolTip(tr("Pause after the current step / continue"));
    m_stop->setToolTip(tr("Stop after the current step; a checkpoint is saved"));
    m_resume->setToolTip(
        tr("Continue the selected run from its newest checkpoint (dxl distill --resume auto)"));
    for (QPushButton* b : {m_start, m_pause, m_stop, m_resume})
        buttons->addWidget(b);
    ll->addLayout(buttons);
    m_progress = new QProgressBar(left);
    m_progress->setObjectName(QStringLiteral("distillProgress"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(tr("no run"));
    ll->addWidget(m_progress);
    m_status = new QLabel(left);
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    ll->addWidget(m_status);
    split->addWidget(left);

    // Right: runs, checkpoints, plots.
    auto* right = new QWidget(split);
    auto* rl = new QVBoxLayout(right);
    rl->setContentsMargins(0, 0, 0, 0);
    auto* runs = new QHBoxLayout();
    m_runList = new QComboBox(right);
    m_runList->setObjectName(QStringLiteral("distillRuns"));
    m_runList->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_runList->setMinimumContentsLength(18);
    m_watch = new QPushButton(tr("Watch run folder\u2026"), right);
    m_watch->setToolTip(tr("Follow a run started by `dxl distill --out DIR`"));
    m_remove = new QPushButton(tr("Remove"), right);
    m_checkpoints = new QComboBox(right);
    m_checkpoints->setObjectName(QStringLiteral("distillCheckpoints"));
    m_checkpoints->setMinimumContentsLength(10);
    m_show = new QPushButton(tr("Show maps"), right);
    m_show->setToolTip(tr("Open this checkpoint as the student in the Inspect views"));
    runs->addWidget(new QLabel(tr("Runs"), right));
    runs->addWidget(m_runList);
    runs->addWidget(m_watch);
    runs->addWidget(m_remove);
    runs->addSpacing(16);
    runs->addWidget(new QLabel(tr("Show maps at step"), right));
    runs->addWidget(m_checkpoints);
    runs->addWidget(m_show);
    runs->addStretch(1);
    rl->addLayout(runs);
    m_plots = new DistillPlots(right);
    rl->addWidget(m_plots, 1);
    split->addWidget(right);
    split->setStretchFactor(0, 0);
    split->setStretchFactor(1, 1);
    split->setSizes({430, 1070});

    m_runner = new DistillRunner(this);
    m_timer = new QTimer(this);
    m_timer->setInterval(kPollMs);
    connect(m_timer, &QTimer::timeout, this, &DistillDock::pollRuns);

    connect(m_start, &QPushButton::clicked, this, &DistillDock::startRun);
    connect(m_resume, &QPushButton::clicked, this, &DistillDock::resumeRun);
    connect(m_pause, &QPushButton::clicked, this, [this] {
        if (m_runner->state() == DistillRunner::State::Paused)
            m_runner->proceed();
        else
            m_runner->pause();
    });
    connect(m_stop, &QPushButton::clicked, m_runner, &DistillRunner::stop);
    connect(m_runner, &DistillRunner::stateChanged, this, [this] {
        updateButtons();
        updateProgress();
    });
    connect(m_runner, &DistillRunner::finished, this, &DistillDock::onRunnerFinished);
    connect(m_runner, &DistillRunner::failed, this, [this](const ErrorInfo& e) {
        pollRuns();
        setStatus(tr("Run failed \u2014 %1: %2")
                      .arg(QString::fromStdString(e.kindName), QString::fromStdString(e.message)),
                  true);
        updateButtons();
        emit errorOccurred(e);
    });
    connect(m_watch, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Watch run folder"));
        if (!dir.isEmpty()) watchFolder(dir);
    });
    connect(m_remove, &QPushButton::clicked, this, [this] {
        if (m_current < 0 ||
            (m_runner->busy() &&
             m_runs[static_cast<size_t>(m_current)]->folder() == m_runner->folder()))
            return;
        m_runs.erase(m_runs.begin() + m_current);
        m_colours.erase(m_colours.begin() + m_current);
        m_current = std::min(m_current, static_cast<int>(m_runs.size()) - 1);
        refreshRunList();
    });
    connect(m_runList, qOverload<int>(&QComboBox::activated), this, [this](int i) {
        m_current = i;
        m_watchStep0 = -1;
        refreshRunList();
    });
    connect(m_show, &QPushButton::clicked, this, [this] {
        const QString dir = m_checkpoints->currentData().toString();
        if (!dir.isEmpty()) emit showCheckpointRequested(dir);
    });
    connect(m_form, &DistillConfigForm::changed, this, [this] {
        if (!m_runner->busy()) setStatus(m_form->validate(), true);
    });
    m_timer->start();
    updateButtons();
    setStatus(m_form->validate(), true);
}

DistillDock::~DistillDock() {
    // Stop the run (the trainer saves a checkpoint) and wait for its thread while this dock is
    // whole: as a child QObject the runner would be deleted after the buttons its state signal
    // updates (a crash on closing the window during a run).
    m_runner->disconnect();
    delete m_runner;
    m_runner = nullptr;
}

void DistillDock::setModels(const ModelsLoaded& models) {
    const QString student = QDir::cleanPath(QString::fromStdString(models.student.dir));
    for (const auto& r : m_runs)
        if (student.startsWith(r->folder() + QLatin1Char('/'))) return;  // a checkpoint
    m_form->setModels(models);
}

QString DistillDock::statusText() const {
    return m_status->text();
}

QString DistillDock::progressText() const {
    return m_progress->text();
}

void DistillDock::setStatus(const QString& text, bool error) {
    m_status->setText(text);
    m_status->setStyleSheet(error && !text.isEmpty() ? QStringLiteral("color: #c0392b;")
                                                     : QString());
}

bool DistillDock::startRun() {
    const QString why = m_form->validate();
    if (!why.isEmpty()) {
        setStatus(tr("Not started: %1").arg(why), true);
        if (!m_headless) QMessageBox::warning(this, tr("Distillation not started"), why);
        return false;
    }
    QString error;
    if (!m_runner->start(m_form->config(), false, &error)) {
        setStatus(tr("Not started: %1").arg(error), true);
        if (!m_headless) QMessageBox::warning(this, tr("Distillation not started"), error);
        return false;
    }
    addRun(m_runner->folder());
    setStatus(tr("Running in %1").arg(m_runner->folder()));
    return true;
}

bool DistillDock::resumeRun() {
    if (m_current < 0) return false;
    const QString folder = m_runs[static_cast<size_t>(m_current)]->folder();
    QFile f(folder + QStringLiteral("/run_config.json"));
    nlohmann::json cfg;
    if (f.open(QIODevice::ReadOnly))
        cfg = nlohmann::json::parse(f.readAll().toStdString(), nullptr, false);
    QString error;
    if (cfg.is_discarded() || !cfg.is_object()) {
        error = tr("%1 has no readable run_config.json").arg(folder);
    } else {
        cfg["out_dir"] = folder.toStdString();
        if (m_runner->start(cfg, true, &error)) {
            m_watchStep0 = -1;
            setStatus(tr("Resumed %1 from its newest checkpoint").arg(folder));
            return true;
        }
    }
    setStatus(tr("Not resumed: %1").arg(error), true);
    if (!m_headless) QMessageBox::warning(this, tr("Distillation not resumed"), error);
    return false;
}

void DistillDock::watchFolder(const QString& folder) {
    addRun(QDir(folder).absolutePath());
    pollRuns();
    if (m_runs.back()->recordCount() == 0)
        setStatus(tr("Watching %1 (no run.dxlrec yet)").arg(folder));
    else
        setStatus(tr("Watching %1").arg(folder));
}

void DistillDock::addRun(const QString& folder) {
    const QString clean = QDir::cleanPath(folder);
    for (size_t i = 0; i < m_runs.size(); ++i) {
        if (m_runs[i]->folder() == clean) {
            m_current = static_cast<int>(i);
            refreshRunList();
            return;
        }
    }
    m_runs.push_back(std::make_unique<RunLogTail>(clean));
    m_colours.push_back(m_nextColour++);
    m_current = static_cast<int>(m_runs.size()) - 1;
    m_watchStep0 = -1;
    refreshRunList();
}

void DistillDock::refreshRunList() {
    m_runList->clear();
    for (size_t i = 0; i < m_runs.size(); ++i)
        m_runList->addItem(swatch(m_colours[i]), m_runs[i]->name(), m_runs[i]->folder());
    m_runList->setCurrentIndex(m_current);
    if (m_current >= 0) m_runList->setToolTip(m_runs[static_cast<size_t>(m_current)]->folder());
    std::vector<RunView> views;
    for (size_t i = 0; i < m_runs.size(); ++i)
        views.push_back({m_runs[i].get(), m_colours[i]});
    m_plots->setRuns(views, m_current);
    refreshCheckpoints();
    updateButtons();
}

std::vector<std::pair<qint64, QString>> DistillDock::currentCheckpoints() const {
    std::vector<std::pair<qint64, QString>> out;
    if (m_current < 0) return out;
    for (const auto& [step, dir] : m_runs[static_cast<size_t>(m_current)]->checkpoints())
        out.emplace_back(step, dir);
    return out;
}

void DistillDock::refreshCheckpoints() {
    const auto cps = currentCheckpoints();
    if (m_checkpoints->count() == static_cast<int>(cps.size())) return;
    m_checkpoints->clear();
    for (const auto& [step, dir] : cps)
        m_checkpoints->addItem(QFileInfo(dir).fileName() == QStringLiteral("final")
                                   ? tr("%1 (final)").arg(step)
                                   : QString::number(step),
                               dir);
    m_checkpoints->setCurrentIndex(m_checkpoints->count() - 1);
    m_show->setEnabled(m_checkpoints->count() > 0);
}

void DistillDock::pollRuns() {
    bool changed = false;
    for (auto& r : m_runs)
        changed = r->poll() > 0 || changed;
    if (changed) {
        std::vector<RunView> views;
        for (size_t i = 0; i < m_runs.size(); ++i)
            views.push_back({m_runs[i].get(), m_colours[i]});
        m_plots->setRuns(views, m_current);
        refreshCheckpoints();
    }
    updateProgress();
}

void DistillDock::updateProgress() {
    const DistillRunner::State state = m_runner->state();
    const bool ours = m_current >= 0 && m_runner->busy() &&
                      m_runs[static_cast<size_t>(m_current)]->folder() == m_runner->folder();
    if (ours) {
        const RunProgress p = m_runner->progress();
        if (!p.valid) {
            m_progress->setRange(0, 0);  // busy: loading models, pre-flight
            m_progress->setFormat(tr("starting\u2026"));
            return;
        }
        m_progress->setRange(0, static_cast<int>(std::max<qint64>(1, p.totalSteps)));
        m_progress->setValue(static_cast<int>(p.step));
        const QString what = state == DistillRunner::State::Paused ? tr("paused")
                             : state == DistillRunner::State::Stopping
                                 ? tr("stopping")
                                 : tr("ETA %1").arg(duration(p.etaS));
        m_progress->setFormat(tr("stage %1/%2 %3 \u2014 step %4/%5 \u2014 %6")
                                  .arg(p.stageIndex + 1)
                                  .arg(p.stages)
                                  .arg(p.stage)
                                  .arg(p.step)
                                  .arg(p.totalSteps)
                                  .arg(what));
        return;
    }
    if (m_current < 0) return;
    const RunLogTail& r = *m_runs[static_cast<size_t>(m_current)];
    const qint64 planned = r.plannedSteps();
    const qint64 step = r.lastStep();
    m_progress->setRange(0, static_cast<int>(std::max<qint64>(1, planned > 0 ? planned : step)));
    m_progress->setValue(static_cast<int>(step));
    QString eta;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (m_watchStep0 < 0) {
        m_watchStep0 = step;
        m_watchT0 = now;
    } else if (!r.finished() && step > m_watchStep0 && planned > step) {
        const double rate = static_cast<double>(step - m_watchStep0) / ((now - m_watchT0) / 1000.0);
        eta = tr(" \u2014 ETA %1").arg(duration(static_cast<double>(planned - step) / rate));
    }
    m_progress->setFormat(
        r.finished() ? tr("%1: done, %2 steps").arg(r.name()).arg(step)
                     : tr("%1: step %2/%3%4")
                           .arg(r.name())
                           .arg(step)
                           .arg(planned > 0 ? QString::number(planned) : QStringLiteral("?"))
                           .arg(eta));
}

void DistillDock::updateButtons() {
    const DistillRunner::State s = m_runner->state();
    const bool idle = s == DistillRunner::State::Idle;
    m_start->setEnabled(idle);
    m_resume->setEnabled(idle && m_current >= 0);
    m_pause->setEnabled(s == DistillRunner::State::Running || s == DistillRunner::State::Paused);
    m_pause->setText(s == DistillRunner::State::Paused ? tr("&Continue") : tr("&Pause"));
    m_stop->setEnabled(s == DistillRunner::State::Running || s == DistillRunner::State::Paused);
    m_remove->setEnabled(m_current >= 0);
    m_form->setEnabled(idle);
}

void DistillDock::onRunnerFinished(const RunEnd& end) {
    pollRuns();
    if (end.stopped)
        setStatus(tr("Stopped at step %1 (%2); Resume continues from the checkpoint.")
                      .arg(end.steps)
                      .arg(end.stopReason));
    else
        setStatus(tr("Finished: %1 steps; distilled student in %2")
                      .arg(end.steps)
                      .arg(end.finalModelDir));
    m_form->renewOutDir();
    updateButtons();
    emit runFinished(end);
}

QList<widgets::ExportableFigure*> DistillDock::figures() const {
    for (const auto& r : m_runs)
        if (r->recordCount() > 0) return m_plots->figures();
    return {};
}

}  // namespace dxl::studio
