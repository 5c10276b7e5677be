# Alignment analysis: metrics, head matching, layer maps, dataset statistics, reports.
# Torch TUs: ab_diff.cpp, metrics.cpp, representation.cpp, alignment.cpp, capture_input.cpp, display_maps.cpp, lens.cpp. The rest is torch-free.
set(DXL_AREA_SOURCES
    analysis/ab_diff.cpp
    analysis/alignment.cpp
    analysis/capture_input.cpp
    analysis/display_maps.cpp
    analysis/display_options.cpp
    analysis/hungarian.cpp
    analysis/layer_map.cpp
    analysis/lens.cpp
    analysis/metric_kinds.cpp
    analysis/metrics.cpp
    analysis/representation.cpp
    analysis/report.cpp
    analysis/stats.cpp)
set(DXL_AREA_LIBS dxl_store dxl_capture)
