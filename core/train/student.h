// Student set-up for distillation (docs/method.md#blocks-and-students): an xlstm_v1 student built
// for a teacher
// (width = teacher hidden size, vocab = teacher vocab) with the teacher's embedding and LM head
// copied and frozen (untied copies by default, tied as an option); trainable-parameter
// selection per stage; the per-block access teacher-forced losses need; a capture sink that
// keeps the autograd graph; and writing a model folder.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/capture/capture_sink.h"
#include "core/models/language_model.h"
#include "core/train/train_config.h"

namespace dxl::models::xlstm_v1 {
class BlockImpl;
}

namespace dxl::train {

// The student's config.json for `teacher` (preset + overrides; tied; frozen modules listed in
// dxl_frozen). UnsupportedError when the teacher is not a Transformer.
nlohmann::json student_config_for(const models::LanguageModel& teacher, const StudentSpec& spec);
nlohmann::json student_config_for(const models::ModelInfo& teacher, const StudentSpec& spec);
// Builds the student and, with spec.copy_teacher_embeddings, copies the teacher's token
// embedding and LM head (or the tied embedding) into it.
std::unique_ptr<models::LanguageModel> make_student(models::LanguageModel& teacher,
                                                    const StudentSpec& spec,
                                                    nlohmann::json* config_out);

// The student for the teacher in `teacher_dir`, built from the teacher's config.json; the
// embedding and LM head are read straight from its checkpoint, so the teacher is never
// instantiated. *teacher_dtype_out: the dtype the teacher stores its embedding in.
std::unique_ptr<models::LanguageModel> make_student_for_dir(const std::string& teacher_dir,
                                                            const StudentSpec& spec,
                                                            nlohmann::json* config_out,
                                                            torch::Dtype* teacher_dtype_out);

// Names of the parameters a stage trains: patterns "all", "mlstm", "slstm", "mlstm_mixer",
// or substrings of parameter names. Frozen modules (config "dxl_frozen") never train.
// UsageError when the patterns select nothing.
std::set<std::string> select_trainable(models::LanguageModel& model,
                                       const std::vector<std::string>& patterns);
// Sets requires_grad per `names` and returns those parameters in named_parameters order.
std::vector<std::pair<std::string, torch::Tensor>> apply_trainable(
    models::LanguageModel& model, const std::set<std::string>& names);

// The blocks of an xlstm_v1 student, in order (empty for other architectures).
std::vector<std::shared_ptr<models::xlstm_v1::BlockImpl>> student_blocks(
    models::LanguageModel& model);

// Keeps the requested points with their autograd graph (capture::CaptureSink::keeps_graph).
class GraphSink : public capture::CaptureSink {
  public:
    explicit GraphSink(std::set<std::string> points) : m_points(std::move(points)) {}
    bool wants(const capture::CaptureKey& key) override { return m_points.count(key.point) > 0; }
    bool observe(const capture::CaptureKey& key, const torch::Tensor& value) override {
        m_values[key.path()] = value;
        return true;
    }
    bool keeps_graph() const override { return true; }
    const std::map<std::string, torch::Tensor>& values() const noexcept { return m_values; }
    torch::Tensor get(const std::string& path) const;  // ValueError when absent
    void clear() { m_values.clear(); }

  private:
    std::set<std::string> m_points;
    std::map<std::string, torch::Tensor> m_values;  // path -> tensor (shape as observed)
};

// The model's parameters in its checkpoint layout (xlstm_v1: export_parameters).
std::vector<std::pair<std::string, torch::Tensor>> model_tensors(models::LanguageModel& model);
// Writes DIR/config.json (+ "tokenizer_class": "dxl-byte" when byte_tokenizer) and
// DIR/model.safetensors; copies tokenizer.json from tokenizer_from when that folder has one
// (tokenizer_from may also name a tokenizer.json file). The modules the config lists in
// dxl_frozen are stored as frozen_dtype: copies of a bf16 teacher's embedding and head need not
// double in size.
void save_model_dir(models::LanguageModel& model, const nlohmann::json& config,
                    const std::string& dir, bool byte_tokenizer,
                    const std::string& tokenizer_from = "",
                    torch::Dtype frozen_dtype = torch::kFloat32);

}  // namespace dxl::train
