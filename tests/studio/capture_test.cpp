// Capture files in the studio: a capture written by `dxl capture` on the golden tiny
// models shows the same maps, alignment and states as running the models on its tokens; several
// samples are selectable; a truncated or foreign file is a specific error, never a crash. And the
// editable layer map: presets, edits coalesced into one change, cells outside the map never
// compared or matched, re-run on the worker from the Alignment page.
#include <gtest/gtest.h>

#include <QAbstractItemModelTester>
#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QMenu>
#include <QMenuBar>
#include <QProcess>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <map>

#include "app/studio/alignment_page.h"
#include "app/studio/attention_page.h"
#include "app/studio/capture_bar.h"
#include "app/studio/compute_worker.h"
#include "app/studio/drop_handler.h"
#include "app/studio/heads_dock.h"
#include "app/studio/inspect_engine.h"
#include "app/studio/layer_map_editor.h"
#include "app/studio/main_window.h"
#include "core/base/error.h"
#include "widgets/alignment_matrix.h"
#include "widgets/linked_heatmaps.h"

using namespace dxl;
using namespace dxl::studio;

namespace {

#define DXL_GOLDEN_MODELS DXL_SOURCE_DIR "/tests/data/golden/models"
const char* kTeacher = DXL_GOLDEN_MODELS "/gpt2_2600";
const char* kStudent = DXL_GOLDEN_MODELS "/xlstm_lm_2520";
const std::vector<int64_t> kSample1 = {4, 8, 15, 16, 23, 42, 4, 8, 15, 16, 23, 42, 1};

QApplication& qtApp() {
    static int argc = 1;
    static char name[] = "studio_capture_test";
    static char* argv[] = {name, nullptr};
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    // One QApplication for the executable (capture_test.cpp and maps_test.cpp share it).
    static QApplication* app = qApp ? qApp : new QApplication(argc, argv);  // never destroyed
    return *app;
}

// Two samples of the golden models, written by the CLI once per test process and logits form
// (f32: exact).
QString goldenCapture(const QString& logits = QStringLiteral("full")) {
    static QTemporaryDir dir;
    static std::map<QString, QString> paths;
    if (paths.count(logits)) return paths[logits];
    QFile tokens(dir.filePath(QStringLiteral("tokens.txt")));
    EXPECT_TRUE(tokens.open(QIODevice::WriteOnly));
    tokens.write("1,5,9,13,2,5,9,13,7,3\n4,8,15,16,23,42,4,8,15,16,23,42,1\n");
    tokens.close();
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    const QString out = dir.filePath(QStringLiteral("run_%1.h5").arg(logits));
    p.start(
        QStringLiteral(DXL_CLI),
        {QStringLiteral("capture"), QStringLiteral("--teacher"), QString::fromLatin1(kTeacher),
         QStringLiteral("--student"), QString::fromLatin1(kStudent),
         QStringLiteral("--tokens-file"), tokens.fileName(), QStringLiteral("--dtype"),
         QStringLiteral("f32"), QStringLiteral("--logits"), logits, QStringLiteral("--out"), out});
    EXPECT_TRUE(p.waitForFinished(120000));
    EXPECT_EQ(p.exitCode(), 0) << p.readAll().toStdString();
    paths[logits] = out;
    return out;
}

double maxAbsDiff(const HeatmapData& a, const HeatmapData& b) {
    EXPECT_EQ(a.rows, b.rows);
    EXPECT_EQ(a.cols, b.cols);
    double m = 0;
    for (size_t i = 0; i < a.values.size() && i < b.values.size(); ++i) {
        const double x = a.values[i], y = b.values[i];
        if (std::isnan(x) || std::isnan(y)) {
            EXPECT_EQ(std::isnan(x), std::isnan(y)) << "cell " << i;
            continue;
        }
        m = std::max(m, std::abs(x - y));
    }
    return m;
}

}  // namespace

