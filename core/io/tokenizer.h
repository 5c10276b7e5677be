// Tokenizer interface and loader. Implementations: byte-level BPE from a Hugging Face
// tokenizer.json (GPT-2, Qwen2, Llama-3 style) and a byte tokenizer (256 bytes + specials) for
// our built-in models.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dxl::io {

class Tokenizer {
  public:
    virtual ~Tokenizer() = default;
    // Encodes `text` (any bytes; see the implementation headers for the invalid-UTF-8 policy).
    // Special tokens written in the text (e.g. "<|endoftext|>") become their ids. No BOS/EOS is
    // added: callers prepend bos_id() themselves.
    virtual std::vector<int64_t> encode(std::string_view text) const = 0;
    // Like encode(), but special tokens written in the text are encoded as ordinary text
    // (use for untrusted input). Non-special added tokens are still matched.
    virtual std::vector<int64_t> encode_ordinary(std::string_view text) const = 0;
    // Exact byte round-trip for ids produced by encode(); invalid ids throw ValueError.
    virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
    // Human-readable text of one token for labels (bytes that are not valid UTF-8 are shown
    // as \xNN escapes). Never throws: an id with no entry is shown as "<id N>" (models pad
    // their vocabulary beyond the tokenizer, e.g. Qwen2.5 151,936 rows for 151,665 tokens, and
    // an untrained model predicts padding ids).
    virtual std::string token_label(int64_t id) const = 0;
    // Whether `id` has an entry (decode() accepts it).
    virtual bool has_token(int64_t id) const = 0;
    // decode() for showing model output: ids with no entry become "<id N>" instead of throwing.
    std::string decode_for_display(const std::vector<int64_t>& ids) const {
        std::string out;
        std::vector<int64_t> run;  // known ids decode together (multi-byte characters span ids)
        for (int64_t id : ids) {
            if (has_token(id)) {
                run.push_back(id);
                continue;
            }
            out += decode(run);
            run.clear();
            out += "<id " + std::to_string(id) + ">";
        }
        return out + decode(run);
    }
    virtual int64_t vocab_size() const = 0;
    virtual std::string kind() const = 0;  // "byte-level-bpe", "byte"
    virtual std::string description() const = 0;
    // SHA-256 (hex) of the defining file(s), or a fixed id for built-in tokenizers.
    virtual std::string fingerprint() const = 0;
    virtual std::optional<int64_t> bos_id() const { return std::nullopt; }
    virtual std::optional<int64_t> eos_id() const { return std::nullopt; }
    // Id of an added/special token given its exact text (e.g. "<|im_start|>"), if any.
    virtual std::optional<int64_t> special_token_id(std::string_view content) const = 0;
};

// Loads DIR/tokenizer.json when present; else a byte tokenizer when DIR/config.json asks for one
// ("tokenizer_class": "dxl-byte"); else nullptr (the model is usable with --tokens only).
// Throws FormatError/UnsupportedError when a tokenizer file exists but cannot be used.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir);

// The built-in byte tokenizer: ids 0..255 are bytes, then <|bos|>=256, <|eos|>=257, <|pad|>=258.
std::unique_ptr<Tokenizer> make_byte_tokenizer();

// Escapes a byte string for display: valid UTF-8 is kept, other bytes become \xNN.
std::string escape_invalid_utf8(std::string_view bytes);

}  // namespace dxl::io
