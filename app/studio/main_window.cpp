// MainWindow: composition, worker wiring, File menu and error dialogs. Session save and
// restore: main_window_session.cpp; figure export: main_window_export.cpp.
#include "app/studio/main_window.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QSignalBlocker>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <cmath>

#include "app/studio/alignment_page.h"
#include "app/studio/attention_page.h"
#include "app/studio/capture_bar.h"
#include "app/studio/compute_worker.h"
#include "app/studio/distill_dock.h"
#include "app/studio/drop_handler.h"
#include "app/studio/heads_dock.h"
#include "app/studio/lens_page.h"
#include "app/studio/state_page.h"
#include "app/studio/studio_app.h"
#include "dxl/config.h"
#include "widgets/alignment_matrix.h"
#include "widgets/attention_lines.h"
#include "widgets/figure_export.h"
#include "widgets/head_grid.h"
#include "widgets/line_plot.h"
#include "widgets/linked_heatmaps.h"
#include "widgets/token_strip.h"

namespace dxl::studio {

namespace {
constexpr int kMapsBit = 1, kAlignBit = 2, kStateBit = 4;

// What to tell the user for each error class (docs/architecture.md#errors).
QString remedyFor(const ErrorInfo& e) {
    if (QString::fromStdString(e.action).contains(QStringLiteral("capture"))) {
        switch (e.kind) {
            case 3:
                return QObject::tr("Check the path (File \u2192 Open capture file).");
            case 4:
                return QObject::tr(
                    "The capture file is damaged, truncated or not written by dxl capture. If "
                    "the capture was interrupted, recover its committed samples with `dxl inspect "
                    "FILE --repair`; otherwise re-run dxl capture.");
            case 5:
                return QObject::tr(
                    "The file needs what this build cannot show (a newer schema, or a capture "
                    "of a head or layer subset); update dxl-studio or re-capture as the message "
                    "says.");
            default:
                break;
        }
    }
    switch (e.kind) {
        case 3:
            return QObject::tr(
                "Check that the folder exists and holds config.json and model.safetensors (File "
                "\u2192 Open models).");
        case 4:
            return QObject::tr(
                "The file is damaged or not in the expected format; re-export or re-download it.");
        case 5:
            return QObject::tr(
                "This model or file version is not supported by this build of dxl-studio.");
        case 7:
            return QObject::tr(
                "Change the input (token ids must be below the vocabulary size and within the "
                "context length).");
        case 70:
            return QObject::tr(
                "This is a bug in dxl-studio; please report it with the message above.");
        default:
            break;
    }
    if (e.kindName == "OutOfMemory")
        return QObject::tr("Close other applications or use a shorter input.");
    return QObject::tr("The previous state is kept; you can continue working.");
}
}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(tr("Distil-xLSTM Studio"));
    setWindowIcon(QIcon(QStringLiteral(":/dxl/icons/dxl-studio.svg")));
    ComputeWorker::registerTypes();
    m_tabs = new QTabWidget(this);
    m_attention = new AttentionPage(m_tabs);
    m_alignmentPage = new AlignmentPage(m_tabs);
    m_state = new StatePage(m_tabs);
    m_tabs->addTab(m_attention, tr("&Inspect"));
    m_tabs->addTab(m_alignmentPage, tr("&Alignment"));
    m_tabs->addTab(m_state, tr("Recurrent &state"));
    m_lens = new LensPage(m_tabs);
    m_tabs->addTab(m_lens, tr("Logit &lens"));
    auto* central = new QWidget(this);
    auto* centralLayout = new QVBoxLayout(central);
    centralLayout->setContentsMargins(0, 0, 0, 0);
    centralLayout->setSpacing(0);
    m_captureBar = new CaptureBar(central);
    centralLayout->addWidget(m_captureBar);
    centralLayout->addWidget(m_tabs, 1);
    setCentralWidget(central);
    auto* dock = new QDockWidget(tr("Heads"), this);
    dock->setObjectName(QStringLiteral("headsDock"));
    m_heads = new HeadsDock(dock);
    dock->setWidget(m_heads);
    addDockWidget(Qt::RightDockWidgetArea, dock);
    m_distillDockWidget = new QDockWidget(tr("Distill"), this);
    m_distillDockWidget->setObjectName(QStringLiteral("distillDock"));
    m_distill =
        new DistillDock(findDataDir(QString()) + QStringLiteral("/configs"), m_distillDockWidget);
    m_distillDockWidget->setWidget(m_distill);
    addDockWidget(Qt::BottomDockWidgetArea, m_distillDockWidget);
    m_distillDockWidget->hide();
    m_status = new QLabel(tr("Starting\u2026"), this);
    statusBar()->addWidget(m_status, 1);
    m_device = new QComboBox(this);
    m_device->setObjectName(QStringLiteral("deviceSelector"));
    m_device->setToolTip(tr("Where the models run (docs/gpu.md); changing it reloads them"));
    m_device->addItems({QStringLiteral("auto"), QStringLiteral("cpu")});
    statusBar()->addPermanentWidget(new QLabel(tr("Device:"), this));
    statusBar()->addPermanentWidget(m_device);

