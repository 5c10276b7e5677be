// The linked maps' display filters, rollout and token highlight on
// the golden tiny models: top-k keeps exactly k causal entries per row, a dropped sink leaves rows
// that sum to 1 over j >= 1, a threshold zeroes what is below it, the raw signed map is ranked by
// |A| and not renormalised; the rollout panes equal core/analysis rollout of the single-head maps;
// the label, titles and exports name the filter; the chips follow the chosen quantity.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <QApplication>
#include <QComboBox>
#include <QJsonObject>
#include <cmath>

#include "app/studio/attention_page.h"
#include "app/studio/inspect_engine.h"
#include "core/analysis/metrics.h"
#include "core/base/error.h"
#include "widgets/linked_heatmaps.h"
#include "widgets/token_strip.h"

using namespace dxl;
using namespace dxl::studio;

namespace {

#define DXL_GOLDEN_MODELS DXL_SOURCE_DIR "/tests/data/golden/models"
const std::vector<int64_t> kTokens = {4, 8, 15, 16, 23, 42, 4, 8, 15, 16, 23, 42, 1};

QApplication& qtApp() {
    static int argc = 1;
    static char name[] = "studio_maps_test";
    static char* argv[] = {name, nullptr};
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    // One QApplication for the executable (capture_test.cpp and maps_test.cpp share it).
    static QApplication* app = qApp ? qApp : new QApplication(argc, argv);  // never destroyed
    return *app;
}

// One engine with the golden models run on kTokens, shared by the tests of this file.
InspectEngine& engine() {
    static InspectEngine* e = [] {
        auto* x = new InspectEngine();
        x->load(DXL_GOLDEN_MODELS "/gpt2_2600", DXL_GOLDEN_MODELS "/xlstm_lm_2520");
        x->run(kTokens, StudentNorm::AbsRow);
        return x;
    }();
    return *e;
}

MapsResult maps(StudentNorm norm, MapFilter f, MapMode mode = MapMode::SingleHead, int tl = 1,
                int th = 2, int sb = 0, int sh = 3) {
    MapsRequest q;
    q.teacherLayer = tl;
    q.teacherHead = th;
    q.studentBlock = sb;
    q.studentHead = sh;
    q.norm = norm;
    q.filter = f;
    q.mode = mode;
    return engine().maps(q);
}

int nonZeroCausal(const HeatmapData& d, int i) {
    int n = 0;
    for (int j = 0; j <= i; ++j)
        n += d.at(i, j) != 0.0f;
    return n;
}

}  // namespace

TEST(MapFilter, TopKKeepsExactlyKLargestPerRow) {
    MapFilter f;
    f.topK = 3;
    for (StudentNorm n : {StudentNorm::AbsRow, StudentNorm::Raw}) {
        const MapsResult plain = maps(n, {}), top = maps(n, f);
        EXPECT_EQ(top.filterText, "top-3/row");
        const int T = top.teacher.rows;
        ASSERT_EQ(T, static_cast<int>(kTokens.size()));
        for (const auto& [p, t] :
             {std::pair{&plain.teacher, &top.teacher}, std::pair{&plain.student, &top.student}}) {
            for (int i = 0; i < T; ++i) {
                EXPECT_EQ(nonZeroCausal(*t, i), std::min(3, i + 1)) << normKey(n) << " row " << i;
                // Kept cells keep their value; every dropped |value| <= every kept one.
                float minKept = INFINITY, maxDropped = 0;
                for (int j = 0; j <= i; ++j) {
                    if (t->at(i, j) != 0.0f) {
                        EXPECT_EQ(t->at(i, j), p->at(i, j));
                        minKept = std::min(minKept, std::fabs(p->at(i, j)));
                    } else {
                        maxDropped = std::max(maxDropped, std::fabs(p->at(i, j)));
                    }
                }
                EXPECT_LE(maxDropped, minKept) << normKey(n) << " row " << i;
            }
        }
    }
}

