// safetensors reader (mmap) and writer, torch-free.
//
// Validation follows the reference implementation (huggingface/safetensors): 8-byte LE header
// length N with N <= 100 MB and N <= file size - 8; the header is a UTF-8 JSON object; every
// tensor has a known dtype, a shape of non-negative dims whose element count times dtype size
// (overflow-checked) equals its byte span; data_offsets are sorted, contiguous, non-overlapping
// and cover the whole data buffer; "__metadata__" is a string->string map and is kept.
// Each violation throws dxl::FormatError naming the file, the tensor and the rule.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dxl::io {

enum class DType : uint8_t { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(DType t) noexcept;
const char* dtype_name(DType t) noexcept;  // "F32", ...
std::optional<DType> parse_dtype(std::string_view name) noexcept;

struct TensorEntry {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    uint64_t begin = 0;  // byte offset into the data buffer
    uint64_t end = 0;    // exclusive
    uint64_t numel() const noexcept;
};

struct SafetensorsHeader {
    std::vector<TensorEntry> tensors;  // sorted by begin offset
    std::map<std::string, std::string> metadata;
    uint64_t data_offset = 0;  // file offset of the data buffer (8 + N)
    uint64_t data_size = 0;
};

// Parses and validates a complete safetensors image held in memory. `label` names the file in
// error messages. Used by SafetensorsFile and by the fuzz target.
SafetensorsHeader parse_safetensors(const uint8_t* bytes, size_t size, const std::string& label);

// A read-only memory-mapped safetensors file.
class SafetensorsFile {
  public:
    explicit SafetensorsFile(
        const std::string& path);  // IoError if unreadable, FormatError if invalid
    ~SafetensorsFile();
    SafetensorsFile(SafetensorsFile&&) noexcept;
    SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::string& path() const noexcept { return m_path; }
    const std::vector<TensorEntry>& tensors() const noexcept { return m_header.tensors; }
    const std::map<std::string, std::string>& metadata() const noexcept {
        return m_header.metadata;
    }
    const TensorEntry* find(const std::string& name) const noexcept;
    const uint8_t* data(const TensorEntry& t) const noexcept;  // start of the tensor's bytes
    // Drops the mapped pages of `t` from this process's resident set once its bytes were copied
    // out (they stay in the page cache), so loading a model never holds a second full copy.
    void release(const TensorEntry& t) const noexcept;

  private:
    std::string m_path;
    SafetensorsHeader m_header;
    const uint8_t* m_map = nullptr;
    size_t m_size = 0;
    std::map<std::string, size_t> m_index;  // name -> position in m_header.tensors
};

// One tensor to write; data points at numel * dtype_size bytes, little-endian, C order.
struct TensorToWrite {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    const void* data = nullptr;
};

// Writes a safetensors file: tensors in sorted-name order, header padded with spaces so the data
// buffer starts 8-byte aligned. Written to PATH.partial, fsynced, renamed, directory fsynced.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace dxl::io
