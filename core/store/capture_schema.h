// Capture file schema v1 (docs/capture-schema.md): names, the plain chunk type the writer
// stores, the chunking rule and the per-sample checksum. Torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dxl::store {

inline constexpr const char* kCaptureFormat = "dxl-capture";
inline constexpr int64_t kCaptureSchemaVersion = 1;
inline constexpr const char* kManifestGroup = "manifest";
inline constexpr const char* kChecksumAlgorithm = "fnv1a64-words-v1";
// Largest chunk the writer creates: one (sample, head) map of T <= 724 in fp16 fits.
inline constexpr uint64_t kMaxChunkBytes = 1u << 20;

// "sample_000042" (a root-level NXentry)
std::string sample_group_name(int64_t index);

// Commit journal next to a partial capture: one text line per committed sample,
// "dxl-journal-v1 INDEX GROUP_ADDRESS CHECKSUM_HEX N_DATASETS".
inline constexpr const char* kJournalTag = "dxl-journal-v1";
inline std::string journal_path(const std::string& partial) {
    return partial + ".journal";
}

struct JournalEntry {
    int64_t index = 0;
    uint64_t address = 0;  // object header address of the sample group
    uint64_t checksum = 0;
    int64_t n_datasets = 0;
};
// The complete lines of a journal (a torn last line is ignored); empty if there is none.
std::vector<JournalEntry> read_journal(const std::string& path);

enum class DType { F16, F32, I64, I32, U8 };
const char* to_string(DType t) noexcept;  // "float16", ...
size_t dtype_size(DType t) noexcept;

// One array for the writer: plain bytes in `dtype`, row-major, with its shape. `path` is
// relative to the sample group ("teacher/layer_03/attn_probs").
struct Chunk {
    std::string path;
    DType dtype = DType::F32;
    std::vector<uint64_t> shape;
    std::string dims;                                // dimension letters, "H,T,T"
    std::vector<uint8_t> bytes;                      // product(shape) * dtype_size(dtype)
    std::vector<std::string> strings;                // instead of bytes: a 1-D UTF-8 string dataset
    std::map<std::string, std::string> attrs;        // extra string attributes of the dataset
    std::map<std::string, std::string> group_attrs;  // string attributes of its parent group
    std::vector<int64_t> heads;  // head ids of dimension 0 when a head subset was stored
    // (…, T, T) map: tag as NXdata image (group gets NX_class NXdata, signal, axes).
    bool image = false;
    // Logical size in bytes if stored as float32 (the throughput denominator).
    uint64_t fp32_bytes() const;
};

// Chunk shape for a dataset: leading dims 1 (one head per chunk for rank >= 3), the last two
// full, then rows halved until the chunk is at most kMaxChunkBytes.
std::vector<uint64_t> chunk_shape(const std::vector<uint64_t>& shape, size_t elem_size);

// IEEE half -> float (exact).
void half_to_float(const uint16_t* in, float* out, size_t n);

// Order-independent checksum of a sample: sum over datasets of hash(path, bytes as stored).
uint64_t dataset_hash(const std::string& path, const void* bytes, size_t n);

}  // namespace dxl::store
