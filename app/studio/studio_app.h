// Command line and start-up of dxl-studio, kept out of main.cpp so tests can drive it:
//   dxl-studio [--data-dir DIR] [--teacher DIR] [--student DIR] [--tokens "1,2,3"] [--session FILE]
//              [--watch RUN_DIR] [--capture FILE] [--export all --out DIR] [--walkthrough DIR]
//              [--show L.H,B.H] [--rollout] [--filter-threshold X] [--filter-top-k K]
//              [--drop-sink] [--highlight H]
// --export renders every figure headless (use QT_QPA_PLATFORM=offscreen) and exits;
// --walkthrough runs the scripted tour (defaults -> switch heads -> alignment -> export all),
// saving screenshots into DIR.
#pragma once

#include <QString>

namespace dxl::studio {

struct StudioOptions {
    QString dataDir, teacher, student, tokens, session, exportSpec, outDir, walkthroughDir;
    QString watchDir;  // a distillation run folder to follow in the Distill dock
    QString capture;   // a capture file (dxl capture) to show instead of running the models
    QString device = QStringLiteral("auto");  // --device auto|cpu|cuda|cuda:N
    QString tokenizer;                        // a tokenizer.json for models that ship without one
    QString screenshotsDir;  // --screenshots DIR: every page and dock saved, then exit
    bool help = false;
    bool force = false;  // --export all may replace existing files
    QString error;       // non-empty: bad command line
    // The linked maps' view before --export (the same flags as `dxl align --show`).
    QString show;       // "L.H,B.H"
    QString highlight;  // none|teacher-received|student-received|difference-received|kl
    double filterThreshold = 0.0;
    int filterTopK = 0;
    bool dropSink = false, rollout = false;
    bool hasDisplay() const {
        return !show.isEmpty() || !highlight.isEmpty() || filterThreshold > 0 || filterTopK > 0 ||
               dropSink || rollout;
    }
};

StudioOptions parseStudioOptions(const QStringList& args);
QString studioUsage();
// data/ next to the executable, in the source tree, or from --data-dir.
QString findDataDir(const QString& hint);
// Runs the application (QApplication must exist). Returns the exit code.
int runStudio(const StudioOptions& options);

}  // namespace dxl::studio
