// Widget behaviour tests: colormaps, LOD pyramid, heatmap tooltips/label thinning/LOD,
// linked panes, head grid keyboard navigation, metrics model, alignment clicks, loss smoothing.
#include <gtest/gtest.h>

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTest>
#include <cmath>

#include "tests/widgets/widget_test_support.h"
#include "widgets/alignment_matrix.h"
#include "widgets/colormaps.h"
#include "widgets/head_grid.h"
#include "widgets/head_metrics_model.h"
#include "widgets/heatmap_lod.h"
#include "widgets/linked_heatmaps.h"
#include "widgets/loss_plot.h"
#include "widgets/token_text.h"

using namespace dxl;
using namespace dxl::widgets;
using dxl::test::causalAttention;
using dxl::test::idTokens;
using dxl::test::qtApp;

TEST(Colormaps, ViridisAndRdBuStopsFromResources) {
    qtApp();
    const auto v = colormapStops(Colormap::Viridis);
    ASSERT_EQ(v.size(), 9);
    EXPECT_EQ(v.value(0.0).name(), QStringLiteral("#440154"));  // matplotlib viridis(0)
    EXPECT_EQ(v.value(1.0).name(), QStringLiteral("#fde725"));  // viridis(1)
    const auto d = colormapStops(Colormap::RdBu);
    EXPECT_EQ(d.value(0.5).name(), QStringLiteral("#f7f7f7"));  // white-ish centre
    // Diverging: 0 maps to the centre colour on a symmetric range; negatives are blue.
    QCPColorGradient g = makeGradient(Colormap::RdBu);
    const QColor zero = QColor::fromRgb(g.color(0.0, QCPRange(-2, 2)));
    EXPECT_NEAR(zero.red(), 0xf7, 3);
    EXPECT_NEAR(zero.blue(), 0xf7, 3);
    const QColor neg = QColor::fromRgb(g.color(-2.0, QCPRange(-2, 2)));
    EXPECT_GT(neg.blue(), neg.red());
    EXPECT_EQ(g.nanHandling(), QCPColorGradient::nhTransparent);
}

TEST(Colormaps, ScaleTransforms) {
    ScaleTransform s;
    s.scale = ColorScale::Log;
    EXPECT_DOUBLE_EQ(s.apply(0.01), -2.0);
    EXPECT_DOUBLE_EQ(s.apply(0.0), std::log10(s.logFloor));
    s.signedValues = true;  // symlog keeps the sign
    EXPECT_NEAR(s.apply(-0.009), -std::log10(1.0 + 9.0), 1e-12);
    s.scale = ColorScale::Gamma;
    s.gamma = 0.5;
    EXPECT_DOUBLE_EQ(s.apply(-0.25), -0.5);
    EXPECT_TRUE(std::isnan(s.apply(std::nan(""))));
}

TEST(HeatmapLod, Downsample2xIsNanAwareBlockMean) {
    HeatmapData d = causalAttention(7, 1);
    const HeatmapData h = downsample2x(d);
    ASSERT_EQ(h.rows, 4);
    ASSERT_EQ(h.cols, 4);
    for (int r = 0; r < h.rows; ++r) {
        for (int c = 0; c < h.cols; ++c) {
            double s = 0;
            int n = 0;
            for (int rr = 2 * r; rr < std::min(7, 2 * r + 2); ++rr)
                for (int cc = 2 * c; cc < std::min(7, 2 * c + 2); ++cc)
                    if (cc <= rr) {
                        s += d.at(rr, cc);
                        ++n;
                    }
            if (n == 0) {
                EXPECT_TRUE(std::isnan(h.at(r, c))) << r << "," << c;
            } else {
                EXPECT_NEAR(h.at(r, c), s / n, 1e-6) << r << "," << c;
            }
        }
    }
}

TEST(HeatmapLod, PyramidLevelsAndWindows) {
    HeatmapData d = causalAttention(1000, 2);
    auto p = HeatmapPyramid::build(d, 256);
    ASSERT_EQ(p->levelCount(), 3);  // 1000 -> 500 -> 250
    EXPECT_EQ(p->level(2).rows, 250);
    EXPECT_TRUE(std::isnan(p->level(0).at(0, 1)));  // mask baked in
    EXPECT_EQ(p->chooseLevel(1000, 1000, 400, 400), 2);
    EXPECT_EQ(p->chooseLevel(300, 300, 400, 400), 0);
    const auto w = p->window(1, 100, 199, 300, 399);
    EXPECT_EQ(w.col0, 50);
    EXPECT_EQ(w.row0, 150);
    EXPECT_EQ(w.data.cols, 51);
    EXPECT_FLOAT_EQ(w.data.at(0, 0), p->level(1).at(150, 50));
}