TEST(CaptureEngine, StoredSampleMatchesRunningTheModels) {
    const std::string path = goldenCapture().toStdString();
    InspectEngine fromFile;
    const CaptureOpened c = fromFile.openCapture(path);
    EXPECT_EQ(c.samples, 2);
    EXPECT_EQ(c.status, "complete");
    EXPECT_EQ(c.sampleLengths, (std::vector<int>{10, 13}));
    EXPECT_EQ(c.models.teacher.layers, 2);
    EXPECT_EQ(c.models.teacher.heads, 4);
    EXPECT_EQ(c.models.teacher.architecture, "gpt2");
    EXPECT_EQ(c.models.student.blockTypes, (std::vector<std::string>{"mlstm", "slstm"}));
    EXPECT_EQ(c.models.student.heads, 4);
    const InspectSummary s = fromFile.captureSample(1, StudentNorm::AbsRow);
    EXPECT_EQ(s.captureSample, 1);
    EXPECT_EQ(s.tokens.ids, kSample1);

    InspectEngine models;
    models.load(kTeacher, kStudent);
    const InspectSummary r = models.run(kSample1, StudentNorm::AbsRow);
    ASSERT_EQ(s.klPerToken.size(), r.klPerToken.size());
    for (size_t t = 0; t < r.klPerToken.size(); ++t)
        EXPECT_NEAR(s.klPerToken[t], r.klPerToken[t], 1e-4) << t;
    EXPECT_EQ(s.teacherTopK[3][0].id, r.teacherTopK[3][0].id);
    ASSERT_EQ(s.metrics.size(), r.metrics.size());
    for (StudentNorm n : {StudentNorm::Raw, StudentNorm::AbsRow, StudentNorm::GateOnly}) {
        const MapsResult a = fromFile.maps(1, 2, 0, 3, n), b = models.maps(1, 2, 0, 3, n);
        EXPECT_LT(maxAbsDiff(a.teacher, b.teacher), 1e-5);
        EXPECT_LT(maxAbsDiff(a.student, b.student), 1e-4) << normKey(n);
    }
    const AlignmentResult fa = fromFile.alignment("js", StudentNorm::AbsRow),
                          ma = models.alignment("js", StudentNorm::AbsRow);
    EXPECT_LT(maxAbsDiff(fa.scores, ma.scores), 1e-4);
    EXPECT_EQ(fa.matches, ma.matches);
    const StateResult fs = fromFile.state(0, 1, 7, "c"), ms = models.state(0, 1, 7, "c");
    EXPECT_EQ(fs.blockType, "mlstm");
    EXPECT_LT(maxAbsDiff(fs.c, ms.c), 1e-4);
    const StateResult fsl = fromFile.state(1, 0, 0, "h"), msl = models.state(1, 0, 0, "h");
    EXPECT_EQ(fsl.blockType, "slstm");
    EXPECT_LT(maxAbsDiff(fsl.c, msl.c), 1e-3);
    EXPECT_THROW(fromFile.captureSample(2, StudentNorm::AbsRow), dxl::ValueError);
}

// `--logits top5`: no KL strip (NaN), but the same five predictions with the same
// probabilities (through the stored log-normaliser) as running the models.
TEST(CaptureEngine, TopKCaptureShowsPredictionsWithExactProbabilities) {
    InspectEngine fromFile;
    fromFile.openCapture(goldenCapture(QStringLiteral("top5")).toStdString());
    const InspectSummary s = fromFile.captureSample(1, StudentNorm::AbsRow);
    InspectEngine models;
    models.load(kTeacher, kStudent);
    const InspectSummary r = models.run(kSample1, StudentNorm::AbsRow);
    ASSERT_EQ(s.teacherTopK.size(), kSample1.size());
    ASSERT_EQ(s.studentTopK.size(), kSample1.size());
    for (size_t t = 0; t < kSample1.size(); ++t) {
        EXPECT_TRUE(std::isnan(s.klPerToken[t]));
        for (auto [got, want] : {std::make_pair(&s.teacherTopK[t], &r.teacherTopK[t]),
                                 std::make_pair(&s.studentTopK[t], &r.studentTopK[t])}) {
            ASSERT_EQ(got->size(), 5u);
            for (size_t k = 0; k < 5; ++k) {
                EXPECT_EQ((*got)[k].id, (*want)[k].id) << t << " " << k;
                EXPECT_NEAR((*got)[k].probability, (*want)[k].probability, 1e-5);
            }
        }
    }
}

