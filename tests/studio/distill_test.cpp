// Distill dock pieces: the log tail picks up records appended to a growing run log
// (and starts over when `--resume auto` truncates it), the dock's 40 ms timer feeds the plots
// from a watched folder, presets and model defaults of the config form, validation with the
// core's message, per-run colours, and the runner's pause / stop / resume on the tiny models.
#include <gtest/gtest.h>

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QJsonObject>
#include <QLabel>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>

#include "app/studio/compute_worker.h"
#include "app/studio/distill_config_form.h"
#include "app/studio/distill_dock.h"
#include "app/studio/distill_plots.h"
#include "app/studio/distill_runner.h"
#include "app/studio/drop_handler.h"
#include "app/studio/run_log_tail.h"
#include "core/train/run_log.h"
#include "core/train/train_config.h"
#include "widgets/loss_plot.h"

using namespace dxl;
using namespace dxl::studio;

namespace {

QApplication& qtApp() {
    static int argc = 1;
    static char name[] = "studio_distill_test";
    static char* argv[] = {name, nullptr};
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    static QApplication* app = new QApplication(argc, argv);  // never destroyed (see widgets)
    return *app;
}

nlohmann::json trainRecord(int64_t step, double total) {
    return {{"kind", "train"},
            {"step", step},
            {"metrics", {{"total", total}, {"ce", total / 2}, {"lr", 1e-3}, {"alpha", 0.5}}}};
}

// The golden tiny GPT-2 (vocab 97) and 2-block xLSTM: small and fast, and fixed whatever the
// embedded defaults in data/models are.
#define DXL_GOLDEN_MODELS DXL_SOURCE_DIR "/tests/data/golden/models"

QString configDir() {
    return QStringLiteral(DXL_SOURCE_DIR "/data/configs");
}

ModelsLoaded tinyModels(bool tokenizer, int context) {
    ModelsLoaded m;
    m.teacher.dir = DXL_GOLDEN_MODELS "/gpt2_2600";
    m.teacher.hasTokenizer = tokenizer;
    m.teacher.context = context;
    m.student.dir = DXL_GOLDEN_MODELS "/xlstm_lm_2520";
    return m;
}

}  // namespace

TEST(RunLogTail, PicksUpAppendedRecordsOfAGrowingLog) {
    QTemporaryDir dir;
    RunLogTail tail(dir.path());
    EXPECT_EQ(tail.poll(), 0);  // no log yet
    const std::string path = tail.logPath().toStdString();
    {
        train::RunLogWriter w(path);
        w.append({{"kind", "event"}, {"step", 0}, {"event", "start"}, {"metrics", {}}});
        for (int s = 1; s <= 3; ++s)
            w.append(trainRecord(s, 4.0 - s));
        EXPECT_EQ(tail.poll(), 4);
        EXPECT_EQ(tail.trainSeries("total").keys.size(), 3u);
        EXPECT_EQ(tail.poll(), 0);  // nothing new
        w.append(trainRecord(4, 0.5));
        w.append({{"kind", "eval"}, {"step", 4}, {"metrics", {{"ppl", 12.5}}}});
        EXPECT_EQ(tail.poll(), 2);
    }
    EXPECT_EQ(tail.lastStep(), 4);
    EXPECT_EQ(tail.trainSeries("total").values.back(), 0.5);
    EXPECT_EQ(tail.evalSeries("ppl").keys, std::vector<double>{4.0});
    // Half a record (the writer mid-append) is left for the next poll.
    const int64_t before = tail.bytesRead();
    {
        QFile f(tail.logPath());
        ASSERT_TRUE(f.open(QIODevice::Append));
        f.write(QByteArray(7, '\x10'));
    }
    EXPECT_EQ(tail.poll(), 0);
    EXPECT_EQ(tail.bytesRead(), before);
    // `--resume auto` truncates to the checkpoint and replays: the tail starts over.
    {
        train::RunLogWriter w(path, before);  // cut the partial bytes, as the trainer does
        w.append({{"kind", "event"}, {"step", 4}, {"event", "resume"}, {"metrics", {}}});
        w.append(trainRecord(5, 0.25));
    }
    EXPECT_EQ(tail.poll(), 2);
    EXPECT_EQ(tail.trainSeries("total").keys.size(), 5u);
    {
        train::RunLogWriter w(path, 0);  // a new run in the same folder: shorter file
        w.append(trainRecord(1, 9.0));
    }
    EXPECT_EQ(tail.poll(), 1);
    EXPECT_EQ(tail.trainSeries("total").keys, std::vector<double>{1.0});
    EXPECT_EQ(tail.trainSeries("total").values, std::vector<double>{9.0});
}