TEST(AttentionHeatmap, TooltipMaskRankAndLabels) {
    qtApp();
    AttentionHeatmap view;
    view.resize(500, 460);
    view.show();
    HeatmapData d = causalAttention(8, 3);
    TokenList tok = idTokens(8);
    tok.labels = {"The", "cat", "sat", "on", "the", "mat", ".", "<eos>"};
    QSignalSpy ready(&view, &AttentionHeatmap::lodReady);
    view.setMatrix(d, tok, tok);
    EXPECT_EQ(ready.count(), 1);  // small: synchronous
    EXPECT_FALSE(view.colorMapItem()->interpolate());
    const QString tip = view.tooltipAt(5, 2);
    EXPECT_TRUE(tip.contains(QStringLiteral("mat (5)"))) << tip.toStdString();
    EXPECT_TRUE(tip.contains(QStringLiteral("sat (2)"))) << tip.toStdString();
    EXPECT_TRUE(tip.contains(QString::number(static_cast<double>(d.at(5, 2)), 'g', 5)));
    EXPECT_TRUE(view.tooltipAt(2, 5).contains(QStringLiteral("masked")));
    // Rank 1 = the largest value in the row.
    int best = 0;
    for (int j = 1; j <= 5; ++j)
        best = d.at(5, j) > d.at(5, best) ? j : best;
    EXPECT_EQ(view.rowRank(5, best), 1);
    // A masked cell is NaN in the colour map (drawn transparent).
    view.refreshNow();
    EXPECT_TRUE(std::isnan(view.colorMapItem()->data()->data(5.0, 2.0)));  // key 5 > query 2
    EXPECT_FLOAT_EQ(static_cast<float>(view.colorMapItem()->data()->data(2.0, 5.0)), d.at(5, 2));
}

// A title spans the whole pane (not just the map's column) and each line is elided rather than
// clipped when the pane is narrow; a wide pane shows it whole.
TEST(AttentionHeatmap, TitleSpansThePaneAndElidesWhenNarrow) {
    qtApp();
    AttentionHeatmap view;
    view.resize(200, 300);
    view.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&view));
    const QString title = QStringLiteral("Student B1 H2 implicit attention\n|A| row-normalised");
    view.setTitle(title);
    view.setMatrix(causalAttention(8, 3), idTokens(8), idTokens(8));
    view.refreshNow();
    view.plot()->replot();
    EXPECT_GE(view.titleRect().width(), view.width() - 2);
    const QStringList lines = view.shownTitle().split(QLatin1Char('\n'));
    ASSERT_EQ(lines.size(), 2);
    EXPECT_TRUE(lines[0].endsWith(QChar(0x2026))) << lines[0].toStdString();
    QFont f = view.font();
    f.setPointSize(10);
    f.setBold(true);
    for (const QString& line : lines)
        EXPECT_LE(QFontMetrics(f).horizontalAdvance(line), view.width()) << line.toStdString();
    view.resize(900, 600);
    QTest::qWait(10);
    EXPECT_EQ(view.shownTitle(), title);
    EXPECT_EQ(view.title(), title);  // exports and provenance keep the full title
}

TEST(TokenText, WhitespaceAndControlBytesAreVisible) {
    EXPECT_EQ(visibleTokenText(" "), QString(QChar(0x2423)));
    EXPECT_EQ(visibleTokenText("a\nb\t"), QStringLiteral("a\\nb\\t"));
    EXPECT_EQ(visibleTokenText(std::string("\x01\x7f", 2)), QStringLiteral("\\x01\\x7f"));
    EXPECT_EQ(visibleTokenText("caf\xc3\xa9"), QStringLiteral("caf\u00e9"));
}