TEST(CaptureEngine, DamagedOrForeignFilesAreTypedErrors) {
    const QString path = goldenCapture();
    QTemporaryDir dir;
    QFile src(path);
    ASSERT_TRUE(src.open(QIODevice::ReadOnly));
    const QByteArray bytes = src.readAll();
    const QString truncated = dir.filePath(QStringLiteral("truncated.h5"));
    const QString foreign = dir.filePath(QStringLiteral("foreign.h5"));
    {
        QFile f(truncated);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write(bytes.left(bytes.size() / 3));
        QFile g(foreign);
        ASSERT_TRUE(g.open(QIODevice::WriteOnly));
        g.write("this is not an HDF5 file\n");
    }
    InspectEngine e;
    for (const QString& p : {truncated, foreign, dir.filePath(QStringLiteral("missing.h5"))}) {
        try {
            e.openCapture(p.toStdString());
            ADD_FAILURE() << p.toStdString() << " opened";
        } catch (const dxl::Error& err) {
            EXPECT_NE(std::string(err.what()).find(p.toStdString()), std::string::npos)
                << err.what();
        }
    }
}

TEST(CaptureEngine, LayerMapLeavesUnmappedCellsOutOfTheMatching) {
    InspectEngine e;
    e.load(kTeacher, kStudent);
    e.run(kSample1, StudentNorm::AbsRow);
    LayerMapSpec map;
    map.allPairs = false;
    map.source = "custom";
    map.pairs = {{1, 0}};  // teacher layer 1 -> mLSTM block 0 only
    const AlignmentResult r = e.alignment("pearson", StudentNorm::AbsRow, map);
    EXPECT_EQ(r.layerMap, "custom");
    EXPECT_EQ(r.layerPairs, (std::vector<std::pair<int, int>>{{1, 0}}));
    for (int row = 0; row < r.scores.rows; ++row)
        for (int col = 0; col < r.scores.cols; ++col)
            EXPECT_EQ(std::isnan(r.scores.at(row, col)), r.teacherHeads[row].first != 1);
    ASSERT_EQ(r.matches.size(), 4u);  // 4 heads of layer 1 onto the 4 heads of block 0
    for (const auto& [row, col] : r.matches)
        EXPECT_EQ(r.teacherHeads[static_cast<size_t>(row)].first, 1);
    map.pairs = {{0, 1}};  // block 1 is an sLSTM: nothing to compare
    EXPECT_THROW(e.alignment("js", StudentNorm::AbsRow, map), dxl::ValueError);
}

