// The byte tokenizer, load_tokenizer() and the display helper escape_invalid_utf8().
#include "core/io/tokenizer_byte.h"

#include "core/base/error.h"
#include "core/io/json_config.h"
#include "core/io/tokenizer_bpe.h"
#include "core/io/tokenizer_utf8.h"

#include <array>
#include <filesystem>

namespace dxl::io {
namespace {

constexpr std::array<const char*, 3> kSpecials = {"<|bos|>", "<|eos|>", "<|pad|>"};

std::vector<int64_t> encode_bytes(std::string_view text, bool allow_special) {
    std::vector<int64_t> out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        if (allow_special && text[i] == '<') {
            bool matched = false;
            for (size_t k = 0; k < kSpecials.size(); ++k) {
                const std::string_view s = kSpecials[k];
                if (text.compare(i, s.size(), s) == 0) {
                    out.push_back(ByteTokenizer::kBos + int64_t(k));
                    i += s.size();
                    matched = true;
                    break;
                }
            }
            if (matched) continue;
        }
        out.push_back(int64_t(uint8_t(text[i])));
        ++i;
    }
    return out;
}

}  // namespace

std::vector<int64_t> ByteTokenizer::encode(std::string_view text) const {
    return encode_bytes(text, true);
}
std::vector<int64_t> ByteTokenizer::encode_ordinary(std::string_view text) const {
    return encode_bytes(text, false);
}

std::string ByteTokenizer::decode(const std::vector<int64_t>& ids) const {
    std::string out;
    out.reserve(ids.size());
    for (int64_t id : ids) {
        DXL_CHECK(id >= 0 && id < kVocabSize, ValueError,
                  "byte tokenizer decode: expected ids in [0, ", kVocabSize, "), but got ", id);
        if (id < 256) {
            out.push_back(char(uint8_t(id)));
        } else {
            out += kSpecials[size_t(id - 256)];
        }
    }
    return out;
}

std::string ByteTokenizer::token_label(int64_t id) const {
    if (!has_token(id)) return "<id " + std::to_string(id) + ">";
    if (id >= 256) return kSpecials[size_t(id - 256)];
    return escape_invalid_utf8(std::string(1, char(uint8_t(id))));
}

std::string ByteTokenizer::description() const {
    return "byte tokenizer, 256 bytes + <|bos|> <|eos|> <|pad|>";
}

std::optional<int64_t> ByteTokenizer::special_token_id(std::string_view content) const {
    for (size_t k = 0; k < kSpecials.size(); ++k) {
        if (content == kSpecials[k]) return kBos + int64_t(k);
    }
    return std::nullopt;
}

std::unique_ptr<Tokenizer> make_byte_tokenizer() {
    return std::make_unique<ByteTokenizer>();
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_dir) {
    namespace fs = std::filesystem;
    const fs::path dir(model_dir);
    const fs::path tokenizer_json = dir / "tokenizer.json";
    if (fs::exists(tokenizer_json)) return BpeTokenizer::load(tokenizer_json.string());
    const fs::path config_json = dir / "config.json";
    if (fs::exists(config_json)) {
        const JsonConfig cfg = JsonConfig::load(config_json.string());
        if (cfg.get_or<std::string>("tokenizer_class", "") == "dxl-byte") {
            return make_byte_tokenizer();
        }
    }
    return nullptr;
}

std::string escape_invalid_utf8(std::string_view bytes) {
    static const char* kHex = "0123456789ABCDEF";
    std::string out;
    out.reserve(bytes.size());
    for (size_t i = 0; i < bytes.size();) {
        uint32_t cp = 0;
        const size_t len = decode_utf8(bytes, i, cp);
        if (len > 0) {
            out.append(bytes.substr(i, len));
            i += len;
        } else {
            const auto b = uint8_t(bytes[i]);
            out += "\\x";
            out.push_back(kHex[b >> 4]);
            out.push_back(kHex[b & 15]);
            ++i;
        }
    }
    return out;
}

}  // namespace dxl::io
