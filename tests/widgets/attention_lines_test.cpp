// AttentionLines: the edges drawn are exactly the top-k keys of each query
// row of each map (checked against a brute-force sort), the window follows the selected query on
// long inputs, a click selects a query, and the figure exports with its edge list.
#include <gtest/gtest.h>

#include <QImage>
#include <QJsonArray>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QWheelEvent>
#include <algorithm>
#include <map>
#include <set>

#include "tests/widgets/widget_test_support.h"
#include "widgets/attention_lines.h"

using namespace dxl;
using namespace dxl::widgets;
using dxl::test::causalAttention;
using dxl::test::qtApp;

namespace {

TokenList tokensOf(int T) {
    TokenList t;
    for (int i = 0; i < T; ++i) {
        t.ids.push_back(i);
        t.labels.push_back(i % 5 == 0 ? " " : "t" + std::to_string(i));
    }
    return t;
}

// The k keys with the largest |value| in row i of the window [start, start + n), ties to the
// smaller key: an independent brute force over the whole row.
std::set<int> bruteTopK(const HeatmapData& m, int i, int k, int start, int n) {
    std::vector<std::pair<float, int>> row;
    for (int j = start; j < std::min(start + n, m.cols); ++j)
        if (!m.masked(i, j) && std::abs(m.at(i, j)) > 0) row.emplace_back(-std::abs(m.at(i, j)), j);
    std::sort(row.begin(), row.end());
    std::set<int> out;
    for (int r = 0; r < static_cast<int>(row.size()) && r < k; ++r)
        out.insert(row[static_cast<size_t>(r)].second);
    return out;
}

}  // namespace

TEST(AttentionLines, EdgesAreTheTopKKeysOfEachRow) {
    qtApp();
    AttentionLines view;
    view.resize(700, 600);
    const int T = 24;
    HeatmapData teacher = causalAttention(T, 7), student = causalAttention(T, 8);
    student.signedValues = true;
    student.at(10, 3) = -0.9f;  // a large negative raw weight still ranks by magnitude
    view.setMaps(teacher, student, tokensOf(T), QStringLiteral("Teacher L0 H0"),
                 QStringLiteral("Student B1 H0"));
    view.setTopK(3);
    std::map<std::pair<bool, int>, std::set<int>> got;
    for (const auto& e : view.edges()) {
        got[std::make_pair(e.teacher, e.query)].insert(e.key);
        EXPECT_LE(e.key, e.query) << "an edge into the masked future";
        EXPECT_GT(e.strength, 0.0f);
        EXPECT_LE(e.strength, 1.0f);
    }
    for (int i = 0; i < T; ++i) {
        EXPECT_EQ(got[std::make_pair(true, i)], bruteTopK(teacher, i, 3, 0, T))
            << "teacher row " << i;
        EXPECT_EQ(got[std::make_pair(false, i)], bruteTopK(student, i, 3, 0, T))
            << "student row " << i;
    }
    EXPECT_TRUE(got[std::make_pair(false, 10)].count(3));
    // Selecting a query keeps only its edges.
    view.setSelectedQuery(10);
    for (const auto& e : view.edges())
        EXPECT_EQ(e.query, 10);
    EXPECT_EQ(view.edges().size(), 6u);
}

TEST(AttentionLines, WindowFollowsTheSelectedQueryAndClicksSelect) {
    qtApp();
    AttentionLines view;
    view.resize(600, 900);
    view.show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(&view));
    const int T = 300;  // longer than the 128-token window
    view.setMaps(causalAttention(T, 1), causalAttention(T, 2), tokensOf(T), QStringLiteral("t"),
                 QStringLiteral("s"));
    // As many rows as fit at a readable height, fewer than the input and the 128 cap.
    const int n = view.windowSize();
    EXPECT_GE(n, 16);
    EXPECT_LE(n, AttentionLines::kMaxTokens);
    EXPECT_LT(n, T);
    EXPECT_EQ(view.windowStart(), 0);
    view.setSelectedQuery(250);
    EXPECT_EQ(view.windowStart(), 250 - n + 1);  // the selected query is the last row shown
    for (const auto& e : view.edges()) {
        EXPECT_GE(e.key, view.windowStart());
        EXPECT_EQ(e.query, 250);
    }
    QSignalSpy selected(&view, &AttentionLines::querySelected);
    QTest::mouseClick(&view, Qt::LeftButton, Qt::NoModifier, view.queryPoint(240));
    ASSERT_EQ(selected.count(), 1);
    EXPECT_EQ(selected.at(0).at(0).toInt(), 240);
    QTest::mouseClick(&view, Qt::LeftButton, Qt::NoModifier, view.queryPoint(240));
    EXPECT_EQ(view.selectedQuery(), -1);  // a second click shows every query again
    // The wheel scrolls the window by four rows a notch.
    const int before = view.windowStart();
    QWheelEvent wheel(QPointF(50, 300), view.mapToGlobal(QPointF(50, 300)), QPoint(),
                      QPoint(0, -120), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(&view, &wheel);
    EXPECT_EQ(view.windowStart(), std::min(before + 4, T - n));
}

TEST(AttentionLines, ExportsEdgesAndFigures) {
    qtApp();
    AttentionLines view;
    view.setMaps(causalAttention(12, 3), causalAttention(12, 4), tokensOf(12),
                 QStringLiteral("Teacher"), QStringLiteral("Student"));
    view.setTopK(2);
    const QString csv = view.figureCsv();
    EXPECT_TRUE(csv.startsWith(QStringLiteral("model,query,key,weight,strength\n")));
    // Row 0 has a single key; rows 1..11 have 2 kept keys: 1 + 22 edges per model.
    EXPECT_EQ(csv.count(QLatin1Char('\n')), 1 + 2 * 23);
    EXPECT_EQ(view.figureJson().value(QStringLiteral("edges")).toArray().size(), 46);
    QTemporaryDir dir;
    ExportOptions o;
    o.formats = kPng | kSvg | kCsv;
    const QStringList files = exportFigure(view, dir.path(), o);
    EXPECT_EQ(files.size(), 4) << files.join(QLatin1Char(' ')).toStdString();  // + provenance
    QImage png(dir.filePath(QStringLiteral("attention_lines.png")));
    ASSERT_FALSE(png.isNull());
    // Not blank: both model colours appear somewhere in the picture.
    bool orange = false, blue = false;
    for (int y = 0; y < png.height(); y += 2) {
        for (int x = 0; x < png.width(); x += 2) {
            const QColor c = png.pixelColor(x, y);
            orange = orange || (c.red() > 180 && c.green() < 150 && c.blue() < 100);
            blue = blue || (c.blue() > 150 && c.red() < 100);
        }
    }
    EXPECT_TRUE(orange);
    EXPECT_TRUE(blue);
}