TEST(LayerMapEditor, PresetsEditsAndCoalescedChanges) {
    qtApp();
    LayerMapEditor ed;
    auto* tester = new QAbstractItemModelTester(
        ed.table()->model(), QAbstractItemModelTester::FailureReportingMode::Fatal, &ed);
    Q_UNUSED(tester);
    QSignalSpy changed(&ed, &LayerMapEditor::mapChanged);
    ed.setModels(4, {"slstm", "mlstm", "slstm", "mlstm"});  // the shape of the trained default
    EXPECT_EQ(ed.table()->rowCount(), 4);
    EXPECT_EQ(ed.table()->columnCount(), 4);
    EXPECT_FALSE(ed.table()->item(0, 0)->flags() & Qt::ItemIsEnabled);  // sLSTM column
    LayerMapSpec s = ed.spec();
    EXPECT_TRUE(s.allPairs);
    EXPECT_EQ(s.pairs.size(), 8u);
    ed.setPreset(LayerMapEditor::Preset::RatioAllBlocks);
    s = ed.spec();
    EXPECT_FALSE(s.allPairs);
    EXPECT_EQ(s.source, "ratio/all-blocks");
    EXPECT_EQ(s.pairs, (std::vector<std::pair<int, int>>{{1, 1}, {3, 3}}));
    ed.setPreset(LayerMapEditor::Preset::RatioMlstmOnly);
    EXPECT_EQ(ed.spec().pairs, (std::vector<std::pair<int, int>>{{0, 1}, {1, 1}, {2, 3}, {3, 3}}));
    QTRY_COMPARE(changed.count(), 1);  // two preset switches, one change
    ed.setPairChecked(0, 3, true);
    ed.setPairChecked(0, 0, true);  // sLSTM: ignored
    EXPECT_EQ(ed.preset(), LayerMapEditor::Preset::Custom);
    s = ed.spec();
    EXPECT_EQ(s.source, "custom");
    EXPECT_EQ(s.pairs, (std::vector<std::pair<int, int>>{{0, 1}, {0, 3}, {1, 1}, {2, 3}, {3, 3}}));
    QTRY_COMPARE(changed.count(), 2);
    // New models: a custom map keeps the pairs that still exist.
    ed.setModels(2, {"mlstm", "slstm", "mlstm", "mlstm"});
    EXPECT_EQ(ed.spec().pairs, (std::vector<std::pair<int, int>>{{0, 3}}));
}

