// Level-of-detail pyramid: 2x2 NaN-aware mean reduction and window crops.
#include "widgets/heatmap_lod.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dxl::widgets {

HeatmapData downsample2x(const HeatmapData& in) {
    HeatmapData out((in.rows + 1) / 2, (in.cols + 1) / 2, std::numeric_limits<float>::quiet_NaN());
    out.causal = false;  // masking is already baked into NaN cells below
    out.signedValues = in.signedValues;
    out.quantity = in.quantity;
    for (int r = 0; r < out.rows; ++r) {
        for (int c = 0; c < out.cols; ++c) {
            double sum = 0.0;
            int n = 0;
            for (int dr = 0; dr < 2; ++dr) {
                const int rr = 2 * r + dr;
                if (rr >= in.rows) break;
                for (int dc = 0; dc < 2; ++dc) {
                    const int cc = 2 * c + dc;
                    if (cc >= in.cols || in.masked(rr, cc)) continue;
                    sum += in.at(rr, cc);
                    ++n;
                }
            }
            if (n > 0) out.at(r, c) = static_cast<float>(sum / n);
        }
    }
    return out;
}

std::shared_ptr<const HeatmapPyramid> HeatmapPyramid::build(const HeatmapData& full, int minSide) {
    auto p = std::make_shared<HeatmapPyramid>();
    HeatmapData base = full;
    if (base.causal) {  // bake the mask into NaN so every level treats it alike
        for (int r = 0; r < base.rows; ++r) {
            for (int c = r + 1; c < base.cols; ++c)
                base.at(r, c) = std::numeric_limits<float>::quiet_NaN();
        }
    }
    p->m_levels.push_back(std::move(base));
    while (p->m_levels.back().rows > minSide || p->m_levels.back().cols > minSide) {
        p->m_levels.push_back(downsample2x(p->m_levels.back()));
    }
    return p;
}

int HeatmapPyramid::chooseLevel(double visibleCols, double visibleRows, int pixelsX, int pixelsY,
                                double maxCellsPerPixel) const {
    const double px = std::max(1, pixelsX) * maxCellsPerPixel;
    const double py = std::max(1, pixelsY) * maxCellsPerPixel;
    for (int l = 0; l < levelCount(); ++l) {
        const double s = blockSize(l);
        if (visibleCols / s <= px && visibleRows / s <= py) return l;
    }
    return levelCount() - 1;
}

HeatmapPyramid::Window HeatmapPyramid::window(int l, double c0, double c1, double r0,
                                              double r1) const {
    Window w;
    l = std::clamp(l, 0, levelCount() - 1);
    const HeatmapData& src = level(l);
    const double s = blockSize(l);
    const int lc0 = std::clamp(static_cast<int>(std::floor(c0 / s)), 0, std::max(0, src.cols - 1));
    const int lc1 = std::clamp(static_cast<int>(std::ceil(c1 / s)), lc0, std::max(0, src.cols - 1));
    const int lr0 = std::clamp(static_cast<int>(std::floor(r0 / s)), 0, std::max(0, src.rows - 1));
    const int lr1 = std::clamp(static_cast<int>(std::ceil(r1 / s)), lr0, std::max(0, src.rows - 1));
    w.level = l;
    w.col0 = lc0;
    w.row0 = lr0;
    w.data = HeatmapData(lr1 - lr0 + 1, lc1 - lc0 + 1);
    w.data.signedValues = src.signedValues;
    w.data.quantity = src.quantity;
    for (int r = 0; r < w.data.rows; ++r) {
        std::copy_n(&src.values[static_cast<size_t>(lr0 + r) * static_cast<size_t>(src.cols) +
                                static_cast<size_t>(lc0)],
                    w.data.cols,
                    &w.data.values[static_cast<size_t>(r) * static_cast<size_t>(w.data.cols)]);
    }
    return w;
}

}  // namespace dxl::widgets
