// Byte tokenizer for the built-in models: ids 0..255 are the bytes themselves, then the special
// tokens <|bos|>=256, <|eos|>=257, <|pad|>=258 (vocab_size 259). Any byte string round-trips,
// including invalid UTF-8. Special tokens written in the text become their ids in encode() and
// stay bytes in encode_ordinary().
#pragma once

#include "core/io/tokenizer.h"

namespace dxl::io {

class ByteTokenizer final : public Tokenizer {
  public:
    static constexpr int64_t kBos = 256;
    static constexpr int64_t kEos = 257;
    static constexpr int64_t kPad = 258;
    static constexpr int64_t kVocabSize = 259;

    std::vector<int64_t> encode(std::string_view text) const override;
    std::vector<int64_t> encode_ordinary(std::string_view text) const override;
    std::string decode(const std::vector<int64_t>& ids) const override;
    std::string token_label(int64_t id) const override;
    bool has_token(int64_t id) const override { return id >= 0 && id < kVocabSize; }
    int64_t vocab_size() const override { return kVocabSize; }
    std::string kind() const override { return "byte"; }
    std::string description() const override;
    std::string fingerprint() const override { return "dxl-byte-v1"; }
    std::optional<int64_t> bos_id() const override { return kBos; }
    std::optional<int64_t> eos_id() const override { return kEos; }
    std::optional<int64_t> pad_id() const { return kPad; }
    std::optional<int64_t> special_token_id(std::string_view content) const override;
};

}  // namespace dxl::io
