// Token input parsing shared by forward, generate and later capture/align.
#include "app/cli/inputs.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/base/error.h"
#include "core/io/tokenizer.h"
#include "core/io/tokenizer_bpe.h"

namespace dxl::cli {

void add_input_options(OptionSpec& spec) {
    spec.with_value.insert({"text", "text-file", "tokens", "tokens-file", "tokenizer"});
}

std::unique_ptr<io::Tokenizer> load_tokenizer_option(const Args& args,
                                                     const std::string& model_dir) {
    if (auto path = args.get("tokenizer")) {
        DXL_CHECK(std::filesystem::is_regular_file(*path), IoError, "--tokenizer: ", *path,
                  ": no such file; give a Hugging Face tokenizer.json");
        return io::BpeTokenizer::load(*path);
    }
    return io::load_tokenizer(model_dir);
}

namespace {
std::string read_file(const std::string& path, const std::string& option) {
    DXL_CHECK(std::filesystem::exists(path), IoError, option, ": ", path, ": no such file");
    std::ifstream in(path, std::ios::binary);
    DXL_CHECK(in.good(), IoError, option, ": ", path, ": cannot open for reading");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<int64_t> encode(const io::Tokenizer* tok, const std::string& text,
                            const std::string& dir) {
    DXL_CHECK(
        tok != nullptr, UsageError, "--text: the model in ", dir,
        " has no tokenizer (no tokenizer.json); pass token ids with --tokens 1,2,3 instead, or "
        "give one with --tokenizer FILE");
    auto ids = tok->encode(text);
    DXL_CHECK(!ids.empty(), ValueError,
              "--text: the text encodes to zero tokens; give a non-empty text");
    return ids;
}
}  // namespace

std::vector<std::vector<int64_t>> read_token_input(const Args& args, const io::Tokenizer* tokenizer,
                                                   const std::string& model_dir) {
    int given = 0;
    for (const char* o : {"text", "text-file", "tokens", "tokens-file"})
        given += args.has(o) ? 1 : 0;
    DXL_CHECK(given == 1, UsageError, "dxl ", args.command(),
              ": give exactly one of --text, --text-file, --tokens, --tokens-file (got ", given,
              ")");

    if (auto t = args.get("text")) return {encode(tokenizer, *t, model_dir)};
    if (auto f = args.get("text-file"))
        return {encode(tokenizer, read_file(*f, "--text-file"), model_dir)};
    if (auto t = args.get("tokens")) {
        auto ids = parse_int_list(*t, "--tokens");
        return {ids};
    }
    const std::string path = *args.get("tokens-file");
    std::istringstream in(read_file(path, "--tokens-file"));
    std::vector<std::vector<int64_t>> out;
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        out.push_back(parse_int_list(line, path + ":" + std::to_string(line_no)));
    }
    DXL_CHECK(!out.empty(), ValueError, "--tokens-file: ", path, " holds no token ids");
    return out;
}

}  // namespace dxl::cli
