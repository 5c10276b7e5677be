// --device / --dtype parsing for CLI commands.
#include <torch/torch.h>

#include "app/cli/device_options.h"

#include "core/runtime/device.h"

namespace dxl::cli {

const char* const kDeviceHelp =
    "  --device auto|cpu|cuda|cuda:N  where models run (auto: the first GPU when this build has\n"
    "                                 CUDA and one is present, else the CPU)\n"
    "  --dtype auto|fp32|bf16|fp16    weight and activation dtype (auto: the checkpoint's dtype "
    "on\n"
    "                                 a GPU, fp32 on the CPU); gates, stabilisers, normalisers "
    "and\n"
    "                                 softmax stay fp32\n";

void add_device_options(OptionSpec& spec) {
    spec.with_value.insert({"device", "dtype"});
}

models::LoadOptions device_load_options(const Args& args) {
    models::LoadOptions o;
    o.device = runtime::resolve_device(args.get_or("device", "auto"));
    o.dtype = runtime::parse_dtype(args.get_or("dtype", "auto"));
    // fp16 on the CPU is refused here, before any weight is read.
    if (o.dtype) (void)runtime::resolve_dtype(o.dtype, o.device, *o.dtype);
    return o;
}

}  // namespace dxl::cli
