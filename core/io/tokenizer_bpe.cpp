// Byte-level BPE from a Hugging Face tokenizer.json: parsing, pre-tokenization with PCRE2,
// ranked merges with a per-piece cache, and exact byte decoding. See tokenizer_bpe.h.
#include "core/io/tokenizer_bpe.h"

#include "core/base/error.h"
#include "core/io/sha256.h"
#include "core/io/tokenizer_nfc.h"
#include "core/io/tokenizer_utf8.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <queue>
#include <sstream>
#include <unordered_map>

namespace dxl::io {
namespace {

using nlohmann::json;

// GPT-2's pre-tokenizer regex (ByteLevel with use_regex = true).
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Pieces longer than this are BPE-merged without touching the cache.
constexpr size_t kMaxCachedPieceBytes = 256;
// The cache is cleared when it grows past this many pieces (bounds memory on odd inputs).
constexpr size_t kMaxCacheEntries = 1 << 18;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    DXL_CHECK(in, IoError, "tokenizer: cannot open '", path, "'; check that the file exists");
    std::ostringstream ss;
    ss << in.rdbuf();
    DXL_CHECK(!in.bad(), IoError, "tokenizer: read error in '", path, "'");
    return ss.str();
}

uint64_t pair_key(int32_t a, int32_t b) {
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

PcreCode compile_regex(const std::string& pattern, bool literal, const std::string& where) {
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    options |= literal ? PCRE2_LITERAL : PCRE2_UCP;  // PCRE2_LITERAL does not allow PCRE2_UCP
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     options, &error_code, &error_offset, nullptr);
    if (!code) {
        std::array<PCRE2_UCHAR, 256> buf{};
        pcre2_get_error_message(error_code, buf.data(), buf.size());
        throw UnsupportedError(detail::str_cat(where,
                                               ": expected a regex PCRE2 can compile, but got '",
                                               pattern, "' (PCRE2 error at offset ", error_offset,
                                               ": ", reinterpret_cast<char*>(buf.data()), ")"));
    }
    // JIT is optional: pcre2_match falls back to the interpreter when it is unavailable.
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    return PcreCode(code);
}

struct AddedToken {
    int32_t id = 0;
    std::string content;
    bool special = false;
};

}  // namespace

const std::vector<uint32_t>& byte_to_unicode() {
    static const std::vector<uint32_t> table = [] {
        std::vector<uint32_t> t(256, 0);
        std::vector<bool> printable(256, false);
        for (int b = '!'; b <= '~'; ++b)
            printable[b] = true;
        for (int b = 0xA1; b <= 0xAC; ++b)
            printable[b] = true;
        for (int b = 0xAE; b <= 0xFF; ++b)
            printable[b] = true;
        uint32_t next = 256;
        for (int b = 0; b < 256; ++b)
            t[b] = printable[b] ? uint32_t(b) : next++;
        return t;
    }();
    return table;
}

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
    std::vector<PreStep> steps;
    std::vector<AddedToken> added;                           // sorted by length, longest first
    std::array<std::vector<int32_t>, 256> added_by_first{};  // indices into `added`
    std::optional<int64_t> bos, eos;

    mutable std::mutex cache_mutex;
    mutable std::unordered_map<std::string, std::vector<int32_t>> cache;

    void bpe_piece(std::string_view piece, std::vector<int64_t>& out) const;
    void merge_piece(std::string_view piece, std::vector<int32_t>& ids) const;
    void pretokenize(size_t step, std::string_view piece, std::vector<PcreMatchData>& md,
                     std::vector<int64_t>& out) const;
    void encode_segment(std::string_view segment, std::vector<PcreMatchData>& md,
                        std::vector<int64_t>& out) const;
};

