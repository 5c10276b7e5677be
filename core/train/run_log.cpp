// CRC-framed run log writer/reader and CSV/JSON export.
#include "core/train/run_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/base/error.h"
#include "core/base/log.h"
#include "core/data/json_util.h"

namespace dxl::train {

namespace {

std::array<uint32_t, 256> make_table() {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        t[i] = c;
    }
    return t;
}

void put_u64(unsigned char* p, uint64_t v) {
    for (int i = 0; i < 8; ++i)
        p[i] = static_cast<unsigned char>(v >> (8 * i));
}
void put_u32(unsigned char* p, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<unsigned char>(v >> (8 * i));
}
uint64_t get_u64(const unsigned char* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}
uint32_t get_u32(const unsigned char* p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}

}  // namespace

uint32_t crc32c(const void* data, size_t n, uint32_t crc) {
    static const std::array<uint32_t, 256> table = make_table();
    const auto* p = static_cast<const unsigned char*>(data);
    crc = ~crc;
    for (size_t i = 0; i < n; ++i)
        crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

uint32_t masked_crc32c(const void* data, size_t n) {
    const uint32_t c = crc32c(data, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

int64_t last_record_end(const std::string& path, int64_t limit) {
    std::ifstream in(path, std::ios::binary);
    int64_t end = 0;
    if (!in.good()) return 0;
    for (;;) {
        unsigned char head[12];
        if (!in.read(reinterpret_cast<char*>(head), 12)) break;
        const uint64_t len = get_u64(head);
        if (get_u32(head + 8) != masked_crc32c(head, 8)) break;
        if (end + 16 + static_cast<int64_t>(len) > limit) break;
        std::string payload(static_cast<size_t>(len), '\0');
        unsigned char tail[4];
        if (!in.read(payload.data(), static_cast<std::streamsize>(len)) ||
            !in.read(reinterpret_cast<char*>(tail), 4))
            break;
        if (get_u32(tail) != masked_crc32c(payload.data(), payload.size())) break;
        end += static_cast<int64_t>(16 + len);
    }
    return end;
}

RunLogWriter::RunLogWriter(const std::string& path, int64_t truncate_to) : m_path(path) {
    if (truncate_to >= 0) {
        // Never pad: cut at the last whole, valid record at or before the checkpoint's offset
        // (the log may have been truncated, deleted or damaged since).
        const int64_t keep = last_record_end(path, truncate_to);
        if (keep < truncate_to)
            log_warn(detail::str_cat("run log ", path, ": only ", keep, " of the ", truncate_to,
                                     " bytes the checkpoint expects hold whole, valid records (the "
                                     "log was truncated or damaged); continuing after them"));
        truncate_to = keep;
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
        DXL_CHECK(fd >= 0, IoError, "run log ", path,
                  ": cannot open for writing; check the output folder");
        const int rc = ::ftruncate(fd, static_cast<off_t>(truncate_to));
        ::close(fd);
        DXL_CHECK(rc == 0, IoError, "run log ", path, ": cannot truncate to ", truncate_to,
                  " bytes");
    }
    m_file = std::fopen(path.c_str(), "ab");
    DXL_CHECK(m_file != nullptr, IoError, "run log ", path,
              ": cannot open for appending; check the output folder");
    std::fseek(m_file, 0, SEEK_END);
    m_size = static_cast<int64_t>(std::ftell(m_file));
}

RunLogWriter::~RunLogWriter() {
    if (m_file) std::fclose(m_file);
}

void RunLogWriter::append(const nlohmann::json& record) {
    const std::string payload = record.dump();
    unsigned char head[12];
    put_u64(head, payload.size());
    put_u32(head + 8, masked_crc32c(head, 8));
    unsigned char tail[4];
    put_u32(tail, masked_crc32c(payload.data(), payload.size()));
    const bool ok = std::fwrite(head, 1, 12, m_file) == 12 &&
                    std::fwrite(payload.data(), 1, payload.size(), m_file) == payload.size() &&
                    std::fwrite(tail, 1, 4, m_file) == 4 && std::fflush(m_file) == 0;
    DXL_CHECK(ok, IoError, "run log ", m_path, ": write failed (disk full?)");
    m_size += static_cast<int64_t>(16 + payload.size());
}

void RunLogWriter::sync() {
    std::fflush(m_file);
    ::fsync(::fileno(m_file));
}

RunLogRead read_run_log(const std::string& path, int64_t offset) {
    std::ifstream in(path, std::ios::binary);
    DXL_CHECK(in.good(), IoError, "run log ", path, ": cannot open; check the run folder");
    RunLogRead out;
    out.end_offset = offset;
    in.seekg(offset);
    for (;;) {
        unsigned char head[12];
        if (!in.read(reinterpret_cast<char*>(head), 12)) break;
        const uint64_t len = get_u64(head);
        if (get_u32(head + 8) != masked_crc32c(head, 8)) {
            out.corrupt_tail = true;
            break;
        }
        std::string payload(static_cast<size_t>(len), '\0');
        unsigned char tail[4];
        if (!in.read(payload.data(), static_cast<std::streamsize>(len)) ||
            !in.read(reinterpret_cast<char*>(tail), 4))
            break;  // incomplete: the writer is mid-record
        if (get_u32(tail) != masked_crc32c(payload.data(), payload.size())) {
            out.corrupt_tail = true;
            break;
        }
        try {
            out.records.push_back(nlohmann::json::parse(payload));
        } catch (const std::exception&) {
            out.corrupt_tail = true;
            break;
        }
        out.end_offset += static_cast<int64_t>(16 + len);
    }
    return out;
}

std::string export_csv(const std::vector<nlohmann::json>& records, const std::string& kind) {
    std::set<std::string> names;
    for (const auto& r : records)
        if (data::json_string_or(r, "kind", "") == kind && r.contains("metrics"))
            for (auto it = r["metrics"].begin(); it != r["metrics"].end(); ++it)
                names.insert(it.key());
    std::ostringstream os;
    os << "step";
    for (const auto& n : names)
        os << ',' << n;
    os << '\n';
    os.precision(9);
    for (const auto& r : records) {
        if (data::json_string_or(r, "kind", "") != kind) continue;
        os << r.value("step", int64_t{0});
        for (const auto& n : names) {
            os << ',';
            if (r.contains("metrics") && r["metrics"].contains(n) && r["metrics"][n].is_number())
                os << r["metrics"][n].get<double>();
        }
        os << '\n';
    }
    return os.str();
}

std::string export_json(const std::vector<nlohmann::json>& records) {
    return nlohmann::json(records).dump(1);
}

}  // namespace dxl::train