TEST(AttentionHeatmap, LabelsThinnedToWhatFits) {
    qtApp();
    AttentionHeatmap view;
    view.resize(420, 420);
    view.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&view));
    view.setMatrix(causalAttention(256, 4), idTokens(256), idTokens(256));
    view.refreshNow();
    const int all = view.visibleTickLabelCount();
    EXPECT_GT(all, 3);
    EXPECT_LT(all, 64);  // ~300 px cannot carry 256 readable labels
    view.setViewRange(QCPRange(9.5, 19.5), QCPRange(9.5, 19.5));
    view.refreshNow();
    EXPECT_EQ(view.visibleTickLabelCount(), 10);  // zoomed in: every token labelled
}

TEST(AttentionHeatmap, LargeMatrixBuildsLodOffThread) {
    qtApp();
    AttentionHeatmap view;
    view.resize(520, 520);
    view.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&view));
    QSignalSpy ready(&view, &AttentionHeatmap::lodReady);
    view.setMatrix(causalAttention(1024, 5), idTokens(1024), idTokens(1024));
    EXPECT_TRUE(view.lodPending() || ready.count() == 1);
    ASSERT_TRUE(ready.count() == 1 || ready.wait(10000));
    view.refreshNow();
    EXPECT_GE(view.currentLevel(), 1);  // 1024 cells on < 520 px
    EXPECT_LE(view.colorMapItem()->data()->keySize(), 2 * 520);
    view.setViewRange(QCPRange(99.5, 199.5), QCPRange(99.5, 199.5));
    view.refreshNow();
    EXPECT_EQ(view.currentLevel(), 0);  // 100 cells: full resolution
    // Stale jobs are dropped: two quick updates deliver the last one.
    QSignalSpy ready2(&view, &AttentionHeatmap::lodReady);
    view.setMatrix(causalAttention(1024, 6), idTokens(1024), idTokens(1024));
    HeatmapData last = causalAttention(1024, 7);
    const float probe = last.at(1000, 3);
    view.setMatrix(std::move(last), idTokens(1024), idTokens(1024));
    ASSERT_TRUE(ready2.wait(10000));
    EXPECT_FLOAT_EQ(view.matrix().at(1000, 3), probe);
}

TEST(LinkedHeatmaps, SyncedRangesDifferenceAndNormLabel) {
    qtApp();
    LinkedHeatmaps linked;
    linked.resize(1200, 480);
    linked.show();
    HeatmapData t = causalAttention(16, 8), s = causalAttention(16, 9);
    const float diff = s.at(9, 4) - t.at(9, 4);
    linked.setMaps(t, s, idTokens(16), QStringLiteral("Teacher L0 H1"),
                   QStringLiteral("Student B0 H1"), QStringLiteral("|A| row-normalised"));
    EXPECT_TRUE(linked.normalisationText().contains(QStringLiteral("|A| row-normalised")));
    EXPECT_FLOAT_EQ(linked.differencePane()->matrix().at(9, 4), diff);
    EXPECT_TRUE(linked.differencePane()->matrix().signedValues);
    EXPECT_EQ(linked.differencePane()->colormap(), Colormap::RdBu);
    // Zoom one pane: the others follow.
    linked.teacherPane()->plot()->xAxis->setRange(2.5, 8.5);
    linked.teacherPane()->plot()->yAxis->setRange(3.5, 9.5);
    EXPECT_EQ(linked.studentPane()->viewRangeX(), QCPRange(2.5, 8.5));
    EXPECT_EQ(linked.differencePane()->viewRangeY(), QCPRange(3.5, 9.5));
    // Shared colour range covers both panes; per-pane uses each one's own.
    EXPECT_EQ(linked.teacherPane()->colorRange(), linked.studentPane()->colorRange());
    linked.setSharedColorRange(false);
    EXPECT_EQ(linked.studentPane()->colorRange(), linked.studentPane()->dataRange());
    const QString tip = linked.combinedTooltip(9, 4);
    EXPECT_TRUE(tip.contains(QStringLiteral("teacher"))) << tip.toStdString();
    EXPECT_TRUE(tip.contains(QStringLiteral("difference"))) << tip.toStdString();
    EXPECT_TRUE(tip.contains(QStringLiteral("row rank"))) << tip.toStdString();
}

