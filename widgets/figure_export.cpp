// PNG / PDF / SVG / CSV / JSON / provenance writers for ExportableFigure.
#include "widgets/figure_export.h"

#include "widgets/qcp.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QPageSize>
#include <QPdfWriter>
#include <QSvgGenerator>
#include <QTextStream>
#include <cmath>

#include "dxl/config.h"

namespace dxl::widgets {

namespace {

QSize effectiveSize(ExportableFigure& figure, const QSize& size) {
    return size.isValid() && !size.isEmpty() ? size : figure.figureSize();
}

bool writeText(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) return false;
    return f.write(bytes) == bytes.size();
}

}  // namespace

void renderPlot(QCPPainter& painter, QCustomPlot* plot, const QRect& rect) {
    painter.save();
    painter.translate(rect.topLeft());
    painter.setClipRect(QRect(QPoint(0, 0), rect.size()));
    plot->toPainter(&painter, rect.width(), rect.height());
    painter.restore();
}

void renderWidget(QCPPainter& painter, QWidget* widget, const QRect& rect) {
    painter.save();
    painter.translate(rect.topLeft());
    const QSize ws = widget->size();
    if (ws.width() > 0 && ws.height() > 0) {
        painter.scale(double(rect.width()) / ws.width(), double(rect.height()) / ws.height());
    }
    widget->render(&painter, QPoint(), QRegion(), QWidget::DrawChildren);
    painter.restore();
}

bool writePng(ExportableFigure& figure, const QString& path, const QSize& size, double dpi) {
    const QSize s = effectiveSize(figure, size);
    const double scale = dpi / 96.0;
    QImage image(qRound(s.width() * scale), qRound(s.height() * scale), QImage::Format_ARGB32);
    image.fill(Qt::white);
    {  // paint at 96 DPI metrics scaled up, so text has the size the layout was computed for
        QCPPainter painter(&image);
        painter.setRenderHint(QPainter::Antialiasing);
        painter.setRenderHint(QPainter::TextAntialiasing);
        painter.scale(scale, scale);
        figure.renderFigure(painter, s);
    }
    image.setDotsPerMeterX(qRound(dpi / 0.0254));  // only the file's pHYs metadata
    image.setDotsPerMeterY(qRound(dpi / 0.0254));
    return image.save(path, "PNG");
}

bool writePdf(ExportableFigure& figure, const QString& path, const QSize& size) {
    const QSize s = effectiveSize(figure, size);
    QPdfWriter pdf(path);
    pdf.setCreator(QStringLiteral("dxl-studio " DXL_VERSION));
    pdf.setTitle(figure.figureName());
    pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
    // 96 DPI device: 1 logical pixel = 1 device unit, fonts as on screen; page = size * 0.75 pt.
    pdf.setResolution(96);
    pdf.setPageSize(
        QPageSize(QSizeF(s) * 0.75, QPageSize::Point, QString(), QPageSize::ExactMatch));
    QCPPainter painter;
    if (!painter.begin(&pdf)) return false;
    painter.setMode(QCPPainter::pmVectorized);
    painter.setMode(QCPPainter::pmNoCaching);
    figure.renderFigure(painter, s);
    return painter.end();
}

bool writeSvg(ExportableFigure& figure, const QString& path, const QSize& size) {
    const QSize s = effectiveSize(figure, size);
    QSvgGenerator svg;
    svg.setFileName(path);
    svg.setSize(s);
    svg.setViewBox(QRect(QPoint(0, 0), s));
    svg.setResolution(96);
    svg.setTitle(figure.figureName());
    svg.setDescription(QStringLiteral("dxl-studio " DXL_VERSION));
    QCPPainter painter;
    if (!painter.begin(&svg)) return false;
    painter.setMode(QCPPainter::pmVectorized);
    painter.setMode(QCPPainter::pmNoCaching);
    figure.renderFigure(painter, s);
    return painter.end();
}

QString matrixCsv(const QStringList& rowLabels, const QStringList& colLabels, const float* values,
                  int rows, int cols) {
    auto quote = [](const QString& s) {
        QString q = s;
        q.replace(QLatin1Char('"'), QStringLiteral("\"\""));
        return QLatin1Char('"') + q + QLatin1Char('"');
    };
    QString out;
    QTextStream ts(&out);
    ts << quote(QStringLiteral("row\\col"));
    for (int c = 0; c < cols; ++c)
        ts << ',' << quote(c < colLabels.size() ? colLabels[c] : QString::number(c));
    ts << '\n';
    for (int r = 0; r < rows; ++r) {
        ts << quote(r < rowLabels.size() ? rowLabels[r] : QString::number(r));
        for (int c = 0; c < cols; ++c) {
            const float v =
                values[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)];
            ts << ',';
            if (!std::isnan(v)) ts << QString::number(static_cast<double>(v), 'g', 8);
        }
        ts << '\n';
    }
    return out;
}

