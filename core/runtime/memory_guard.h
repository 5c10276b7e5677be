// Refusing work whose working set cannot fit in this machine's memory, before any of it is done
// (the recurrent student has no context limit: a 10 MB text would otherwise grow until the
// kernel kills the process, with nothing said).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <string>

#include "core/base/error.h"

namespace dxl::runtime {

// Bytes a command may plan to hold: 80 % of physical memory (0 when it cannot be read).
inline double spare_memory_bytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? 0.8 * static_cast<double>(pages) * static_cast<double>(page)
                                 : 0.0;
}

// Float32 bytes of a forward that records attention maps: the teacher's and the student's
// logits (T, V) and `maps` (T, T) maps held at once, twice for the temporaries that make them.
inline double maps_and_logits_bytes(int64_t T, int64_t vocab, int64_t maps) {
    const double t = static_cast<double>(T);
    return 4.0 * (2.0 * t * static_cast<double>(vocab) + 2.0 * static_cast<double>(maps) * t * t);
}

// ValueError "<what> need(s) about N GB ..., more than the M GB this machine can spare; <remedy>".
inline void check_fits_in_memory(const std::string& what, double need_bytes,
                                 const std::string& remedy) {
    const double spare = spare_memory_bytes();
    DXL_CHECK(spare <= 0 || need_bytes <= spare, ValueError, what, " need about ",
              static_cast<int64_t>(need_bytes / 1e9 + 0.5),
              " GB for the attention maps and logits, more than the ",
              static_cast<int64_t>(spare / 1e9), " GB this machine can spare; ", remedy);
}

}  // namespace dxl::runtime
