// Studio heatmap redraw with the level-of-detail pyramid (long inputs): pyramid build,
// a full replot of the whole map, a pan step inside a zoomed 256-token window, and a head switch
// (new matrix of the same shape, pyramid included) at T = 512, 2048, 4096. Offscreen Qt; the
// widget is 800 x 700 pixels, so a T = 4096 map is drawn from a level with <= 1 cell per pixel.
#include <benchmark/benchmark.h>

#include <QApplication>
#include <random>

#include "core/base/value_types.h"
#include "widgets/attention_heatmap.h"
#include "widgets/heatmap_lod.h"

namespace {

using dxl::HeatmapData;
using dxl::TokenList;
using dxl::widgets::AttentionHeatmap;
using dxl::widgets::HeatmapPyramid;

// Random causal row-stochastic map (T, T).
HeatmapData causalMap(int T, unsigned seed) {
    HeatmapData d(T, T);
    d.causal = true;
    d.quantity = "attention probability";
    std::mt19937 rng(seed);
    std::exponential_distribution<float> ex(1.0f);
    for (int r = 0; r < T; ++r) {
        float sum = 0.0f;
        for (int c = 0; c <= r; ++c)
            sum += (d.at(r, c) = ex(rng));
        for (int c = 0; c <= r; ++c)
            d.at(r, c) /= sum;
    }
    return d;
}

TokenList tokens(int T) {
    TokenList t;
    for (int i = 0; i < T; ++i)
        t.ids.push_back(i % 97);
    return t;
}

// Sets a matrix and waits (event loop) until its pyramid is in place.
void setAndWait(AttentionHeatmap& w, const HeatmapData& d, const TokenList& tok) {
    w.setMatrix(d, tok, tok);
    while (w.lodPending())
        QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    QCoreApplication::processEvents();
    w.refreshNow();
}

struct Fixture {
    explicit Fixture(int T) : map(causalMap(T, 1)), other(causalMap(T, 2)), tok(tokens(T)) {
        widget.resize(800, 700);
        widget.show();
        setAndWait(widget, map, tok);
    }
    HeatmapData map, other;
    TokenList tok;
    AttentionHeatmap widget;
};

void BM_PyramidBuild(benchmark::State& state) {
    const HeatmapData d = causalMap(static_cast<int>(state.range(0)), 1);  // (T, T)
    for (auto _ : state) {
        auto p = HeatmapPyramid::build(d);
        benchmark::DoNotOptimize(p);
    }
}

// Whole map on screen: crop + replot (what a resize or a colour-scale change costs).
void BM_RedrawFull(benchmark::State& state) {
    Fixture f(static_cast<int>(state.range(0)));
    for (auto _ : state) {
        f.widget.refreshNow();
        f.widget.plot()->replot(QCustomPlot::rpImmediateRefresh);
    }
    state.counters["level"] = f.widget.currentLevel();
}

// Zoomed to 256 tokens, panning by 16 per frame (a drag).
void BM_PanZoomed(benchmark::State& state) {
    const int T = static_cast<int>(state.range(0));
    Fixture f(T);
    double x0 = 0;
    for (auto _ : state) {
        x0 = x0 + 16 > T - 256 ? 0 : x0 + 16;
        f.widget.setViewRange(QCPRange(x0 - 0.5, x0 + 255.5), QCPRange(x0 - 0.5, x0 + 255.5));
        f.widget.refreshNow();
        f.widget.plot()->replot(QCustomPlot::rpImmediateRefresh);
    }
    state.counters["level"] = f.widget.currentLevel();
}

// Switching heads: a new matrix of the same shape until it is drawn (pyramid off the GUI thread
// for T > 512).
void BM_SwitchHead(benchmark::State& state) {
    Fixture f(static_cast<int>(state.range(0)));
    bool flip = false;
    for (auto _ : state) {
        setAndWait(f.widget, flip ? f.map : f.other, f.tok);
        f.widget.plot()->replot(QCustomPlot::rpImmediateRefresh);
        flip = !flip;
    }
}

BENCHMARK(BM_PyramidBuild)->Arg(512)->Arg(2048)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RedrawFull)->Arg(512)->Arg(2048)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PanZoomed)->Arg(512)->Arg(2048)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SwitchHead)->Arg(512)->Arg(2048)->Arg(4096)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
