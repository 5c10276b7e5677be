// SHA-256 (FIPS 180-4) for fingerprints of tokenizer and checkpoint files. Small and dependency
// free; not meant for bulk hashing speed.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace dxl::io {

// Incremental SHA-256: update() any number of times, then digest() once.
class Sha256 {
  public:
    Sha256();
    void update(const void* data, size_t size);
    void update(std::string_view data) { update(data.data(), data.size()); }
    std::array<uint8_t, 32> digest();  // finalizes; the object must not be updated afterwards

  private:
    void compress(const uint8_t* block);  // one 64-byte block

    std::array<uint32_t, 8> m_state;
    std::array<uint8_t, 64> m_buffer;
    size_t m_buffered = 0;
    uint64_t m_total_bytes = 0;
};

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);
// Lower-case hex SHA-256 of a file's content; IoError if it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace dxl::io
