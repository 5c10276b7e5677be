// Private to the byte-level BPE tokenizer, shared by tokenizer_bpe.cpp (encoding, decoding) and
// tokenizer_bpe_load.cpp (reading tokenizer.json): PCRE2 handles, pre-tokenizer stages, added
// tokens and the tokenizer state. Not part of the public API.
#pragma once

#include "core/io/tokenizer_bpe.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dxl::io {
namespace bpe_detail {

inline uint64_t pair_key(int32_t a, int32_t b) {
    return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
}

struct PcreCodeDeleter {
    void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
struct PcreMatchDataDeleter {
    void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};
using PcreCode = std::unique_ptr<pcre2_code, PcreCodeDeleter>;
using PcreMatchData = std::unique_ptr<pcre2_match_data, PcreMatchDataDeleter>;

enum class SplitBehavior { Isolated, Removed, MergedWithPrevious, MergedWithNext };

// One pre-tokenizer stage applied to every piece the previous stage produced.
struct PreStep {
    PcreCode regex;  // null: no split
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool add_prefix_space = false;  // ByteLevel.add_prefix_space
};

// Compiles a pre-tokenizer pattern (UTF + UCP, JIT when available); UnsupportedError naming
// `where` when PCRE2 rejects it.
PcreCode compile_regex(const std::string& pattern, bool literal, const std::string& where);

struct AddedToken {
    int32_t id = 0;
    std::string content;
    bool special = false;
};

}  // namespace bpe_detail

struct BpeTokenizer::Impl {
    std::string source;
    std::string fingerprint;
    std::vector<std::string> id_bytes;  // raw bytes per id ("" for holes)
    std::vector<bool> id_valid;
    std::unordered_map<std::string, int32_t> bytes_to_id;
    std::array<int32_t, 256> byte_id{};      // single-byte token id, -1 if absent
    std::array<int32_t, 256> fallback_id{};  // <0xNN> token id (byte_fallback), -1 if absent
    std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;  // (a,b) -> (rank, merged)
    std::optional<int32_t> unk_id;
    bool byte_fallback = false;
    bool ignore_merges = false;
    bool nfc = false;
    std::vector<bpe_detail::PreStep> steps;
    std::vector<bpe_detail::AddedToken> added;               // sorted by length, longest first
    std::array<std::vector<int32_t>, 256> added_by_first{};  // indices into `added`
    std::optional<int64_t> bos, eos;

    mutable std::mutex cache_mutex;
    mutable std::unordered_map<std::string, std::vector<int32_t>> cache;

    void bpe_piece(std::string_view piece, std::vector<int64_t>& out) const;
    void merge_piece(std::string_view piece, std::vector<int32_t>& ids) const;
    void pretokenize(size_t step, std::string_view piece,
                     std::vector<bpe_detail::PcreMatchData>& md, std::vector<int64_t>& out) const;
    void encode_segment(std::string_view segment, std::vector<bpe_detail::PcreMatchData>& md,
                        std::vector<int64_t>& out) const;
};

}  // namespace dxl::io
