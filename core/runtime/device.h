// Where models run and in which precision: the --device / --dtype choices of every command and of
// the studio, resolved once at the door. See docs/gpu.md.
//
// Device: "auto" | "cpu" | "cuda" | "cuda:N". auto = the first CUDA device when this build's
// LibTorch has CUDA and a device is present, else the CPU. Asking for CUDA where there is none is
// an UnsupportedError (exit 5) that names the remedy, raised before anything is loaded or written.
// Dtype: "auto" | "fp32" | "bf16" | "fp16". auto = the checkpoint's floating dtype on CUDA and
// float32 on the CPU (reduced-precision GEMMs on a CPU are slower than float32, not faster).
#pragma once

#include <torch/types.h>

#include <optional>
#include <string>
#include <vector>

namespace dxl::runtime {

// True when the LibTorch this binary links was built with CUDA (a compile-time fact).
bool torch_has_cuda() noexcept;
// Number of CUDA devices visible now (0 without a CUDA build or driver).
int cuda_device_count() noexcept;

// Parses and checks a --device value; UsageError for a malformed value, UnsupportedError when
// CUDA (or cuda:N beyond the devices present) is asked for and not available.
torch::Device resolve_device(const std::string& spec);

// "auto" -> nullopt; "fp32" | "float32" -> Float; "bf16" | "bfloat16" -> BFloat16;
// "fp16" | "float16" -> Half. UsageError otherwise.
std::optional<torch::ScalarType> parse_dtype(const std::string& spec);

// The dtype a model runs in: `requested` (nullopt = auto) resolved against the device and the
// checkpoint's floating dtype. UnsupportedError for fp16 on the CPU (LibTorch has no CPU half
// GEMM), naming bf16 or fp32 as the remedy.
torch::ScalarType resolve_dtype(std::optional<torch::ScalarType> requested,
                                const torch::Device& device, torch::ScalarType checkpoint_dtype);

// "fp32", "bf16", "fp16", "fp64" (else torch's own name).
std::string dtype_name(torch::ScalarType t);

// One human-readable line per compute device: "cpu: N threads", "cuda:0: NAME, X GiB".
std::vector<std::string> describe_devices();

}  // namespace dxl::runtime