    // Worker thread: owns the models; everything crosses by queued signals.
    m_worker = new ComputeWorker();
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    connect(this, &MainWindow::loadRequested, m_worker, &ComputeWorker::loadModels,
            Qt::QueuedConnection);
    connect(this, &MainWindow::runRequested, m_worker, &ComputeWorker::runInput,
            Qt::QueuedConnection);
    connect(this, &MainWindow::mapsRequested, m_worker, &ComputeWorker::requestMaps,
            Qt::QueuedConnection);
    connect(this, &MainWindow::alignmentRequested, m_worker, &ComputeWorker::requestAlignment,
            Qt::QueuedConnection);
    connect(this, &MainWindow::stateRequested, m_worker, &ComputeWorker::requestState,
            Qt::QueuedConnection);
    connect(m_worker, &ComputeWorker::modelsLoaded, this, &MainWindow::onModelsLoaded,
            Qt::QueuedConnection);
    connect(m_worker, &ComputeWorker::inspectReady, this, &MainWindow::onInspectReady,
            Qt::QueuedConnection);
    connect(m_worker, &ComputeWorker::mapsReady, this, &MainWindow::onMapsReady,
            Qt::QueuedConnection);
    connect(
        m_worker, &ComputeWorker::alignmentReady, this,
        [this](const AlignmentResult& r) {
            m_alignmentPage->setResult(r);
            showMatchScores(r);
            markReceived(kAlignBit);
        },
        Qt::QueuedConnection);
    connect(m_worker, &ComputeWorker::stateReady, this, &MainWindow::onStateReady,
            Qt::QueuedConnection);
    connect(this, &MainWindow::captureOpenRequested, m_worker, &ComputeWorker::openCapture,
            Qt::QueuedConnection);
    connect(this, &MainWindow::captureSampleRequested, m_worker,
            &ComputeWorker::requestCaptureSample, Qt::QueuedConnection);
    connect(m_worker, &ComputeWorker::captureOpened, this, &MainWindow::onCaptureOpened,
            Qt::QueuedConnection);
    connect(this, &MainWindow::lensRequested, m_worker, &ComputeWorker::requestLens,
            Qt::QueuedConnection);
    connect(
        m_worker, &ComputeWorker::lensReady, this,
        [this](const LensResult& r) {
            m_lens->setLens(r);
            emit lensShown();
        },
        Qt::QueuedConnection);
    connect(m_tabs, &QTabWidget::currentChanged, this, [this] { requestLensIfShown(); });
    connect(m_worker, &ComputeWorker::failed, this, &MainWindow::onFailed, Qt::QueuedConnection);
    connect(
        m_worker, &ComputeWorker::busyChanged, this,
        [this](bool busy) { m_status->setText(busy ? tr("Computing\u2026") : m_statusText); },
        Qt::QueuedConnection);
    connect(
        m_worker, &ComputeWorker::devicesListed, this,
        [this](const QStringList& devices) {
            const QString current = m_device->currentText();
            const QSignalBlocker block(m_device);
            m_device->clear();
            m_device->addItems(devices);
            m_device->setCurrentText(devices.contains(current) ? current : devices.value(0));
        },
        Qt::QueuedConnection);
    connect(m_device, &QComboBox::textActivated, this, &MainWindow::setDevice);
    m_thread.start();
    QMetaObject::invokeMethod(m_worker, &ComputeWorker::listDevices, Qt::QueuedConnection);

