// --device / --dtype for every command that runs a model (see docs/gpu.md). The choice is resolved
// at the door: `--device cuda` on a build or machine without CUDA is refused (exit 5, one line
// naming the remedy) before any model is loaded or any file is written.
#pragma once

#include <string>

#include "app/cli/args.h"
#include "core/models/registry.h"

namespace dxl::cli {

// Adds --device auto|cpu|cuda|cuda:N and --dtype auto|fp32|bf16|fp16.
void add_device_options(OptionSpec& spec);

// The load options the user asked for; throws UsageError / UnsupportedError (see device.h).
models::LoadOptions device_load_options(const Args& args);

// "--device auto|cpu|cuda|cuda:N  --dtype auto|fp32|bf16|fp16" help lines.
extern const char* const kDeviceHelp;

}  // namespace dxl::cli