TEST(HeadGrid, KeyboardNavigationAndActivation) {
    qtApp();
    HeadGrid grid;
    std::vector<HeatmapData> thumbs;
    for (int i = 0; i < 6; ++i)
        thumbs.push_back(causalAttention(8, 10 + static_cast<unsigned>(i)));
    grid.setThumbnails(thumbs, 2, 3, QStringLiteral("Teacher"));
    grid.resize(400, 300);
    grid.show();
    QSignalSpy changed(&grid, &HeadGrid::currentChanged);
    QSignalSpy activated(&grid, &HeadGrid::activated);
    QTest::keyClick(&grid, Qt::Key_Right);
    QTest::keyClick(&grid, Qt::Key_Down);
    QTest::keyClick(&grid, Qt::Key_Down);  // clamped at the last layer: no signal
    QTest::keyClick(&grid, Qt::Key_Return);
    ASSERT_EQ(changed.count(), 2);
    EXPECT_EQ(changed.at(1).at(0).toInt(), 1);
    EXPECT_EQ(changed.at(1).at(1).toInt(), 1);
    ASSERT_EQ(activated.count(), 1);
    EXPECT_EQ(activated.at(0).at(1).toInt(), 1);
    QTest::mouseClick(&grid, Qt::LeftButton, {}, grid.cellRect(0, 2).center());
    EXPECT_EQ(grid.currentLayer(), 0);
    EXPECT_EQ(grid.currentHead(), 2);
}

// A 24 x 14 teacher in a dock-sized grid: cells too small for thumbnails become a metric
// heatmap whose colours follow the values (checked against the viridis ends), and a click
// still selects the head under the cursor.
TEST(HeadGrid, MetricHeatmapWhenCellsAreSmall) {
    qtApp();
    HeadGrid grid;
    const int L = 24, H = 14;
    std::vector<HeatmapData> thumbs;
    std::vector<double> values;
    for (int i = 0; i < L * H; ++i) {
        thumbs.push_back(causalAttention(4, static_cast<unsigned>(i)));
        values.push_back(static_cast<double>(i));  // increases along the layer-major order
    }
    grid.setThumbnails(thumbs, L, H, QStringLiteral("Teacher"));
    grid.setCellValues(values, QStringLiteral("entropy"));
    grid.resize(480, 420);
    EXPECT_TRUE(grid.showsMetricHeatmap());
    const QImage img = grid.grab().toImage();
    const QColor first = img.pixelColor(grid.cellRect(0, 0).center());
    const QColor last = img.pixelColor(grid.cellRect(L - 1, H - 1).center());
    // viridis: dark purple at the low end, yellow at the high end.
    EXPECT_LT(first.red() + first.green(), 200) << first.name().toStdString();
    EXPECT_GT(last.red() + last.green(), 350) << last.name().toStdString();
    QTest::mouseClick(&grid, Qt::LeftButton, {}, grid.cellRect(17, 9).center());
    EXPECT_EQ(grid.currentLayer(), 17);
    EXPECT_EQ(grid.currentHead(), 9);
    // A row without values (an sLSTM block) is plain grey, with its note, never "n/a" text.
    for (int h = 0; h < H; ++h)
        values[static_cast<size_t>(3 * H + h)] = std::nan("");
    QStringList notes;
    for (int l = 0; l < L; ++l)
        notes << (l == 3 ? QStringLiteral("slstm: no attention") : QString());
    grid.setThumbnails(thumbs, L, H, QStringLiteral("Teacher"), QStringLiteral("L"), notes);
    grid.setCellValues(values, QStringLiteral("entropy"));
    const QColor none = grid.grab().toImage().pixelColor(grid.cellRect(3, 0).center());
    EXPECT_EQ(none.red(), none.green());
    EXPECT_EQ(none.green(), none.blue());
    EXPECT_GT(none.red(), 200);
    grid.resize(40 + H * 64, 40 + L * 64);  // large cells: thumbnails again
    EXPECT_FALSE(grid.showsMetricHeatmap());
}

