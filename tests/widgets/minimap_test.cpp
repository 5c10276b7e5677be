// Heatmap minimap: shown only while zoomed in, its rectangle is the visible
// window scaled into the inset, a click recentres the view and the linked panes follow, it gives
// no cell tooltip, stays out of exported figures and is hidden again at full view.
#include <gtest/gtest.h>

#include <QImage>
#include <QSignalSpy>
#include <QTest>

#include "tests/widgets/widget_test_support.h"
#include "widgets/attention_heatmap.h"
#include "widgets/linked_heatmaps.h"

using namespace dxl;
using namespace dxl::widgets;
using dxl::test::causalAttention;
using dxl::test::idTokens;
using dxl::test::qtApp;

namespace {

constexpr int kT = 64;

// The visible window in minimap pixels, computed independently of the widget.
QRectF expectedViewRect(const AttentionHeatmap& pane, const QRect& mini) {
    const HeatmapData& d = pane.matrix();
    const double sx = mini.width() / double(d.cols), sy = mini.height() / double(d.rows);
    const QCPRange x = pane.viewRangeX(), y = pane.viewRangeY();
    return QRectF(QPointF((x.lower + 0.5) * sx, (y.lower + 0.5) * sy),
                  QPointF((x.upper + 0.5) * sx, (y.upper + 0.5) * sy))
        .intersected(QRectF(0, 0, mini.width(), mini.height()));
}

void expectRectNear(const QRectF& a, const QRectF& b) {
    EXPECT_NEAR(a.left(), b.left(), 0.01);
    EXPECT_NEAR(a.top(), b.top(), 0.01);
    EXPECT_NEAR(a.right(), b.right(), 0.01);
    EXPECT_NEAR(a.bottom(), b.bottom(), 0.01);
}

}  // namespace

TEST(HeatmapMinimap, ShownWhenZoomedMatchesViewHiddenAtFullView) {
    qtApp();
    AttentionHeatmap view;
    view.resize(520, 500);
    view.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&view));
    view.setMatrix(causalAttention(kT, 3), idTokens(kT), idTokens(kT));
    view.refreshNow();
    view.plot()->replot();
    EXPECT_TRUE(view.minimapEnabled());
    EXPECT_FALSE(view.minimapVisible());  // full view: nothing to navigate
    EXPECT_TRUE(view.minimapViewRect().isEmpty());

    // Zoom onto a window below the diagonal.
    view.setViewRange(QCPRange(7.5, 23.5), QCPRange(31.5, 47.5));
    view.refreshNow();
    view.plot()->replot();
    // The square map is re-placed after the layout (queued): let it settle before measuring.
    for (int i = 0; i < 3; ++i) {
        QCoreApplication::processEvents();
        view.plot()->replot();
    }
    ASSERT_TRUE(view.minimapVisible());
    const QRect mini = view.minimapGeometry();
    EXPECT_GE(std::max(mini.width(), mini.height()), 80);
    EXPECT_LE(std::max(mini.width(), mini.height()), 110);
    EXPECT_TRUE(view.plot()->axisRect()->rect().contains(mini));
    // Top-right corner of the axis rect: the causal mask's empty triangle.
    const QRect ar = view.plot()->axisRect()->rect();
    EXPECT_GT(mini.left(), ar.center().x());
    EXPECT_LT(mini.bottom(), ar.center().y());
    expectRectNear(view.minimapViewRect(), expectedViewRect(view, mini));
    EXPECT_NEAR(view.minimapViewRect().width(), mini.width() * 16.0 / kT, 0.01);

    // The minimap area gives no cell tooltip / hover; the map next to it still does.
    QSignalSpy hovered(&view, &AttentionHeatmap::cellHovered);
    QTest::mouseMove(view.plot(), mini.center());
    EXPECT_EQ(hovered.count(), 0);
    QTest::mouseMove(view.plot(), QPoint(ar.left() + 20, ar.bottom() - 20));
    EXPECT_EQ(hovered.count(), 1);

    // Toggle off and on.
    view.setMinimapEnabled(false);
    EXPECT_FALSE(view.minimapVisible());
    view.setMinimapEnabled(true);
    EXPECT_TRUE(view.minimapVisible());

    // Zoom out: hidden again.
    view.resetView();
    view.refreshNow();
    EXPECT_FALSE(view.minimapVisible());
}