QStringList exportTargets(const ExportableFigure& figure, const QString& dir,
                          const ExportOptions& options) {
    const QString base = QDir(dir).filePath(figure.figureName() + options.nameSuffix);
    QStringList out;
    const std::pair<int, const char*> formats[] = {
        {kPng, ".png"}, {kPdf, ".pdf"}, {kSvg, ".svg"}, {kCsv, ".csv"}, {kJson, ".json"}};
    for (const auto& [flag, ext] : formats)
        if (options.formats & flag) out << base + QLatin1String(ext);
    out << base + QStringLiteral(".provenance.json");
    return out;
}

QStringList exportFigure(ExportableFigure& figure, const QString& dir, const ExportOptions& options,
                         QString* error) {
    auto fail = [&](const QString& what) {
        if (error) *error = what;
        return QStringList();
    };
    if (!QDir().mkpath(dir)) {
        return fail(QStringLiteral("export: cannot create the folder %1; choose a writable folder")
                        .arg(dir));
    }
    if (!options.overwrite) {
        for (const QString& path : exportTargets(figure, dir, options)) {
            if (QFileInfo::exists(path))
                return fail(QStringLiteral("export: %1 already exists; export into another folder "
                                           "or confirm replacing it (dxl-studio --export: --force)")
                                .arg(path));
        }
    }
    const QString base = QDir(dir).filePath(figure.figureName() + options.nameSuffix);
    const QSize size = effectiveSize(figure, options.size);
    QStringList files;
    auto step = [&](int flag, const QString& ext, auto&& write) {
        if (!(options.formats & flag)) return true;
        const QString path = base + ext;
        if (!write(path)) return false;
        files << path;
        return true;
    };
    const bool ok =
        step(kPng, QStringLiteral(".png"),
             [&](const QString& p) { return writePng(figure, p, size, options.dpi); }) &&
        step(kPdf, QStringLiteral(".pdf"),
             [&](const QString& p) { return writePdf(figure, p, size); }) &&
        step(kSvg, QStringLiteral(".svg"),
             [&](const QString& p) { return writeSvg(figure, p, size); }) &&
        step(kCsv, QStringLiteral(".csv"),
             [&](const QString& p) { return writeText(p, figure.figureCsv().toUtf8()); }) &&
        step(kJson, QStringLiteral(".json"), [&](const QString& p) {
            return writeText(p, QJsonDocument(figure.figureJson()).toJson(QJsonDocument::Indented));
        });
    if (!ok) {
        return fail(QStringLiteral("export: could not write %1.* (disk full or no permission?); "
                                   "choose another folder")
                        .arg(base));
    }
    QJsonObject prov = options.provenance;
    prov.insert(QStringLiteral("figure"), figure.figureName() + options.nameSuffix);
    prov.insert(QStringLiteral("view"), figure.figureProvenance());
    prov.insert(QStringLiteral("producer"), QStringLiteral("dxl-studio " DXL_VERSION));
    prov.insert(QStringLiteral("git_rev"), QStringLiteral(DXL_GIT_REV));
    prov.insert(QStringLiteral("created"), QDateTime::currentDateTimeUtc().toString(Qt::ISODate));
    QJsonObject exp;
    exp.insert(QStringLiteral("width"), size.width());
    exp.insert(QStringLiteral("height"), size.height());
    exp.insert(QStringLiteral("dpi"), options.dpi);
    prov.insert(QStringLiteral("export"), exp);
    QJsonArray written;
    for (const QString& f : files)
        written.append(QFileInfo(f).fileName());
    prov.insert(QStringLiteral("files"), written);
    const QString provPath = base + QStringLiteral(".provenance.json");
    if (!writeText(provPath, QJsonDocument(prov).toJson(QJsonDocument::Indented))) {
        return fail(QStringLiteral("export: could not write %1").arg(provPath));
    }
    files << provPath;
    return files;
}

}  // namespace dxl::widgets