TEST(StudioCapture, OpenSelectSamplesAndSurviveDamagedFiles) {
    qtApp();
    ComputeWorker::registerTypes();
    MainWindow w;
    w.setHeadless(true);  // errors go to errorShown instead of a modal dialog
    w.show();
    QSignalSpy results(&w, &MainWindow::resultsCompleted);
    QSignalSpy errors(&w, &MainWindow::errorShown);
    w.openCapture(goldenCapture());
    QTRY_COMPARE_WITH_TIMEOUT(results.count(), 1, 60000);
    EXPECT_TRUE(w.captureMode());
    EXPECT_TRUE(w.captureBar()->isVisible());
    EXPECT_EQ(w.captureBar()->sampleCount(), 2);
    EXPECT_EQ(w.attentionPage()->input(), QStringLiteral("1,5,9,13,2,5,9,13,7,3"));
    EXPECT_TRUE(w.windowTitle().contains(QStringLiteral("run_full.h5")));
    w.captureBar()->sampleSpin()->setValue(1);
    QTRY_COMPARE_WITH_TIMEOUT(results.count(), 2, 60000);
    EXPECT_EQ(w.attentionPage()->input(), QStringLiteral("4,8,15,16,23,42,4,8,15,16,23,42,1"));
    EXPECT_EQ(w.sessionJson().value(QStringLiteral("capture_sample")).toInt(), 1);
    // Editing the layer map re-runs the alignment of the shown sample on the worker.
    w.alignmentPage()->layerMapEditor()->setPairs({{1, 0}});
    QTRY_VERIFY_WITH_TIMEOUT(
        w.alignmentPage()->matrix()->metric().contains(QStringLiteral("layer map: custom")), 30000);
    for (const auto& [row, col] : w.alignmentPage()->matrix()->matches())
        EXPECT_GE(row, 4) << "match outside the layer map";
    ASSERT_EQ(errors.count(), 0) << errors.at(0).at(0).toString().toStdString();
    // A display filter and a chip highlight: computed on the worker,
    // flagged on the page, recorded in the provenance.
    Selection sel = w.attentionPage()->selection();
    sel.filter.topK = 3;
    sel.highlight = TokenHighlight::Kl;
    w.attentionPage()->setSelection(sel);
    QTRY_VERIFY_WITH_TIMEOUT(
        w.attentionPage()->linked()->normalisationText().contains(QStringLiteral("top-3/row")),
        30000);
    EXPECT_EQ(w.provenance()
                  .value(QStringLiteral("display_filter"))
                  .toObject()
                  .value(QStringLiteral("top_k"))
                  .toInt(),
              3);

    // The session keeps the capture, its sample, the custom layer map, filter and highlight.
    QTemporaryDir sessionDir;
    const QString session = sessionDir.filePath(QStringLiteral("s.json"));
    ASSERT_TRUE(w.saveSession(session));
    {
        MainWindow restored;
        restored.setHeadless(true);
        QSignalSpy ready(&restored, &MainWindow::resultsCompleted);
        ASSERT_TRUE(restored.loadSession(session));
        QTRY_VERIFY_WITH_TIMEOUT(ready.count() >= 1, 60000);
        EXPECT_EQ(restored.captureBar()->sample(), 1);
        EXPECT_EQ(restored.alignmentPage()->layerMapEditor()->preset(),
                  LayerMapEditor::Preset::Custom);
        EXPECT_EQ(restored.alignmentPage()->layerMapEditor()->spec().pairs,
                  (std::vector<std::pair<int, int>>{{1, 0}}));
        EXPECT_EQ(restored.attentionPage()->selection().filter.topK, 3);
        EXPECT_EQ(restored.attentionPage()->selection().highlight, TokenHighlight::Kl);
        QTRY_VERIFY_WITH_TIMEOUT(restored.attentionPage()->linked()->normalisationText().contains(
                                     QStringLiteral("top-3/row")),
                                 30000);
        QTRY_VERIFY_WITH_TIMEOUT(restored.alignmentPage()->matrix()->metric().contains(
                                     QStringLiteral("layer map: custom")),
                                 30000);
    }

    // A truncated capture: a specific error, the sample shown stays.
    QTemporaryDir dir;
    const QString bad = dir.filePath(QStringLiteral("truncated.h5"));
    {
        QFile src(goldenCapture());
        ASSERT_TRUE(src.open(QIODevice::ReadOnly));
        QFile f(bad);
        ASSERT_TRUE(f.open(QIODevice::WriteOnly));
        f.write(src.readAll().left(4000));
    }
    EXPECT_EQ(classifyDrop(bad), DropKind::Capture);
    w.openCapture(bad);
    QTRY_COMPARE_WITH_TIMEOUT(errors.count(), 1, 30000);
    const QString message = errors.at(0).at(0).toString();
    EXPECT_TRUE(message.startsWith(QStringLiteral("format error"))) << message.toStdString();
    EXPECT_TRUE(message.contains(bad)) << message.toStdString();
    EXPECT_TRUE(w.captureMode());
    EXPECT_EQ(w.captureBar()->sample(), 1);
    EXPECT_EQ(w.attentionPage()->input(), QStringLiteral("4,8,15,16,23,42,4,8,15,16,23,42,1"));
}

// A closed Heads dock comes back from the View menu (Ctrl+6), not only from the dock area's
// context menu.
TEST(StudioDocks, HeadsDockReopensFromTheViewMenu) {
    qtApp();
    MainWindow w;
    w.show();
    auto* dock = qobject_cast<QDockWidget*>(w.headsDock()->parentWidget());
    ASSERT_NE(dock, nullptr);
    dock->close();
    EXPECT_FALSE(dock->isVisible());
    QAction* reopen = nullptr;
    for (QAction* a : w.menuBar()->actions())
        if (a->menu() && a->text().remove(QLatin1Char('&')) == QStringLiteral("View"))
            for (QAction* item : a->menu()->actions())
                if (item->text().remove(QLatin1Char('&')) == QStringLiteral("Heads dock"))
                    reopen = item;
    ASSERT_NE(reopen, nullptr);
    EXPECT_EQ(reopen->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_6));
    reopen->trigger();
    EXPECT_TRUE(dock->isVisible());
}
