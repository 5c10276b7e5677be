# Qt 6 + QCustomPlot (Qt 6 build) for the studio. QCustomPlotQt6's config does not call
# find_dependency, so Qt6 (Widgets, PrintSupport) must be found first.
# Never define QCUSTOMPLOT_USE_OPENGL: Debian's library is built without it.
include_guard(DIRECTORY)  # imported Qt targets are directory-scoped: include where used
find_package(Qt6 6.2 REQUIRED COMPONENTS Widgets PrintSupport Svg Concurrent Test)
find_package(QCustomPlotQt6 REQUIRED)
set_package_properties(Qt6 PROPERTIES TYPE REQUIRED PURPOSE "studio widgets and application")
set_package_properties(QCustomPlotQt6 PROPERTIES TYPE REQUIRED PURPOSE "heatmaps and plots in the studio")

# dxl_qt_defines(<target>): strict Qt defines for our Qt code (docs/conventions.md#naming).
function(dxl_qt_defines target)
  target_compile_definitions(${target} PUBLIC QCUSTOMPLOT_USE_LIBRARY
    QT_NO_CAST_FROM_ASCII QT_NO_CONTEXTLESS_CONNECT QT_NO_FOREACH)
endfunction()
