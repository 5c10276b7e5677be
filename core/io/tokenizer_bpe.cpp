// Byte-level BPE from a Hugging Face tokenizer.json: pre-tokenization with PCRE2, ranked merges
// with a per-piece cache, and exact byte decoding. Reading the file: tokenizer_bpe_load.cpp.
#include "core/io/tokenizer_bpe.h"

#include "core/base/error.h"
#include "core/io/tokenizer_bpe_impl.h"
#include "core/io/tokenizer_nfc.h"
#include "core/io/tokenizer_utf8.h"

#include <algorithm>
#include <queue>

namespace dxl::io {
namespace {

using namespace bpe_detail;

// Pieces longer than this are BPE-merged without touching the cache.
constexpr size_t kMaxCachedPieceBytes = 256;
// The cache is cleared when it grows past this many pieces (bounds memory on odd inputs).
constexpr size_t kMaxCacheEntries = 1 << 18;

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
    if (!has_token(id)) return "<id " + std::to_string(id) + ">";
    return escape_invalid_utf8(token_bytes(id));
}

bool BpeTokenizer::has_token(int64_t id) const {
    const Impl& im = *m_impl;
    return id >= 0 && size_t(id) < im.id_bytes.size() && im.id_valid[size_t(id)];
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
