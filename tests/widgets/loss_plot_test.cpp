// LossPlot / LinePlot display options: smoothing choice,
// outlier-robust autoscale, "y from 0", the decimation badge and their provenance.
#include <gtest/gtest.h>

#include <QJsonArray>
#include <cmath>

#include "tests/widgets/widget_test_support.h"
#include "widgets/loss_plot.h"

using namespace dxl;
using namespace dxl::widgets;
using dxl::test::qtApp;

namespace {

// 400 steps of a loss around 1-2 with one spike of 1e4 at step 200.
Series spiky() {
    Series s;
    s.name = "run";
    for (int i = 0; i < 400; ++i) {
        s.keys.push_back(i);
        s.values.push_back(1.0 + (i % 7) * 0.15 + (i == 200 ? 1e4 : 0.0));
    }
    return s;
}

}  // namespace

TEST(LossPlot, IgnoreOutliersKeepsTheRangeNearTheBulk) {
    qtApp();
    LossPlot plot;
    plot.resize(600, 300);
    plot.setRuns({spiky()});
    // Plain autoscale: the spike sets the top of the (log) axis.
    EXPECT_GT(plot.plot()->yAxis->range().upper, 1e4);
    plot.setYScale({true, false});
    const QCPRange r = plot.plot()->yAxis->range();
    EXPECT_GT(r.lower, 0.8);
    EXPECT_LT(r.lower, 1.0);
    EXPECT_GT(r.upper, 1.9);
    EXPECT_LT(r.upper, 2.5);
    // Linear axis: the same, and "y from 0" starts it at 0.
    LinePlot line;
    line.resize(600, 300);
    line.setSeries({spiky()});
    EXPECT_GT(line.plot()->yAxis->range().upper, 1e4);
    line.setYScale({true, false});
    EXPECT_LT(line.plot()->yAxis->range().upper, 2.5);
    EXPECT_GT(line.plot()->yAxis->range().lower, 0.5);
    line.setYScale({true, true});
    EXPECT_DOUBLE_EQ(line.plot()->yAxis->range().lower, 0.0);
    EXPECT_LT(line.plot()->yAxis->range().upper, 2.5);
    const QJsonObject scale =
        line.figureProvenance().value(QStringLiteral("y_autoscale")).toObject();
    EXPECT_TRUE(scale.value(QStringLiteral("ignore_outliers")).toBool());
    EXPECT_TRUE(scale.value(QStringLiteral("y_from_zero")).toBool());
}

TEST(LossPlot, DecimationBadgeOnlyWhenDecimating) {
    qtApp();
    LossPlot plot;
    plot.resize(600, 300);
    // 100 points: fewer than 2 per bucket even before the first layout (>= 64 buckets).
    Series small = spiky();
    small.keys.resize(100);
    small.values.resize(100);
    plot.setRuns({small});
    EXPECT_TRUE(plot.decimationText().isEmpty());
    EXPECT_FALSE(plot.figureProvenance()
                     .value(QStringLiteral("decimation"))
                     .toObject()
                     .value(QStringLiteral("decimated"))
                     .toBool());
    Series big;
    big.name = "long";
    for (int i = 0; i < 120000; ++i) {
        big.keys.push_back(i);
        big.values.push_back(2.0 / std::sqrt(1.0 + i));
    }
    plot.setRuns({big});
    const QString text = plot.decimationText();
    EXPECT_TRUE(text.startsWith(QStringLiteral("decimated: 120000 \u2192 "))) << text.toStdString();
    EXPECT_TRUE(text.endsWith(QStringLiteral(" points (min/max kept)")));
    const int drawn = plot.rawGraph(0)->dataCount();
    EXPECT_TRUE(text.contains(QStringLiteral("\u2192 %1 points").arg(drawn)));
    // The badge is an item on the plot, shown; exports keep every point.
    bool shown = false;
    for (int i = 0; i < plot.plot()->itemCount(); ++i)
        if (auto* t = dynamic_cast<QCPItemText*>(plot.plot()->item(i)))
            shown = shown || (t->visible() && t->text() == text);
    EXPECT_TRUE(shown);
    EXPECT_EQ(plot.figureCsv().count(QLatin1Char('\n')), 120001);
    // Back to a short run: the badge goes away.
    plot.setRuns({small});
    EXPECT_TRUE(plot.decimationText().isEmpty());
}