    connect(m_attention, &AttentionPage::selectionChanged, this, &MainWindow::requestMaps);
    connect(m_attention, &AttentionPage::normChanged, this, &MainWindow::rerun);
    connect(m_attention, &AttentionPage::runRequested, this, [this](const QString& input) {
        m_pendingInput = input;
        emit runRequested(input, static_cast<int>(m_attention->selection().norm));
    });
    connect(m_attention, &AttentionPage::tokenSelected, m_state, &StatePage::setT);
    connect(m_alignmentPage, &AlignmentPage::metricChanged, this, &MainWindow::requestAlignment);
    connect(m_alignmentPage, &AlignmentPage::layerMapChanged, this, &MainWindow::requestAlignment);
    connect(m_captureBar, &CaptureBar::sampleChosen, this, [this](int sample) {
        emit captureSampleRequested(sample, static_cast<int>(m_attention->selection().norm));
    });
    connect(m_captureBar, &CaptureBar::closeRequested, this, &MainWindow::leaveCapture);
    connect(m_alignmentPage, &AlignmentPage::pairChosen, this,
            [this](int tl, int th, int sb, int sh) {
                Selection s = m_attention->selection();
                s.teacherLayer = tl;
                s.teacherHead = th;
                s.studentBlock = sb;
                s.studentHead = sh;
                m_attention->setSelection(s);
                m_tabs->setCurrentWidget(m_attention);
            });
    connect(m_state, &StatePage::requestChanged, this, &MainWindow::requestState);
    connect(m_heads, &HeadsDock::teacherHeadChosen, this, [this](int l, int h) {
        Selection s = m_attention->selection();
        s.teacherLayer = l;
        s.teacherHead = h;
        m_attention->setSelection(s);
    });
    connect(m_heads, &HeadsDock::studentHeadChosen, this, [this](int b, int h) {
        Selection s = m_attention->selection();
        s.studentBlock = b;
        s.studentHead = h;
        m_attention->setSelection(s);
    });
    connect(m_distill, &DistillDock::showCheckpointRequested, this, [this](const QString& dir) {
        m_tabs->setCurrentWidget(m_attention);
        openModels(QString::fromStdString(modelDirs().teacher.dir), dir, m_attention->input());
    });
    connect(m_distill, &DistillDock::errorOccurred, this, &MainWindow::onFailed);
    // Drag and drop: model folders replace the teacher or the student, run folders are watched.
    auto* drops = new DropHandler(this);
    connect(drops, &DropHandler::modelDropped, this, [this](const QString& dir, bool student) {
        openModels(student ? QString::fromStdString(modelDirs().teacher.dir) : dir,
                   student ? dir : QString::fromStdString(modelDirs().student.dir),
                   m_attention->input());
    });
    connect(drops, &DropHandler::captureDropped, this, &MainWindow::openCapture);
    connect(drops, &DropHandler::runDropped, this, [this](const QString& dir) {
        showDistillDock();
        m_distill->watchFolder(dir);
    });
    buildMenus();
    resize(1500, 900);
    // The pages keep most of the width; the heads table scrolls sideways in its dock.
    resizeDocks({dock}, {380}, Qt::Horizontal);
}

void MainWindow::setHeadless(bool headless) {
    m_headless = headless;
    m_distill->setHeadless(headless);
}

void MainWindow::showDistillDock(int height) {
    m_distillDockWidget->show();
    m_distillDockWidget->raise();
    // After the dock is laid out: a dock shown in this event-loop turn has no geometry yet.
    if (height > 0)
        QTimer::singleShot(0, this, [this, height] {
            resizeDocks({m_distillDockWidget}, {height}, Qt::Vertical);
        });
}

