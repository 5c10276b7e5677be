// Byte-level BPE tokenizer loaded from a Hugging Face tokenizer.json (GPT-2, Qwen2/Qwen3,
// Llama-3 style). encode() runs, per call:
//   1. added tokens are split out of the raw text (leftmost, then longest match first);
//   2. each remaining segment is normalized on its own (NFC when the file asks for it, see
//      tokenizer_nfc.h), so a combining mark right after an added token is not composed with it;
//   3. the pre-tokenizer splits it (Split regexes and ByteLevel's GPT-2 regex, via PCRE2 with
//      UTF + UCP, JIT-compiled when available);
//   4. every piece is BPE-merged on its bytes by merge rank (cached per piece).
// decode() concatenates the bytes of the ids, so decode(encode(s)) == s for every byte string s
// whenever the file's normalizer leaves s unchanged (always for files without a normalizer, and
// for NFC text with an NFC normalizer) and ByteLevel.add_prefix_space is false.
//
// Invalid UTF-8 policy: input need not be valid UTF-8. Regexes are matched with
// PCRE2_MATCH_INVALID_UTF, so no match ever covers an invalid byte; every maximal run of bytes
// that the regex does not cover (which includes every invalid byte) becomes its own pre-token,
// and its bytes are BPE-merged like any other piece (byte-level vocabularies hold all 256 bytes).
// NFC leaves invalid bytes untouched. Hence invalid input still round-trips byte for byte.
// (Hugging Face's own library accepts only valid UTF-8, so there is no reference for such input.)
//
// Supported: model "BPE" (merges as "a b" strings or ["a","b"] pairs; ignore_merges;
// byte_fallback with <0xNN> tokens; unk_token); normalizer null / NFC / Sequence of NFC;
// pre_tokenizer null / ByteLevel / Split (behavior Isolated, Removed, MergedWithPrevious,
// MergedWithNext; invert false) / Digits / Sequence. Anything else (WordPiece, Unigram, WordLevel,
// Metaspace, other normalizers) throws UnsupportedError naming the field. Not implemented: the
// post_processor (encode never adds BOS/EOS) and the lstrip/rstrip/single_word flags of added
// tokens (ignored); added tokens are matched on the raw text even when "normalized" is true.
#pragma once

#include "core/io/tokenizer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dxl::io {

class BpeTokenizer final : public Tokenizer {
  public:
    // Parses tokenizer.json text; `source` names the file in error messages and `fingerprint`
    // is returned by fingerprint() (defaults to the SHA-256 of `json_text`).
    static std::unique_ptr<BpeTokenizer> from_json_text(std::string_view json_text,
                                                        const std::string& source,
                                                        const std::string& fingerprint = {});
    // Loads PATH (a tokenizer.json). BOS/EOS come from a sibling tokenizer_config.json
    // ("bos_token"/"eos_token") when present, else EOS = "<|endoftext|>" when that token exists.
    static std::unique_ptr<BpeTokenizer> load(const std::string& tokenizer_json_path);

    ~BpeTokenizer() override;
    BpeTokenizer(const BpeTokenizer&) = delete;
    BpeTokenizer& operator=(const BpeTokenizer&) = delete;

    std::vector<int64_t> encode(std::string_view text) const override;
    std::vector<int64_t> encode_ordinary(std::string_view text) const override;
    std::string decode(const std::vector<int64_t>& ids) const override;
    std::string token_label(int64_t id) const override;
    bool has_token(int64_t id) const override;
    int64_t vocab_size() const override;
    std::string kind() const override { return "byte-level-bpe"; }
    std::string description() const override;
    std::string fingerprint() const override;
    std::optional<int64_t> bos_id() const override;
    std::optional<int64_t> eos_id() const override;
    std::optional<int64_t> special_token_id(std::string_view content) const override;

    // Id of the vocabulary token with these raw bytes (not the byte-level unicode spelling).
    std::optional<int64_t> token_to_id(std::string_view token_bytes) const;
    // Raw bytes of token `id`; ValueError when there is no such token.
    const std::string& token_bytes(int64_t id) const;
    bool normalizes_nfc() const;
    size_t merge_count() const;
    void set_bos_eos(std::optional<int64_t> bos, std::optional<int64_t> eos);

  private:
    struct Impl;
    explicit BpeTokenizer(std::unique_ptr<Impl> impl);
    std::vector<int64_t> encode_impl(std::string_view text, bool allow_special) const;

    std::unique_ptr<Impl> m_impl;
};

// The GPT-2 byte <-> unicode map: byte b is spelled as the code point byte_to_unicode()[b] in
// byte-level vocabularies (printable Latin-1 bytes map to themselves, the rest to U+0100...).
const std::vector<uint32_t>& byte_to_unicode();

}  // namespace dxl::io
