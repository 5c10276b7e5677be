// Cancel check shared by all ranks (see header).
#include "core/train/stop_request.h"

#include <torch/torch.h>

#include "core/dist/process_group.h"

namespace dxl::train {

bool stop_requested(const CancelToken* cancel, dist::ProcessGroup* group) {
    const bool local = cancel != nullptr && cancel->cancelled();
    if (group == nullptr || group->world_size() <= 1) return local;
    torch::Tensor flag = torch::tensor({local ? 1.0 : 0.0}, torch::kFloat64);  // (1)
    group->allreduce_sum(flag);
    return flag.item<double>() > 0.0;
}

}  // namespace dxl::train
