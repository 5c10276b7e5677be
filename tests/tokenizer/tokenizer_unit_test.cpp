// Tokenizer logic on small tokenizer.json files written by the tests themselves (no download):
// merge ranking, both merge formats, pre-tokenizer regexes, added/special tokens, byte fallback,
// the invalid-UTF-8 policy, NFC, the byte tokenizer and load_tokenizer().
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/io/sha256.h"
#include "core/io/tokenizer.h"
#include "core/io/tokenizer_bpe.h"
#include "core/io/tokenizer_byte.h"
#include "core/io/tokenizer_nfc.h"
#include "tests/support/test_paths.h"

namespace {

using dxl::io::BpeTokenizer;
using nlohmann::json;

constexpr const char* kQwenRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Spells raw bytes in the GPT-2 byte-level alphabet, as tokenizer.json stores them.
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

json bytelevel_pre(bool use_regex = true) {
    return {{"type", "ByteLevel"},
            {"add_prefix_space", false},
            {"trim_offsets", true},
            {"use_regex", use_regex}};
}
json qwen_pre() {
    return {{"type", "Sequence"},
            {"pretokenizers",
             {{{"type", "Split"},
               {"pattern", {{"Regex", kQwenRegex}}},
               {"behavior", "Isolated"},
               {"invert", false}},
              bytelevel_pre(false)}}};
}

struct TinySpec {
    std::vector<std::pair<std::string, std::string>> merges;  // raw bytes, rank order
    json pre_tokenizer = bytelevel_pre();
    json normalizer = nullptr;
    json added = json::array();
    bool pair_format = false;
    bool all_bytes = true;  // vocabulary holds all 256 single bytes (else printable ASCII only)
    json model_extra = json::object();
    std::vector<std::string> extra_tokens;  // raw bytes, spelled into the vocab
};

// A byte-level tokenizer.json: single bytes first (ids 0..), then one token per merge result.
std::string tiny_json(const TinySpec& s) {
    json vocab = json::object();
    int64_t next = 0;
    auto add = [&](const std::string& bytes, bool spelled = true) {
        const std::string key = spelled ? spell(bytes) : bytes;
        if (!vocab.contains(key)) vocab[key] = next++;
    };
    for (int b = 0; b < 256; ++b) {
        if (s.all_bytes || (b >= 0x21 && b <= 0x7E)) add(std::string(1, char(b)));
    }
    json merges = json::array();
    for (const auto& [a, b] : s.merges) {
        add(a + b);
        if (s.pair_format) {
            merges.push_back({spell(a), spell(b)});
        } else {
            merges.push_back(spell(a) + " " + spell(b));
        }
    }
    for (const auto& t : s.extra_tokens)
        add(t, false);
    json model = {{"type", "BPE"},
                  {"dropout", nullptr},
                  {"unk_token", nullptr},
                  {"vocab", vocab},
                  {"merges", merges},
                  {"byte_fallback", false},
                  {"continuing_subword_prefix", ""},
                  {"end_of_word_suffix", ""}};
    for (const auto& [k, v] : s.model_extra.items())
        model[k] = v;
    json added = s.added;
    for (auto& a : added) {
        if (!a.contains("id")) a["id"] = next++;
    }
    json j = {{"version", "1.0"},
              {"added_tokens", added},
              {"normalizer", s.normalizer},
              {"pre_tokenizer", s.pre_tokenizer},
              {"post_processor", nullptr},
              {"decoder", bytelevel_pre()},
              {"model", model}};
    return j.dump();
}

std::unique_ptr<BpeTokenizer> tiny(const TinySpec& s) {
    return BpeTokenizer::from_json_text(tiny_json(s), "tiny tokenizer.json");
}

// Ids of the given raw-byte tokens.
std::vector<int64_t> ids_of(const BpeTokenizer& tok, const std::vector<std::string>& tokens) {
    std::vector<int64_t> ids;
    for (const auto& t : tokens) {
        auto id = tok.token_to_id(t);
        EXPECT_TRUE(id.has_value()) << "no token '" << t << "'";
        ids.push_back(id.value_or(-1));
    }
    return ids;
}

TEST(ByteLevelMap, MatchesGpt2Alphabet) {
    const auto& m = dxl::io::byte_to_unicode();
    ASSERT_EQ(m.size(), 256u);
    EXPECT_EQ(m['a'], uint32_t('a'));
    EXPECT_EQ(m['!'], uint32_t('!'));
    EXPECT_EQ(m[' '], 0x120u);   // 'Ġ'
    EXPECT_EQ(m['\n'], 0x10Au);  // 'Ċ'
    EXPECT_EQ(m[0], 0x100u);
    EXPECT_EQ(m[0x7F], 0x121u);
    EXPECT_EQ(m[0xA0], 0x142u);
    EXPECT_EQ(m[0xAD], 0x143u);  // 'Ń'
    EXPECT_EQ(m[0xA1], 0xA1u);
    EXPECT_EQ(m[0xFF], 0xFFu);
}

TEST(Bpe, MergeRankDecidesTheSplit) {
    TinySpec s;
    s.merges = {{"b", "c"}, {"a", "b"}};
    auto tok = tiny(s);
    EXPECT_EQ(tok->encode("abc"), ids_of(*tok, {"a", "bc"}));
    s.merges = {{"a", "b"}, {"b", "c"}};
    tok = tiny(s);
    EXPECT_EQ(tok->encode("abc"), ids_of(*tok, {"ab", "c"}));
    EXPECT_EQ(tok->merge_count(), 2u);
}

TEST(Bpe, StringAndPairMergeFormatsAgree) {
    TinySpec s;
    s.merges = {{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {" ", "w"}, {"o", "r"}};
    auto a = tiny(s);
    s.pair_format = true;
    auto b = tiny(s);
    for (std::string text : {"hello world", "hellohello", "ll he or", "hel lo"}) {
        EXPECT_EQ(a->encode(text), b->encode(text)) << text;
    }
    EXPECT_EQ(a->encode("hello"), ids_of(*a, {"hello"}));
}

TEST(Bpe, TiesMergeLeftmostFirstAndChainsFollowRank) {
    TinySpec s;
    s.merges = {{"a", "a"}};
    auto tok = tiny(s);
    EXPECT_EQ(tok->encode("aaa"), ids_of(*tok, {"aa", "a"}));
    EXPECT_EQ(tok->encode("aaaa"), ids_of(*tok, {"aa", "aa"}));
    s.merges = {{"a", "a"}, {"aa", "aa"}};
    tok = tiny(s);
    EXPECT_EQ(tok->encode("aaaaa"), ids_of(*tok, {"aaaa", "a"}));
    // A merge whose left part was consumed by a better-ranked merge must not fire.
    s.merges = {{"b", "c"}, {"a", "b"}, {"bc", "d"}};
    tok = tiny(s);
    EXPECT_EQ(tok->encode("abcd"), ids_of(*tok, {"a", "bcd"}));
}

TEST(Bpe, IgnoreMergesUsesWholeWordTokens) {
    TinySpec s;
    s.merges = {{"a", "b"}};
    s.extra_tokens = {"abc"};
    auto plain = tiny(s);
    EXPECT_EQ(plain->encode("abc"), ids_of(*plain, {"ab", "c"}));
    s.model_extra = {{"ignore_merges", true}};
    auto llama3_style = tiny(s);
    EXPECT_EQ(llama3_style->encode("abc"), ids_of(*llama3_style, {"abc"}));
}

TEST(Bpe, Gpt2RegexKeepsMergesInsidePieces) {
    TinySpec s;
    s.merges = {{"t", "'"}, {"'", "s"}, {" ", " "}, {" ", "b"}};
    auto tok = tiny(s);
    // "it's" splits as "it" + "'s": the better-ranked merge t+' crosses the split.
    EXPECT_EQ(tok->encode("it's"), ids_of(*tok, {"i", "t", "'s"}));
    // "a  b": \s+(?!\S) takes one space, " b" is the next piece; the two spaces never merge.
    EXPECT_EQ(tok->encode("a  b"), ids_of(*tok, {"a", " ", " b"}));
    // Without the regex the whole text is one piece.
    s.pre_tokenizer = bytelevel_pre(false);
    auto no_regex = tiny(s);
    EXPECT_EQ(no_regex->encode("it's"), ids_of(*no_regex, {"i", "t'", "s"}));
    EXPECT_EQ(no_regex->encode("a  b"), ids_of(*no_regex, {"a", "  ", "b"}));
}

TEST(Bpe, QwenSplitRegexFromJson) {
    TinySpec s;
    s.pre_tokenizer = qwen_pre();
    s.merges = {{"1", "2"}, {"T", "'"}, {"'", "S"}};
    auto tok = tiny(s);
    EXPECT_EQ(tok->encode("123"), ids_of(*tok, {"1", "2", "3"}));    // \p{N}: one digit per piece
    EXPECT_EQ(tok->encode("IT'S"), ids_of(*tok, {"I", "T", "'S"}));  // (?i:'s)
}

TEST(Bpe, SplitBehaviors) {
    TinySpec s;
    s.merges = {{"a", "-"}, {"-", "b"}};
    auto make = [&](const char* behavior) {
        s.pre_tokenizer = {
            {"type", "Sequence"},
            {"pretokenizers",
             {{{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}},
              bytelevel_pre(false)}}};
        return tiny(s);
    };
    auto isolated = make("Isolated");
    EXPECT_EQ(isolated->encode("a-b"), ids_of(*isolated, {"a", "-", "b"}));
    auto prev = make("MergedWithPrevious");
    EXPECT_EQ(prev->encode("a-b"), ids_of(*prev, {"a-", "b"}));
    auto next = make("MergedWithNext");
    EXPECT_EQ(next->encode("a-b"), ids_of(*next, {"a", "-b"}));
    auto removed = make("Removed");
    EXPECT_EQ(removed->encode("a-b"), ids_of(*removed, {"a", "b"}));
    EXPECT_THROW(make("Contiguous"), dxl::UnsupportedError);
}

TEST(Bpe, AddedTokensLongestFirstAndSpecialPolicy) {
    TinySpec s;
    s.merges = {{"a", "<"}, {"|", ">"}};
    s.added = {{{"content", "<|x|>"}, {"special", true}},
               {{"content", "<|x|>y"}, {"special", false}},
               {{"content", "<|sep|>"}, {"special", true}}};
    auto tok = tiny(s);
    const int64_t x = *tok->special_token_id("<|x|>");
    const int64_t xy = *tok->special_token_id("<|x|>y");
    const int64_t sep = *tok->special_token_id("<|sep|>");
    EXPECT_FALSE(tok->special_token_id("<|nope|>").has_value());
    const auto a = ids_of(*tok, {"a"})[0];
    const auto b = ids_of(*tok, {"b"})[0];
    EXPECT_EQ(tok->encode("a<|x|>yb"), (std::vector<int64_t>{a, xy, b}));  // longest match
    EXPECT_EQ(tok->encode("a<|x|>b"), (std::vector<int64_t>{a, x, b}));    // before a<
    EXPECT_EQ(tok->encode("<|sep|><|x|>"), (std::vector<int64_t>{sep, x}));
    // encode_ordinary: special tokens are text, non-special added tokens still match.
    EXPECT_EQ(tok->encode_ordinary("a<|x|>yb"), (std::vector<int64_t>{a, xy, b}));
    const auto plain = tok->encode_ordinary("a<|x|>b");
    EXPECT_EQ(plain, ids_of(*tok, {"a", "<", "|", "x", "|>", "b"}));  // GPT-2 regex pieces
    EXPECT_EQ(tok->decode(plain), "a<|x|>b");
    EXPECT_EQ(tok->decode(tok->encode("q<|sep|>r")), "q<|sep|>r");
    EXPECT_EQ(tok->vocab_size(), sep + 1);
}

TEST(Bpe, ByteFallbackAndUnknownBytes) {
    TinySpec s;
    s.all_bytes = false;  // printable ASCII only
    s.merges = {{"a", "b"}};
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", b);
        s.extra_tokens.push_back(name);
    }
    s.model_extra = {{"byte_fallback", true}};
    auto tok = tiny(s);
    const std::string text = "ab\xff\x01 \xc3\xa9";
    const auto ids = tok->encode(text);
    EXPECT_EQ(ids, ids_of(*tok, {"ab", "<0xFF>", "<0x01>", "<0x20>", "<0xC3>", "<0xA9>"}));
    EXPECT_EQ(tok->decode(ids), text);

    s.model_extra = {{"byte_fallback", false}};
    auto strict = tiny(s);
    EXPECT_THROW(strict->encode("a\xff"), dxl::ValueError);
    EXPECT_EQ(strict->encode("ab"), ids_of(*strict, {"ab"}));

    s.model_extra = {{"byte_fallback", false}, {"unk_token", "<0x00>"}};
    auto with_unk = tiny(s);
    EXPECT_EQ(with_unk->encode("a\xff"), ids_of(*with_unk, {"a", "<0x00>"}));
}

TEST(Bpe, InvalidUtf8BecomesItsOwnPiecesAndRoundTrips) {
    TinySpec s;
    s.merges = {{"b", "\xff"}, {"\xff", "c"}, {"a", "b"}, {"\xff", "\xfe"}, {"c", "d"}};
    auto tok = tiny(s);
    // "ab" and "cd" are regex matches; the invalid byte between them is a piece of its own.
    EXPECT_EQ(tok->encode("ab\xff"
                          "cd"),
              ids_of(*tok, {"ab", "\xff", "cd"}));
    // A run of invalid bytes is one piece, merged like any other.
    EXPECT_EQ(tok->encode("\xff\xfe"), ids_of(*tok, {"\xff\xfe"}));
    for (std::string text :
         {std::string("\xc3"), std::string("a\xed\xa0\x80z"), std::string("\xc0\xaf overlong"),
          std::string("x\xf4\x90\x80\x80y"), std::string("\x80\x80\x80"),
          std::string("caf\xc3\xa9 \xe2\x82"), std::string("\0\0a\0", 4)}) {
        EXPECT_EQ(tok->decode(tok->encode(text)), text);
    }
}

std::string random_text(std::mt19937& rng) {
    static const std::vector<std::string> atoms = {"a",
                                                   "b",
                                                   "Z",
                                                   "'s",
                                                   "'",
                                                   " ",
                                                   "  ",
                                                   "\t",
                                                   "\n",
                                                   "\r\n",
                                                   "1",
                                                   "42",
                                                   ".",
                                                   ",",
                                                   "!",
                                                   "<",
                                                   "\xc3\xa9",
                                                   "e\xcc\x81",
                                                   "\xe4\xb8\xad",
                                                   "\xf0\x9f\x98\x80",
                                                   "\xe2\x80\x8d",
                                                   "\xc2\xa0",
                                                   "\xe3\x80\x80",
                                                   "<|x|>",
                                                   "<|x|>y",
                                                   "\xff",
                                                   "\xc3",
                                                   "\xed\xa0\x80",
                                                   std::string(1, '\0')};
    std::string t;
    const int n = int(rng() % 24);
    for (int i = 0; i < n; ++i) {
        if (rng() % 5 == 0) {
            t.push_back(char(rng() % 256));
        } else {
            t += atoms[rng() % atoms.size()];
        }
    }
    return t;
}

TEST(Bpe, RandomBytesRoundTrip) {
    TinySpec s;
    s.merges = {{" ", "a"}, {"a", "b"}, {"\xc3", "\xa9"}, {"\n", "\n"}, {" ", " "}, {"'", "s"}};
    s.added = {{{"content", "<|x|>"}, {"special", true}},
               {{"content", "<|x|>y"}, {"special", false}}};
    auto gpt2_style = tiny(s);
    s.pre_tokenizer = qwen_pre();
    auto qwen_style = tiny(s);
    std::mt19937 rng(1234);
    for (int i = 0; i < 3000; ++i) {
        const std::string t = random_text(rng);
        ASSERT_EQ(gpt2_style->decode(gpt2_style->encode(t)), t) << dxl::io::escape_invalid_utf8(t);
        ASSERT_EQ(qwen_style->decode(qwen_style->encode(t)), t) << dxl::io::escape_invalid_utf8(t);
        ASSERT_EQ(qwen_style->decode(qwen_style->encode_ordinary(t)), t);
    }
}

TEST(Nfc, UnicodeStandardExamples) {
    using dxl::io::nfc_normalize;
    EXPECT_EQ(nfc_normalize("plain ASCII text"), "plain ASCII text");
    EXPECT_EQ(nfc_normalize("e\xcc\x81"), "\xc3\xa9");     // e + U+0301 -> é
    EXPECT_EQ(nfc_normalize("\xe2\x84\xab"), "\xc3\x85");  // U+212B -> U+00C5
    EXPECT_EQ(nfc_normalize("\xe2\x84\xa6"), "\xce\xa9");  // U+2126 -> U+03A9
    EXPECT_EQ(nfc_normalize("\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8"), "\xea\xb0\x81");  // 각
    // UAX #15: U+1E0B U+0323 -> U+1E0D U+0307 (reorder, then compose with the dot below).
    EXPECT_EQ(nfc_normalize("\xe1\xb8\x8b\xcc\xa3"), "\xe1\xb8\x8d\xcc\x87");
    // q + dot above + dot below: no composite; marks are put in canonical order.
    EXPECT_EQ(nfc_normalize("q\xcc\x87\xcc\xa3"), "q\xcc\xa3\xcc\x87");
    // é + U+0301: the starter is already composed with nothing to absorb the second accent.
    EXPECT_EQ(nfc_normalize("\xc3\xa9\xcc\x81"), "\xc3\xa9\xcc\x81");
    // Invalid bytes are copied and block composition across them.
    EXPECT_EQ(nfc_normalize("e\xff\xcc\x81"), "e\xff\xcc\x81");
    EXPECT_EQ(nfc_normalize("\xff"
                            "e\xcc\x81\xc3"),
              "\xff\xc3\xa9\xc3");
    EXPECT_STREQ(dxl::io::nfc_unicode_version(), "14.0.0");
}

TEST(Bpe, NfcNormalizerChangesOnlyNonNfcText) {
    TinySpec s;
    s.normalizer = {{"type", "NFC"}};
    s.merges = {{"\xc3", "\xa9"}};
    auto tok = tiny(s);
    EXPECT_TRUE(tok->normalizes_nfc());
    const auto composed = tok->encode("caf\xc3\xa9");
    EXPECT_EQ(composed, ids_of(*tok, {"c", "a", "f", "\xc3\xa9"}));
    // Decomposed input is normalized first, so it encodes like the composed text and does not
    // round-trip bytewise (the documented limitation); NFC and ASCII text do.
    EXPECT_EQ(tok->encode("cafe\xcc\x81"), composed);
    EXPECT_EQ(tok->decode(tok->encode("cafe\xcc\x81")), "caf\xc3\xa9");
    EXPECT_EQ(tok->decode(composed), "caf\xc3\xa9");
}

TEST(Bpe, RejectsUnsupportedAndMalformedFiles) {
    const std::string good = tiny_json(TinySpec{});
    auto with = [&](const std::function<void(json&)>& edit) {
        json j = json::parse(good);
        edit(j);
        return j.dump();
    };
    auto load = [](const std::string& text) {
        return BpeTokenizer::from_json_text(text, "bad/tokenizer.json");
    };
    EXPECT_NO_THROW(load(good));
    EXPECT_THROW(load(with([](json& j) { j["model"]["type"] = "WordPiece"; })),
                 dxl::UnsupportedError);
    EXPECT_THROW(load(with([](json& j) { j["model"]["type"] = "Unigram"; })),
                 dxl::UnsupportedError);
    EXPECT_THROW(load(with([](json& j) {
                     j["pre_tokenizer"] = {{"type", "Metaspace"}};
                 })),
                 dxl::UnsupportedError);
    EXPECT_THROW(load(with([](json& j) {
                     j["pre_tokenizer"] = nullptr;
                     j["decoder"] = nullptr;
                 })),
                 dxl::UnsupportedError);  // not byte-level
    EXPECT_THROW(load(with([](json& j) {
                     j["normalizer"] = {{"type", "Lowercase"}};
                 })),
                 dxl::UnsupportedError);
    EXPECT_THROW(load(with([](json& j) {
                     j["pre_tokenizer"] = {{"type", "Split"},
                                           {"pattern", {{"Regex", "(unclosed"}}},
                                           {"behavior", "Isolated"}};
                 })),
                 dxl::UnsupportedError);
    EXPECT_THROW(load(with([](json& j) { j["model"]["merges"] = json::array({"a zz"}); })),
                 dxl::FormatError);
    EXPECT_THROW(load(with([](json& j) { j["model"]["merges"] = json::array({"abc"}); })),
                 dxl::FormatError);
    EXPECT_THROW(load(with([](json& j) { j.erase("model"); })), dxl::FormatError);
    EXPECT_THROW(load("{not json"), dxl::FormatError);
    try {
        load(with([](json& j) { j["model"]["type"] = "WordPiece"; }));
        FAIL() << "expected UnsupportedError";
    } catch (const dxl::UnsupportedError& e) {
        EXPECT_NE(std::string(e.what()).find("bad/tokenizer.json"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("WordPiece"), std::string::npos);
    }
}

TEST(Bpe, DecodeRejectsBadIdsAndLabelsEscapeBytes) {
    TinySpec s;
    s.merges = {{"a", "b"}};
    auto tok = tiny(s);
    EXPECT_THROW(tok->decode({-1}), dxl::ValueError);
    EXPECT_THROW(tok->decode({tok->vocab_size()}), dxl::ValueError);
    EXPECT_EQ(tok->token_label(*tok->token_to_id("\xff")), "\\xFF");
    EXPECT_EQ(tok->token_label(*tok->token_to_id("ab")), "ab");
    EXPECT_EQ(dxl::io::escape_invalid_utf8("ok \xc3\xa9 \xc3"), "ok \xc3\xa9 \\xC3");
    EXPECT_EQ(tok->kind(), "byte-level-bpe");
    EXPECT_EQ(tok->fingerprint(), dxl::io::sha256_hex(tiny_json(s)));
}

TEST(ByteTokenizer, RoundTripSpecialsAndErrors) {
    auto tok = dxl::io::make_byte_tokenizer();
    EXPECT_EQ(tok->kind(), "byte");
    EXPECT_EQ(tok->vocab_size(), 259);
    EXPECT_EQ(tok->bos_id(), 256);
    EXPECT_EQ(tok->eos_id(), 257);
    EXPECT_EQ(tok->special_token_id("<|pad|>"), 258);
    EXPECT_EQ(tok->encode("A\xff"), (std::vector<int64_t>{65, 255}));
    EXPECT_EQ(tok->encode("<|bos|>hi<|eos|>"), (std::vector<int64_t>{256, 104, 105, 257}));
    EXPECT_EQ(tok->encode_ordinary("<|bos|>").size(), 7u);
    EXPECT_EQ(tok->decode({256, 104, 105, 257, 258}), "<|bos|>hi<|eos|><|pad|>");
    std::mt19937 rng(7);
    for (int i = 0; i < 200; ++i) {
        const std::string t = random_text(rng);
        ASSERT_EQ(tok->decode(tok->encode(t)), t);
    }
    EXPECT_THROW(tok->decode({259}), dxl::ValueError);
    EXPECT_THROW(tok->decode({-1}), dxl::ValueError);
    EXPECT_EQ(tok->token_label(0xE9), "\\xE9");
    EXPECT_EQ(tok->token_label(257), "<|eos|>");
}

void write_file(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary);
    out << text;
}

TEST(LoadTokenizer, PicksBpeByteOrNothing) {
    namespace fs = std::filesystem;
    const fs::path bpe_dir = dxl::test::scratch_dir("tok_bpe");
    TinySpec s;
    s.merges = {{"a", "b"}};
    s.added = {{{"content", "<|endoftext|>"}, {"special", true}},
               {{"content", "<|start|>"}, {"special", true}}};
    const std::string text = tiny_json(s);
    write_file(bpe_dir / "tokenizer.json", text);
    auto bpe = dxl::io::load_tokenizer(bpe_dir.string());
    ASSERT_NE(bpe, nullptr);
    EXPECT_EQ(bpe->kind(), "byte-level-bpe");
    EXPECT_EQ(bpe->fingerprint(), dxl::io::sha256_hex(text));
    EXPECT_EQ(bpe->eos_id(), bpe->special_token_id("<|endoftext|>"));  // no tokenizer_config
    EXPECT_FALSE(bpe->bos_id().has_value());
    write_file(bpe_dir / "tokenizer_config.json",
               R"({"bos_token": {"content": "<|start|>"}, "eos_token": "<|endoftext|>"})");
    bpe = dxl::io::load_tokenizer(bpe_dir.string());
    EXPECT_EQ(bpe->bos_id(), bpe->special_token_id("<|start|>"));
    EXPECT_EQ(bpe->eos_id(), bpe->special_token_id("<|endoftext|>"));

    const fs::path byte_dir = dxl::test::scratch_dir("tok_byte");
    write_file(byte_dir / "config.json", R"({"model_type": "dxl", "tokenizer_class": "dxl-byte"})");
    auto byte = dxl::io::load_tokenizer(byte_dir.string());
    ASSERT_NE(byte, nullptr);
    EXPECT_EQ(byte->kind(), "byte");

    const fs::path none_dir = dxl::test::scratch_dir("tok_none");
    EXPECT_EQ(dxl::io::load_tokenizer(none_dir.string()), nullptr);
    write_file(none_dir / "config.json", R"({"model_type": "gpt2"})");
    EXPECT_EQ(dxl::io::load_tokenizer(none_dir.string()), nullptr);

    const fs::path bad_dir = dxl::test::scratch_dir("tok_bad");
    write_file(bad_dir / "tokenizer.json", "{\"model\": {\"type\": \"Unigram\"}}");
    EXPECT_THROW(dxl::io::load_tokenizer(bad_dir.string()), dxl::UnsupportedError);
}

}  // namespace

