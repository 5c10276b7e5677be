// Shared helpers for the widget tests: one QApplication for the process (offscreen platform) and
// small value-type builders.
#pragma once

#include <QApplication>
#include <cmath>
#include <random>

#include "core/base/value_types.h"

namespace dxl::test {

inline QApplication& qtApp() {
    static int argc = 1;
    static char name[] = "widgets_test";
    static char* argv[] = {name, nullptr};
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    // Never destroyed: a function-local static QApplication would be torn down after Qt's own
    // globals at exit and crash the process after every test passed.
    static QApplication* app = new QApplication(argc, argv);
    return *app;
}

// Row-stochastic causal T x T "attention": random positive rows normalised over j <= i.
inline HeatmapData causalAttention(int T, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0.01f, 1.0f);
    HeatmapData d(T, T);
    d.causal = true;
    d.quantity = "attention probability";
    for (int i = 0; i < T; ++i) {
        float s = 0;
        for (int j = 0; j <= i; ++j)
            s += (d.at(i, j) = u(rng) * (j == i ? 4.0f : 1.0f));
        for (int j = 0; j <= i; ++j)
            d.at(i, j) /= s;
    }
    return d;
}

inline TokenList idTokens(int T) {
    TokenList t;
    for (int i = 0; i < T; ++i)
        t.ids.push_back((i * 37) % 97);
    return t;
}

}  // namespace dxl::test
