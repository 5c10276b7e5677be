// Capture schema v1 helpers: names, dtype sizes, the chunking rule and the sample checksum.
#include "core/store/capture_schema.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace dxl::store {

std::string sample_group_name(int64_t index) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "sample_%06lld", static_cast<long long>(index));
    return buf;
}

const char* to_string(DType t) noexcept {
    switch (t) {
        case DType::F16:
            return "float16";
        case DType::F32:
            return "float32";
        case DType::I64:
            return "int64";
        case DType::I32:
            return "int32";
        case DType::U8:
            return "uint8";
    }
    return "?";
}

size_t dtype_size(DType t) noexcept {
    switch (t) {
        case DType::F16:
            return 2;
        case DType::F32:
            return 4;
        case DType::I64:
            return 8;
        case DType::I32:
            return 4;
        case DType::U8:
            return 1;
    }
    return 1;
}

uint64_t Chunk::fp32_bytes() const {
    if (!strings.empty()) return 0;
    uint64_t n = 1;
    for (auto d : shape)
        n *= d;
    return n * 4;
}

std::vector<uint64_t> chunk_shape(const std::vector<uint64_t>& shape, size_t elem_size) {
    std::vector<uint64_t> c = shape;
    for (auto& d : c)
        d = d == 0 ? 1 : d;
    if (c.size() >= 3) {
        for (size_t i = 0; i + 2 < c.size(); ++i)
            c[i] = 1;
    }
    auto bytes = [&] {
        uint64_t n = elem_size;
        for (auto d : c)
            n *= d;
        return n;
    };
    // Halve the largest non-last dimension (rows) until the chunk fits.
    while (bytes() > kMaxChunkBytes) {
        size_t at = c.size() >= 2 ? c.size() - 2 : 0;
        if (c[at] <= 1) at = c.size() - 1;
        if (c[at] <= 1) break;
        c[at] = (c[at] + 1) / 2;
    }
    return c;
}

void half_to_float(const uint16_t* in, float* out, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        const uint32_t h = in[i];
        const uint32_t sign = (h & 0x8000u) << 16;
        uint32_t exp = (h >> 10) & 0x1fu;
        uint32_t mant = h & 0x3ffu;
        uint32_t bits;
        if (exp == 0x1f) {
            bits = sign | 0x7f800000u | (mant << 13);  // inf / nan
        } else if (exp != 0) {
            bits = sign | ((exp + 112) << 23) | (mant << 13);
        } else if (mant == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            exp = 113;
            while ((mant & 0x400u) == 0) {
                mant <<= 1;
                --exp;
            }
            bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
        }
        std::memcpy(out + i, &bits, 4);
    }
}

uint64_t dataset_hash(const std::string& path, const void* bytes, size_t n) {
    // FNV-1a over the path bytes, then over 8-byte little-endian words of the data (tail bytes
    // one by one): fast enough for the writer thread (several GB/s), sensitive to any flip.
    constexpr uint64_t kPrime = 1099511628211ull;
    uint64_t h = 14695981039346656037ull;
    for (unsigned char c : path)
        h = (h ^ c) * kPrime;
    const auto* p = static_cast<const unsigned char*>(bytes);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = (h ^ w) * kPrime;
        h ^= h >> 29;
    }
    for (; i < n; ++i)
        h = (h ^ p[i]) * kPrime;
    h = (h ^ n) * kPrime;
    return h;
}

std::vector<JournalEntry> read_journal(const std::string& path) {
    std::vector<JournalEntry> out;
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) return out;
    std::string text(static_cast<size_t>(std::max<std::streamoff>(0, in.tellg())), '\0');
    in.seekg(0);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(std::max<std::streamsize>(0, in.gcount())));
    size_t pos = 0;
    for (size_t nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
        std::istringstream line(text.substr(pos, nl - pos));
        std::string tag, sum;
        JournalEntry e;
        if (!(line >> tag >> e.index >> e.address >> sum >> e.n_datasets) || tag != kJournalTag)
            break;  // not ours or damaged: nothing after it is trusted
        try {
            e.checksum = std::stoull(sum, nullptr, 16);
        } catch (const std::exception&) {
            break;
        }
        out.push_back(e);
    }
    return out;
}

}  // namespace dxl::store