MainWindow::~MainWindow() {
    m_thread.quit();
    m_thread.wait();
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open models\u2026"), QKeySequence::Open, this,
                    &MainWindow::openModelDialog);
    file->addAction(tr("Open &capture file\u2026"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O),
                    this, &MainWindow::openCaptureDialog);
    m_recentMenu = file->addMenu(tr("Open &recent"));
    rebuildRecentMenu();
    file->addSeparator();
    file->addAction(tr("&Export figure\u2026"), QKeySequence(Qt::CTRL | Qt::Key_E), this,
                    &MainWindow::exportCurrentFigure);
    file->addAction(tr("Export &all figures\u2026"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E),
                    this, &MainWindow::exportAllDialog);
    file->addSeparator();
    file->addAction(tr("&Save session\u2026"), QKeySequence::Save, this, [this] {
        const QString p = QFileDialog::getSaveFileName(this, tr("Save session"), QString(),
                                                       tr("Session (*.json)"));
        if (!p.isEmpty() && !saveSession(p))
            QMessageBox::warning(this, tr("Save session"), tr("Could not write %1.").arg(p));
    });
    file->addAction(tr("&Restore session\u2026"), QKeySequence(Qt::CTRL | Qt::Key_R), this, [this] {
        const QString p = QFileDialog::getOpenFileName(this, tr("Restore session"), QString(),
                                                       tr("Session (*.json)"));
        if (!p.isEmpty() && !loadSession(p))
            QMessageBox::warning(this, tr("Restore session"),
                                 tr("%1 is not a dxl-studio session.").arg(p));
    });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    QMenu* view = menuBar()->addMenu(tr("&View"));
    auto add = [&](const QString& text, const QKeySequence& key, auto fn) {
        QAction* a = view->addAction(text, key, this, fn);
        a->setShortcutContext(Qt::ApplicationShortcut);
    };
    add(tr("Next teacher head"), QKeySequence(Qt::CTRL | Qt::Key_Right),
        [this] { m_attention->stepTeacherHead(1); });
    add(tr("Previous teacher head"), QKeySequence(Qt::CTRL | Qt::Key_Left),
        [this] { m_attention->stepTeacherHead(-1); });
    add(tr("Next teacher layer"), QKeySequence(Qt::CTRL | Qt::Key_Down),
        [this] { m_attention->stepTeacherLayer(1); });
    add(tr("Previous teacher layer"), QKeySequence(Qt::CTRL | Qt::Key_Up),
        [this] { m_attention->stepTeacherLayer(-1); });
    add(tr("Next student head"), QKeySequence(Qt::ALT | Qt::Key_Right),
        [this] { m_attention->stepStudentHead(1); });
    add(tr("Previous student head"), QKeySequence(Qt::ALT | Qt::Key_Left),
        [this] { m_attention->stepStudentHead(-1); });
    add(tr("Next student block"), QKeySequence(Qt::ALT | Qt::Key_Down),
        [this] { m_attention->stepStudentBlock(1); });
    add(tr("Previous student block"), QKeySequence(Qt::ALT | Qt::Key_Up),
        [this] { m_attention->stepStudentBlock(-1); });
    view->addSeparator();
    add(tr("Inspect page"), QKeySequence(Qt::CTRL | Qt::Key_1),
        [this] { m_tabs->setCurrentIndex(0); });
    add(tr("Alignment page"), QKeySequence(Qt::CTRL | Qt::Key_2),
        [this] { m_tabs->setCurrentIndex(1); });
    add(tr("Recurrent state page"), QKeySequence(Qt::CTRL | Qt::Key_3),
        [this] { m_tabs->setCurrentIndex(2); });
    add(tr("Logit lens page"), QKeySequence(Qt::CTRL | Qt::Key_5),
        [this] { m_tabs->setCurrentWidget(m_lens); });
    QAction* distill = m_distillDockWidget->toggleViewAction();
    distill->setText(tr("&Distill dock"));
    distill->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_4));
    distill->setShortcutContext(Qt::ApplicationShortcut);
    view->addAction(distill);
    // Closing the Heads dock must not lose it: View menu and Ctrl+6 bring it back.
    if (auto* headsDock = qobject_cast<QDockWidget*>(m_heads->parentWidget())) {
        QAction* heads = headsDock->toggleViewAction();
        heads->setText(tr("&Heads dock"));
        heads->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_6));
        heads->setShortcutContext(Qt::ApplicationShortcut);
        view->addAction(heads);
    }
}

void MainWindow::openModels(const QString& teacherDir, const QString& studentDir,
                            const QString& input) {
    m_pendingInput = input;
    m_attention->setInput(input);
    m_statusText = tr("Loading %1 and %2\u2026").arg(teacherDir, studentDir);
    m_status->setText(m_statusText);
    emit loadRequested(teacherDir, studentDir);
}

void MainWindow::setPageModels(const ModelsLoaded& models) {
    m_models = models;
    m_attention->setModels(models);
    m_state->setModels(models);
    m_alignmentPage->setModels(models);
}

const ModelsLoaded& MainWindow::modelDirs() const {
    return m_loadedModels.teacher.dir.empty() ? m_models : m_loadedModels;
}

