// Corpus readers (plain text, JSONL, fortunes) and the invalid-UTF-8 policy.
#include "core/data/corpus.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/base/error.h"
#include "core/data/json_util.h"

namespace fs = std::filesystem;

namespace dxl::data {

Utf8Policy parse_utf8_policy(const std::string& s) {
    if (s == "keep") return Utf8Policy::Keep;
    if (s == "replace") return Utf8Policy::Replace;
    if (s == "skip") return Utf8Policy::Skip;
    if (s == "error") return Utf8Policy::Error;
    throw UsageError("utf8 policy: expected keep|replace|skip|error, but got '" + s + "'");
}

const char* to_string(Utf8Policy p) noexcept {
    switch (p) {
        case Utf8Policy::Keep:
            return "keep";
        case Utf8Policy::Replace:
            return "replace";
        case Utf8Policy::Skip:
            return "skip";
        case Utf8Policy::Error:
            return "error";
    }
    return "?";
}

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when invalid.
size_t valid_sequence_length(std::string_view s, size_t i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return 1;
    size_t n = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        if ((b(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b(i + k) & 0x3F);
    }
    const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    DXL_CHECK(in.good(), IoError, "read ", p.string(),
              ": cannot open the file; check the path and permissions");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

int64_t count_invalid_utf8(std::string_view s) {
    int64_t bad = 0;
    for (size_t i = 0; i < s.size();) {
        const size_t n = valid_sequence_length(s, i);
        if (n == 0) {
            ++bad;
            ++i;
        } else {
            i += n;
        }
    }
    return bad;
}

std::string replace_invalid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        const size_t n = valid_sequence_length(s, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

std::vector<std::string> split_strfile(std::string_view text) {
    std::vector<std::string> out;
    std::string cur;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t eol = text.find('\n', pos);
        const size_t end = eol == std::string_view::npos ? text.size() : eol;
        std::string_view line = text.substr(pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line == "%") {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else {
            cur.append(line);
            cur.push_back('\n');
        }
        pos = eol == std::string_view::npos ? text.size() : eol + 1;
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
}

std::vector<std::string> read_fortunes(const std::string& path) {
    std::error_code ec;
    DXL_CHECK(fs::exists(path, ec), IoError, "fortunes: expected the corpus at ", path,
              ", but it does not exist; try `apt-get install fortunes` (scripts/setup.sh) or give "
              "another data source");
    std::vector<fs::path> files;
    if (fs::is_directory(path)) {
        for (const auto& e : fs::directory_iterator(path)) {
            const std::string ext = e.path().extension().string();
            if (!e.is_regular_file() || ext == ".dat" || ext == ".u8" || e.is_symlink()) continue;
            files.push_back(e.path());
        }
        std::sort(files.begin(), files.end());
    } else {
        files.push_back(path);
    }
    std::vector<std::string> docs;
    for (const auto& f : files) {
        auto part = split_strfile(read_file(f));
        docs.insert(docs.end(), std::make_move_iterator(part.begin()),
                    std::make_move_iterator(part.end()));
    }
    DXL_CHECK(!docs.empty(), IoError, "fortunes: no entries found under ", path,
              "; expected strfile text files (entries separated by '%' lines)");
    return docs;
}

std::vector<std::string> read_text_path(const std::string& path) {
    std::error_code ec;
    DXL_CHECK(fs::exists(path, ec), IoError, "text: ", path,
              " does not exist; check the data path");
    std::vector<fs::path> files;
    if (fs::is_directory(path)) {
        for (const auto& e : fs::recursive_directory_iterator(path))
            if (e.is_regular_file()) files.push_back(e.path());
        std::sort(files.begin(), files.end());
    } else {
        files.push_back(path);
    }
    std::vector<std::string> docs;
    for (const auto& f : files)
        docs.push_back(read_file(f));
    DXL_CHECK(!docs.empty(), IoError, "text: no files found under ", path);
    return docs;
}

std::vector<std::string> read_jsonl(const std::string& path, const std::string& field) {
    std::ifstream in(path, std::ios::binary);
    DXL_CHECK(in.good(), IoError, "jsonl: cannot open ", path, "; check the path");
    std::vector<std::string> docs;
    std::string line;
    int64_t lineno = 0;
    while (std::getline(in, line)) {
        ++lineno;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const std::exception& e) {
            throw FormatError("jsonl " + path + ":" + std::to_string(lineno) +
                              ": expected one JSON object, but parsing failed (" + e.what() + ")");
        }
        DXL_CHECK(j.is_object() && j.contains(field) && j[field].is_string(), FormatError, "jsonl ",
                  path, ":", lineno, ": expected a string field '", field,
                  "'; try --field NAME (or \"field\" in the data config)");
        docs.push_back(json_string(j[field], path + ":" + std::to_string(lineno)));
    }
    DXL_CHECK(!docs.empty(), FormatError, "jsonl ", path, ": no records found");
    return docs;
}

void apply_utf8_policy(std::vector<std::string>& docs, Utf8Policy policy, CorpusStats& stats) {
    std::vector<std::string> out;
    out.reserve(docs.size());
    for (size_t i = 0; i < docs.size(); ++i) {
        std::string& d = docs[i];
        const int64_t bad = count_invalid_utf8(d);
        if (bad > 0) {
            ++stats.n_invalid_documents;
            stats.n_invalid_bytes += bad;
            DXL_CHECK(policy != Utf8Policy::Error, FormatError, "data: document ", i, " holds ",
                      bad, " invalid UTF-8 bytes; try the utf8 policy keep, replace or skip");
            if (policy == Utf8Policy::Skip) {
                ++stats.n_skipped;
                continue;
            }
            if (policy == Utf8Policy::Replace) d = replace_invalid_utf8(d);
        }
        if (d.empty()) {
            ++stats.n_skipped;
            continue;
        }
        stats.n_bytes += static_cast<int64_t>(d.size());
        out.push_back(std::move(d));
    }
    stats.n_documents += static_cast<int64_t>(out.size());
    docs = std::move(out);
}

}  // namespace dxl::data
