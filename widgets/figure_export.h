// Figure export for every view (docs/architecture.md#cli-and-studio-parity): PNG at a chosen size
// and DPI, PDF and SVG
// as vectors (text stays text: QCustomPlot::toPainter / QWidget::render onto QPdfWriter and
// QSvgGenerator; QCustomPlot 2.1 has no saveSvg), the data behind the figure as CSV and JSON, and a
// provenance sidecar (models, input, selection, normalisation, version).
#pragma once

#include <QJsonObject>
#include <QSize>
#include <QString>
#include <QStringList>

class QCPPainter;
class QCustomPlot;
class QWidget;

namespace dxl::widgets {

// Implemented by every exportable view.
class ExportableFigure {
  public:
    virtual ~ExportableFigure() = default;
    // File-name stem, e.g. "attention_t0.1_s0.1" (no extension, no directory).
    virtual QString figureName() const = 0;
    // Logical size (pixels at 96 DPI) the figure is laid out at by default.
    virtual QSize figureSize() const = 0;
    // Draws the whole figure into painter at logical size `size`, as vectors where possible.
    virtual void renderFigure(QCPPainter& painter, const QSize& size) = 0;
    // The data behind the figure.
    virtual QString figureCsv() const = 0;
    virtual QJsonObject figureJson() const = 0;
    // What the figure shows (selection, normalisation, scale); merged into the provenance sidecar.
    virtual QJsonObject figureProvenance() const { return {}; }
};

enum ExportFormat { kPng = 1, kPdf = 2, kSvg = 4, kCsv = 8, kJson = 16, kAllFormats = 31 };

struct ExportOptions {
    QSize size;          // logical size; empty = the figure's own size
    double dpi = 192.0;  // PNG resolution: pixels = size * dpi / 96
    int formats = kAllFormats;
    QJsonObject provenance;  // session-level facts: models, input, app version...
    QString nameSuffix;      // appended to figureName(), e.g. "_sample3" for a capture's sample
    bool overwrite = false;  // replace existing files (the studio asks first); else refuse
};

// The files exportFigure would write (every format asked for + the provenance sidecar).
QStringList exportTargets(const ExportableFigure& figure, const QString& dir,
                          const ExportOptions& options);

// Writes DIR/<figureName><nameSuffix>.{png,pdf,svg,csv,json} and the .provenance.json beside
// them. Returns the files written; on failure returns an empty list and sets *error (never
// throws). Without options.overwrite, an existing target is an error and nothing is written.
QStringList exportFigure(ExportableFigure& figure, const QString& dir, const ExportOptions& options,
                         QString* error = nullptr);

// Single-format helpers (also used by the figure implementations' tests).
bool writePng(ExportableFigure& figure, const QString& path, const QSize& size, double dpi);
bool writePdf(ExportableFigure& figure, const QString& path, const QSize& size);
bool writeSvg(ExportableFigure& figure, const QString& path, const QSize& size);

// Rendering helpers for implementations: one QCustomPlot at (x, y) with size, or a plain widget
// scaled into the rectangle.
void renderPlot(QCPPainter& painter, QCustomPlot* plot, const QRect& rect);
void renderWidget(QCPPainter& painter, QWidget* widget, const QRect& rect);

// Heatmap-style CSV: a header row of column labels, then one row per row label.
QString matrixCsv(const QStringList& rowLabels, const QStringList& colLabels, const float* values,
                  int rows, int cols);

}  // namespace dxl::widgets
