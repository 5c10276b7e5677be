// Text corpora for distillation: plain text files and folders, JSONL with a text field and the
// Debian `fortunes` corpus (strfile format: entries separated by lines holding only '%'). Each
// reader returns documents (byte strings); apply_utf8_policy() then handles invalid UTF-8 by
// policy and counts it. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dxl::data {

// What to do with a document that is not valid UTF-8.
//   Keep: pass the bytes through (the byte tokenizer round-trips them);
//   Replace: each invalid byte becomes U+FFFD; Skip: drop the document; Error: FormatError.
enum class Utf8Policy { Keep, Replace, Skip, Error };
Utf8Policy parse_utf8_policy(
    const std::string& s);  // "keep|replace|skip|error", UsageError otherwise
const char* to_string(Utf8Policy p) noexcept;

struct CorpusStats {
    int64_t n_documents = 0;          // after the policy
    int64_t n_bytes = 0;              // after the policy
    int64_t n_invalid_documents = 0;  // documents with at least one invalid sequence
    int64_t n_invalid_bytes = 0;      // bytes not part of a valid UTF-8 sequence
    int64_t n_skipped = 0;            // documents dropped (policy Skip, or empty)
};

// Number of bytes in `s` that are not part of a valid (shortest-form, non-surrogate) UTF-8
// sequence.
int64_t count_invalid_utf8(std::string_view s);
// `s` with every invalid byte replaced by U+FFFD.
std::string replace_invalid_utf8(std::string_view s);

// The default fortunes location (Debian package `fortunes`).
inline constexpr const char* kFortunesDir = "/usr/share/games/fortunes";

// strfile text: entries separated by lines that hold only "%" (trailing '\r' tolerated).
std::vector<std::string> split_strfile(std::string_view text);
// A fortunes folder (every regular file without the .dat/.u8 suffixes, sorted by name) or one
// file. IoError naming the path when nothing can be read; the remedy names the package.
std::vector<std::string> read_fortunes(const std::string& path = kFortunesDir);
// One file = one document; a folder = every regular file below it (sorted, recursive).
std::vector<std::string> read_text_path(const std::string& path);
// One JSON object per line; `field` (default "text") is the document. FormatError naming the
// file and line on bad JSON or a missing/non-string field. Blank lines are skipped.
std::vector<std::string> read_jsonl(const std::string& path, const std::string& field = "text");

// Applies `policy` in place; fills stats (accumulating).
void apply_utf8_policy(std::vector<std::string>& docs, Utf8Policy policy, CorpusStats& stats);

}  // namespace dxl::data
