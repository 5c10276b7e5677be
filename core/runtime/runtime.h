// Process-wide runtime set-up for LibTorch on small CPU machines: intra-op thread count and
// allocator tuning. Called once by the CLI and the studio before any model runs.
#pragma once

namespace dxl::runtime {

struct RuntimeOptions {
    int threads =
        0;  // 0 = automatic: DXL_THREADS, else 1 on machines with <= 2 cores, else cores/2
};

// Applies the options and returns the intra-op thread count in effect.
// Why 1 thread on <= 2 cores: on a 2-vCPU VM, two OpenMP threads make small ops 10-100x slower
// (spinning workers woken on scheduler ticks). Large GEMMs still use
// OpenBLAS's own threads.
// Also keeps glibc from returning large blocks to the kernel after every free: fresh T x T
// buffers otherwise re-fault every page (8-16x slower S^2 ops).
int configure(const RuntimeOptions& opts = {});

// The thread count configure() would choose for `requested` (0 = automatic) on this machine.
int resolve_threads(int requested);

}  // namespace dxl::runtime
