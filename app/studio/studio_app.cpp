// dxl-studio start-up: options, default models and input, headless export, scripted walkthrough.
#include "app/studio/studio_app.h"

#include <QApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTextStream>
#include <cstdio>
#include <memory>

#include "app/studio/attention_page.h"
#include "app/studio/distill_dock.h"
#include "app/studio/inspect_engine.h"
#include "app/studio/main_window.h"
#include "app/studio/screenshot_tour.h"
#include "app/studio/walkthrough.h"

namespace dxl::studio {

QString studioUsage() {
    return QStringLiteral(
        "usage: dxl-studio [--data-dir DIR] [--teacher DIR] [--student DIR] [--tokens IDS|TEXT]\n"
        "                  [--session FILE] [--watch RUN_DIR] [--capture FILE]\n"
        "                  [--export all --out DIR [--force]]\n"
        "                  [--walkthrough DIR] [--device auto|cpu|cuda|cuda:N]\n"
        "                  [--tokenizer FILE] [--screenshots DIR]\n"
        "  Defaults: DATA/models/tiny-teacher, DATA/models/tiny-student, "
        "DATA/inputs/default_input.txt (text; default_tokens.txt ids without a tokenizer)\n"
        "  --export all --out DIR  render every figure (PNG/PDF/SVG + CSV/JSON + provenance) and "
        "exit;\n"
        "                          files that exist are kept (exit 3) unless --force\n"
        "  --watch RUN_DIR         follow a distillation run (dxl distill --out RUN_DIR) in the "
        "Distill dock\n"
        "  --capture FILE          show a capture file (dxl capture) instead of running the "
        "models\n"
        "  --walkthrough DIR       scripted tour that saves screenshots into DIR, then exits\n"
        "  --screenshots DIR       save every page and dock for these models into DIR, then "
        "exit\n"
        "  --device D              where the models run (default auto: the first GPU when this\n"
        "                          build has CUDA and one is present, else the CPU)\n"
        "  --tokenizer FILE        a tokenizer.json for models that ship without one\n"
        "  view of the linked maps (as dxl align --show; recorded in every export's provenance):\n"
        "  --show L.H,B.H          teacher layer.head, student block.head\n"
        "  --rollout               attention rollout up to that layer and block\n"
        "  --filter-threshold X    cells with |value| < X shown as 0\n"
        "  --filter-top-k K        keep the K largest causal entries of each row\n"
        "  --drop-sink             drop column 0 and renormalise the rows\n"
        "  --highlight H           "
        "none|teacher-received|student-received|difference-received|kl\n");
}

StudioOptions parseStudioOptions(const QStringList& args) {
    StudioOptions o;
    for (int i = 1; i < args.size(); ++i) {
        const QString& a = args[i];
        auto value = [&](QString* out) {
            if (i + 1 >= args.size()) {
                o.error = QStringLiteral("%1: expected a value; see --help").arg(a);
                return;
            }
            *out = args[++i];
        };
        if (a == QStringLiteral("--help") || a == QStringLiteral("-h"))
            o.help = true;
        else if (a == QStringLiteral("--data-dir"))
            value(&o.dataDir);
        else if (a == QStringLiteral("--teacher"))
            value(&o.teacher);
        else if (a == QStringLiteral("--student"))
            value(&o.student);
        else if (a == QStringLiteral("--tokens"))
            value(&o.tokens);
        else if (a == QStringLiteral("--session"))
            value(&o.session);
        else if (a == QStringLiteral("--export"))
            value(&o.exportSpec);
        else if (a == QStringLiteral("--out"))
            value(&o.outDir);
        else if (a == QStringLiteral("--watch"))
            value(&o.watchDir);
        else if (a == QStringLiteral("--capture"))
            value(&o.capture);
        else if (a == QStringLiteral("--tokenizer"))
            value(&o.tokenizer);
        else if (a == QStringLiteral("--walkthrough"))
            value(&o.walkthroughDir);
        else if (a == QStringLiteral("--screenshots"))
            value(&o.screenshotsDir);
        else if (a == QStringLiteral("--device"))
            value(&o.device);
        else if (a == QStringLiteral("--show"))
            value(&o.show);
        else if (a == QStringLiteral("--highlight"))
            value(&o.highlight);
        else if (a == QStringLiteral("--force"))
            o.force = true;
        else if (a == QStringLiteral("--rollout"))
            o.rollout = true;
        else if (a == QStringLiteral("--drop-sink"))
            o.dropSink = true;
        else if (a == QStringLiteral("--filter-threshold") ||
                 a == QStringLiteral("--filter-top-k")) {
            QString v;
            value(&v);
            bool ok = false;
            if (a == QStringLiteral("--filter-threshold"))
                o.filterThreshold = v.toDouble(&ok);
            else
                o.filterTopK = v.toInt(&ok);
            if (o.error.isEmpty() && (!ok || o.filterThreshold < 0 || o.filterTopK < 0))
                o.error = QStringLiteral("%1: expected a non-negative number, got '%2'").arg(a, v);
        } else
            o.error = QStringLiteral("unknown option %1; see --help").arg(a);
        if (!o.error.isEmpty()) break;
    }
    if (o.error.isEmpty() && !o.exportSpec.isEmpty() && o.exportSpec != QStringLiteral("all")) {
        o.error = QStringLiteral("--export: expected 'all', but got '%1'").arg(o.exportSpec);
    }
    if (o.error.isEmpty() && !o.exportSpec.isEmpty() && o.outDir.isEmpty())
        o.error = QStringLiteral("--export needs --out DIR");
    if (o.error.isEmpty() && !o.show.isEmpty() &&
        !QRegularExpression(QStringLiteral("^\\d+\\.\\d+,\\d+\\.\\d+$")).match(o.show).hasMatch())
        o.error = QStringLiteral("--show: expected L.H,B.H, got '%1'").arg(o.show);
    if (o.error.isEmpty() && !o.highlight.isEmpty()) {
        const QString h = QString(o.highlight).replace(QLatin1Char('-'), QLatin1Char('_'));
        if (highlightFromKey(h.toStdString()) == TokenHighlight::None &&
            h != QStringLiteral("none"))
            o.error = QStringLiteral(
                          "--highlight: expected none, teacher-received, "
                          "student-received, difference-received or kl, got '%1'")
                          .arg(o.highlight);
    }
    if (o.error.isEmpty() && o.hasDisplay() && o.exportSpec.isEmpty())
        o.error = QStringLiteral("--show and the display options go with --export all");
    return o;
}

QString findDataDir(const QString& hint) {
    QStringList candidates;
    if (!hint.isEmpty()) candidates << hint;
    const QString exe = QCoreApplication::applicationDirPath();
    candidates << exe + QStringLiteral("/data") << exe + QStringLiteral("/../data")
               << exe + QStringLiteral("/../../data") << exe + QStringLiteral("/../../../data")
               << QStringLiteral(DXL_SOURCE_DIR "/data");
    for (const QString& c : candidates) {
        if (QFileInfo::exists(c + QStringLiteral("/models/tiny-teacher/config.json")))
            return QDir(c).canonicalPath();
    }
    return hint;
}

namespace {

// True when the model folder reads text: a tokenizer.json, or the byte-level config marker.
bool readsText(const QString& modelDir) {
    if (QFileInfo::exists(modelDir + QStringLiteral("/tokenizer.json"))) return true;
    QFile f(modelDir + QStringLiteral("/config.json"));
    if (!f.open(QIODevice::ReadOnly)) return false;
    const QJsonObject cfg = QJsonDocument::fromJson(f.readAll()).object();
    return cfg.value(QStringLiteral("tokenizer_class")).toString() == QStringLiteral("dxl-byte");
}

// The default input: text (inputs/default_input.txt) for a teacher with a tokenizer, else the
// token ids of inputs/default_tokens.txt.
QString readDefaultInput(const QString& dataDir, const QString& teacherDir,
                         const QString& tokenizer) {
    const QString name = readsText(teacherDir) || !tokenizer.isEmpty()
                             ? QStringLiteral("/inputs/default_input.txt")
                             : QStringLiteral("/inputs/default_tokens.txt");
    QFile f(dataDir + name);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text)) return QStringLiteral("0,1,2,3");
    return QString::fromUtf8(f.readAll()).trimmed();
}