void MainWindow::openCapture(const QString& path) {
    m_statusText = tr("Opening %1\u2026").arg(path);
    m_status->setText(m_statusText);
    emit captureOpenRequested(path, static_cast<int>(m_attention->selection().norm));
}

void MainWindow::openCaptureDialog() {
    const QString p =
        QFileDialog::getOpenFileName(this, tr("Open capture file"), QString(),
                                     tr("Capture files (*.h5 *.hdf5 *.partial);;All files (*)"));
    if (!p.isEmpty()) openCapture(p);
}

void MainWindow::onCaptureOpened(const CaptureOpened& capture) {
    // The first sample's inspectReady follows this signal.
    m_captureMode = true;
    setPageModels(capture.models);
    m_captureBar->setCapture(capture);
    addRecent(QStringLiteral("capture:") + QString::fromStdString(capture.path));
    setWindowTitle(tr("Distil-xLSTM Studio \u2014 capture %1")
                       .arg(QFileInfo(QString::fromStdString(capture.path)).fileName()));
    if (!m_pendingSession.isEmpty()) {
        const QJsonObject s = m_pendingSession;
        m_pendingSession = {};
        restoreSession(s);
        const int sample = s.value(QStringLiteral("capture_sample")).toInt();
        if (sample > 0 && sample < capture.samples) m_captureBar->setSample(sample);
        emit captureSampleRequested(m_captureBar->sample(),
                                    static_cast<int>(m_attention->selection().norm));
    }
}

void MainWindow::leaveCapture() {
    if (m_loadedModels.teacher.dir.empty()) {  // started on a capture: load the defaults
        const QString dataDir = findDataDir(QString());
        openModels(dataDir + QStringLiteral("/models/tiny-teacher"),
                   dataDir + QStringLiteral("/models/tiny-student"), m_attention->input());
    } else {
        emit runRequested(m_attention->input(), static_cast<int>(m_attention->selection().norm));
    }
}

void MainWindow::onModelsLoaded(const ModelsLoaded& models) {
    m_loadedModels = models;
    if (!m_captureMode) setPageModels(models);
    m_distill->setModels(models);
    addRecent(QString::fromStdString(models.teacher.dir) + QLatin1Char('|') +
              QString::fromStdString(models.student.dir));
    setWindowTitle(tr("Distil-xLSTM Studio \u2014 %1 vs %2")
                       .arg(QFileInfo(QString::fromStdString(models.teacher.dir)).fileName(),
                            QFileInfo(QString::fromStdString(models.student.dir)).fileName()));
    if (!m_pendingSession.isEmpty()) {
        const QJsonObject s = m_pendingSession;
        m_pendingSession = {};
        restoreSession(s);
    }
    emit runRequested(m_pendingInput, static_cast<int>(m_attention->selection().norm));
}

void MainWindow::rerun() {
    if (m_captureMode)
        emit captureSampleRequested(m_captureBar->sample(),
                                    static_cast<int>(m_attention->selection().norm));
    else if (!m_pendingInput.isEmpty())
        emit runRequested(m_pendingInput, static_cast<int>(m_attention->selection().norm));
}

void MainWindow::onInspectReady(const InspectSummary& summary) {
    if (summary.captureSample < 0 && m_captureMode) {  // the models ran: leave the capture
        m_captureMode = false;
        m_captureBar->hide();
        setPageModels(m_loadedModels);
        setWindowTitle(
            tr("Distil-xLSTM Studio \u2014 %1 vs %2")
                .arg(QFileInfo(QString::fromStdString(m_loadedModels.teacher.dir)).fileName(),
                     QFileInfo(QString::fromStdString(m_loadedModels.student.dir)).fileName()));
    }
    if (summary.captureSample >= 0) {
        // The input line holds the sample, so Enter runs the loaded models on the same tokens.
        m_captureBar->setSample(summary.captureSample);
        QStringList ids;
        for (int64_t id : summary.tokens.ids)
            ids << QString::number(id);
        m_pendingInput = ids.join(QLatin1Char(','));
        m_attention->setInput(m_pendingInput);
    }
    m_summary = summary;
    m_received = 0;
    m_state->setTokens(summary.tokens);  // before setSummary selects the last token
    m_attention->setSummary(summary);
    m_heads->setSummary(m_models, summary);
    m_statusText =
        tr("%1%2 tokens; teacher %3 (%4 layers x %5 heads), student %6 (%7 blocks); tokens shown "
           "as %8")
            .arg(summary.captureSample >= 0 ? tr("capture sample %1: ").arg(summary.captureSample)
                                            : QString())
            .arg(summary.tokens.size())
            .arg(QString::fromStdString(m_models.teacher.architecture))
            .arg(m_models.teacher.layers)
            .arg(m_models.teacher.heads)
            .arg(QString::fromStdString(m_models.student.architecture))
            .arg(m_models.student.layers)
            .arg(m_models.teacher.hasTokenizer ? tr("text") : tr("ids (no tokenizer)"));
    m_status->setText(m_statusText);
    requestMaps();
    requestAlignment();
    requestState();
    m_lensStale = true;
    m_lens->clear();
    requestLensIfShown();
}

