// safetensors reader and writer (torch-free): header parsing and validation in the manner of the
// reference implementation (huggingface/safetensors), a read-only mmap view, and an atomic writer.
//
// Format: u64 little-endian header length N, N bytes of UTF-8 JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__":
// {..}}, then the data buffer; offsets are relative to the data buffer and must tile it exactly.
#include "core/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

#include "core/base/error.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "dxl safetensors I/O assumes a little-endian host"
#endif

namespace dxl::io {

namespace {

constexpr uint64_t kMaxHeaderSize = 100'000'000;  // reference: N <= 100 MB
constexpr const char* kMetadataKey = "__metadata__";

std::string shape_str(const std::vector<int64_t>& shape) {
    std::ostringstream os;
    os << '[';
    for (size_t i = 0; i < shape.size(); ++i)
        os << (i ? ", " : "") << shape[i];
    os << ']';
    return os.str();
}

std::string json_shape_str(const nlohmann::json& shape) {
    // Shapes as written in the header (may hold dims that do not fit int64).
    std::string s = shape.dump();
    std::string out;
    for (char c : s) {
        out += c;
        if (c == ',') out += ' ';
    }
    return out;
}

// Returns the byte position of the first invalid UTF-8 sequence, or `size` if valid.
size_t find_invalid_utf8(const uint8_t* p, size_t size) {
    size_t i = 0;
    while (i < size) {
        const uint8_t c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len = 0;
        uint32_t cp = 0;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return i;
        }
        if (size - i < len) return i;
        for (size_t k = 1; k < len; ++k) {
            const uint8_t cc = p[i + k];
            if ((cc & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (cc & 0x3F);
        }
        // Overlong encodings, surrogates and code points past U+10FFFF.
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += len;
    }
    return size;
}

const char* json_kind(const nlohmann::json& v) {
    if (v.is_null()) return "null";
    if (v.is_boolean()) return "a boolean";
    if (v.is_number_unsigned()) return "a non-negative integer";
    if (v.is_number_integer()) return "a negative integer";
    if (v.is_number()) return "a non-integer number";
    if (v.is_string()) return "a string";
    if (v.is_array()) return "an array";
    if (v.is_object()) return "an object";
    return "a JSON value";
}

// Parses the header JSON, rejecting duplicate keys at any level (nlohmann would silently keep
// the last one; serde in the reference rejects duplicate fields).
nlohmann::json parse_header_json(const uint8_t* p, size_t n, const std::string& label) {
    std::vector<std::set<std::string>> keys;  // one key set per open object
    std::string top_key;                      // current top-level key (the tensor name)
    auto cb = [&](int /*depth*/, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
        using E = nlohmann::json::parse_event_t;
        if (ev == E::object_start) {
            keys.emplace_back();
        } else if (ev == E::object_end) {
            if (!keys.empty()) keys.pop_back();
        } else if (ev == E::key && !keys.empty()) {
            const std::string k = parsed.get<std::string>();
            if (keys.size() == 1) top_key = k;
            if (!keys.back().insert(k).second) {
                if (keys.size() == 1)
                    throw FormatError(detail::str_cat(label, ": tensor '", k,
                                                      "' appears more than once in the header"));
                throw FormatError(detail::str_cat(label, ": tensor '", top_key, "': field '", k,
                                                  "' appears more than once"));
            }
        }
        return true;
    };
    try {
        return nlohmann::json::parse(p, p + n, cb, /*allow_exceptions=*/true);
    } catch (const nlohmann::json::exception& e) {
        throw FormatError(detail::str_cat(label, ": header is not valid JSON (", e.what(),
                                          "); the file is corrupt or not a safetensors file"));
    }
}

uint64_t read_u64_le(const uint8_t* p) {
    uint64_t v = 0;
    std::memcpy(&v, p, sizeof(v));
    return v;
}

// Reads [begin, end] from a tensor entry's "data_offsets".
std::pair<uint64_t, uint64_t> parse_offsets(const nlohmann::json& e, const std::string& label,
                                            const std::string& name) {
    const std::string where = detail::str_cat(label, ": tensor '", name, "'");
    DXL_CHECK(e.contains("data_offsets"), FormatError, where, ": field 'data_offsets' is missing");
    const auto& o = e.at("data_offsets");
    DXL_CHECK(o.is_array() && o.size() == 2, FormatError, where,
              ": data_offsets: expected an array [begin, end], but got ", o.dump());
    for (const auto& v : o)
        DXL_CHECK(v.is_number_unsigned(), FormatError, where,
                  ": data_offsets: expected non-negative integers, but got ", o.dump());
    const uint64_t begin = o[0].get<uint64_t>();
    const uint64_t end = o[1].get<uint64_t>();
    DXL_CHECK(begin <= end, FormatError, where, ": data_offsets [", begin, ", ", end,
              "] are reversed (begin > end)");
    return {begin, end};
}

}  // namespace

size_t dtype_size(DType t) noexcept {
    switch (t) {
        case DType::F64:
        case DType::I64:
            return 8;
        case DType::F32:
        case DType::I32:
            return 4;
        case DType::F16:
        case DType::BF16:
        case DType::I16:
            return 2;
        case DType::I8:
        case DType::U8:
        case DType::BOOL:
            return 1;
    }
    return 0;
}

const char* dtype_name(DType t) noexcept {
    switch (t) {
        case DType::F64:
            return "F64";
        case DType::F32:
            return "F32";
        case DType::F16:
            return "F16";
        case DType::BF16:
            return "BF16";
        case DType::I64:
            return "I64";
        case DType::I32:
            return "I32";
        case DType::I16:
            return "I16";
        case DType::I8:
            return "I8";
        case DType::U8:
            return "U8";
        case DType::BOOL:
            return "BOOL";
    }
    return "?";
}

std::optional<DType> parse_dtype(std::string_view name) noexcept {
    static constexpr DType kAll[] = {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64,
                                     DType::I32, DType::I16, DType::I8,  DType::U8,   DType::BOOL};
    for (DType t : kAll)
        if (name == dtype_name(t)) return t;
    return std::nullopt;
}

uint64_t TensorEntry::numel() const noexcept {
    uint64_t n = 1;
    for (int64_t d : shape)
        n *= static_cast<uint64_t>(d);
    return n;
}

SafetensorsHeader parse_safetensors(const uint8_t* bytes, size_t size, const std::string& label) {
    DXL_CHECK(size >= 8, FormatError, label, ": file is ", size,
              " bytes, too short for the 8-byte header length; the file is truncated or not a "
              "safetensors file");
    const uint64_t n = read_u64_le(bytes);
    DXL_CHECK(n <= kMaxHeaderSize, FormatError, label, ": header length ", n,
              " exceeds the 100000000-byte limit; the file is corrupt or not a safetensors file");
    DXL_CHECK(n <= size - 8, FormatError, label, ": header length ", n, " exceeds the ", size - 8,
              " bytes after the length field; the file is truncated");
    DXL_CHECK(n > 0, FormatError, label, ": header length is 0, expected a JSON object");

    const uint8_t* hp = bytes + 8;
    const size_t bad = find_invalid_utf8(hp, static_cast<size_t>(n));
    DXL_CHECK(bad == n, FormatError, label, ": header is not valid UTF-8 (byte value ",
              static_cast<unsigned>(hp[bad < n ? bad : 0]), " at header offset ", bad, ")");
    // nlohmann stops at a NUL byte as if the input ended; JSON text never holds a raw NUL.
    const auto* nul = static_cast<const uint8_t*>(std::memchr(hp, 0, static_cast<size_t>(n)));
    DXL_CHECK(nul == nullptr, FormatError, label, ": header holds a NUL byte at header offset ",
              nul - hp, "; the header length is wrong or the file is corrupt");
    const nlohmann::json j = parse_header_json(hp, static_cast<size_t>(n), label);
    DXL_CHECK(j.is_object(), FormatError, label, ": header: expected a JSON object, but got ",
              json_kind(j));
    DXL_CHECK(hp[0] == '{', FormatError, label,
              ": header must start with '{' (as the reference reader requires), but it starts with "
              "whitespace");

    SafetensorsHeader h;
    h.data_offset = 8 + n;
    h.data_size = size - 8 - n;
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& name = it.key();
        const auto& e = it.value();
        if (name == kMetadataKey) {
            DXL_CHECK(e.is_object(), FormatError, label,
                      ": __metadata__: expected an object of strings, but got ", json_kind(e));
            for (auto m = e.begin(); m != e.end(); ++m) {
                DXL_CHECK(m->is_string(), FormatError, label, ": __metadata__: field '", m.key(),
                          "': expected a string, but got ", json_kind(*m));
                h.metadata[m.key()] = m->get<std::string>();
            }
            continue;
        }
        const std::string where = detail::str_cat(label, ": tensor '", name, "'");
        DXL_CHECK(e.is_object(), FormatError, where,
                  ": expected an object with dtype, shape and "
                  "data_offsets, but got ",
                  json_kind(e));
        TensorEntry t;
        t.name = name;

        DXL_CHECK(e.contains("dtype"), FormatError, where, ": field 'dtype' is missing");
        const auto& dt = e.at("dtype");
        DXL_CHECK(dt.is_string(), FormatError, where, ": dtype: expected a string, but got ",
                  json_kind(dt));
        const auto parsed = parse_dtype(dt.get<std::string>());
        DXL_CHECK(parsed.has_value(), FormatError, where, ": unknown dtype '",
                  dt.get<std::string>(),
                  "'; expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL");
        t.dtype = *parsed;

        DXL_CHECK(e.contains("shape"), FormatError, where, ": field 'shape' is missing");
        const auto& sh = e.at("shape");
        DXL_CHECK(sh.is_array(), FormatError, where, ": shape: expected an array, but got ",
                  json_kind(sh));
        uint64_t numel = 1;
        bool overflow = false;
        for (const auto& d : sh) {
            DXL_CHECK(d.is_number_integer(), FormatError, where, ": shape ", json_shape_str(sh),
                      ": expected integer dims, but got ", json_kind(d));
            DXL_CHECK(d.is_number_unsigned(), FormatError, where, ": shape ", json_shape_str(sh),
                      " has a negative dim");
            const uint64_t du = d.get<uint64_t>();
            DXL_CHECK(du <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), FormatError,
                      where, ": shape ", json_shape_str(sh), " has a dim larger than 2^63-1");
            t.shape.push_back(static_cast<int64_t>(du));
            overflow = overflow || __builtin_mul_overflow(numel, du, &numel);
        }
        DXL_CHECK(!overflow && numel <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
                  FormatError, where, ": shape ", json_shape_str(sh),
                  " has more than 2^63-1 elements (element count overflows)");
        uint64_t nbytes = 0;
        DXL_CHECK(
            !__builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(t.dtype)), &nbytes),
            FormatError, where, ": shape ", json_shape_str(sh), " x ", dtype_name(t.dtype),
            " needs more than 2^64 bytes (byte count overflows)");

        const auto [begin, end] = parse_offsets(e, label, name);
        t.begin = begin;
        t.end = end;
        DXL_CHECK(end - begin == nbytes, FormatError, where, ": data_offsets [", begin, ", ", end,
                  "] span ", end - begin, " bytes but shape ", shape_str(t.shape), " x ",
                  dtype_name(t.dtype), " needs ", nbytes);
        h.tensors.push_back(std::move(t));
    }

    // Tile check as in the reference: sorted by (begin, end), each tensor starts where the
    // previous one ended, the first at 0, the last ends at the end of the data buffer.
    std::sort(h.tensors.begin(), h.tensors.end(), [](const TensorEntry& a, const TensorEntry& b) {
        return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
    });
    uint64_t cursor = 0;
    const TensorEntry* prev = nullptr;
    for (const auto& t : h.tensors) {
        if (t.begin < cursor) {
            throw FormatError(detail::str_cat(
                label, ": tensor '", t.name, "': data_offsets [", t.begin, ", ", t.end,
                "] overlap tensor '", prev->name, "' [", prev->begin, ", ", prev->end, "]"));
        }
        if (t.begin > cursor) {
            throw FormatError(detail::str_cat(
                label, ": tensor '", t.name, "': data_offsets [", t.begin, ", ", t.end,
                "] leave a gap of ", t.begin - cursor, " bytes after ",
                prev ? detail::str_cat("tensor '", prev->name, "' (ends at ", cursor, ")")
                     : std::string("the start of the data buffer"),
                "; offsets must be contiguous"));
        }
        cursor = t.end;
        prev = &t;
    }
    if (cursor != h.data_size) {
        if (cursor > h.data_size) {
            throw FormatError(detail::str_cat(label, ": tensor '", prev->name, "': data_offsets [",
                                              prev->begin, ", ", prev->end,
                                              "] run past the end of the ", h.data_size,
                                              "-byte data buffer; the file is truncated"));
        }
        throw FormatError(detail::str_cat(label, ": tensors cover ", cursor,
                                          " bytes but the data buffer holds ", h.data_size,
                                          " bytes; the header is incomplete or the file has "
                                          "trailing data"));
    }
    return h;
}

