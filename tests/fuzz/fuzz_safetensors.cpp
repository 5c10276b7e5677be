// libFuzzer target for the safetensors header parser: any byte string must either parse into a
// header that satisfies the format's invariants or throw a dxl::Error; anything else (a crash, a
// sanitizer report, another exception type, a broken invariant) is a finding.
#include <cstddef>
#include <cstdint>

#include "core/base/error.h"
#include "core/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const dxl::io::SafetensorsHeader h =
            dxl::io::parse_safetensors(data, size, "fuzz.safetensors");
        // Oracle: an accepted header tiles the data buffer exactly and fits the input.
        if (h.data_offset < 8 || h.data_offset + h.data_size != size) __builtin_trap();
        uint64_t cursor = 0;
        for (const auto& t : h.tensors) {
            if (t.begin != cursor || t.end < t.begin || t.end > h.data_size) __builtin_trap();
            if (t.numel() * dxl::io::dtype_size(t.dtype) != t.end - t.begin) __builtin_trap();
            for (int64_t d : t.shape)
                if (d < 0) __builtin_trap();
            if (t.name == "__metadata__") __builtin_trap();
            cursor = t.end;
        }
        if (cursor != h.data_size) __builtin_trap();
    } catch (const dxl::Error&) {
        // Rejected input: expected.
    }
    return 0;
}