TEST(MapFilter, DroppedSinkRowsSumToOneOverTheRest) {
    MapFilter f;
    f.dropSink = true;
    const MapsResult r = maps(StudentNorm::AbsRow, f);
    EXPECT_EQ(r.filterText, "sink dropped");
    for (const HeatmapData* d : {&r.teacher, &r.student}) {
        for (int i = 0; i < d->rows; ++i) {
            EXPECT_EQ(d->at(i, 0), 0.0f);
            double sum = 0;
            for (int j = 1; j <= i; ++j)
                sum += d->at(i, j);
            EXPECT_NEAR(sum, i == 0 ? 0.0 : 1.0, 1e-5) << "row " << i;  // row 0 had only j = 0
        }
    }
    // Raw signed A: the sink is zeroed, the rest is left as it was (a signed row has no total).
    const MapsResult raw = maps(StudentNorm::Raw, f), rawPlain = maps(StudentNorm::Raw, {});
    EXPECT_EQ(raw.filterText, "sink dropped (signed: not renormalised)");
    for (int i = 0; i < raw.student.rows; ++i) {
        EXPECT_EQ(raw.student.at(i, 0), 0.0f);
        for (int j = 1; j <= i; ++j)
            EXPECT_EQ(raw.student.at(i, j), rawPlain.student.at(i, j));
    }
}

TEST(MapFilter, ThresholdZeroesBelowAndKeepsTheRest) {
    MapFilter f;
    f.threshold = 0.1;
    const MapsResult plain = maps(StudentNorm::AbsRow, {}), r = maps(StudentNorm::AbsRow, f);
    int zeroed = 0;
    for (const auto& [p, t] :
         {std::pair{&plain.teacher, &r.teacher}, std::pair{&plain.student, &r.student}}) {
        for (int i = 0; i < t->rows; ++i) {
            for (int j = 0; j <= i; ++j) {
                const bool below = p->at(i, j) < 0.1f;
                EXPECT_EQ(t->at(i, j), below ? 0.0f : p->at(i, j));
                zeroed += below;
            }
        }
    }
    EXPECT_GT(zeroed, 0);  // the case tests something
    // Combined, in the documented order and wording.
    f.topK = 5;
    f.dropSink = true;
    EXPECT_EQ(filterText(f, false), "sink dropped, top-5/row, \u2265 0.1");
    MapsRequest bad;
    bad.filter.topK = -1;
    EXPECT_THROW(engine().maps(bad), dxl::ValueError);
}

// Attention received by token j: mean of column j over the rows i >= j of the shown map.
TEST(MapFilter, ReceivedIsTheCausalColumnMean) {
    MapFilter f;
    f.topK = 2;
    const MapsResult r = maps(StudentNorm::AbsRow, f);
    const int T = r.teacher.rows;
    ASSERT_EQ(static_cast<int>(r.teacherReceived.size()), T);
    for (int j = 0; j < T; ++j) {
        double t = 0, s = 0, d = 0;
        for (int i = j; i < T; ++i) {
            t += r.teacher.at(i, j);
            s += r.student.at(i, j);
            d += std::fabs(r.student.at(i, j) - r.teacher.at(i, j));
        }
        EXPECT_NEAR(r.teacherReceived[static_cast<size_t>(j)], t / (T - j), 1e-6);
        EXPECT_NEAR(r.studentReceived[static_cast<size_t>(j)], s / (T - j), 1e-6);
        EXPECT_NEAR(r.differenceReceived[static_cast<size_t>(j)], d / (T - j), 1e-6);
    }
}

// Rollout panes = core/analysis rollout of the heads' maps: teacher layers 0..1; student block 0
// (mLSTM) then block 1 (sLSTM, identity).
TEST(MapRollout, MatchesAnalysisRolloutOfTheHeadMaps) {
    const int T = static_cast<int>(kTokens.size());
    auto stack = [T](auto one, int heads) {
        torch::Tensor out = torch::empty({heads, T, T}, torch::kFloat32);  // (H, T, T)
        for (int h = 0; h < heads; ++h) {
            const HeatmapData d = one(h);
            out[h].copy_(torch::from_blob(const_cast<float*>(d.values.data()), {T, T}));
        }
        return out;
    };
    const torch::Tensor mask = torch::ones({T}, torch::kBool);
    std::vector<torch::Tensor> teacher;
    for (int l = 0; l < 2; ++l)
        teacher.push_back(stack(
            [l](int h) { return maps(StudentNorm::AbsRow, {}, MapMode::SingleHead, l, h).teacher; },
            4));
    const torch::Tensor student0 = stack(
        [](int h) {
            return maps(StudentNorm::AbsRow, {}, MapMode::SingleHead, 0, 0, 0, h).student;
        },
        4);
    for (int tl : {0, 1}) {
        const MapsResult r = maps(StudentNorm::AbsRow, {}, MapMode::Rollout, tl, 0, 1, 0);
        const torch::Tensor ref = analysis::rollout(
            std::vector<torch::Tensor>(teacher.begin(), teacher.begin() + tl + 1), mask);
        const torch::Tensor refS = analysis::rollout({student0, torch::Tensor()}, mask);
        for (int i = 0; i < T; ++i) {
            for (int j = 0; j <= i; ++j) {
                EXPECT_NEAR(r.teacher.at(i, j), ref[i][j].item<double>(), 1e-5) << tl;
                EXPECT_NEAR(r.student.at(i, j), refS[i][j].item<double>(), 1e-5);
            }
        }
        EXPECT_EQ(r.mode, MapMode::Rollout);
        EXPECT_FALSE(r.student.signedValues);
    }
    // A filter applies to the rollout too; the block must exist.
    MapFilter f;
    f.topK = 2;
    const MapsResult rf = maps(StudentNorm::AbsRow, f, MapMode::Rollout, 1, 0, 1, 0);
    for (int i = 1; i < T; ++i)
        EXPECT_EQ(nonZeroCausal(rf.student, i), 2);
    EXPECT_THROW(maps(StudentNorm::AbsRow, {}, MapMode::Rollout, 1, 0, 7, 0), dxl::ValueError);
}