void MainWindow::requestLensIfShown() {
    // A capture sample's tokens may not belong to the loaded models: the lens needs the models.
    if (m_tabs->currentWidget() != m_lens || !m_lensStale || m_captureMode ||
        m_summary.tokens.size() == 0)
        return;
    m_lensStale = false;
    emit lensRequested();
}

void MainWindow::requestMaps() {
    if (m_summary.tokens.size() == 0) return;
    const Selection s = m_attention->selection();
    MapsRequest q;
    q.teacherLayer = s.teacherLayer;
    q.teacherHead = s.teacherHead;
    q.studentBlock = s.studentBlock;
    q.studentHead = s.studentHead;
    q.norm = s.norm;
    q.filter = s.filter;
    q.mode = s.mode;
    emit mapsRequested(q, ++m_mapsJob);
}

void MainWindow::requestAlignment() {
    if (m_summary.tokens.size() == 0) return;
    emit alignmentRequested(m_alignmentPage->metric(),
                            static_cast<int>(m_attention->selection().norm),
                            m_alignmentPage->layerMap());
}

void MainWindow::requestState() {
    if (m_summary.tokens.size() == 0) return;
    emit stateRequested(m_state->block(), m_state->head(), m_state->t(), m_state->quantity(),
                        ++m_stateJob);
}

void MainWindow::showMatchScores(const AlignmentResult& r) {
    // Matched heads get a border whose thickness is their score, scaled to the matrix range
    // (higher = more alike for similarities, lower for distances).
    const auto [lo, hi] = r.scores.finiteRange();
    std::vector<double> teacher(m_summary.teacherThumbs.size(), std::nan(""));
    std::vector<double> student(m_summary.studentThumbs.size(), std::nan(""));
    for (const auto& [row, col] : r.matches) {
        const double v = r.scores.at(row, col);
        if (!std::isfinite(v)) continue;
        double q = hi > lo ? (v - lo) / (hi - lo) : 1.0;
        if (!r.similarity) q = 1.0 - q;
        const auto t = r.teacherHeads[static_cast<size_t>(row)];
        const auto st = r.studentHeads[static_cast<size_t>(col)];
        const size_t ti = static_cast<size_t>(t.first * m_models.teacher.heads + t.second);
        const size_t si = static_cast<size_t>(st.first * m_models.student.heads + st.second);
        if (ti < teacher.size()) teacher[ti] = q;
        if (si < student.size()) student[si] = q;
    }
    m_heads->teacherGrid()->setCellScores(teacher);
    m_heads->studentGrid()->setCellScores(student);
    // Every head's best match in the other model: a dense per-head alignment value for the
    // metric heatmap of large grids (only min(rows, cols) heads have a Hungarian partner).
    std::vector<double> teacherBest(teacher.size(), std::nan(""));
    std::vector<double> studentBest(student.size(), std::nan(""));
    auto better = [&r](double a, double b) {
        if (!std::isfinite(b)) return a;
        if (!std::isfinite(a)) return b;
        return r.similarity ? std::max(a, b) : std::min(a, b);
    };
    for (int row = 0; row < r.scores.rows; ++row) {
        for (int col = 0; col < r.scores.cols; ++col) {
            const double v = r.scores.at(row, col);
            const auto t = r.teacherHeads[static_cast<size_t>(row)];
            const auto st = r.studentHeads[static_cast<size_t>(col)];
            const size_t ti = static_cast<size_t>(t.first * m_models.teacher.heads + t.second);
            const size_t si = static_cast<size_t>(st.first * m_models.student.heads + st.second);
            if (ti < teacherBest.size()) teacherBest[ti] = better(teacherBest[ti], v);
            if (si < studentBest.size()) studentBest[si] = better(studentBest[si], v);
        }
    }
    m_heads->setAlignmentValues(
        std::move(teacherBest), std::move(studentBest),
        QString::fromStdString(r.metric) + (r.similarity ? QString() : tr(", lower = closer")));
}

