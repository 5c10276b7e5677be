// The one way our code includes QCustomPlot. qcustomplot.h (2.1) uses `foreach` in two header
// templates, which our strict QT_NO_FOREACH define removes (docs/conventions.md#naming); here
// `foreach` is
// mapped to a range-for for the duration of the include only, so our own code still cannot use it.
#pragma once

#if defined(QT_NO_FOREACH) && !defined(foreach)
#define foreach(variable, container) for (variable : container)
#define DXL_QCP_FOREACH_SHIM
#endif
#include <qcustomplot.h>
#ifdef DXL_QCP_FOREACH_SHIM
#undef foreach
#undef DXL_QCP_FOREACH_SHIM
#endif
