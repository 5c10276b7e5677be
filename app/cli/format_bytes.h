// Human-readable byte counts for CLI summaries ("1.23 MB").
#pragma once

#include <cstdio>
#include <string>

namespace dxl::cli {

inline std::string format_bytes(double bytes) {
    char buf[32];
    if (bytes >= 1e9)
        std::snprintf(buf, sizeof buf, "%.2f GB", bytes / 1e9);
    else if (bytes >= 1e6)
        std::snprintf(buf, sizeof buf, "%.2f MB", bytes / 1e6);
    else
        std::snprintf(buf, sizeof buf, "%.1f kB", bytes / 1e3);
    return buf;
}

}  // namespace dxl::cli