TEST(RunLogTail, ReplayedStepsReplaceLaterPoints) {
    Series s;
    for (int k = 1; k <= 5; ++k)
        appendPoint(s, k, 10.0 * k);
    appendPoint(s, 3, -1.0);  // rollback to step 2, step 3 again
    EXPECT_EQ(s.keys, (std::vector<double>{1, 2, 3}));
    EXPECT_EQ(s.values, (std::vector<double>{10, 20, -1}));
}

TEST(DistillDock, TimerFeedsPlotsFromAWatchedGrowingLog) {
    qtApp();
    QTemporaryDir dir;
    {  // what `dxl distill` writes first: the planned steps for the progress bar
        QFile cfg(QDir(dir.path()).filePath(QStringLiteral("run_config.json")));
        ASSERT_TRUE(cfg.open(QIODevice::WriteOnly));
        cfg.write(R"({"stages": [{"steps": 12}, {"steps": 8}]})");
    }
    DistillDock dock(configDir());
    dock.resize(1400, 600);
    dock.show();
    dock.watchFolder(dir.path());
    ASSERT_EQ(dock.runCount(), 1);
    EXPECT_EQ(dock.plots()->lossPlot()->plot()->graphCount(), 0);
    train::RunLogWriter w(QDir(dir.path()).filePath(QStringLiteral("run.dxlrec")).toStdString());
    for (int s = 1; s <= 10; ++s)
        w.append(trainRecord(s, 5.0 / s));
    // No explicit poll: the dock's timer (40 ms) picks the records up.
    QTRY_COMPARE_WITH_TIMEOUT(dock.run(0)->trainSeries("total").keys.size(), size_t{10}, 2000);
    EXPECT_GT(dock.plots()->lossPlot()->plot()->graphCount(), 0);
    for (int s = 11; s <= 15; ++s)
        w.append(trainRecord(s, 5.0 / s));
    QTRY_COMPARE_WITH_TIMEOUT(dock.run(0)->lastStep(), int64_t{15}, 2000);
    QTRY_VERIFY_WITH_TIMEOUT(dock.progressText().contains(QStringLiteral("step 15/20")), 2000);
    EXPECT_EQ(dock.figures().size(), 6);
}

TEST(DistillPlots, OneColourPerRunAcrossPlots) {
    qtApp();
    QTemporaryDir a, b;
    for (const QString& d : {a.path(), b.path()}) {
        train::RunLogWriter w(QDir(d).filePath(QStringLiteral("run.dxlrec")).toStdString());
        for (int s = 1; s <= 5; ++s) {
            nlohmann::json r = trainRecord(s, 1.0 + s);
            r["metrics"]["grad_norm"] = 0.5 * s;
            w.append(r);
        }
    }
    RunLogTail ra(a.path()), rb(b.path());
    ra.poll();
    rb.poll();
    DistillPlots plots;
    plots.resize(1200, 500);
    plots.setRuns({{&ra, 3}, {&rb, 5}}, 0);
    const QColor c3 = widgets::seriesColor(3), c5 = widgets::seriesColor(5);
    // Loss plot "all terms": per run, 2 terms x (raw + EMA); run colours, dashes per term.
    auto* loss = plots.lossPlot();
    ASSERT_EQ(loss->plot()->graphCount(), 8);
    EXPECT_EQ(loss->smoothGraph(0)->pen().color().rgb(), c3.rgb());
    EXPECT_EQ(loss->smoothGraph(2)->pen().color().rgb(), c5.rgb());
    EXPECT_NE(loss->smoothGraph(0)->pen().style(), loss->smoothGraph(1)->pen().style());
    auto* grad = plots.figures()[2];
    ASSERT_EQ(grad->figureName(), QStringLiteral("distill_grad_norm"));
    auto* gradPlot = dynamic_cast<widgets::LinePlot*>(grad);
    ASSERT_NE(gradPlot, nullptr);
    ASSERT_EQ(gradPlot->plot()->graphCount(), 2);
    EXPECT_EQ(gradPlot->plot()->graph(0)->pen().color().rgb(), c3.rgb());
    EXPECT_EQ(gradPlot->plot()->graph(1)->pen().color().rgb(), c5.rgb());
}

