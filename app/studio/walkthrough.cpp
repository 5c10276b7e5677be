// The scripted walkthrough: a small state machine driven by the main window's signals.
#include "app/studio/walkthrough.h"

#include <QApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QSet>
#include <QSpinBox>
#include <QTabWidget>
#include <QTextStream>
#include <QTimer>
#include <functional>
#include <memory>

#include "app/studio/alignment_page.h"
#include "app/studio/attention_page.h"
#include "app/studio/capture_bar.h"
#include "app/studio/distill_config_form.h"
#include "app/studio/distill_dock.h"
#include "app/studio/distill_plots.h"
#include "app/studio/layer_map_editor.h"
#include "app/studio/lens_page.h"
#include "app/studio/main_window.h"
#include "app/studio/run_log_tail.h"
#include "app/studio/state_page.h"
#include "widgets/alignment_matrix.h"
#include "widgets/attention_lines.h"
#include "widgets/linked_heatmaps.h"
#include "widgets/loss_plot.h"

namespace dxl::studio {

namespace {
constexpr int kMinScreenshotColours = 64;  // a laid-out window with heatmaps has thousands
constexpr int kMinFigureColours = 16;      // a figure with a colour scale has hundreds
}  // namespace

int distinctColours(const QImage& image, int cap) {
    const QImage img = image.convertToFormat(QImage::Format_ARGB32);
    QSet<QRgb> seen;
    for (int y = 0; y < img.height(); ++y) {
        const auto* line = reinterpret_cast<const QRgb*>(img.constScanLine(y));
        for (int x = 0; x < img.width(); ++x) {
            seen.insert(line[x]);
            if (seen.size() >= cap) return cap;
        }
    }
    return static_cast<int>(seen.size());
}

bool checkExportedFile(const QString& path, QString* why) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        *why = QStringLiteral("%1: cannot be read").arg(path);
        return false;
    }
    const QByteArray bytes = f.readAll();
    const QString ext = QFileInfo(path).suffix().toLower();
    if (ext == QStringLiteral("png")) {
        static const QByteArray kSignature("\x89PNG\r\n\x1a\n", 8);
        QImage img;
        if (!bytes.startsWith(kSignature) || !img.loadFromData(bytes, "PNG")) {
            *why = QStringLiteral("%1: not a valid PNG").arg(path);
            return false;
        }
        const int colours = distinctColours(img, kMinFigureColours);
        if (colours < kMinFigureColours) {
            *why = QStringLiteral("%1: looks blank (%2 distinct colours)").arg(path).arg(colours);
            return false;
        }
    } else if (ext == QStringLiteral("pdf")) {
        if (!bytes.startsWith("%PDF-") || !bytes.trimmed().endsWith("%%EOF")) {
            *why = QStringLiteral("%1: not a complete PDF").arg(path);
            return false;
        }
    } else if (ext == QStringLiteral("svg")) {
        if (!bytes.contains("<svg") || !bytes.trimmed().endsWith("</svg>")) {
            *why = QStringLiteral("%1: not a complete SVG").arg(path);
            return false;
        }
    } else if (ext == QStringLiteral("json")) {
        QJsonParseError error{};
        if (QJsonDocument::fromJson(bytes, &error).isNull()) {
            *why = QStringLiteral("%1: invalid JSON (%2)").arg(path, error.errorString());
            return false;
        }
    } else if (ext == QStringLiteral("csv")) {
        if (bytes.count('\n') < 2) {
            *why = QStringLiteral("%1: a CSV with fewer than two lines").arg(path);
            return false;
        }
    }
    return true;
}

void installTourGuards(MainWindow& w, int timeoutMs,
                       const std::function<void(const QString& why, int code)>& fail,
                       const std::function<int()>& step) {
    QObject::connect(&w, &MainWindow::errorShown, &w, [fail](const QString& message) {
        fail(QStringLiteral("core error: %1").arg(message), 1);
    });
    QTimer::singleShot(timeoutMs, &w, [fail, step] {
        fail(QStringLiteral("timed out at step %1").arg(step()), 5);
    });
}

