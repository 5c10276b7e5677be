// Process-wide log sink; guarded by a mutex so worker threads may log.
#include "core/base/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace dxl {
namespace {
std::mutex g_mutex;
LogSink g_sink;  // guarded by g_mutex
std::atomic<int> g_level{static_cast<int>(LogLevel::Info)};

const char* level_tag(LogLevel l) {
    switch (l) {
        case LogLevel::Debug:
            return "debug";
        case LogLevel::Info:
            return "info";
        case LogLevel::Warn:
            return "warning";
        case LogLevel::Error:
            return "error";
    }
    return "";
}
}  // namespace

void set_log_sink(LogSink sink) {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_sink = std::move(sink);
}

void set_log_level(LogLevel min_level) {
    g_level = static_cast<int>(min_level);
}
LogLevel log_level() {
    return static_cast<LogLevel>(g_level.load());
}

void log(LogLevel level, const std::string& message) {
    if (static_cast<int>(level) < g_level.load()) return;
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_sink) {
        g_sink(level, message);
    } else {
        std::fprintf(stderr, "dxl %s: %s\n", level_tag(level), message.c_str());
    }
}

}  // namespace dxl