// The control row: the smoothing combo retitles and re-ranges its one parameter and drives the
// loss plot; "ignore outliers" / "y from 0" reach every plot; "group runs" draws the band; all
// of it lands in the exported provenance.
TEST(DistillPlots, SmoothingAutoscaleAndGroupControls) {
    qtApp();
    QTemporaryDir a, b;
    for (const QString& d : {a.path(), b.path()}) {
        train::RunLogWriter w(QDir(d).filePath(QStringLiteral("run.dxlrec")).toStdString());
        // 2 x 100 gradient norms with one spike: above the 99th percentile.
        for (int s = 1; s <= 100; ++s) {
            nlohmann::json r = trainRecord(s, 3.0 / s + (d == a.path() ? 0.0 : 0.2));
            r["metrics"]["grad_norm"] = s == 50 && d == a.path() ? 1e4 : 1.0 + 0.001 * s;
            w.append(r);
        }
    }
    RunLogTail ra(a.path()), rb(b.path());
    ra.poll();
    rb.poll();
    DistillPlots plots;
    plots.resize(1400, 600);
    plots.setRuns({{&ra, 0}, {&rb, 1}}, 0);
    auto* loss = plots.lossPlot();
    EXPECT_EQ(loss->smoothingMethod(), widgets::Smoothing::Ema);
    EXPECT_DOUBLE_EQ(loss->smoothingParam(), 0.8);
    plots.smoothingCombo()->setCurrentIndex(1);  // Gaussian
    EXPECT_EQ(loss->smoothingMethod(), widgets::Smoothing::Gaussian);
    EXPECT_TRUE(plots.smoothingParamLabel()->text().contains(QStringLiteral("steps")));
    EXPECT_GT(plots.smoothingParam()->maximum(), 1.0);
    plots.smoothingParam()->setValue(3.0);
    EXPECT_DOUBLE_EQ(loss->smoothingParam(), 3.0);
    plots.smoothingCombo()->setCurrentIndex(0);  // back to EMA: its beta is remembered
    EXPECT_DOUBLE_EQ(plots.smoothingParam()->value(), 0.8);
    EXPECT_DOUBLE_EQ(loss->smoothingParam(), 0.8);
    plots.smoothingCombo()->setCurrentIndex(2);
    EXPECT_EQ(loss->smoothingMethod(), widgets::Smoothing::RunningMean);
    EXPECT_EQ(loss->figureProvenance()
                  .value(QStringLiteral("smoothing"))
                  .toObject()
                  .value(QStringLiteral("method"))
                  .toString(),
              QStringLiteral("running_mean"));

    auto* grad = dynamic_cast<widgets::LinePlot*>(plots.figures()[2]);
    ASSERT_NE(grad, nullptr);
    EXPECT_GT(grad->plot()->yAxis->range().upper, 1e3);
    plots.ignoreOutliersBox()->setChecked(true);
    EXPECT_LT(grad->plot()->yAxis->range().upper, 2.0);
    plots.yFromZeroBox()->setChecked(true);
    EXPECT_DOUBLE_EQ(grad->plot()->yAxis->range().lower, 0.0);
    EXPECT_TRUE(loss->yScale().ignoreOutliers);

    plots.groupRunsBox()->setChecked(true);
    ASSERT_EQ(loss->plot()->graphCount(), 3);  // band lower, upper, mean of "total"
    EXPECT_TRUE(loss->plot()->graph(2)->name().startsWith(QStringLiteral("mean \u00b1 std of 2")));
    EXPECT_EQ(loss->plot()->graph(2)->pen().color().rgb(), widgets::seriesColor(0).rgb());
    plots.groupRunsBox()->setChecked(false);
    EXPECT_EQ(loss->plot()->graphCount(), 8);
}

