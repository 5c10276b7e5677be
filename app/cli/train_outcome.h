// Exit status and the stderr line of a training command that stopped early.
#pragma once

#include <cstdio>

#include "core/base/error.h"
#include "core/train/trainer.h"

namespace dxl::cli {

// Exit status of a command stopped by SIGINT/SIGTERM after saving (docs/cli.md).
inline constexpr int kExitStopped = 10;

// 0 when the run finished; kExitStopped after a cancel (checkpoint saved); 3 when the
// non-finite policy stopped the run.
inline int stop_exit_code(const train::TrainOutcome& o) {
    if (!o.stopped) return 0;
    if (o.stop_reason == "cancelled") return kExitStopped;
    return static_cast<int>(ErrorKind::Io);
}

// Says on stderr why the run stopped and how to continue; returns stop_exit_code(o).
inline int report_stop(const char* command, const train::TrainOutcome& o) {
    if (o.stopped && o.stop_reason == "cancelled")
        std::fprintf(stderr,
                     "dxl %s: stopped: saved a checkpoint at step %lld; continue with the same "
                     "command and --resume auto\n",
                     command, static_cast<long long>(o.global_step));
    else if (o.stopped)
        std::fprintf(stderr, "dxl %s: stopped at step %lld: %s; see the run log %s\n", command,
                     static_cast<long long>(o.global_step), o.stop_reason.c_str(),
                     o.log_path.c_str());
    return stop_exit_code(o);
}

}  // namespace dxl::cli