void startWalkthrough(MainWindow& w, const QString& dir, int timeoutMs, const QString& capture) {
    struct State {
        int step = 0;
        bool waitingForMaps = false;
        bool waitingForRun = false;
        bool waitingForResults = false;
        bool waitingForLens = false;
        bool done = false;
        QStringList failures;
        std::function<void()> advance;
    };
    auto st = std::make_shared<State>();
    QDir().mkpath(dir);

    auto shoot = [&w, dir, st](const QString& name, QWidget* what = nullptr) {
        const QString path = QDir(dir).filePath(name);
        const QImage image = (what ? what : static_cast<QWidget*>(&w))->grab().toImage();
        const int colours = distinctColours(image, kMinScreenshotColours);
        if (!image.save(path, "PNG")) {
            st->failures << QStringLiteral("%1: could not be written").arg(path);
        } else if (colours < kMinScreenshotColours) {
            st->failures
                << QStringLiteral("%1: looks blank (%2 distinct colours)").arg(path).arg(colours);
        }
        QTextStream(stdout) << "walkthrough: " << name << " (" << image.width() << "x"
                            << image.height() << ")\n";
    };
    auto finish = [&w, st](int code) {
        if (st->done) return;
        st->done = true;
        for (const QString& f : st->failures)
            QTextStream(stderr) << "walkthrough: FAILED " << f << "\n";
        if (code == 0 && !st->failures.isEmpty()) code = 1;
        QTextStream(stdout) << "walkthrough: " << (code == 0 ? "passed" : "failed") << "\n";
        Q_UNUSED(w);
        QApplication::exit(code);
    };
    auto later = [&w, st](int ms) { QTimer::singleShot(ms, &w, [st] { st->advance(); }); };
    auto waitForMaps = [st] { st->waitingForMaps = true; };

    st->advance = [&w, dir, capture, st, shoot, finish, later, waitForMaps] {
        switch (st->step++) {
            case 0:  // defaults loaded: teacher | student | difference on screen
                shoot(QStringLiteral("01_inspect_defaults.png"));
                w.attentionPage()->stepTeacherHead(1);  // what Ctrl+Right does
                w.attentionPage()->stepStudentHead(2);  // what Alt+Right (twice) does
                waitForMaps();
                break;
            case 1: {
                const Selection s = w.attentionPage()->selection();
                if (s.teacherHead != 1 || s.studentHead != 2)
                    st->failures << QStringLiteral("switching heads: selection is T H%1, S H%2")
                                        .arg(s.teacherHead)
                                        .arg(s.studentHead);
                shoot(QStringLiteral("02_switched_heads.png"));
                // Rollout with a display filter and chips coloured by attention received.
                Selection f = s;
                f.mode = MapMode::Rollout;
                f.filter.topK = 5;
                f.filter.dropSink = true;
                f.highlight = TokenHighlight::TeacherReceived;
                w.attentionPage()->setSelection(f);
                waitForMaps();
                break;
            }
            case 2: {
                const QString label = w.attentionPage()->linked()->normalisationText();
                if (!label.contains(QStringLiteral("sink dropped, top-5/row")))
                    st->failures << QStringLiteral("display filter not flagged: %1").arg(label);
                shoot(QStringLiteral("02b_rollout_filtered.png"));
                Selection plain = w.attentionPage()->selection();
                plain.mode = MapMode::SingleHead;
                plain.filter = MapFilter{};
                plain.highlight = TokenHighlight::None;
                w.attentionPage()->setSelection(plain);
                waitForMaps();
                break;
            }
            case 3: {
                // The same maps as token-to-token lines, one query.
                AttentionPage* page = w.attentionPage();
                page->viewTabs()->setCurrentWidget(page->lines());
                page->lines()->setSelectedQuery(page->lines()->tokenCount() - 1);
                if (page->lines()->edges().empty())
                    st->failures << QStringLiteral("lines view: no edges drawn");
                shoot(QStringLiteral("02c_attention_lines.png"));
                page->lines()->setSelectedQuery(-1);
                page->viewTabs()->setCurrentIndex(0);
                w.tabs()->setCurrentWidget(w.alignmentPage());
                later(400);
                break;
            }
            case 4: {
                shoot(QStringLiteral("03_alignment_matrix.png"));
                const auto& matches = w.alignmentPage()->matrix()->matches();
                if (matches.empty()) {
                    st->failures << QStringLiteral("alignment: no Hungarian matches");
                    later(100);
                    break;
                }
                // Click the first matched cell: opens that pair in the linked heatmaps.
                emit w.alignmentPage()->matrix()->cellClicked(matches.front().first,
                                                              matches.front().second);
                waitForMaps();
                break;
            }
            case 5:
                if (w.tabs()->currentWidget() != w.attentionPage())
                    st->failures << QStringLiteral("alignment click did not open the Inspect page");
                shoot(QStringLiteral("04_matched_pair.png"));
                w.tabs()->setCurrentWidget(w.statePage());
                later(400);
                break;
            case 6:
                shoot(QStringLiteral("05_recurrent_state.png"));
                // The logit lens of both models (computed when its page opens).
                st->waitingForLens = true;
                w.tabs()->setCurrentWidget(w.lensPage());
                break;
            case 7: {
                if (!w.lensPage()->hasLens()) st->failures << QStringLiteral("lens: nothing shown");
                w.lensPage()->selectRow(true, 0);  // chips: the first student block's row
                shoot(QStringLiteral("05b_logit_lens.png"));
                {  // the lens figures export like every figure (export-all includes them)
                    QString error;
                    const QStringList files = w.exportAllFigures(
                        QDir(dir).filePath(QStringLiteral("export_lens")), &error,
                        /*overwrite=*/true);
                    if (!files.join(QLatin1Char(' ')).contains(QStringLiteral("lens_pair_kl")))
                        st->failures << QStringLiteral("lens: not exported (%1)").arg(error);
                    for (const QString& f : files) {
                        QString why;
                        if (!checkExportedFile(f, &why)) st->failures << why;
                    }
                }
                // A 20-step distillation in the Distill dock on its defaults (the loaded
                // teacher and student, the paper recipe, data that suit the teacher), under
                // the alignment page (the Inspect page needs more height than remains).
                w.tabs()->setCurrentWidget(w.alignmentPage());
                w.showDistillDock(640);
                DistillDock* dock = w.distillDock();
                const QString runDir = QDir(dir).filePath(QStringLiteral("distill_run"));
                QDir(runDir).removeRecursively();
                dock->form()->setOutDir(runDir);
                dock->form()->setStepsPerStage(20);
                dock->form()->setEvalEvery(5);
                dock->form()->setEvalAlignment(true);  // matched head alignment curves
                st->waitingForRun = true;
                if (!dock->startRun()) {
                    st->failures
                        << QStringLiteral("distill: not started: %1").arg(dock->statusText());
                    finish(1);
                }
                break;
            }
            case 8: {  // the run finished: live plots filled from its log
                DistillDock* dock = w.distillDock();
                dock->pollRuns();
                const RunLogTail* run =
                    dock->runCount() > 0 ? dock->run(dock->runCount() - 1) : nullptr;
                if (!run || run->trainSeries("total").keys.size() != 20 || !run->finished())
                    st->failures << QStringLiteral("distill: expected 20 logged steps, got %1")
                                        .arg(run ? run->trainSeries("total").keys.size() : 0);
                if (dock->plots()->lossPlot()->plot()->graphCount() == 0 ||
                    dock->plots()->pplPlot()->plot()->graphCount() == 0)
                    st->failures << QStringLiteral("distill: the live plots are empty");
                shoot(QStringLiteral("06_distill.png"));
                // The dock on its own, floated to a size where the plots have room.
                w.distillDockWidget()->setFloating(true);
                w.distillDockWidget()->resize(1500, 720);
                later(400);
                break;
            }
            case 9: {
                shoot(QStringLiteral("07_distill_dock.png"), w.distillDockWidget());
                // Matched head alignment over the evaluations (eval_alignment).
                w.distillDock()->plots()->pages()->setCurrentIndex(1);
                if (!w.distillDock()->plots()->hasAlignment())
                    st->failures << QStringLiteral("distill: no head alignment logged");
                shoot(QStringLiteral("07b_distill_alignment.png"), w.distillDockWidget());
                w.distillDock()->plots()->pages()->setCurrentIndex(0);
                w.distillDockWidget()->setFloating(false);
                w.distillDockWidget()->hide();  // the Inspect page at full height again
                // "Show maps at step t": the final checkpoint as the student in Inspect.
                DistillDock* dock = w.distillDock();
                const auto cps = dock->currentCheckpoints();
                if (cps.empty()) {
                    st->failures << QStringLiteral("distill: no checkpoint to show");
                    later(100);
                    break;
                }
                st->waitingForResults = true;
                emit dock->showCheckpointRequested(cps.back().second);
                break;
            }
            case 10: {
                if (!w.windowTitle().contains(QStringLiteral("final")))
                    st->failures << QStringLiteral(
                                        "show maps: the checkpoint is not the student "
                                        "(title '%1')")
                                        .arg(w.windowTitle());
                shoot(QStringLiteral("08_checkpoint_maps.png"));
                QString error;
                const QString exportDir = QDir(dir).filePath(QStringLiteral("export"));
                const QStringList files = w.exportAllFigures(exportDir, &error, /*overwrite=*/true);
                if (files.isEmpty()) st->failures << QStringLiteral("export all: %1").arg(error);
                for (const QString& f : files) {
                    QString why;
                    if (!checkExportedFile(f, &why)) st->failures << why;
                }
                QTextStream(stdout) << "walkthrough: exported and checked " << files.size()
                                    << " files in " << exportDir << "\n";
                if (capture.isEmpty()) {
                    finish(0);
                    break;
                }
                // A capture file: its stored maps replace the models' in every view.
                w.tabs()->setCurrentWidget(w.attentionPage());
                st->waitingForResults = true;
                w.openCapture(capture);
                break;
            }
            case 11: {
                if (!w.captureMode() || !w.captureBar()->isVisible())
                    st->failures << QStringLiteral("capture: %1 is not shown").arg(capture);
                if (w.captureBar()->sampleCount() < 2) {
                    later(100);
                    break;
                }
                st->waitingForResults = true;
                w.captureBar()->sampleSpin()->setValue(1);  // the second sample
                break;
            }
            case 12: {
                if (w.captureBar()->sampleCount() > 1 && w.captureBar()->sample() != 1)
                    st->failures << QStringLiteral("capture: sample 1 is not shown");
                shoot(QStringLiteral("09_capture.png"));
                // The paper's ratio layer map instead of every pair.
                w.tabs()->setCurrentWidget(w.alignmentPage());
                w.alignmentPage()->layerMapEditor()->setPreset(
                    LayerMapEditor::Preset::RatioAllBlocks);
                later(1500);  // the 150 ms coalescing, then the worker
                break;
            }
            case 13: {
                if (!w.alignmentPage()->matrix()->metric().contains(
                        QStringLiteral("ratio/all-blocks")))
                    st->failures << QStringLiteral("layer map: the matrix says '%1'")
                                        .arg(w.alignmentPage()->matrix()->metric());
                shoot(QStringLiteral("10_capture_layer_map.png"));
                finish(0);
                break;
            }
            default:
                break;
        }
    };
    QObject::connect(&w, &MainWindow::resultsCompleted, &w, [st, later] {
        if (st->step == 0) later(300);
        if (st->waitingForResults) {
            st->waitingForResults = false;
            later(300);
        }
    });
    QObject::connect(w.distillDock(), &DistillDock::runFinished, &w, [st, later] {
        if (!st->waitingForRun) return;
        st->waitingForRun = false;
        later(200);
    });
    QObject::connect(&w, &MainWindow::lensShown, &w, [st, later] {
        if (!st->waitingForLens) return;
        st->waitingForLens = false;
        later(300);
    });
    QObject::connect(&w, &MainWindow::mapsShown, &w, [st, later] {
        if (!st->waitingForMaps) return;
        st->waitingForMaps = false;
        later(300);  // let the coalesced tick relabelling run
    });
    installTourGuards(
        w, timeoutMs,
        [st, finish](const QString& why, int code) {
            st->failures << why;
            finish(code);
        },
        [st] { return st->step; });
    QTextStream(stdout) << "walkthrough: screenshots into " << dir << "\n";
}

}  // namespace dxl::studio