TEST(LossPlot, SmoothingChoiceDrivesTheBoldCurveCsvAndProvenance) {
    qtApp();
    LossPlot plot;
    plot.resize(600, 300);
    Series s{"run", {0, 1, 2, 3, 4}, {1, 2, std::nan(""), 4, 8}};
    plot.setSmoothing(Smoothing::RunningMean, 3);
    plot.setRuns({s});
    // Hand-computed running mean of 3 steps (see CurveMath tests): 1.5 1.5 3 6 6.
    ASSERT_EQ(plot.smoothGraph(0)->dataCount(), 5);
    EXPECT_DOUBLE_EQ(plot.smoothGraph(0)->data()->at(2)->value, 3.0);
    EXPECT_DOUBLE_EQ(plot.smoothGraph(0)->data()->at(4)->value, 6.0);
    EXPECT_TRUE(plot.figureCsv().startsWith(QStringLiteral("run,step,loss,loss_running_mean\n")));
    QJsonObject sm = plot.figureProvenance().value(QStringLiteral("smoothing")).toObject();
    EXPECT_EQ(sm.value(QStringLiteral("method")).toString(), QStringLiteral("running_mean"));
    EXPECT_DOUBLE_EQ(sm.value(QStringLiteral("window_steps")).toDouble(), 3.0);
    // The JSON export carries the same settings next to the full-resolution data.
    EXPECT_EQ(plot.figureJson()
                  .value(QStringLiteral("smoothing"))
                  .toObject()
                  .value(QStringLiteral("method"))
                  .toString(),
              QStringLiteral("running_mean"));
    plot.setSmoothing(Smoothing::Gaussian, 1.0);
    const double w1 = std::exp(-0.5), w3 = std::exp(-4.5);
    EXPECT_NEAR(plot.smoothGraph(0)->data()->at(0)->value, (1 + 2 * w1 + 4 * w3) / (1 + w1 + w3),
                1e-12);
    sm = plot.figureProvenance().value(QStringLiteral("smoothing")).toObject();
    EXPECT_DOUBLE_EQ(sm.value(QStringLiteral("sigma_steps")).toDouble(), 1.0);
    plot.setSmoothing(0.5);  // EMA, the default method
    EXPECT_DOUBLE_EQ(plot.smoothGraph(0)->data()->at(1)->value, 5.0 / 3.0);
    EXPECT_TRUE(plot.figureCsv().startsWith(QStringLiteral("run,step,loss,loss_ema_debiased\n")));
    EXPECT_TRUE(plot.smoothGraph(0)->name().contains(QStringLiteral("EMA 0.5")));
}

TEST(LossPlot, GroupRunsDrawsMeanAndStdBand) {
    qtApp();
    LossPlot plot;
    plot.resize(600, 300);
    plot.setSmoothing(0.0);  // off: the band is over the raw values
    plot.setSeriesStyles({{3, Qt::SolidLine, false}});
    plot.setRuns({Series{"a", {1, 2, 3}, {1, 2, 3}}, Series{"b", {1, 2, 3}, {3, 4, 5}}});
    ASSERT_EQ(plot.plot()->graphCount(), 4);  // raw + smoothed per run
    plot.setGroupRuns(true);
    ASSERT_EQ(plot.plot()->graphCount(), 3);
    QCPGraph *lower = plot.plot()->graph(0), *upper = plot.plot()->graph(1),
             *mean = plot.plot()->graph(2);
    // Step 2: {2, 4} -> mean 3, population std 1.
    EXPECT_DOUBLE_EQ(mean->data()->at(1)->value, 3.0);
    EXPECT_DOUBLE_EQ(lower->data()->at(1)->value, 2.0);
    EXPECT_DOUBLE_EQ(upper->data()->at(1)->value, 4.0);
    EXPECT_EQ(lower->channelFillGraph(), upper);
    EXPECT_NE(lower->brush().style(), Qt::NoBrush);
    EXPECT_EQ(mean->pen().color().rgb(), seriesColor(3).rgb());  // the first run's colour
    EXPECT_TRUE(mean->name().startsWith(QStringLiteral("mean \u00b1 std of 2 runs")));
    EXPECT_TRUE(plot.figureProvenance()
                    .value(QStringLiteral("group_runs"))
                    .toObject()
                    .value(QStringLiteral("on"))
                    .toBool());
    plot.setGroupRuns(false);
    EXPECT_EQ(plot.plot()->graphCount(), 4);
}
