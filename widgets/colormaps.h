// Colormaps and colour scales for every heatmap view. QCustomPlot 2.1 has no viridis and no
// diverging preset, so both are defined by explicit stops loaded from resources/colormaps/*.csv:
// viridis for probabilities, RdBu (blue < 0 < red) centred on 0 for signed values and differences.
#pragma once

#include "widgets/qcp.h"

#include <QString>

namespace dxl::widgets {

enum class Colormap { Viridis, RdBu };
// How values map to colour: Linear, Log (log10; symmetric log for signed data) or Gamma (|v|^g).
enum class ColorScale { Linear, Log, Gamma };

QString colormapName(Colormap map);
QString colorScaleName(ColorScale scale);

// Stops (position in [0, 1] -> colour) of a colormap, read from the resource table.
QMap<double, QColor> colormapStops(Colormap map);
// A QCPColorGradient with those stops, 256 levels, NaN transparent.
QCPColorGradient makeGradient(Colormap map);

// Colour-scale transform applied to data before colouring. Signed data keeps its sign (symlog
// with threshold linThreshold for Log; sign(v)|v|^gamma for Gamma), so 0 stays at the centre.
struct ScaleTransform {
    ColorScale scale = ColorScale::Linear;
    double gamma = 0.5;
    double logFloor = 1e-4;      // smallest positive value shown on a log scale
    double linThreshold = 1e-3;  // symlog: linear within +-linThreshold
    bool signedValues = false;

    double apply(double v) const;
    QString label() const;  // e.g. "log10", "gamma 0.5", "linear"
};

}  // namespace dxl::widgets
