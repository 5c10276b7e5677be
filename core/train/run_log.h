// Append-only run log of CRC-framed records, the TensorBoard event-file model: each record is
//   uint64 length (LE) | uint32 masked_crc32c(length bytes) | payload | uint32
//   masked_crc32c(payload)
// with a JSON payload ({"kind": "train"|"eval"|"event", "step": .., "metrics": {..}}). A reader
// tailing a growing file stops cleanly at an incomplete or corrupt tail and resumes from the
// returned offset later. CSV and JSON export. Torch-free.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace dxl::train {

// CRC-32C (Castagnoli) and TensorBoard's masking: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);
uint32_t masked_crc32c(const void* data, size_t n);

class RunLogWriter {
  public:
    // Opens (creating) PATH for appending. With truncate_to >= 0 the file is first cut to the end
    // of its last whole, valid record within that many bytes (resume: drop records written after
    // the checkpoint; a shorter or damaged log is cut, never padded).
    explicit RunLogWriter(const std::string& path, int64_t truncate_to = -1);
    ~RunLogWriter();
    RunLogWriter(const RunLogWriter&) = delete;
    RunLogWriter& operator=(const RunLogWriter&) = delete;

    void append(const nlohmann::json& record);  // flushed to the OS after each record
    void sync();                                // fsync
    int64_t size() const noexcept { return m_size; }
    const std::string& path() const noexcept { return m_path; }

  private:
    std::string m_path;
    std::FILE* m_file = nullptr;
    int64_t m_size = 0;
};

// End offset of the last whole record with valid CRCs that ends at or before `limit` bytes.
int64_t last_record_end(const std::string& path, int64_t limit);

struct RunLogRead {
    std::vector<nlohmann::json> records;
    int64_t end_offset = 0;     // bytes of complete, valid records consumed
    bool corrupt_tail = false;  // stopped at a CRC mismatch (not just an incomplete tail)
};

// Reads the records from `offset` on. Never throws on a short or corrupt tail; IoError only when
// the file cannot be opened.
RunLogRead read_run_log(const std::string& path, int64_t offset = 0);

// Records of one kind as CSV: step, then the union of metric names (sorted), empty when absent.
std::string export_csv(const std::vector<nlohmann::json>& records, const std::string& kind);
// All records as a JSON array.
std::string export_json(const std::vector<nlohmann::json>& records);

}  // namespace dxl::train
