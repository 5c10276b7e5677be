// Unicode NFC normalization over generated tables (tokenizer_nfc_tables.inc); Hangul syllables
// are decomposed and composed algorithmically (Unicode 14, section 3.12).
#include "core/io/tokenizer_nfc.h"

#include "core/io/tokenizer_utf8.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace dxl::io {
namespace {

struct CccRange {
    uint32_t first, last;
    uint8_t ccc;
};
struct Decomposition {
    uint32_t cp, first, second;  // second == 0: singleton
};
struct Composition {
    uint32_t first, second, composite;
};

#include "core/io/tokenizer_nfc_tables.inc"

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr uint32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

int ccc_of(uint32_t cp) {
    if (cp < 0x300) return 0;
    auto it = std::upper_bound(std::begin(kCccRanges), std::end(kCccRanges), cp,
                               [](uint32_t v, const CccRange& r) { return v < r.first; });
    if (it == std::begin(kCccRanges)) return 0;
    --it;
    return cp <= it->last ? it->ccc : 0;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
    if (cp >= kSBase && cp < kSBase + kSCount) {
        const uint32_t s = cp - kSBase;
        out.push_back(kLBase + s / kNCount);
        out.push_back(kVBase + (s % kNCount) / kTCount);
        if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
        return;
    }
    if (cp >= 0xC0) {
        auto it = std::lower_bound(std::begin(kDecompositions), std::end(kDecompositions), cp,
                                   [](const Decomposition& d, uint32_t v) { return d.cp < v; });
        if (it != std::end(kDecompositions) && it->cp == cp) {
            decompose(it->first, out);
            if (it->second != 0) decompose(it->second, out);
            return;
        }
    }
    out.push_back(cp);
}

// Primary composite of (a, b), or 0.
uint32_t compose_pair(uint32_t a, uint32_t b) {
    if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
        return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
    }
    if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
        b < kTBase + kTCount) {
        return a + (b - kTBase);
    }
    const Composition key{a, b, 0};
    auto it =
        std::lower_bound(std::begin(kCompositions), std::end(kCompositions), key,
                         [](const Composition& x, const Composition& y) {
                             return x.first != y.first ? x.first < y.first : x.second < y.second;
                         });
    if (it != std::end(kCompositions) && it->first == a && it->second == b) return it->composite;
    return 0;
}

// NFC of a run of code points, in place.
void normalize_run(std::vector<uint32_t>& cps, std::vector<uint32_t>& scratch) {
    scratch.clear();
    for (uint32_t cp : cps)
        decompose(cp, scratch);
    // Canonical ordering: stable sort of each run of non-starters by combining class.
    std::vector<int> classes(scratch.size());
    for (size_t i = 0; i < scratch.size(); ++i)
        classes[i] = ccc_of(scratch[i]);
    for (size_t i = 0; i < scratch.size();) {
        if (classes[i] == 0) {
            ++i;
            continue;
        }
        size_t j = i;
        while (j < scratch.size() && classes[j] != 0)
            ++j;
        for (size_t a = i + 1; a < j; ++a) {  // insertion sort (runs are short)
            for (size_t b = a; b > i && classes[b - 1] > classes[b]; --b) {
                std::swap(classes[b - 1], classes[b]);
                std::swap(scratch[b - 1], scratch[b]);
            }
        }
        i = j;
    }
    // Canonical composition.
    cps.clear();
    if (scratch.empty()) return;
    int starter_pos = classes[0] == 0 ? 0 : -1;
    int last_class = classes[0] == 0 ? 0 : 256;
    cps.push_back(scratch[0]);
    for (size_t i = 1; i < scratch.size(); ++i) {
        const uint32_t ch = scratch[i];
        const int ch_class = classes[i];
        if (starter_pos >= 0 && (last_class < ch_class || last_class == 0)) {
            const uint32_t composite = compose_pair(cps[size_t(starter_pos)], ch);
            if (composite != 0) {
                cps[size_t(starter_pos)] = composite;
                continue;
            }
        }
        if (ch_class == 0) starter_pos = int(cps.size());
        last_class = ch_class;
        cps.push_back(ch);
    }
}

}  // namespace

std::string nfc_normalize(std::string_view text) {
    // Code points below U+0300 have lead bytes below 0xCC and are always NFC.
    if (std::none_of(text.begin(), text.end(), [](char c) { return uint8_t(c) >= 0xCC; })) {
        return std::string(text);
    }
    std::string out;
    out.reserve(text.size());
    std::vector<uint32_t> run, scratch;
    auto flush = [&] {
        normalize_run(run, scratch);
        for (uint32_t cp : run)
            append_utf8(out, cp);
        run.clear();
    };
    for (size_t i = 0; i < text.size();) {
        uint32_t cp = 0;
        const size_t len = decode_utf8(text, i, cp);
        if (len == 0) {
            flush();
            out.push_back(text[i]);  // invalid byte: copied through, a composition barrier
            ++i;
            continue;
        }
        run.push_back(cp);
        i += len;
    }
    flush();
    return out;
}

const char* nfc_unicode_version() {
    return kUnicodeVersion;
}

}  // namespace dxl::io