void MainWindow::onMapsReady(const MapsResult& maps, quint64 job) {
    if (job != m_mapsJob) return;  // stale: a newer selection is on its way
    m_attention->setMaps(maps);
    m_heads->teacherGrid()->blockSignals(true);
    m_heads->teacherGrid()->setCurrent(maps.teacherLayer, maps.teacherHead);
    m_heads->teacherGrid()->blockSignals(false);
    m_heads->studentGrid()->blockSignals(true);
    m_heads->studentGrid()->setCurrent(maps.studentBlock, maps.studentHead);
    m_heads->studentGrid()->blockSignals(false);
    markReceived(kMapsBit);
    emit mapsShown();
}

void MainWindow::onStateReady(const StateResult& state, quint64 job) {
    if (job != m_stateJob) return;
    m_state->setState(state);
    markReceived(kStateBit);
}

void MainWindow::markReceived(int bit) {
    const bool was = resultsComplete();
    m_received |= bit;
    if (!was && resultsComplete()) {
        m_status->setText(m_statusText);
        emit resultsCompleted();
    }
}

void MainWindow::onFailed(const ErrorInfo& e) {
    m_lastError = QString::fromStdString(e.kindName + ": " + e.message);
    m_statusText = tr("Error while %1: %2").arg(QString::fromStdString(e.action), m_lastError);
    m_status->setText(m_statusText);
    emit errorShown(m_lastError);
    if (m_headless) return;
    QMessageBox box(this);
    box.setIcon(e.kind == 70 ? QMessageBox::Critical : QMessageBox::Warning);
    box.setWindowTitle(
        tr("%1 while %2")
            .arg(QString::fromStdString(e.kindName), QString::fromStdString(e.action)));
    box.setText(QString::fromStdString(e.message));
    box.setInformativeText(remedyFor(e));
    const bool capture = QString::fromStdString(e.action).contains(QStringLiteral("capture"));
    if (e.kind == 3 || e.kind == 4 || e.kind == 5)
        box.addButton(capture ? tr("Open capture file\u2026") : tr("Open models\u2026"),
                      QMessageBox::AcceptRole);
    box.addButton(QMessageBox::Close);
    box.exec();
    if (box.buttonRole(box.clickedButton()) == QMessageBox::AcceptRole)
        capture ? openCaptureDialog() : openModelDialog();
}

void MainWindow::openModelDialog() {
    const QString t = QFileDialog::getExistingDirectory(this, tr("Teacher model folder"));
    if (t.isEmpty()) return;
    const QString s = QFileDialog::getExistingDirectory(this, tr("Student model folder"));
    if (s.isEmpty()) return;
    openModels(t, s, m_attention->input());
}

void MainWindow::addRecent(const QString& entry) {
    QSettings settings(QStringLiteral("dxl"), QStringLiteral("dxl-studio"));
    QStringList recent = settings.value(QStringLiteral("recent")).toStringList();
    recent.removeAll(entry);
    recent.prepend(entry);
    while (recent.size() > 8)
        recent.removeLast();
    settings.setValue(QStringLiteral("recent"), recent);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
    m_recentMenu->clear();
    QSettings settings(QStringLiteral("dxl"), QStringLiteral("dxl-studio"));
    const QStringList recent = settings.value(QStringLiteral("recent")).toStringList();
    for (const QString& r : recent) {
        if (r.startsWith(QStringLiteral("capture:"))) {
            const QString path = r.mid(8);
            m_recentMenu->addAction(tr("Capture %1").arg(path), this,
                                    [this, path] { openCapture(path); });
            continue;
        }
        const QStringList parts = r.split(QLatin1Char('|'));
        if (parts.size() != 2) continue;
        m_recentMenu->addAction(tr("%1 vs %2").arg(parts[0], parts[1]), this, [this, parts] {
            openModels(parts[0], parts[1], m_attention->input());
        });
    }
    m_recentMenu->setEnabled(!m_recentMenu->isEmpty());
}

}  // namespace dxl::studio
