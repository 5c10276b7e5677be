// Level-of-detail pyramid for large heatmaps (decimate before drawing,
// docs/conventions.md#studio-code). Level 0 is
// the full matrix; level L averages 2^L x 2^L blocks, ignoring masked (NaN / causal) cells. The
// view picks the level whose cells are at least about one pixel and crops the visible window, so a
// T = 4096 attention map never hands QCustomPlot more cells than the screen has pixels.
// Qt-free and thread-safe once built: build() runs on a worker thread (QtConcurrent).
#pragma once

#include <memory>
#include <vector>

#include "core/base/value_types.h"

namespace dxl::widgets {

class HeatmapPyramid {
  public:
    // Builds levels until both sides are <= minSide (level 0 shares nothing with `full`: a copy).
    static std::shared_ptr<const HeatmapPyramid> build(const HeatmapData& full, int minSide = 256);

    int levelCount() const noexcept { return static_cast<int>(m_levels.size()); }
    const HeatmapData& level(int l) const { return m_levels[static_cast<size_t>(l)]; }
    int blockSize(int l) const noexcept { return 1 << l; }  // full-resolution cells per level cell

    // Smallest level at which the visible span (in full-resolution cells) has at most
    // maxCellsPerPixel * pixels level cells along both axes.
    int chooseLevel(double visibleCols, double visibleRows, int pixelsX, int pixelsY,
                    double maxCellsPerPixel = 1.0) const;

    struct Window {
        HeatmapData data;  // the cropped cells of the level
        int level = 0;
        int col0 = 0, row0 = 0;  // first level cell in the crop
    };
    // Level-l cells covering full-resolution columns [c0, c1] and rows [r0, r1] (clamped).
    Window window(int l, double c0, double c1, double r0, double r1) const;

  private:
    std::vector<HeatmapData> m_levels;
};

// One 2x2 reduction step (mean of the unmasked cells; NaN when all four are masked). Exposed for
// tests.
HeatmapData downsample2x(const HeatmapData& in);

}  // namespace dxl::widgets