TEST(DistillConfigForm, PresetsModelDefaultsAndValidation) {
    qtApp();
    DistillConfigForm form(configDir());
    EXPECT_EQ(form.presetKey(), QStringLiteral("paper"));
    ASSERT_TRUE(form.loadPreset(QStringLiteral("mohawk")));
    EXPECT_EQ(form.totalSteps(), 60 + 60 + 80);
    ASSERT_TRUE(form.loadPreset(QStringLiteral("lolcats")));
    EXPECT_EQ(form.config()["stages"].size(), 2u);
    QString error;
    EXPECT_FALSE(form.loadPreset(QStringLiteral("nope"), &error));
    EXPECT_TRUE(error.contains(QStringLiteral("nope")));

    // A teacher without a tokenizer: synthetic data within its context.
    form.setModels(tinyModels(false, 32));
    EXPECT_EQ(form.config()["data"]["spec"], "mqar@0.5+induction@0.5");
    EXPECT_EQ(form.config()["data"]["seq_len"], 32);
    EXPECT_EQ(form.config()["student"]["dir"], DXL_GOLDEN_MODELS "/xlstm_lm_2520");
    EXPECT_EQ(form.validate(), QString());
    // A byte-level teacher: fortunes with MQAR mixed in, T up to the context.
    form.setModels(tinyModels(true, 256));
    EXPECT_EQ(form.config()["data"]["spec"], "fortunes+mqar@0.1");
    EXPECT_EQ(form.config()["data"]["seq_len"], 128);
    form.setStepsPerStage(7);
    EXPECT_EQ(form.totalSteps(), 14);

    // Validation shows the core parser's message.
    nlohmann::json bad = form.config();
    bad["batch_size"] = 0;
    form.setConfig(bad);
    EXPECT_TRUE(form.validate().contains(QStringLiteral("batch_size and grad_accum must be >= 1")))
        << form.validate().toStdString();
    bad["batch_size"] = 8;
    bad["teacher"] = "/nonexistent/teacher";
    form.setConfig(bad);
    EXPECT_TRUE(form.validate().contains(QStringLiteral("/nonexistent/teacher")));
}

// A quick run of the form's config: batch 2, no accumulation, no periodic checkpoints.
static nlohmann::json smallRun(nlohmann::json cfg, int eval_every) {
    cfg["grad_accum"] = 1;
    cfg["batch_size"] = 2;
    cfg["eval_every"] = eval_every;
    cfg["ckpt_every"] = 0;
    return cfg;
}

TEST(DistillRunner, PauseStopAndResumeOnTheTinyModels) {
    qtApp();
    ComputeWorker::registerTypes();
    QTemporaryDir out;
    DistillConfigForm form(configDir());
    form.setModels(tinyModels(false, 32));
    form.setOutDir(out.path() + QStringLiteral("/run"));
    form.setStepsPerStage(400);
    nlohmann::json cfg = smallRun(form.config(), 0);
    DistillRunner runner;
    QSignalSpy finished(&runner, &DistillRunner::finished);
    QSignalSpy failed(&runner, &DistillRunner::failed);
    QString error;
    ASSERT_TRUE(runner.start(cfg, false, &error)) << error.toStdString();
    EXPECT_FALSE(runner.start(cfg, false, &error));  // one run at a time
    QTRY_VERIFY_WITH_TIMEOUT(runner.progress().step >= 2, 30000);
    runner.pause();
    EXPECT_EQ(runner.state(), DistillRunner::State::Paused);
    QTest::qWait(150);  // the step in flight ends, then the trainer waits
    const qint64 held = runner.progress().step;
    QTest::qWait(300);
    EXPECT_EQ(runner.progress().step, held);
    runner.proceed();
    QTRY_VERIFY_WITH_TIMEOUT(runner.progress().step > held, 30000);
    runner.stop();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 1, 30000);
    ASSERT_EQ(failed.count(), 0);
    const RunEnd end = finished.at(0).at(0).value<RunEnd>();
    EXPECT_TRUE(end.stopped);
    EXPECT_LT(end.steps, 400);
    EXPECT_EQ(runner.state(), DistillRunner::State::Idle);
    // Start refuses a folder that holds checkpoints; resume continues from the newest one.
    EXPECT_FALSE(runner.start(cfg, false, &error));
    EXPECT_TRUE(error.contains(QStringLiteral("Resume")));
    for (auto& s : cfg["stages"])
        s["steps"] = end.steps + 3;
    ASSERT_TRUE(runner.start(cfg, true, &error)) << error.toStdString();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 2, 60000);
    ASSERT_EQ(failed.count(), 0);
    const RunEnd resumed = finished.at(1).at(0).value<RunEnd>();
    EXPECT_FALSE(resumed.stopped);
    EXPECT_EQ(resumed.steps, end.steps + 3);
    RunLogTail tail(runner.folder());
    tail.poll();
    EXPECT_TRUE(tail.finished());
    EXPECT_EQ(tail.trainSeries("total").keys.size(), static_cast<size_t>(end.steps + 3));
    EXPECT_FALSE(tail.checkpoints().empty());
}

