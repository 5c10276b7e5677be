// libFuzzer target: arbitrary bytes through byte-level BPE tokenizers built from small in-memory
// tokenizer.json files (GPT-2 and Qwen-style pre-tokenizers, added tokens, NFC). Aborts unless
// every id is in range and decode(encode(x)) == x, or, for the NFC tokenizer,
// NFC(decode(encode(x)))
// == NFC(x) (NFC is applied to each segment between added tokens, so a mark right after an added
// token is not composed with it, as in Hugging Face tokenizers).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/io/tokenizer_bpe.h"
#include "core/io/tokenizer_nfc.h"

namespace {

using nlohmann::json;

std::string spell(const std::string& bytes) {
    std::string out;
    for (char c : bytes) {
        const uint32_t cp = dxl::io::byte_to_unicode()[uint8_t(c)];
        if (cp < 0x80) {
            out.push_back(char(cp));
        } else {
            out.push_back(char(0xC0 | (cp >> 6)));
            out.push_back(char(0x80 | (cp & 0x3F)));
        }
    }
    return out;
}

std::unique_ptr<dxl::io::BpeTokenizer> make(bool qwen_style) {
    json vocab = json::object();
    int next = 0;
    auto add = [&](const std::string& bytes) {
        if (!vocab.contains(spell(bytes))) vocab[spell(bytes)] = next++;
    };
    for (int b = 0; b < 256; ++b)
        add(std::string(1, char(b)));
    const std::vector<std::pair<std::string, std::string>> pairs = {
        {" ", "t"},    {"h", "e"},       {" t", "he"},     {"i", "n"},
        {" ", " "},    {"\n", "\n"},     {"'", "s"},       {"\xc3", "\xa9"},
        {"e", "\xcc"}, {"\xe4", "\xb8"}, {"\xff", "\xfe"}, {"1", "2"},
        {"a", "a"},    {"aa", "aa"},     {"<", "|"},       {"|", ">"}};
    json merges = json::array();
    for (const auto& [a, b] : pairs) {
        add(a + b);
        merges.push_back(spell(a) + " " + spell(b));
    }
    json added = {{{"id", next}, {"content", "<|endoftext|>"}, {"special", true}},
                  {{"id", next + 1}, {"content", "<|end|>x"}, {"special", false}}};
    json byte_level = {
        {"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", !qwen_style}};
    json pre = byte_level;
    if (qwen_style) {
        pre = {
            {"type", "Sequence"},
            {"pretokenizers",
             {{{"type", "Split"},
               {"pattern",
                {{"Regex",
                  R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}}},
               {"behavior", "Isolated"}},
              byte_level}}};
    }
    json j = {{"added_tokens", added},
              {"normalizer", qwen_style ? json{{"type", "NFC"}} : json(nullptr)},
              {"pre_tokenizer", pre},
              {"decoder", byte_level},
              {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
    return dxl::io::BpeTokenizer::from_json_text(j.dump(), "fuzz tokenizer.json");
}

void check(bool ok, const char* what, std::string_view input) {
    if (ok) return;
    std::fprintf(stderr, "fuzz_tokenizer: %s failed for %zu input bytes\n", what, input.size());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const auto gpt2_style = make(false);
    static const auto qwen_style = make(true);
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    for (const auto* tok : {gpt2_style.get(), qwen_style.get()}) {
        const bool nfc = tok->normalizes_nfc();
        const std::string expected = nfc ? dxl::io::nfc_normalize(input) : std::string(input);
        for (bool ordinary : {false, true}) {
            const std::vector<int64_t> ids =
                ordinary ? tok->encode_ordinary(input) : tok->encode(input);
            for (int64_t id : ids)
                check(id >= 0 && id < tok->vocab_size(), "id range", input);
            const std::string decoded = tok->decode(ids);
            check((nfc ? dxl::io::nfc_normalize(decoded) : decoded) == expected,
                  "decode(encode(x)) == x", input);
        }
    }
    // NFC is idempotent.
    const std::string once = dxl::io::nfc_normalize(input);
    check(dxl::io::nfc_normalize(once) == once, "nfc idempotence", input);
    return 0;
}
