// Command line and start-up of dxl-studio, kept out of main.cpp so tests can drive it:
//   dxl-studio [--data-dir DIR] [--teacher DIR] [--student DIR] [--tokens "1,2,3"] [--session FILE]
//              [--watch RUN_DIR] [--capture FILE] [--export all --out DIR] [--walkthrough DIR]
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
    QString error;  // non-empty: bad command line
};

StudioOptions parseStudioOptions(const QStringList& args);
QString studioUsage();
// data/ next to the executable, in the source tree, or from --data-dir.
QString findDataDir(const QString& hint);
// Runs the application (QApplication must exist). Returns the exit code.
int runStudio(const StudioOptions& options);

}  // namespace dxl::studio