// Closing the window during a run destroys the dock while the trainer works: the run stops with a
// checkpoint and nothing touches the dock's half-destroyed widgets (this crashed).
TEST(DistillDock, DestroyedDuringARunStopsItWithACheckpoint) {
    qtApp();
    ComputeWorker::registerTypes();
    QTemporaryDir out;
    const QString folder = out.path() + QStringLiteral("/run");
    {
        auto* dock = new DistillDock(configDir());
        dock->setModels(tinyModels(false, 32));
        dock->form()->setOutDir(folder);
        dock->form()->setStepsPerStage(100000);
        ASSERT_TRUE(dock->startRun()) << dock->statusText().toStdString();
        QTRY_VERIFY_WITH_TIMEOUT(dock->runner()->progress().step >= 2, 30000);
        delete dock;
    }
    RunLogTail tail(folder);
    tail.poll();
    EXPECT_FALSE(tail.checkpoints().empty());
    EXPECT_GE(tail.trainSeries("total").keys.size(), 2u);
}

TEST(DistillRunner, EvalAlignmentLogsMatchedHeadCurvesOnlyWhenAsked) {
    qtApp();
    ComputeWorker::registerTypes();
    QTemporaryDir out;
    DistillConfigForm form(configDir());
    form.setModels(tinyModels(false, 32));
    form.setOutDir(out.path() + QStringLiteral("/run"));
    form.setStepsPerStage(4);
    // Off by default: the run config (and so the log) is what it was before the option.
    EXPECT_FALSE(
        train::to_json(train::parse_run_config(form.config(), "test")).contains("eval_alignment"));
    form.setEvalAlignment(true);
    nlohmann::json cfg = smallRun(form.config(), 2);
    EXPECT_TRUE(train::parse_run_config(cfg, "test").eval_alignment);
    DistillRunner runner;
    QSignalSpy finished(&runner, &DistillRunner::finished);
    QSignalSpy failed(&runner, &DistillRunner::failed);
    QString error;
    ASSERT_TRUE(runner.start(cfg, false, &error)) << error.toStdString();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 1, 60000);
    ASSERT_EQ(failed.count(), 0);
    RunLogTail tail(runner.folder());
    tail.poll();
    // The golden pair: 2 teacher layers, block 0 mLSTM, block 1 sLSTM; the ratio groups give
    // block 0 teacher layer 0, so its 4 heads are matched onto block 0's 4 heads.
    int pairs = 0;
    for (const auto& [name, series] : tail.eval()) {
        if (name.rfind("align_js:", 0) != 0) continue;
        ++pairs;
        EXPECT_EQ(name.rfind("align_js:L0H", 0), 0u) << name;
        EXPECT_NE(name.find("-B0H"), std::string::npos) << name;
        EXPECT_GE(series.keys.size(), 2u) << name;  // evaluations at steps 2 and 4
        for (double v : series.values)
            EXPECT_TRUE(v >= 0 && v <= std::log(2.0) + 1e-9) << name << " " << v;
    }
    EXPECT_EQ(pairs, 4);
    EXPECT_FALSE(tail.evalSeries("align_js_mean").keys.empty());
    DistillPlots plots;
    plots.setRuns({{&tail, 0}}, 0);
    EXPECT_TRUE(plots.hasAlignment());
    EXPECT_EQ(plots.alignmentPlot()->plot()->graphCount(), 5);  // 4 pairs + the mean
    EXPECT_TRUE(plots.figures().contains(plots.alignmentPlot()));
}

TEST(DropHandler, ClassifiesModelAndRunFolders) {
    QString folder;
    EXPECT_EQ(classifyDrop(QStringLiteral(DXL_GOLDEN_MODELS "/gpt2_2600"), &folder),
              DropKind::Teacher);
    EXPECT_TRUE(folder.endsWith(QStringLiteral("gpt2_2600")));
    // A file inside a model folder counts as the folder.
    EXPECT_EQ(
        classifyDrop(QStringLiteral(DXL_GOLDEN_MODELS "/xlstm_lm_2520/model.safetensors"), &folder),
        DropKind::Student);
    EXPECT_TRUE(folder.endsWith(QStringLiteral("xlstm_lm_2520")));
    // A capture file (by name or HDF5 signature) opens as itself, damaged or not.
    EXPECT_EQ(classifyDrop(QStringLiteral(DXL_GOLDEN_MODELS "/gpt2_2600/expected.h5"), &folder),
              DropKind::Capture);
    EXPECT_TRUE(folder.endsWith(QStringLiteral("expected.h5")));
    QTemporaryDir run;
    EXPECT_EQ(classifyDrop(run.path()), DropKind::Unknown);
    {
        train::RunLogWriter w(
            QDir(run.path()).filePath(QStringLiteral("run.dxlrec")).toStdString());
    }
    EXPECT_EQ(classifyDrop(run.path()), DropKind::Run);
}
