// `dxl student`: the untrained xLSTM student for a teacher, written as a model directory.
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/cli/args.h"
#include "app/cli/commands.h"
#include "app/cli/format_bytes.h"
#include "core/base/error.h"
#include "core/io/json_config.h"
#include "core/models/language_model.h"
#include "core/runtime/runtime.h"
#include "core/train/student.h"

namespace dxl::cli {
namespace fs = std::filesystem;

namespace {
const char* const kStudentUsage =
    "usage: dxl student --for TEACHER_DIR --out DIR [--preset paper|v2|v2_div4]\n"
    "                   [--overrides JSON|FILE] [--tied] [--tokenizer FILE] [--threads N]\n\n"
    "Builds the xLSTM student that `dxl distill` would train for TEACHER_DIR, without training\n"
    "it: the student takes the teacher's width and vocabulary, and the teacher's token embedding\n"
    "and LM head are copied and frozen (stored in the teacher's dtype). Only the teacher's\n"
    "config.json and those two tensors are read. Writes DIR/config.json, DIR/model.safetensors\n"
    "and DIR/tokenizer.json (the teacher's, or --tokenizer FILE) and prints the parameter counts.\n"
    "--overrides: xlstm_v1 config fields merged into the preset (RFC 7396), inline JSON or a\n"
    "file, e.g. '{\"num_blocks\": 4}'. --tied ties the student's head to its embedding.\n";

std::string millions(int64_t n) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f M", static_cast<double>(n) / 1e6);
    return buf;
}

nlohmann::json parse_overrides(const std::string& text) {
    std::string body = text;
    if (fs::is_regular_file(text)) {
        std::ifstream in(text);
        std::ostringstream ss;
        ss << in.rdbuf();
        body = ss.str();
    }
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(body);
    } catch (const nlohmann::json::exception& e) {
        throw UsageError(
            detail::str_cat("--overrides: expected a JSON object or a file holding "
                            "one, but parsing failed (",
                            e.what(), ")"));
    }
    DXL_CHECK(j.is_object(), UsageError, "--overrides: expected a JSON object, but got ", j.dump());
    return j;
}

}  // namespace

int run_student(const std::vector<std::string>& argv) {
    OptionSpec spec;
    spec.with_value.insert({"for", "out", "preset", "overrides", "tokenizer", "threads"});
    spec.flags.insert("tied");
    Args args("student", argv, spec);
    const std::string teacher_dir = args.require("for");
    const std::string out = args.require("out");
    train::StudentSpec ss;
    ss.preset = args.get_or("preset", "paper");
    DXL_CHECK(ss.preset == "paper" || ss.preset == "v2" || ss.preset == "v2_div4", UsageError,
              "--preset: expected paper, v2 or v2_div4, but got '", ss.preset, "'");
    if (auto o = args.get("overrides")) ss.overrides = parse_overrides(*o);
    ss.tied = args.flag("tied");
    const std::string tokenizer = args.get_or("tokenizer", "");
    DXL_CHECK(tokenizer.empty() || fs::is_regular_file(tokenizer), IoError,
              "--tokenizer: ", tokenizer, ": no such file; give a tokenizer.json");
    const fs::path out_parent = fs::absolute(out).parent_path();
    DXL_CHECK(fs::is_directory(out_parent), IoError, "--out: folder ", out_parent.string(),
              " does not exist");
    DXL_CHECK(!fs::exists(fs::path(out) / "config.json"), IoError, "--out: ", out,
              " already holds a model (config.json); choose another folder or remove it");
    runtime::RuntimeOptions ro;
    ro.threads = static_cast<int>(args.get_int("threads", 0));
    runtime::configure(ro);

    nlohmann::json cfg;
    torch::Dtype frozen_dtype = torch::kFloat32;
    auto student = train::make_student_for_dir(teacher_dir, ss, &cfg, &frozen_dtype);
    // Frozen copies never need more precision than the teacher stored.
    if (!c10::isFloatingType(frozen_dtype) || frozen_dtype == torch::kFloat64)
        frozen_dtype = torch::kFloat32;
    const io::JsonConfig tcfg =
        io::JsonConfig::load((fs::path(teacher_dir) / "config.json").string());
    const bool byte_tokenizer = tcfg.get_or<std::string>("tokenizer_class", "") == "dxl-byte";
    train::save_model_dir(*student, cfg, out, byte_tokenizer,
                          tokenizer.empty() ? teacher_dir : tokenizer, frozen_dtype);

    const int64_t total = models::count_parameters(student->module(), false);
    const int64_t trainable = models::count_parameters(student->module(), true);
    const auto& info = student->info();
    std::string blocks;
    for (size_t i = 0; i < info.block_types.size(); ++i)
        blocks += (i ? "," : "") + info.block_types[i];
    std::printf(
        "student for %s (preset %s): %lld blocks (%s), %lld heads, width %lld, vocab %lld\n",
        teacher_dir.c_str(), ss.preset.c_str(), static_cast<long long>(info.n_layers),
        blocks.c_str(), static_cast<long long>(info.n_heads), static_cast<long long>(info.d_model),
        static_cast<long long>(info.vocab_size));
    std::printf(
        "parameters: %s total, %s trainable, %s frozen (teacher embedding%s, stored as %s)\n",
        millions(total).c_str(), millions(trainable).c_str(), millions(total - trainable).c_str(),
        ss.tied ? ", tied head" : " and LM head", c10::toString(frozen_dtype));
    const fs::path weights = fs::path(out) / "model.safetensors";
    const bool has_tok = fs::exists(fs::path(out) / "tokenizer.json");
    std::printf("wrote %s: config.json, model.safetensors (%s)%s\n", out.c_str(),
                format_bytes(static_cast<double>(fs::file_size(weights))).c_str(),
                has_tok ? ", tokenizer.json"
                        : (byte_tokenizer ? " (byte tokenizer named in config.json)"
                                          : " (no tokenizer: the teacher has none; use "
                                            "--tokenizer FILE)"));
    return 0;
}

DXL_CLI_COMMAND(55, "student", "build the untrained xLSTM student for a teacher (no training)",
                kStudentUsage, run_student);

}  // namespace dxl::cli
