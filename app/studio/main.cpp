// dxl-studio entry point: everything lives in dxl_studio_lib (docs/conventions.md#studio-code).
#include <QApplication>
#include <cstring>
#include <vector>

#include "app/studio/studio_app.h"

int main(int argc, char** argv) {
    // Our options are parsed from the raw command line, before QApplication exists: Qt treats
    // "--session X" as its own "-session" (X11 session management) and removes it, and --help or
    // a bad option must answer without a display. Qt's own options go to QApplication alone.
    static const char* const kQtWithValue[] = {"-platform",   "-display",         "-style",
                                               "-stylesheet", "-qwindowgeometry", "-qwindowtitle"};
    std::vector<char*> qtArgv{argv[0]};
    QStringList ours{QString::fromLocal8Bit(argv[0])};
    for (int i = 1; i < argc; ++i) {
        bool qt = std::strcmp(argv[i], "-reverse") == 0;
        for (const char* o : kQtWithValue)
            qt = qt || (std::strcmp(argv[i], o) == 0 && i + 1 < argc);
        if (!qt) {
            ours << QString::fromLocal8Bit(argv[i]);
            continue;
        }
        qtArgv.push_back(argv[i]);
        if (std::strcmp(argv[i], "-reverse") != 0) qtArgv.push_back(argv[++i]);
    }
    const dxl::studio::StudioOptions options = dxl::studio::parseStudioOptions(ours);
    if (options.help || !options.error.isEmpty()) return dxl::studio::runStudio(options);
    int qtArgc = static_cast<int>(qtArgv.size());
    qtArgv.push_back(nullptr);
    QApplication app(qtArgc, qtArgv.data());
    QApplication::setApplicationName(QStringLiteral("dxl-studio"));
    return dxl::studio::runStudio(options);
}
