// dxl-studio entry point: everything lives in dxl_studio_lib (docs/conventions.md#studio-code).
#include <QApplication>

#include "app/studio/studio_app.h"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("dxl-studio"));
    return dxl::studio::runStudio(dxl::studio::parseStudioOptions(QApplication::arguments()));
}
