// Logging sink: one process-wide function that receives (level, message). The CLI prints to
// stderr; the studio will route it into its log dock. Cheap when the level is filtered out.
#pragma once

#include <functional>
#include <string>

namespace dxl {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

using LogSink = std::function<void(LogLevel, const std::string&)>;

void set_log_sink(LogSink sink);         // nullptr restores the default (stderr)
void set_log_level(LogLevel min_level);  // messages below are dropped
LogLevel log_level();
void log(LogLevel level, const std::string& message);

inline void log_debug(const std::string& m) {
    log(LogLevel::Debug, m);
}
inline void log_info(const std::string& m) {
    log(LogLevel::Info, m);
}
inline void log_warn(const std::string& m) {
    log(LogLevel::Warn, m);
}

}  // namespace dxl
