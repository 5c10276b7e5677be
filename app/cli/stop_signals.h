// Graceful stop on SIGINT/SIGTERM for long-running commands (distill, train-teacher, capture):
// the first signal sets a cancel token the command checks between steps or samples, so it can
// save a checkpoint or finalize its file and exit 10 (kExitStopped); a second signal exits
// at once with 128 + the signal number.
#pragma once

#include "core/base/cancel.h"

namespace dxl::cli {

// Installs the handlers (once per process) and returns the token they cancel. `what` is the line
// printed to stderr on the first signal, e.g. "finishing the current step and saving".
const CancelToken& install_stop_signals(const char* what);

// The signal that cancelled the token (SIGINT, SIGTERM), 0 when none arrived.
int stop_signal();

}  // namespace dxl::cli
