// Byte-level BPE: reading a Hugging Face tokenizer.json (model, merges in both formats, added
// tokens, normalizer, pre-tokenizer stages, decoder) and tokenizer_config.json. See
// tokenizer_bpe.h.
#include "core/base/error.h"
#include "core/io/sha256.h"
#include "core/io/tokenizer_bpe_impl.h"
#include "core/io/tokenizer_utf8.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace dxl::io {
namespace {

using namespace bpe_detail;
using nlohmann::json;

// GPT-2's pre-tokenizer regex (ByteLevel with use_regex = true).
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    DXL_CHECK(in, IoError, "tokenizer: cannot open '", path, "'; check that the file exists");
    std::ostringstream ss;
    ss << in.rdbuf();
    DXL_CHECK(!in.bad(), IoError, "tokenizer: read error in '", path, "'");
    return ss.str();
}

}  // namespace

namespace bpe_detail {

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

}  // namespace bpe_detail

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

}  // namespace dxl::io
