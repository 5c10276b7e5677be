# Alignment analysis: metrics, head matching, layer maps, dataset statistics, reports.
# Torch TUs: metrics.cpp, representation.cpp, alignment.cpp, capture_input.cpp. The rest is torch-free.
set(DXL_AREA_SOURCES
    analysis/alignment.cpp
    analysis/capture_input.cpp
    analysis/hungarian.cpp
    analysis/layer_map.cpp
    analysis/metric_kinds.cpp
    analysis/metrics.cpp
    analysis/representation.cpp
    analysis/report.cpp
    analysis/stats.cpp)
set(DXL_AREA_LIBS dxl_store dxl_capture)