TEST(HeadMetricsModel, ModelTesterAndSorting) {
    qtApp();
    HeadMetricsView view;
    auto* tester = new QAbstractItemModelTester(
        view.model(), QAbstractItemModelTester::FailureReportingMode::Fatal, &view);
    auto* proxyTester = new QAbstractItemModelTester(
        view.proxy(), QAbstractItemModelTester::FailureReportingMode::Fatal, &view);
    (void)tester;
    (void)proxyTester;
    std::vector<HeadMetrics> m;
    for (int i = 0; i < 6; ++i) {
        HeadMetrics h;
        h.model = i < 3 ? "teacher" : "student";
        h.layer = i % 2;
        h.head = i;
        h.entropy = (i * 7) % 5 + 0.5;
        m.push_back(h);
    }
    view.model()->setMetrics(m);
    EXPECT_EQ(view.proxy()->rowCount(), 6);
    view.proxy()->sort(HeadMetricsModel::kEntropy, Qt::DescendingOrder);
    double prev = 1e9;
    for (int r = 0; r < view.proxy()->rowCount(); ++r) {
        const double e = view.proxy()
                             ->index(r, HeadMetricsModel::kEntropy)
                             .data(HeadMetricsModel::kSortRole)
                             .toDouble();
        EXPECT_LE(e, prev);
        prev = e;
    }
    view.proxy()->setFilterFixedString(QStringLiteral("student"));
    EXPECT_EQ(view.proxy()->rowCount(), 3);
    QSignalSpy act(&view, &HeadMetricsView::headActivated);
    view.table()->setCurrentIndex(view.proxy()->index(0, 0));
    emit view.table()->activated(view.proxy()->index(0, 0));
    ASSERT_EQ(act.count(), 1);
    EXPECT_EQ(act.at(0).at(0).toString(), QStringLiteral("student"));
}

TEST(AlignmentMatrix, ClickEmitsCellAndMatchesAreMarked) {
    qtApp();
    AlignmentMatrix view;
    view.resize(500, 460);
    view.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&view));
    HeatmapData s(4, 3);
    for (int i = 0; i < 12; ++i)
        s.values[static_cast<size_t>(i)] = static_cast<float>(i) / 12.0f;
    view.setMatrix(s,
                   {QStringLiteral("L0H0"), QStringLiteral("L0H1"), QStringLiteral("L1H0"),
                    QStringLiteral("L1H1")},
                   {QStringLiteral("B0H0"), QStringLiteral("B0H1"), QStringLiteral("B0H2")},
                   {{0, 1}, {2, 0}, {3, 2}}, QStringLiteral("JS similarity"));
    view.heatmap()->plot()->replot();
    QSignalSpy clicked(&view, &AlignmentMatrix::cellClicked);
    QCustomPlot* plot = view.heatmap()->plot();
    const QPoint px(static_cast<int>(plot->xAxis->coordToPixel(2)),
                    static_cast<int>(plot->yAxis->coordToPixel(1)));
    QTest::mouseClick(plot, Qt::LeftButton, {}, px);
    ASSERT_EQ(clicked.count(), 1);
    EXPECT_EQ(clicked.at(0).at(0).toInt(), 1);  // teacher row
    EXPECT_EQ(clicked.at(0).at(1).toInt(), 2);  // student column
    EXPECT_EQ(view.matches().size(), 3u);
    EXPECT_TRUE(view.heatmap()->tooltipAt(2, 0).contains(QStringLiteral("matched")));
}

TEST(LossPlot, DebiasedEmaMatchesClosedForm) {
    // Independent closed form: sum_k beta^(t-k) (1-beta) x_k / (1 - beta^t).
    const std::vector<double> x = {4.0, 3.0, 3.5, 2.0, 2.5, 1.0, 1.2};
    const double beta = 0.8;
    const auto ema = debiasedEma(x, beta);
    for (size_t t = 1; t <= x.size(); ++t) {
        double num = 0;
        for (size_t k = 1; k <= t; ++k)
            num += std::pow(beta, double(t - k)) * (1 - beta) * x[k - 1];
        EXPECT_NEAR(ema[t - 1], num / (1 - std::pow(beta, double(t))), 1e-12);
    }
    EXPECT_DOUBLE_EQ(ema[0], x[0]);  // debiased: the first value is unbiased
}

TEST(LossPlot, DebiasedEmaHandComputed) {
    // beta = 0.5 on 1, 2, 3, NaN, 5 by hand:
    //   s1 = 0.5          -> 0.5 / (1 - 0.5)     = 1
    //   s2 = 0.25 + 1     -> 1.25 / (1 - 0.25)   = 5/3
    //   s3 = 0.625 + 1.5  -> 2.125 / (1 - 0.125) = 17/7
    //   NaN is skipped    -> 17/7 repeated
    //   s4 = 1.0625 + 2.5 -> 3.5625 / (1 - 0.0625) = 3.8
    const std::vector<double> x = {1.0, 2.0, 3.0, std::nan(""), 5.0};
    const auto ema = debiasedEma(x, 0.5);
    ASSERT_EQ(ema.size(), 5u);
    EXPECT_DOUBLE_EQ(ema[0], 1.0);
    EXPECT_DOUBLE_EQ(ema[1], 5.0 / 3.0);
    EXPECT_DOUBLE_EQ(ema[2], 17.0 / 7.0);
    EXPECT_DOUBLE_EQ(ema[3], 17.0 / 7.0);
    EXPECT_DOUBLE_EQ(ema[4], 3.8);
    // Without debiasing the first value would be 0.5: the plotted curve starts at the data.
    EXPECT_DOUBLE_EQ(debiasedEma({2.0}, 0.9)[0], 2.0);
}

