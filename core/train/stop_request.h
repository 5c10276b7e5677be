// Whether a training run should stop at this step boundary: the cancel token (studio Stop
// button, SIGINT/SIGTERM in the CLI), agreed over every rank of a data-parallel group so all
// ranks save the same step and none waits in a collective for a rank that left.
#pragma once

#include "core/base/cancel.h"

namespace dxl::dist {
class ProcessGroup;
}

namespace dxl::train {

bool stop_requested(const CancelToken* cancel, dist::ProcessGroup* group);

}  // namespace dxl::train