// BPE on the bytes of one pre-token: start from single bytes, repeatedly merge the adjacent pair
// with the lowest rank (leftmost on ties), as Hugging Face's BPE::merge_word does.
void BpeTokenizer::Impl::merge_piece(std::string_view piece, std::vector<int32_t>& ids) const {
    ids.clear();
    if (ignore_merges) {
        auto it = bytes_to_id.find(std::string(piece));
        if (it != bytes_to_id.end()) {
            ids.push_back(it->second);
            return;
        }
    }
    struct Symbol {
        int32_t id;  // token id, or -1 - byte for a byte without a token
        int32_t prev, next;
        bool alive;
    };
    const auto n = int32_t(piece.size());
    std::vector<Symbol> syms(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) {
        const auto b = uint8_t(piece[size_t(i)]);
        syms[size_t(i)] = {byte_id[b] >= 0 ? byte_id[b] : -1 - int32_t(b), i - 1,
                           i + 1 < n ? i + 1 : -1, true};
    }
    struct Candidate {
        int32_t rank, pos;
        bool operator>(const Candidate& o) const {
            return rank != o.rank ? rank > o.rank : pos > o.pos;
        }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
    auto consider = [&](int32_t left) {
        if (left < 0) return;
        const Symbol& l = syms[size_t(left)];
        if (l.next < 0 || l.id < 0 || syms[size_t(l.next)].id < 0) return;
        auto it = merges.find(pair_key(l.id, syms[size_t(l.next)].id));
        if (it != merges.end()) heap.push({it->second.first, left});
    };
    for (int32_t i = 0; i + 1 < n; ++i)
        consider(i);
    while (!heap.empty()) {
        const Candidate c = heap.top();
        heap.pop();
        Symbol& l = syms[size_t(c.pos)];
        if (!l.alive || l.next < 0 || l.id < 0) continue;
        Symbol& r = syms[size_t(l.next)];
        if (r.id < 0) continue;
        auto it = merges.find(pair_key(l.id, r.id));
        if (it == merges.end() || it->second.first != c.rank) continue;  // stale candidate
        l.id = it->second.second;
        r.alive = false;
        l.next = r.next;
        if (r.next >= 0) syms[size_t(r.next)].prev = c.pos;
        consider(l.prev);
        consider(c.pos);
    }
    for (int32_t i = 0; i >= 0 && i < n; i = syms[size_t(i)].next) {
        const int32_t id = syms[size_t(i)].id;
        if (id >= 0) {
            ids.push_back(id);
            continue;
        }
        const auto b = uint8_t(-1 - id);
        if (byte_fallback && fallback_id[b] >= 0) {
            ids.push_back(fallback_id[b]);
        } else if (unk_id) {
            ids.push_back(*unk_id);  // like Hugging Face (fuse_unk is not applied)
        } else {
            throw ValueError(detail::str_cat("tokenizer encode: byte 0x", std::hex, int(b),
                                             " has no token in '", source,
                                             "' and the model has no unk_token or byte_fallback"));
        }
    }
}

void BpeTokenizer::Impl::bpe_piece(std::string_view piece, std::vector<int64_t>& out) const {
    if (piece.empty()) return;
    if (piece.size() == 1 && byte_id[uint8_t(piece[0])] >= 0) {
        out.push_back(byte_id[uint8_t(piece[0])]);
        return;
    }
    const bool cacheable = piece.size() <= kMaxCachedPieceBytes;
    std::string key;
    if (cacheable) {
        key.assign(piece);
        std::lock_guard<std::mutex> lock(cache_mutex);
        auto it = cache.find(key);
        if (it != cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    std::vector<int32_t> ids;
    merge_piece(piece, ids);
    out.insert(out.end(), ids.begin(), ids.end());
    if (cacheable) {
        std::lock_guard<std::mutex> lock(cache_mutex);
        if (cache.size() >= kMaxCacheEntries) cache.clear();
        cache.emplace(std::move(key), std::move(ids));
    }
}

// Applies pre-tokenizer stage `step` to `piece` and feeds the resulting pieces to the next stage
// (the last stage feeds BPE).
void BpeTokenizer::Impl::pretokenize(size_t step, std::string_view piece,
                                     std::vector<PcreMatchData>& md,
                                     std::vector<int64_t>& out) const {
    if (step == steps.size()) {
        bpe_piece(piece, out);
        return;
    }
    if (piece.empty()) return;
    const PreStep& ps = steps[step];
    std::string prefixed;
    if (ps.add_prefix_space && piece[0] != ' ') {
        prefixed = " ";
        prefixed.append(piece);
        piece = prefixed;
    }
    if (!ps.regex) {
        pretokenize(step + 1, piece, md, out);
        return;
    }
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
    pcre2_match_data* match = md[step].get();
    size_t pos = 0;           // next byte to search from
    size_t emitted = 0;       // bytes before this are already handed on
    size_t pending_from = 0;  // MergedWithNext: start of the match waiting for its gap
    bool pending = false;
    while (pos < piece.size()) {
        const int rc = pcre2_match(ps.regex.get(), subject, piece.size(), pos, 0, match, nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        DXL_CHECK(rc >= 0, ValueError, "tokenizer encode: PCRE2 match failed with code ", rc,
                  " in the pre-tokenizer of '", source, "'");
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match);
        const size_t ms = ov[0], me = ov[1];
        if (me == ms) {  // skip empty matches (as Hugging Face does): next character
            pos = ms + 1;
            while (pos < piece.size() && (uint8_t(piece[pos]) & 0xC0) == 0x80)
                ++pos;
            continue;
        }
        const std::string_view gap = piece.substr(emitted, ms - emitted);
        const std::string_view hit = piece.substr(ms, me - ms);
        switch (ps.behavior) {
            case SplitBehavior::Isolated:
                pretokenize(step + 1, gap, md, out);
                pretokenize(step + 1, hit, md, out);
                break;
            case SplitBehavior::Removed:
                pretokenize(step + 1, gap, md, out);
                break;
            case SplitBehavior::MergedWithPrevious:
                pretokenize(step + 1, piece.substr(emitted, me - emitted), md, out);
                break;
            case SplitBehavior::MergedWithNext:
                if (pending) {
                    pretokenize(step + 1, piece.substr(pending_from, ms - pending_from), md, out);
                } else {
                    pretokenize(step + 1, gap, md, out);
                }
                pending = true;
                pending_from = ms;
                break;
        }
        emitted = me;
        pos = me;
    }
    if (ps.behavior == SplitBehavior::MergedWithNext && pending) {
        pretokenize(step + 1, piece.substr(pending_from), md, out);
    } else {
        pretokenize(step + 1, piece.substr(emitted), md, out);
    }
}

void BpeTokenizer::Impl::encode_segment(std::string_view segment, std::vector<PcreMatchData>& md,
                                        std::vector<int64_t>& out) const {
    if (segment.empty()) return;
    if (nfc) {
        const std::string normalized = nfc_normalize(segment);
        pretokenize(0, normalized, md, out);
    } else {
        pretokenize(0, segment, md, out);
    }
}

BpeTokenizer::BpeTokenizer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
BpeTokenizer::~BpeTokenizer() = default;

std::unique_ptr<BpeTokenizer> BpeTokenizer::from_json_text(std::string_view json_text,
                                                           const std::string& source,
                                                           const std::string& fingerprint) {
    json j;
    try {
        j = json::parse(json_text.begin(), json_text.end());
    } catch (const json::exception& e) {
        throw FormatError(detail::str_cat(source, ": expected valid JSON, but parsing failed (",
                                          e.what(), "); re-download the tokenizer"));
    }
    DXL_CHECK(j.is_object(), FormatError, source, ": expected a JSON object at the top level");
    auto impl = std::make_unique<Impl>();
    impl->source = source;
    impl->fingerprint = fingerprint.empty() ? sha256_hex(json_text) : fingerprint;
    impl->byte_id.fill(-1);
    impl->fallback_id.fill(-1);

    // --- model ---
    DXL_CHECK(j.contains("model") && j["model"].is_object(), FormatError, source,
              ": expected an object field 'model'");
    const json& model = j["model"];
    const std::string model_type = model.value("type", model.contains("merges") ? "BPE" : "");
    DXL_CHECK(model_type == "BPE", UnsupportedError, source, ": field 'model.type': expected 'BPE'",
              " (byte-level BPE), but got '", model_type,
              "'; WordPiece, Unigram and WordLevel tokenizers are not supported");
    DXL_CHECK(model.contains("vocab") && model["vocab"].is_object(), FormatError, source,
              ": expected an object field 'model.vocab'");
    DXL_CHECK(model.contains("merges") && model["merges"].is_array(), FormatError, source,
              ": expected an array field 'model.merges'");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
        const bool empty = !model.contains(key) || model[key].is_null() ||
                           (model[key].is_string() && model[key].get<std::string>().empty());
        DXL_CHECK(empty, UnsupportedError, source, ": field 'model.", key,
                  "': expected empty or null (byte-level BPE), but got ", model[key].dump());
    }
    DXL_CHECK(!model.contains("dropout") || model["dropout"].is_null() ||
                  (model["dropout"].is_number() && model["dropout"].get<double>() == 0.0),
              UnsupportedError, source, ": field 'model.dropout': BPE dropout is not supported");
    impl->byte_fallback = model.value("byte_fallback", false);
    impl->ignore_merges = model.value("ignore_merges", false);

    // Inverse of the byte-level map: code point -> byte.
    std::unordered_map<uint32_t, uint8_t> unicode_to_byte;
    for (int b = 0; b < 256; ++b)
        unicode_to_byte[byte_to_unicode()[size_t(b)]] = uint8_t(b);
    // A vocabulary token's raw bytes: every code point must be a byte-level character; tokens
    // with other characters are kept as their UTF-8 text.
    auto token_to_bytes = [&](const std::string& tok) {
        std::string bytes;
        bytes.reserve(tok.size());
        for (size_t i = 0; i < tok.size();) {
            uint32_t cp = 0;
            const size_t len = decode_utf8(tok, i, cp);
            auto it = len ? unicode_to_byte.find(cp) : unicode_to_byte.end();
            if (it == unicode_to_byte.end()) return tok;
            bytes.push_back(char(it->second));
            i += len;
        }
        return bytes;
    };

    auto set_token = [&](int64_t id, std::string bytes, const std::string& what) {
        DXL_CHECK(id >= 0 && id < (int64_t(1) << 30), FormatError, source, ": ", what,
                  ": expected an id in [0, 2^30), but got ", id);
        if (size_t(id) >= impl->id_bytes.size()) {
            impl->id_bytes.resize(size_t(id) + 1);
            impl->id_valid.resize(size_t(id) + 1, false);
        }
        impl->id_bytes[size_t(id)] = bytes;
        impl->id_valid[size_t(id)] = true;
        impl->bytes_to_id.emplace(std::move(bytes), int32_t(id));
    };
    for (const auto& [tok, id_json] : model["vocab"].items()) {
        DXL_CHECK(id_json.is_number_integer(), FormatError, source, ": model.vocab['", tok,
                  "']: expected an integer id, but got ", id_json.dump());
        set_token(id_json.get<int64_t>(), token_to_bytes(tok),
                  detail::str_cat("model.vocab['", tok, "']"));
    }
    for (int b = 0; b < 256; ++b) {
        auto it = impl->bytes_to_id.find(std::string(1, char(b)));
        if (it != impl->bytes_to_id.end()) impl->byte_id[size_t(b)] = it->second;
        if (impl->byte_fallback) {
            static const char* kHex = "0123456789ABCDEF";
            const std::string name = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
            auto fb = impl->bytes_to_id.find(name);
            if (fb != impl->bytes_to_id.end()) impl->fallback_id[size_t(b)] = fb->second;
        }
    }
    if (model.contains("unk_token") && model["unk_token"].is_string()) {
        const std::string unk = model["unk_token"].get<std::string>();
        auto it = impl->bytes_to_id.find(token_to_bytes(unk));
        DXL_CHECK(it != impl->bytes_to_id.end(), FormatError, source, ": model.unk_token '", unk,
                  "' is not in model.vocab");
        impl->unk_id = it->second;
    }

    // Merges: "a b" strings or ["a", "b"] pairs; rank = position in the list.
    const json& merges = model["merges"];
    impl->merges.reserve(merges.size());
    for (size_t rank = 0; rank < merges.size(); ++rank) {
        const json& m = merges[rank];
        std::string a, b;
        if (m.is_string()) {
            const std::string s = m.get<std::string>();
            const size_t sp = s.find(' ');
            DXL_CHECK(sp != std::string::npos && s.find(' ', sp + 1) == std::string::npos,
                      FormatError, source, ": model.merges[", rank,
                      "]: expected \"left right\" with exactly one space, but got \"", s, "\"");
            a = s.substr(0, sp);
            b = s.substr(sp + 1);
        } else {
            DXL_CHECK(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(),
                      FormatError, source, ": model.merges[", rank,
                      "]: expected a string \"a b\" or a pair [\"a\", \"b\"], but got ", m.dump());
            a = m[0].get<std::string>();
            b = m[1].get<std::string>();
        }
        const std::string ab = token_to_bytes(a), bb = token_to_bytes(b);
        auto ia = impl->bytes_to_id.find(ab);
        auto ib = impl->bytes_to_id.find(bb);
        auto im = impl->bytes_to_id.find(ab + bb);
        DXL_CHECK(ia != impl->bytes_to_id.end() && ib != impl->bytes_to_id.end() &&
                      im != impl->bytes_to_id.end(),
                  FormatError, source, ": model.merges[", rank, "] ('", a, "', '", b,
                  "'): expected both parts and their concatenation in model.vocab");
        impl->merges.emplace(pair_key(ia->second, ib->second),
                             std::make_pair(int32_t(rank), im->second));
    }

    // --- added tokens ---
    if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
        for (const json& t : j["added_tokens"]) {
            DXL_CHECK(t.is_object() && t.contains("id") && t["id"].is_number_integer() &&
                          t.contains("content") && t["content"].is_string(),
                      FormatError, source,
                      ": added_tokens: expected objects with an integer 'id' and a string "
                      "'content', but got ",
                      t.dump());
            AddedToken a;
            a.id = int32_t(t["id"].get<int64_t>());
            a.content = t["content"].get<std::string>();
            a.special = t.value("special", false);
            DXL_CHECK(!a.content.empty(), FormatError, source, ": added token ", a.id,
                      " has empty content");
            set_token(a.id, a.content, detail::str_cat("added token '", a.content, "'"));
            impl->added.push_back(std::move(a));
        }
    }
    std::stable_sort(impl->added.begin(), impl->added.end(), [](const auto& x, const auto& y) {
        return x.content.size() > y.content.size();
    });
    for (size_t i = 0; i < impl->added.size(); ++i) {
        impl->added_by_first[uint8_t(impl->added[i].content[0])].push_back(int32_t(i));
    }

    // --- normalizer ---
    auto parse_normalizer = [&](const json& n, auto& self) -> void {
        if (n.is_null()) return;
        const std::string type = n.value("type", "");
        if (type == "NFC") {
            impl->nfc = true;
        } else if (type == "Sequence") {
            for (const json& sub : n.value("normalizers", json::array()))
                self(sub, self);
        } else {
            throw UnsupportedError(detail::str_cat(
                source, ": field 'normalizer': expected null, NFC or a Sequence of NFC, but got '",
                type, "'; this normalizer is not implemented"));
        }
    };
    if (j.contains("normalizer")) parse_normalizer(j["normalizer"], parse_normalizer);

    // --- pre-tokenizer ---
    bool byte_level = false;
    auto parse_pre = [&](const json& p, auto& self) -> void {
        if (p.is_null()) return;
        const std::string type = p.value("type", "");
        if (type == "Sequence") {
            for (const json& sub : p.value("pretokenizers", json::array()))
                self(sub, self);
        } else if (type == "ByteLevel") {
            byte_level = true;
            PreStep s;
            s.add_prefix_space = p.value("add_prefix_space", false);
            if (p.value("use_regex", true)) {
                s.regex = compile_regex(kGpt2Pattern, false, source + ": ByteLevel pre_tokenizer");
            }
            impl->steps.push_back(std::move(s));
        } else if (type == "Split") {
            DXL_CHECK(!p.value("invert", false), UnsupportedError, source,
                      ": pre_tokenizer Split with invert = true is not supported");
            const json& pat = p.value("pattern", json::object());
            PreStep s;
            if (pat.contains("Regex")) {
                s.regex = compile_regex(pat["Regex"].get<std::string>(), false,
                                        source + ": pre_tokenizer Split");
            } else if (pat.contains("String")) {
                s.regex = compile_regex(pat["String"].get<std::string>(), true,
                                        source + ": pre_tokenizer Split");
            } else {
                throw FormatError(source +
                                  ": pre_tokenizer Split: expected pattern.Regex or "
                                  "pattern.String, but got " +
                                  pat.dump());
            }
            const std::string behavior = p.value("behavior", "Isolated");
            if (behavior == "Isolated") {
                s.behavior = SplitBehavior::Isolated;
            } else if (behavior == "Removed") {
                s.behavior = SplitBehavior::Removed;
            } else if (behavior == "MergedWithPrevious") {
                s.behavior = SplitBehavior::MergedWithPrevious;
            } else if (behavior == "MergedWithNext") {
                s.behavior = SplitBehavior::MergedWithNext;
            } else {
                throw UnsupportedError(detail::str_cat(source, ": pre_tokenizer Split behavior '",
                                                       behavior, "' is not supported"));
            }
            impl->steps.push_back(std::move(s));
        } else if (type == "Digits") {
            PreStep s;
            s.regex = compile_regex(p.value("individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)",
                                    false, source + ": pre_tokenizer Digits");
            impl->steps.push_back(std::move(s));
        } else {
            throw UnsupportedError(detail::str_cat(
                source, ": field 'pre_tokenizer': type '", type,
                "' is not supported (expected ByteLevel, Split, Digits or Sequence)"));
        }
    };
    if (j.contains("pre_tokenizer")) parse_pre(j["pre_tokenizer"], parse_pre);
    if (j.contains("decoder") && j["decoder"].is_object()) {
        const json& d = j["decoder"];
        if (d.value("type", "") == "ByteLevel") byte_level = true;
        if (d.value("type", "") == "Sequence") {
            for (const json& sub : d.value("decoders", json::array())) {
                if (sub.value("type", "") == "ByteLevel") byte_level = true;
            }
        }
    }
    DXL_CHECK(byte_level, UnsupportedError, source,
              ": expected a byte-level BPE (a ByteLevel pre_tokenizer or decoder), but found "
              "none; SentencePiece-style BPE (Metaspace) is not supported");
    return std::unique_ptr<BpeTokenizer>(new BpeTokenizer(std::move(impl)));
}

std::unique_ptr<BpeTokenizer> BpeTokenizer::load(const std::string& tokenizer_json_path) {
    const std::string text = read_file(tokenizer_json_path);
    auto tok = from_json_text(text, tokenizer_json_path);
    // BOS/EOS from tokenizer_config.json next to it.
    const auto config_path =
        std::filesystem::path(tokenizer_json_path).parent_path() / "tokenizer_config.json";
    std::optional<int64_t> bos, eos;
    if (std::filesystem::exists(config_path)) {
        json cfg;
        try {
            cfg = json::parse(read_file(config_path.string()));
        } catch (const json::exception& e) {
            throw FormatError(
                detail::str_cat(config_path.string(), ": expected valid JSON (", e.what(), ")"));
        }
        auto lookup = [&](const char* key) -> std::optional<int64_t> {
            if (!cfg.is_object() || !cfg.contains(key)) return std::nullopt;
            const json& v = cfg[key];
            std::string content;
            if (v.is_string()) {
                content = v.get<std::string>();
            } else if (v.is_object() && v.contains("content") && v["content"].is_string()) {
                content = v["content"].get<std::string>();
            } else {
                return std::nullopt;
            }
            auto id = tok->special_token_id(content);
            return id ? id : tok->token_to_id(content);
        };
        bos = lookup("bos_token");
        eos = lookup("eos_token");
    } else {
        eos = tok->special_token_id("<|endoftext|>");
    }
    tok->set_bos_eos(bos, eos);
    return tok;
}

std::vector<int64_t> BpeTokenizer::encode_impl(std::string_view text, bool allow_special) const {
    const Impl& im = *m_impl;
    std::vector<PcreMatchData> md;
    md.reserve(im.steps.size());
    for (const PreStep& s : im.steps) {
        md.emplace_back(s.regex ? pcre2_match_data_create_from_pattern(s.regex.get(), nullptr)
                                : nullptr);
        DXL_CHECK(!s.regex || md.back(), InternalError, "tokenizer: out of memory for PCRE2");
    }
    std::vector<int64_t> out;
    out.reserve(text.size() / 3 + 4);
    size_t seg_start = 0;
    for (size_t i = 0; i < text.size();) {
        const AddedToken* found = nullptr;
        for (int32_t idx : im.added_by_first[uint8_t(text[i])]) {
            const AddedToken& a = im.added[size_t(idx)];
            if (a.special && !allow_special) continue;
            if (text.compare(i, a.content.size(), a.content) == 0) {
                found = &a;  // candidates are sorted longest first
                break;
            }
        }
        if (!found) {
            ++i;
            continue;
        }
        im.encode_segment(text.substr(seg_start, i - seg_start), md, out);
        out.push_back(found->id);
        i += found->content.size();
        seg_start = i;
    }
    im.encode_segment(text.substr(seg_start), md, out);
    return out;
}

std::vector<int64_t> BpeTokenizer::encode(std::string_view text) const {
    return encode_impl(text, true);
}
std::vector<int64_t> BpeTokenizer::encode_ordinary(std::string_view text) const {
    return encode_impl(text, false);
}

const std::string& BpeTokenizer::token_bytes(int64_t id) const {
    const Impl& im = *m_impl;
    DXL_CHECK(id >= 0 && size_t(id) < im.id_bytes.size() && im.id_valid[size_t(id)], ValueError,
              "tokenizer: expected a token id in [0, ", im.id_bytes.size(), ") of '", im.source,
              "', but got ", id);
    return im.id_bytes[size_t(id)];
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids) const {
    const Impl& im = *m_impl;
    std::string out;
    for (int64_t id : ids) {
        const std::string& b = token_bytes(id);
        if (im.byte_fallback && b.size() == 6 && b[0] == '<' && b[1] == '0' && b[2] == 'x' &&
            b[5] == '>' && std::isxdigit(uint8_t(b[3])) && std::isxdigit(uint8_t(b[4]))) {
            out.push_back(char(std::stoi(b.substr(3, 2), nullptr, 16)));
        } else {
            out += b;
        }
    }
    return out;
}

std::string BpeTokenizer::token_label(int64_t id) const {
    return escape_invalid_utf8(token_bytes(id));
}

int64_t BpeTokenizer::vocab_size() const {
    return int64_t(m_impl->id_bytes.size());
}

std::string BpeTokenizer::description() const {
    return detail::str_cat("byte-level BPE, ", vocab_size(), " tokens, ", merge_count(), " merges",
                           m_impl->nfc ? ", NFC" : "", " (", m_impl->source, ")");
}

std::string BpeTokenizer::fingerprint() const {
    return m_impl->fingerprint;
}
std::optional<int64_t> BpeTokenizer::bos_id() const {
    return m_impl->bos;
}
std::optional<int64_t> BpeTokenizer::eos_id() const {
    return m_impl->eos;
}

std::optional<int64_t> BpeTokenizer::special_token_id(std::string_view content) const {
    for (const AddedToken& a : m_impl->added) {
        if (a.content == content) return a.id;
    }
    return std::nullopt;
}

std::optional<int64_t> BpeTokenizer::token_to_id(std::string_view token_bytes) const {
    auto it = m_impl->bytes_to_id.find(std::string(token_bytes));
    if (it == m_impl->bytes_to_id.end()) return std::nullopt;
    return it->second;
}

bool BpeTokenizer::normalizes_nfc() const {
    return m_impl->nfc;
}
size_t BpeTokenizer::merge_count() const {
    return m_impl->merges.size();
}
void BpeTokenizer::set_bos_eos(std::optional<int64_t> bos, std::optional<int64_t> eos) {
    m_impl->bos = bos;
    m_impl->eos = eos;
}

}  // namespace dxl::io
