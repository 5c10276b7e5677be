// Runtime set-up: torch threads and malloc tunables.
#include <torch/torch.h>

#include "core/runtime/runtime.h"

#include <malloc.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "core/base/error.h"

namespace dxl::runtime {

int resolve_threads(int requested) {
    // Thousands of threads only thrash (and can hang thread-pool start-up): refuse them.
    DXL_CHECK(requested >= 0 && requested <= 1024, UsageError, "--threads: expected 1..1024 (",
              std::thread::hardware_concurrency(), " cores here), but got ", requested);
    if (requested > 0) return requested;
    if (const char* env = std::getenv("DXL_THREADS"); env != nullptr && *env != '\0') {
        char* end = nullptr;
        long v = std::strtol(env, &end, 10);
        DXL_CHECK(end != env && *end == '\0' && v > 0 && v <= 1024, UsageError,
                  "DXL_THREADS: expected a positive integer, but got '", env, "'");
        return static_cast<int>(v);
    }
    unsigned cores = std::thread::hardware_concurrency();
    if (cores <= 2) return 1;
    return static_cast<int>(cores / 2);
}

int configure(const RuntimeOptions& opts) {
    const int threads = resolve_threads(opts.threads);
    torch::set_num_threads(threads);
    // Keep freed large blocks in the heap instead of munmap'ing them (see header).
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return threads;
}

}  // namespace dxl::runtime