// ---------------------------------------------------------------------------------------------
// SafetensorsFile

SafetensorsFile::SafetensorsFile(const std::string& path) : m_path(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    DXL_CHECK(fd >= 0, IoError, path, ": cannot open for reading (", std::strerror(errno), ")");
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        throw IoError(detail::str_cat(path, ": cannot stat (", std::strerror(err), ")"));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw IoError(detail::str_cat(path, ": not a regular file"));
    }
    m_size = static_cast<size_t>(st.st_size);
    if (m_size > 0) {
        void* p = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
        const int err = errno;
        ::close(fd);
        if (p == MAP_FAILED) {
            m_size = 0;
            throw IoError(detail::str_cat(path, ": cannot mmap (", std::strerror(err), ")"));
        }
        m_map = static_cast<const uint8_t*>(p);
    } else {
        ::close(fd);
    }
    try {
        m_header = parse_safetensors(m_map, m_size, path);
    } catch (...) {
        if (m_map) ::munmap(const_cast<uint8_t*>(m_map), m_size);
        m_map = nullptr;
        throw;
    }
    for (size_t i = 0; i < m_header.tensors.size(); ++i)
        m_index[m_header.tensors[i].name] = i;
}

SafetensorsFile::~SafetensorsFile() {
    if (m_map) ::munmap(const_cast<uint8_t*>(m_map), m_size);
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& o) noexcept
    : m_path(std::move(o.m_path)),
      m_header(std::move(o.m_header)),
      m_map(std::exchange(o.m_map, nullptr)),
      m_size(std::exchange(o.m_size, 0)),
      m_index(std::move(o.m_index)) {}

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& o) noexcept {
    if (this != &o) {
        if (m_map) ::munmap(const_cast<uint8_t*>(m_map), m_size);
        m_path = std::move(o.m_path);
        m_header = std::move(o.m_header);
        m_map = std::exchange(o.m_map, nullptr);
        m_size = std::exchange(o.m_size, 0);
        m_index = std::move(o.m_index);
    }
    return *this;
}