// Models pad their vocabulary beyond the tokenizer (Qwen2.5: 151,936 rows, 151,665 tokens) and
// an untrained model predicts padding ids: labels and shown output name them instead of throwing,
// while decode() stays strict.
TEST(Bpe, IdsWithoutAnEntryAreLabelledNotThrown) {
    TinySpec s;
    s.merges = {{"a", "b"}};
    auto tok = tiny(s);
    const int64_t pad = tok->vocab_size() + 7;
    const auto a = ids_of(*tok, {"a"})[0];
    EXPECT_TRUE(tok->has_token(a));
    EXPECT_FALSE(tok->has_token(pad));
    EXPECT_FALSE(tok->has_token(-1));
    EXPECT_EQ(tok->token_label(pad), "<id " + std::to_string(pad) + ">");
    EXPECT_THROW(tok->decode({a, pad}), dxl::ValueError);
    EXPECT_EQ(tok->decode_for_display({a, pad, a}), "a<id " + std::to_string(pad) + ">a");

    auto bytes = dxl::io::make_byte_tokenizer();
    EXPECT_EQ(bytes->token_label(300), "<id 300>");
    EXPECT_EQ(bytes->decode_for_display({104, 105, 300}), "hi<id 300>");
    EXPECT_EQ(bytes->decode_for_display({0xC3, 0xA9}), "\xC3\xA9");  // a character split over ids
}