// The page flags a filter in the normalisation label, every pane title and the exports, and the
// chips take the colours of the chosen quantity.
TEST(AttentionPageMaps, FilterIsFlaggedAndChipsFollowTheHighlight) {
    qtApp();
    AttentionPage page;
    ModelsLoaded m;
    m.teacher.layers = 2;
    m.teacher.heads = 4;
    m.student.layers = 2;
    m.student.heads = 4;
    m.student.blockTypes = {"mlstm", "slstm"};
    page.setModels(m);
    const InspectSummary summary = engine().run(kTokens, StudentNorm::AbsRow);
    page.setSummary(summary);
    Selection s = page.selection();
    s.filter.topK = 5;
    s.filter.dropSink = true;
    s.highlight = TokenHighlight::TeacherReceived;
    page.setSelection(s);
    EXPECT_EQ(page.selection().filter, s.filter);
    EXPECT_EQ(page.filterButtonText(), QStringLiteral("Filter: on \u25be"));
    const MapsResult r = maps(StudentNorm::AbsRow, s.filter);
    page.setMaps(r);
    const widgets::LinkedHeatmaps* linked = page.linked();
    const QString flag = QStringLiteral("sink dropped, top-5/row");
    EXPECT_TRUE(linked->normalisationText().contains(flag))
        << linked->normalisationText().toStdString();
    EXPECT_TRUE(linked->teacherPane()->title().contains(flag));
    EXPECT_TRUE(linked->studentPane()->title().contains(flag));
    EXPECT_TRUE(linked->differencePane()->title().contains(flag));
    EXPECT_EQ(linked->figureProvenance().value(QStringLiteral("display_filter")).toString(), flag);
    EXPECT_EQ(linked->figureJson().value(QStringLiteral("display_filter")).toString(), flag);
    EXPECT_TRUE(linked->figureCsv().startsWith(QStringLiteral("# display filter: ") + flag));

    // Chips: the teacher's received attention, the largest value brightest (viridis), then KL.
    const widgets::TokenChips* chips = page.chips();
    ASSERT_EQ(chips->highlightValues(), r.teacherReceived);
    const auto hi = std::max_element(r.teacherReceived.begin(), r.teacherReceived.end()) -
                    r.teacherReceived.begin();
    const auto lo = std::min_element(r.teacherReceived.begin(), r.teacherReceived.end()) -
                    r.teacherReceived.begin();
    EXPECT_GT(chips->chipColor(static_cast<int>(hi)).lightnessF(),
              chips->chipColor(static_cast<int>(lo)).lightnessF());
    EXPECT_TRUE(chips->chipTooltip(static_cast<int>(hi))
                    .contains(QString::number(r.teacherReceived[static_cast<size_t>(hi)], 'g', 4)));
    s.highlight = TokenHighlight::Kl;
    page.setSelection(s);
    EXPECT_EQ(chips->highlightValues(), summary.klPerToken);
    s.highlight = TokenHighlight::None;
    page.setSelection(s);
    EXPECT_TRUE(chips->highlightValues().empty());
    EXPECT_EQ(chips->chipColor(0), chips->palette().base().color());

    // No filter: no flag anywhere.
    page.setMaps(maps(StudentNorm::AbsRow, {}));
    EXPECT_FALSE(linked->normalisationText().contains(QStringLiteral("filter")));
    EXPECT_EQ(linked->figureProvenance().value(QStringLiteral("display_filter")).toString(),
              QStringLiteral("none"));
}