const TensorEntry* SafetensorsFile::find(const std::string& name) const noexcept {
    const auto it = m_index.find(name);
    return it == m_index.end() ? nullptr : &m_header.tensors[it->second];
}

const uint8_t* SafetensorsFile::data(const TensorEntry& t) const noexcept {
    return m_map + m_header.data_offset + t.begin;
}

void SafetensorsFile::release(const TensorEntry& t) const noexcept {
    if (!m_map || t.end <= t.begin) return;
    static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t first = (m_header.data_offset + t.begin) / page * page;
    const uint64_t last = std::min<uint64_t>(m_header.data_offset + t.end, m_size);
    // Read-only private mapping: dropped pages are re-read from the file if touched again.
    ::madvise(const_cast<uint8_t*>(m_map) + first, static_cast<size_t>(last - first),
              MADV_DONTNEED);
}

// ---------------------------------------------------------------------------------------------
// Writer

namespace {

void write_all(int fd, const void* p, size_t n, const std::string& path) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
        const ssize_t w = ::write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        DXL_CHECK(w > 0, IoError, path, ": write failed (", std::strerror(errno),
                  "); is the disk full?");
        c += w;
        n -= static_cast<size_t>(w);
    }
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    std::vector<const TensorToWrite*> order;
    order.reserve(tensors.size());
    for (const auto& t : tensors)
        order.push_back(&t);
    std::sort(order.begin(), order.end(),
              [](const TensorToWrite* a, const TensorToWrite* b) { return a->name < b->name; });

    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty()) {
        nlohmann::json m = nlohmann::json::object();
        for (const auto& [k, v] : metadata)
            m[k] = v;
        header[kMetadataKey] = m;
    }
    std::vector<uint64_t> sizes;  // bytes per tensor in `order`
    uint64_t offset = 0;
    for (size_t i = 0; i < order.size(); ++i) {
        const auto& t = *order[i];
        DXL_CHECK(!t.name.empty() && t.name != kMetadataKey, ValueError, path,
                  ": write_safetensors: tensor name '", t.name, "' is reserved or empty");
        DXL_CHECK(i == 0 || order[i - 1]->name != t.name, ValueError, path,
                  ": write_safetensors: tensor '", t.name, "' is given twice");
        uint64_t numel = 1;
        for (int64_t d : t.shape) {
            DXL_CHECK(d >= 0, ShapeError, path, ": write_safetensors: tensor '", t.name,
                      "': shape ", shape_str(t.shape), " has a negative dim");
            DXL_CHECK(!__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel), ShapeError,
                      path, ": write_safetensors: tensor '", t.name, "': shape ",
                      shape_str(t.shape), " overflows");
        }
        const uint64_t nbytes = numel * dtype_size(t.dtype);
        DXL_CHECK(nbytes == 0 || t.data != nullptr, ValueError, path,
                  ": write_safetensors: tensor '", t.name, "' has no data");
        header[t.name] = {{"dtype", dtype_name(t.dtype)},
                          {"shape", t.shape},
                          {"data_offsets", {offset, offset + nbytes}}};
        sizes.push_back(nbytes);
        offset += nbytes;
    }
    std::string text;
    try {
        text = header.dump();
    } catch (const nlohmann::json::exception& e) {
        throw ValueError(detail::str_cat(path,
                                         ": write_safetensors: tensor names and metadata "
                                         "must be valid UTF-8 (",
                                         e.what(), ")"));
    }
    text.append((8 - (8 + text.size()) % 8) % 8, ' ');  // data buffer starts 8-byte aligned
    DXL_CHECK(text.size() <= kMaxHeaderSize, ValueError, path, ": write_safetensors: header of ",
              text.size(), " bytes exceeds the 100000000-byte limit");

    const std::string tmp = path + ".partial";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    DXL_CHECK(fd >= 0, IoError, tmp, ": cannot open for writing (", std::strerror(errno), ")");
    try {
        const uint64_t n = text.size();
        write_all(fd, &n, sizeof(n), tmp);
        write_all(fd, text.data(), text.size(), tmp);
        for (size_t i = 0; i < order.size(); ++i)
            if (sizes[i] > 0) write_all(fd, order[i]->data, static_cast<size_t>(sizes[i]), tmp);
        DXL_CHECK(::fsync(fd) == 0, IoError, tmp, ": fsync failed (", std::strerror(errno), ")");
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw IoError(detail::str_cat(tmp, ": close failed (", std::strerror(err), ")"));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw IoError(detail::str_cat(path, ": cannot rename ", tmp, " into place (",
                                      std::strerror(err), ")"));
    }
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (dir.empty()) dir = ".";
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {  // best effort: some file systems refuse directory fsync
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace dxl::io