TEST(LinePlot, SeriesStylesSetColourDashAndMarkers) {
    qtApp();
    LinePlot plot;
    plot.resize(400, 200);
    Series a{"a", {0, 1, 2}, {1, 2, 3}}, b{"b", {0, 1, 2}, {3, 2, 1}};
    plot.setSeriesStyles({{4, Qt::DashLine, true}});
    plot.setSeries({a, b});
    ASSERT_EQ(plot.plot()->graphCount(), 2);
    EXPECT_EQ(plot.plot()->graph(0)->pen().color(), seriesColor(4));
    EXPECT_EQ(plot.plot()->graph(0)->pen().style(), Qt::DashLine);
    EXPECT_EQ(plot.plot()->graph(0)->scatterStyle().shape(), QCPScatterStyle::ssCircle);
    EXPECT_EQ(plot.plot()->graph(1)->pen().color(), seriesColor(1));  // default: its index
    EXPECT_EQ(plot.plot()->graph(1)->scatterStyle().shape(), QCPScatterStyle::ssNone);
}

// A log axis over less than a decade and a half gets 1-2-5 ticks, not QCP's linear fallback
// that crowds 2.5, 3 and 3.5 at the top; a short plot gets fewer y ticks than a tall one.
TEST(LinePlot, LogTicksOverANarrowRangeAndTickCountForHeight) {
    qtApp();
    LinePlot plot;
    plot.resize(400, 400);
    plot.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&plot));
    plot.setLogY(true);
    plot.setSeries({Series{"loss", {0, 1, 2, 3}, {3.4, 1.9, 0.6, 0.25}}});
    plot.plot()->yAxis->setRange(0.22, 3.6);
    plot.plot()->replot();
    plot.plot()->replot();  // the second replot uses the tick count fitted after the first layout
    const QVector<double> ticks = plot.plot()->yAxis->tickVector();
    ASSERT_GE(ticks.size(), 2);
    for (double t : ticks) {
        const double m = t / std::pow(10.0, std::floor(std::log10(t) + 1e-9));
        EXPECT_TRUE(std::abs(m - 1) < 1e-6 || std::abs(m - 2) < 1e-6 || std::abs(m - 5) < 1e-6)
            << t;
    }
    for (int i = 1; i < ticks.size(); ++i)
        EXPECT_GE(ticks[i] / ticks[i - 1], 2.0 - 1e-9);  // evenly spread on the log scale
    const int tall = plot.plot()->yAxis->ticker()->tickCount();
    plot.resize(400, 150);
    plot.plot()->replot();
    EXPECT_LT(plot.plot()->yAxis->ticker()->tickCount(), tall);
    EXPECT_GE(plot.plot()->yAxis->ticker()->tickCount(), 2);
}

TEST(LossPlot, DecimationKeepsExtremesAndPlotIsLog) {
    qtApp();
    Series s;
    s.name = "run";
    for (int i = 0; i < 100000; ++i) {
        s.keys.push_back(i);
        s.values.push_back(1.0 + 0.5 * std::sin(i * 0.01) + (i == 54321 ? 50.0 : 0.0));
    }
    const Series d = decimateMinMax(s, 500);
    EXPECT_LE(d.keys.size(), 1000u);
    EXPECT_DOUBLE_EQ(*std::max_element(d.values.begin(), d.values.end()),
                     51.0 + 0.5 * std::sin(543.21));
    EXPECT_TRUE(std::is_sorted(d.keys.begin(), d.keys.end()));
    LossPlot plot;
    plot.resize(600, 300);
    plot.setRuns({s});
    EXPECT_EQ(plot.plot()->graphCount(), 2);
    EXPECT_EQ(plot.plot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
    EXPECT_LT(plot.rawGraph(0)->pen().color().alpha(), plot.smoothGraph(0)->pen().color().alpha());
}