TEST(HeatmapMinimap, ClickRecentresAndLinkedPanesFollow) {
    qtApp();
    LinkedHeatmaps linked;
    linked.resize(1500, 560);
    linked.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&linked));
    linked.setMaps(causalAttention(kT, 5), causalAttention(kT, 6), idTokens(kT),
                   QStringLiteral("teacher L0 H0"), QStringLiteral("student L0 H0"),
                   QStringLiteral("softmax"));
    AttentionHeatmap* s = linked.studentPane();
    for (AttentionHeatmap* p : {linked.teacherPane(), s, linked.differencePane()})
        p->refreshNow();
    s->setViewRange(QCPRange(-0.5, 15.5), QCPRange(-0.5, 15.5));  // 16 x 16 window, top-left
    s->refreshNow();
    s->plot()->replot();
    ASSERT_TRUE(s->minimapVisible());
    const QRect mini = s->minimapGeometry();

    // The inset is the widget under the point (events there never reach the plot).
    QWidget* target = s->plot()->childAt(mini.center());
    ASSERT_NE(target, nullptr);
    EXPECT_EQ(target->geometry(), mini);
    QSignalSpy spy(s, &AttentionHeatmap::viewRangeChanged);
    const QPoint local(mini.width() / 2, mini.height() / 2);
    QTest::mouseClick(target, Qt::LeftButton, {}, local);
    ASSERT_GE(spy.count(), 1);
    // Centred on the matrix position under the click, same zoom.
    const double cx = (local.x()) / double(mini.width()) * kT - 0.5;
    const double cy = (local.y()) / double(mini.height()) * kT - 0.5;
    EXPECT_NEAR(s->viewRangeX().center(), cx, 1e-9);
    EXPECT_NEAR(s->viewRangeY().center(), cy, 1e-9);
    EXPECT_NEAR(s->viewRangeX().size(), 16.0, 1e-9);
    EXPECT_NEAR(s->viewRangeY().size(), 16.0, 1e-9);
    // The middle of the inset is the middle of the map (to within one inset pixel).
    EXPECT_NEAR(s->viewRangeX().center(), (kT - 1) / 2.0, double(kT) / mini.width());
    EXPECT_NEAR(s->viewRangeY().center(), (kT - 1) / 2.0, double(kT) / mini.height());
    for (AttentionHeatmap* p : {linked.teacherPane(), linked.differencePane()}) {
        EXPECT_EQ(p->viewRangeX(), s->viewRangeX());
        EXPECT_EQ(p->viewRangeY(), s->viewRangeY());
        p->refreshNow();
        EXPECT_TRUE(p->minimapVisible());
        expectRectNear(p->minimapViewRect(), expectedViewRect(*p, p->minimapGeometry()));
    }
    s->refreshNow();
    expectRectNear(s->minimapViewRect(), expectedViewRect(*s, mini));

    // Dragging to the corner clamps the window inside the matrix.
    QTest::mousePress(target, Qt::LeftButton, {}, mini.center() - mini.topLeft());
    QMouseEvent dragLocal(QEvent::MouseMove, QPointF(mini.width() + 20, mini.height() + 20),
                          target->mapToGlobal(QPointF(mini.width() + 20, mini.height() + 20)),
                          Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(target, &dragLocal);
    QTest::mouseRelease(target, Qt::LeftButton, {}, QPoint(mini.width() - 1, mini.height() - 1));
    EXPECT_NEAR(s->viewRangeX().upper, kT - 0.5, 1e-9);
    EXPECT_NEAR(s->viewRangeY().upper, kT - 0.5, 1e-9);
    EXPECT_EQ(linked.teacherPane()->viewRangeX(), s->viewRangeX());

    // Exports show the zoomed view only: the minimap is not part of the rendered figure.
    QImage withMini(560, 520, QImage::Format_ARGB32);
    withMini.fill(Qt::white);
    {
        QCPPainter painter(&withMini);
        s->renderFigure(painter, withMini.size());
    }
    s->setMinimapEnabled(false);
    QImage without(560, 520, QImage::Format_ARGB32);
    without.fill(Qt::white);
    {
        QCPPainter painter(&without);
        s->renderFigure(painter, without.size());
    }
    EXPECT_EQ(withMini, without);
    s->setMinimapEnabled(true);

    // A window across the diagonal: the inset stays in the masked triangle, off the diagonal.
    s->setViewRange(QCPRange(15.5, 31.5), QCPRange(23.5, 39.5));
    s->refreshNow();
    s->plot()->replot();
    ASSERT_TRUE(s->minimapVisible());
    const QRect inset = s->minimapGeometry();
    EXPECT_GE(std::max(inset.width(), inset.height()), 80);
    const double cornerCol = s->plot()->xAxis->pixelToCoord(inset.left());
    const double cornerRow = s->plot()->yAxis->pixelToCoord(inset.bottom());
    EXPECT_GT(cornerCol, cornerRow + 0.5);                   // key after query there: masked
    const QByteArray keep = qgetenv("DXL_WIDGET_TEST_OUT");  // a look at the pane as on screen
    if (!keep.isEmpty())
        s->grab().save(QString::fromLocal8Bit(keep) + QStringLiteral("/minimap_pane.png"));

    // Wheel-zoom out in one pane until the whole map is in view: every pane's minimap hides.
    const QPointF at = s->plot()->axisRect()->rect().center();
    for (int i = 0; i < 30; ++i) {
        QWheelEvent wheel(at, s->plot()->mapToGlobal(at), QPoint(), QPoint(0, -120), Qt::NoButton,
                          Qt::NoModifier, Qt::NoScrollPhase, false);
        QApplication::sendEvent(s->plot(), &wheel);
    }
    for (AttentionHeatmap* p : {linked.teacherPane(), s, linked.differencePane()}) {
        p->refreshNow();
        EXPECT_FALSE(p->minimapVisible());
    }
}
