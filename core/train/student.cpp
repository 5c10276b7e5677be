// Student construction, embedding transfer, trainable selection and model-folder writing.
#include "core/train/student.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/io/checkpoint.h"
#include "core/models/model_peek.h"
#include "core/models/registry.h"
#include "core/models/xlstm_config.h"
#include "core/models/xlstm_v1.h"

namespace fs = std::filesystem;

namespace dxl::train {

nlohmann::json student_config_for(const models::LanguageModel& teacher, const StudentSpec& spec) {
    return student_config_for(teacher.info(), spec);
}

nlohmann::json student_config_for(const models::ModelInfo& ti, const StudentSpec& spec) {
    DXL_CHECK(ti.family == "transformer", UnsupportedError,
              "student: expected a Transformer teacher, but got a ", ti.family, " model (",
              ti.architecture, ")");
    models::TeacherDims td{ti.d_model, ti.n_layers, ti.n_heads, ti.n_kv_heads, ti.vocab_size};
    models::XlstmConfig c = models::student_for_teacher(td, spec.preset);
    c.tie_weights = spec.tied;
    c.frozen = spec.copy_teacher_embeddings ? std::vector<std::string>{"token_embedding", "lm_head"}
                                            : std::vector<std::string>{};
    if (spec.tied && spec.copy_teacher_embeddings) c.frozen = {"token_embedding"};
    nlohmann::json j = models::to_json(c);
    j.erase("_block_map");  // derived from num_blocks / slstm_at, which overrides may change
    j.merge_patch(
        spec.overrides);  // RFC 7396: nested objects merge, e.g. {"mlstm_block": {"mlstm": {..}}}
    // Re-derive the nested fields from the overridden primary ones.
    return models::to_json(models::parse_xlstm_v1(io::JsonConfig(j, "student config")));
}

std::unique_ptr<models::LanguageModel> make_student(models::LanguageModel& teacher,
                                                    const StudentSpec& spec,
                                                    nlohmann::json* config_out) {
    nlohmann::json cfg = student_config_for(teacher, spec);
    if (spec.overrides.contains("context_length"))
        cfg["context_length"] = spec.overrides["context_length"];
    auto student = models::build_model(io::JsonConfig(cfg, "student config"), nullptr);
    if (spec.copy_teacher_embeddings) {
        torch::NoGradGuard no_grad;
        torch::Tensor emb, head;  // (V, D)
        for (auto& p : teacher.module().named_parameters(true)) {
            const std::string& n = p.key();
            if (n == "model.embed_tokens.weight" || n == "transformer.wte.weight") emb = p.value();
            if (n == "lm_head.weight") head = p.value();
        }
        DXL_CHECK(emb.defined(), UnsupportedError,
                  "student: cannot find the teacher's token embedding (",
                  teacher.info().architecture, ")");
        if (!head.defined()) head = emb;  // tied teacher
        for (auto& p : student->module().named_parameters(true)) {
            if (p.key() == "token_embedding.weight") p.value().copy_(emb);
            if (p.key() == "lm_head.weight") p.value().copy_(head);
        }
    }
    if (config_out) *config_out = cfg;
    return student;
}

std::unique_ptr<models::LanguageModel> make_student_for_dir(const std::string& teacher_dir,
                                                            const StudentSpec& spec,
                                                            nlohmann::json* config_out,
                                                            torch::Dtype* teacher_dtype_out) {
    const models::ModelPeek peek = models::peek_model(teacher_dir);
    nlohmann::json cfg = student_config_for(peek.summary.info, spec);
    if (spec.overrides.contains("context_length"))
        cfg["context_length"] = spec.overrides["context_length"];
    auto student = models::build_model(io::JsonConfig(cfg, "student config"), nullptr);
    const io::Checkpoint ck = io::Checkpoint::open_dir(teacher_dir);
    std::string emb_name, head_name;
    for (const char* n : {"model.embed_tokens.weight", "wte.weight", "transformer.wte.weight"})
        if (ck.contains(n)) emb_name = n;
    DXL_CHECK(!emb_name.empty(), UnsupportedError, "student: cannot find the token embedding in ",
              ck.description(), " (expected model.embed_tokens.weight or wte.weight)");
    head_name = ck.contains("lm_head.weight") ? "lm_head.weight" : emb_name;  // tied teacher
    const auto& info = peek.summary.info;
    const std::vector<int64_t> vd{info.vocab_size, info.d_model};
    if (teacher_dtype_out) *teacher_dtype_out = io::to_torch_dtype(ck.stored_dtype(emb_name));
    if (spec.copy_teacher_embeddings) {
        torch::NoGradGuard no_grad;
        // One (V, D) tensor at a time: each is read, copied and released before the next.
        for (auto& p : student->module().named_parameters(true)) {
            if (p.key() == "token_embedding.weight") p.value().copy_(ck.get(emb_name, vd));
            if (p.key() == "lm_head.weight") p.value().copy_(ck.get(head_name, vd));
        }
    }
    if (config_out) *config_out = cfg;
    return student;
}

std::set<std::string> select_trainable(models::LanguageModel& model,
                                       const std::vector<std::string>& patterns) {
    const auto& info = model.info();
    std::vector<std::string> frozen =
        model.config().get_or<std::vector<std::string>>("dxl_frozen", {});
    auto block_of = [](const std::string& n) -> int64_t {
        const std::string key = "blocks.";
        const auto p = n.find(key);
        if (p == std::string::npos) return -1;
        return std::stoll(n.substr(p + key.size()));
    };
    std::set<std::string> out;
    for (auto& p : model.module().named_parameters(true)) {
        const std::string& n = p.key();
        bool is_frozen = false;
        for (const auto& f : frozen)
            is_frozen |= n.rfind(f + ".", 0) == 0;
        if (is_frozen) continue;
        const int64_t b = block_of(n);
        const std::string type = b >= 0 && b < static_cast<int64_t>(info.block_types.size())
                                     ? info.block_types[static_cast<size_t>(b)]
                                     : "";
        bool take = false;
        for (const auto& pat : patterns) {
            if (pat == "all")
                take = true;
            else if (pat == "mlstm" || pat == "slstm")
                take |= type == pat;
            else if (pat == "mlstm_mixer")
                take |= type == "mlstm" && n.find(".xlstm.") != std::string::npos;
            else
                take |= n.find(pat) != std::string::npos;
        }
        if (take) out.insert(n);
    }
    DXL_CHECK(!out.empty(), UsageError, "trainable: the patterns select no parameter of the ",
              info.architecture,
              " model; use all|mlstm|slstm|mlstm_mixer or parameter-name substrings");
    return out;
}

std::vector<std::pair<std::string, torch::Tensor>> apply_trainable(
    models::LanguageModel& model, const std::set<std::string>& names) {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (auto& p : model.module().named_parameters(true)) {
        const bool on = names.count(p.key()) > 0;
        p.value().set_requires_grad(on);
        if (on) out.emplace_back(p.key(), p.value());
    }
    return out;
}

std::vector<std::shared_ptr<models::xlstm_v1::BlockImpl>> student_blocks(
    models::LanguageModel& model) {
    std::vector<std::shared_ptr<models::xlstm_v1::BlockImpl>> out;
    if (model.info().architecture != "xlstm_v1") return out;
    for (int64_t b = 0; b < model.info().n_layers; ++b) {
        std::shared_ptr<torch::nn::Module> m;
        for (auto& item : model.module().named_modules("", false))
            if (item.key() == "xlstm_block_stack.blocks." + std::to_string(b)) m = item.value();
        auto blk = std::dynamic_pointer_cast<models::xlstm_v1::BlockImpl>(m);
        DXL_ASSERT(blk != nullptr, "student_blocks: block ", b, " is not an xlstm_v1 block");
        out.push_back(blk);
    }
    return out;
}

torch::Tensor GraphSink::get(const std::string& path) const {
    auto it = m_values.find(path);
    DXL_CHECK(it != m_values.end(), ValueError, "capture: point ", path, " was not captured");
    return it->second;
}

std::vector<std::pair<std::string, torch::Tensor>> model_tensors(models::LanguageModel& model) {
    if (model.info().architecture == "xlstm_v1")
        return models::xlstm_v1::export_parameters(model.module(),
                                                   models::parse_xlstm_v1(model.config()));
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (auto& p : model.module().named_parameters(true))
        out.emplace_back(p.key(), p.value().detach());
    return out;
}

void save_model_dir(models::LanguageModel& model, const nlohmann::json& config,
                    const std::string& dir, bool byte_tokenizer, const std::string& tokenizer_from,
                    torch::Dtype frozen_dtype) {
    fs::create_directories(dir);
    nlohmann::json cfg = config;
    if (byte_tokenizer) cfg["tokenizer_class"] = "dxl-byte";
    {
        const std::string tmp = dir + "/config.json.tmp";
        std::ofstream o(tmp);
        o << cfg.dump(2) << "\n";
        o.close();
        DXL_CHECK(o.good(), IoError, "save model: cannot write ", tmp);
        fs::rename(tmp, dir + "/config.json");
    }
    const auto frozen = config.value("dxl_frozen", std::vector<std::string>{});
    auto is_frozen = [&](const std::string& n) {
        for (const auto& f : frozen)
            if (n.rfind(f + ".", 0) == 0) return true;
        return false;
    };
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (auto& [n, t] : model_tensors(model))
        tensors.emplace_back(
            n, is_frozen(n) ? t.detach().to(frozen_dtype).contiguous() : t.detach().contiguous());
    io::save_safetensors(dir + "/model.safetensors", tensors,
                         {{"format", "pt"}, {"producer", "dxl"}});
    const std::string tok =
        fs::is_regular_file(tokenizer_from) ? tokenizer_from : tokenizer_from + "/tokenizer.json";
    if (!tokenizer_from.empty() && fs::exists(tok))
        fs::copy_file(tok, dir + "/tokenizer.json", fs::copy_options::overwrite_existing);
}

}  // namespace dxl::train
