// Colormap tables (from the compiled resources) and colour-scale transforms.
#include "widgets/colormaps.h"

#include <QFile>
#include <QTextStream>
#include <cmath>

static void initDxlResources() {
    Q_INIT_RESOURCE(resources);
}

namespace dxl::widgets {

QString colormapName(Colormap map) {
    return map == Colormap::Viridis ? QStringLiteral("viridis") : QStringLiteral("RdBu");
}

QString colorScaleName(ColorScale scale) {
    switch (scale) {
        case ColorScale::Linear:
            return QStringLiteral("linear");
        case ColorScale::Log:
            return QStringLiteral("log");
        case ColorScale::Gamma:
            return QStringLiteral("gamma");
    }
    return QString();
}

QMap<double, QColor> colormapStops(Colormap map) {
    static const bool initialised = [] {
        initDxlResources();
        return true;
    }();
    (void)initialised;
    const QString path = map == Colormap::Viridis ? QStringLiteral(":/dxl/colormaps/viridis.csv")
                                                  : QStringLiteral(":/dxl/colormaps/rdbu.csv");
    QMap<double, QColor> stops;
    QFile file(path);
    if (file.open(QIODevice::ReadOnly | QIODevice::Text)) {
        QTextStream in(&file);
        while (!in.atEnd()) {
            const QString line = in.readLine().trimmed();
            if (line.isEmpty() || line.startsWith(QLatin1Char('#'))) continue;
            const QStringList parts = line.split(QLatin1Char(','));
            if (parts.size() != 2) continue;
            bool ok = false;
            const double pos = parts[0].toDouble(&ok);
            const QColor colour(parts[1].trimmed());
            if (ok && colour.isValid()) stops.insert(pos, colour);
        }
    }
    if (stops.size() < 2) {  // resources missing: a visible grey ramp rather than a blank map
        stops.insert(0.0, QColor(20, 20, 20));
        stops.insert(1.0, QColor(235, 235, 235));
    }
    return stops;
}

QCPColorGradient makeGradient(Colormap map) {
    QCPColorGradient g;
    g.setColorStops(colormapStops(map));
    g.setLevelCount(256);
    g.setColorInterpolation(QCPColorGradient::ciRGB);
    g.setNanHandling(QCPColorGradient::nhTransparent);
    return g;
}

double ScaleTransform::apply(double v) const {
    if (std::isnan(v)) return v;
    switch (scale) {
        case ColorScale::Linear:
            return v;
        case ColorScale::Log:
            if (signedValues) {
                // symlog: sign(v) * log10(1 + |v| / threshold)
                const double s = v < 0 ? -1.0 : 1.0;
                return s * std::log10(1.0 + std::fabs(v) / linThreshold);
            }
            return std::log10(std::max(v, logFloor));
        case ColorScale::Gamma: {
            const double s = v < 0 ? -1.0 : 1.0;
            return s * std::pow(std::fabs(v), gamma);
        }
    }
    return v;
}

QString ScaleTransform::label() const {
    switch (scale) {
        case ColorScale::Linear:
            return QStringLiteral("linear");
        case ColorScale::Log:
            return signedValues ? QStringLiteral("symlog10 (|v|/%1)").arg(linThreshold)
                                : QStringLiteral("log10");
        case ColorScale::Gamma:
            return QStringLiteral("gamma %1").arg(gamma);
    }
    return QString();
}

}  // namespace dxl::widgets
