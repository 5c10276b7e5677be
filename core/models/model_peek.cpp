// Model directories described from their headers, and the teacher/student pre-flight check.
#include "core/models/model_peek.h"

#include <filesystem>

#include "core/base/error.h"
#include "core/io/checkpoint.h"

namespace dxl::models {
namespace fs = std::filesystem;

ModelPeek peek_model(const std::string& dir) {
    DXL_CHECK(fs::exists(dir), IoError, dir, ": no such model directory");
    DXL_CHECK(fs::is_directory(dir), IoError, dir,
              ": expected a model directory (config.json + model.safetensors), but got a file");
    const std::string cfg_path = (fs::path(dir) / "config.json").string();
    DXL_CHECK(
        fs::exists(cfg_path), IoError, dir,
        ": config.json is missing; a model directory holds config.json and model.safetensors");
    ModelPeek p{dir, io::JsonConfig::load(cfg_path), {}, 0, 0, 0, 0, {}, false};
    p.summary = summarize_config(p.config);
    // Opening maps the files and parses the headers; the data pages are never touched.
    const io::Checkpoint ck = io::Checkpoint::open_dir(dir);
    for (const auto& name : ck.names()) {
        int64_t n = 1;
        for (int64_t d : ck.shape(name))
            n *= d;
        p.checkpoint_parameters += n;
        ++p.dtypes[io::dtype_name(ck.stored_dtype(name))];
    }
    p.checkpoint_bytes = ck.data_bytes();
    p.checkpoint_tensors = ck.names().size();
    p.checkpoint_files = ck.file_count();
    p.has_tokenizer_json = fs::exists(fs::path(dir) / "tokenizer.json");
    return p;
}

void check_pairable(const ModelPeek& teacher, const ModelPeek& student, const std::string& who) {
    const int64_t vt = teacher.summary.info.vocab_size;
    const int64_t vs = student.summary.info.vocab_size;
    DXL_CHECK(vt == vs, ValueError, who, ": the teacher ", teacher.dir, " has a vocabulary of ", vt,
              " tokens but the student ", student.dir, " has ", vs,
              " (checked from their config.json, no weights read); a student must share its "
              "teacher's vocabulary and tokenizer: make one with `dxl student --for ",
              teacher.dir, " --out DIR`");
}

void check_pairable(const std::string& teacher_dir, const std::string& student_dir,
                    const std::string& who) {
    check_pairable(peek_model(teacher_dir), peek_model(student_dir), who);
}

}  // namespace dxl::models