// The attention page's selection with the display options applied.
Selection selectionFromOptions(const StudioOptions& o, Selection s) {
    if (!o.show.isEmpty()) {
        const QStringList parts = o.show.split(QRegularExpression(QStringLiteral("[.,]")));
        s.teacherLayer = parts[0].toInt();
        s.teacherHead = parts[1].toInt();
        s.studentBlock = parts[2].toInt();
        s.studentHead = parts[3].toInt();
    }
    s.mode = o.rollout ? MapMode::Rollout : MapMode::SingleHead;
    s.filter.threshold = o.filterThreshold;
    s.filter.topK = o.filterTopK;
    s.filter.dropSink = o.dropSink;
    if (!o.highlight.isEmpty())
        s.highlight = highlightFromKey(
            QString(o.highlight).replace(QLatin1Char('-'), QLatin1Char('_')).toStdString());
    return s;
}

}  // namespace

int runStudio(const StudioOptions& options) {
    QTextStream err(stderr);
    if (options.help) {
        QTextStream(stdout) << studioUsage();
        return 0;
    }
    if (!options.error.isEmpty()) {
        err << "dxl-studio: " << options.error << "\n" << studioUsage();
        return 2;
    }
    const QString data = findDataDir(options.dataDir);
    if (!options.tokenizer.isEmpty()) {
        if (!QFileInfo::exists(options.tokenizer)) {
            err << "dxl-studio: --tokenizer: " << options.tokenizer
                << ": no such file; give a tokenizer.json\n";
            return 2;
        }
        InspectEngine::setTokenizerFile(options.tokenizer.toStdString());
    }
    const QString teacher =
        options.teacher.isEmpty() ? data + QStringLiteral("/models/tiny-teacher") : options.teacher;
    const QString student =
        options.student.isEmpty() ? data + QStringLiteral("/models/tiny-student") : options.student;
    const QString tokens = options.tokens.isEmpty()
                               ? readDefaultInput(data, teacher, options.tokenizer)
                               : options.tokens;
    const bool headless = !options.exportSpec.isEmpty();

    // A device this build cannot use is refused before any window opens (exit 5, as the CLI).
    const QString deviceError =
        QString::fromStdString(InspectEngine::checkDevice(options.device.toStdString()));
    if (!deviceError.isEmpty()) {
        err << "dxl-studio: " << deviceError << "\n";
        return deviceError.startsWith(QStringLiteral("--device: expected")) ? 2 : 5;
    }
    MainWindow w;
    w.setHeadless(headless || !options.walkthroughDir.isEmpty() ||
                  !options.screenshotsDir.isEmpty());
    w.setDevice(options.device);
    int code = 0;
    if (headless) {
        // With display options: the first results set the view, its maps trigger the export.
        auto exportAll = [&w, &options, &code] {
            QString error;
            const QStringList files = w.exportAllFigures(options.outDir, &error, options.force);
            for (const QString& f : files) {  // every file decodes and is not blank
                QString why;
                if (error.isEmpty() && !checkExportedFile(f, &why)) error = why;
            }
            if (files.isEmpty() || !error.isEmpty()) {
                QTextStream(stderr) << "dxl-studio: export failed: " << error << "\n";
                code = 3;
            } else {
                QTextStream(stdout)
                    << "exported " << files.size() << " files to " << options.outDir << "\n";
            }
            QApplication::exit(code);
        };
        auto viewSet = std::make_shared<bool>(false);
        QObject::connect(&w, &MainWindow::resultsCompleted, &w, [&w, &options, exportAll, viewSet] {
            if (!options.hasDisplay()) return exportAll();
            if (*viewSet) return;
            *viewSet = true;
            const Selection before = w.attentionPage()->selection();
            const Selection want = selectionFromOptions(options, before);
            // New maps come only when the maps change; the highlight alone is applied at once.
            const bool newMaps = want.teacherLayer != before.teacherLayer ||
                                 want.teacherHead != before.teacherHead ||
                                 want.studentBlock != before.studentBlock ||
                                 want.studentHead != before.studentHead ||
                                 want.mode != before.mode || !(want.filter == before.filter);
            if (newMaps) QObject::connect(&w, &MainWindow::mapsShown, &w, exportAll);
            w.attentionPage()->setSelection(want);
            if (!newMaps) exportAll();
        });
        QObject::connect(&w, &MainWindow::errorShown, &w, [](const QString& message) {
            QTextStream(stderr) << "dxl-studio: " << message << "\n";
            QApplication::exit(4);
        });
        w.resize(1500, 900);
        w.show();  // laid out (offscreen) so the figures have their on-screen sizes
    } else {
        if (!options.walkthroughDir.isEmpty())
            startWalkthrough(w, options.walkthroughDir, 180000, options.capture);
        else if (!options.screenshotsDir.isEmpty())
            startScreenshotTour(w, options.screenshotsDir);
        w.show();
        if (!options.watchDir.isEmpty()) {
            w.showDistillDock();
            w.distillDock()->watchFolder(options.watchDir);
        }
    }
    if (!options.session.isEmpty()) {
        if (!w.loadSession(options.session)) {
            err << "dxl-studio: " << options.session << " is not a dxl-studio session file\n";
            return 2;
        }
    } else if (!options.capture.isEmpty() && options.walkthroughDir.isEmpty()) {
        w.openCapture(options.capture);
    } else {
        w.openModels(teacher, student, tokens);
    }
    const int rc = QApplication::exec();
    return code != 0 ? code : rc;
}

}  // namespace dxl::studio
