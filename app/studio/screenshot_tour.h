// dxl-studio --screenshots DIR: for the models (or capture) being opened, saves a screenshot of
// every page and dock as a user sees them at the default window size, then exits. Each shot must
// not be blank, and every attention map on screen must keep a readable size (the check that
// catches a layout squeezing the maps when a dock opens). For bug reports, papers and our
// docs/screenshots at real model sizes.
#pragma once

#include <QString>

namespace dxl::studio {

class MainWindow;

// Smallest side, in pixels, an attention map on screen may have in any shot.
constexpr int kMinReadableMapSide = 120;

// Installs the tour on w (call before the models are opened). The application exits with 0 when
// every shot passed, 1 on a failed check or a core error, 5 on a time-out.
void startScreenshotTour(MainWindow& w, const QString& dir, int timeoutMs = 600000);

}  // namespace dxl::studio
