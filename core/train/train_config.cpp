// Run-config parsing, presets and serialisation.
#include "core/train/train_config.h"

#include <cmath>

#include <fstream>

#include "core/base/error.h"
#include "core/data/json_util.h"

namespace dxl::train {

HiddenMode parse_hidden_mode(const std::string& s) {
    if (s == "avg_all" || s == "average") return HiddenMode::AvgAll;
    if (s == "ratio") return HiddenMode::Ratio;
    if (s == "block_wise") return HiddenMode::BlockWise;
    if (s == "cosine") return HiddenMode::Cosine;
    if (s == "mse") return HiddenMode::Mse;
    throw FormatError("hidden_mode: expected avg_all|ratio|block_wise|cosine|mse, but got '" + s +
                      "'");
}
const char* to_string(HiddenMode m) noexcept {
    const char* n[] = {"avg_all", "ratio", "block_wise", "cosine", "mse"};
    return n[static_cast<int>(m)];
}
AttnLoss parse_attn_loss(const std::string& s) {
    if (s == "frobenius") return AttnLoss::Frobenius;
    if (s == "hedgehog_ce") return AttnLoss::HedgehogCe;
    if (s == "row_kl") return AttnLoss::RowKl;
    if (s == "row_js") return AttnLoss::RowJs;
    throw FormatError("attention term: expected frobenius|hedgehog_ce|row_kl|row_js, but got '" +
                      s + "'");
}
const char* to_string(AttnLoss k) noexcept {
    const char* n[] = {"frobenius", "hedgehog_ce", "row_kl", "row_js"};
    return n[static_cast<int>(k)];
}

std::vector<StageConfig> preset_stages(const std::string& preset) {
    std::vector<StageConfig> st;
    if (preset == "distil-xlstm") {
        // docs/method.md#stage-presets (Jan 2025 code): KL 0.8 -> 0.5, T 2 -> 1, delta 0.05
        // multiplicative,
        // Frobenius avg-all beta 0.2 -> 0.1, CE = 1 - alpha - beta; lr 2e-4 cosine, warm-up 0.1.
        StageConfig s;
        s.name = "distill";
        s.steps = 200;
        s.loss.hidden = true;
        s.loss.alpha = Schedule{ScheduleKind::Delta, 0.8, 0.5, EpochDecay::Multiplicative, 0.05, 0};
        s.loss.temperature =
            Schedule{ScheduleKind::Delta, 2.0, 1.0, EpochDecay::Multiplicative, 0.05, 0};
        s.loss.beta = Schedule{ScheduleKind::Delta, 0.2, 0.1, EpochDecay::Multiplicative, 0.05, 0};
        s.loss.alpha.end = 0.5;
        // Keep 1 - alpha - beta >= 0 at step 0: alpha 0.8 + beta 0.2 = 1.0 (CE weight 0 at k = 0).
        st.push_back(s);
    } else if (preset == "mohawk") {
        StageConfig s1;
        s1.name = "orientation";
        s1.steps = 60;
        s1.lr = 1e-3;
        s1.trainable = {"mlstm_mixer"};
        s1.loss.ce = s1.loss.kd = false;
        s1.loss.weighting = "explicit";
        s1.loss.attention.push_back(
            AttnTerm{AttnLoss::Frobenius, Schedule::constant(1.0), "abs_row"});
        StageConfig s2;
        s2.name = "hidden_alignment";
        s2.steps = 60;
        s2.lr = 5e-4;
        s2.loss.ce = s2.loss.kd = false;
        s2.loss.weighting = "explicit";
        s2.loss.output = true;
        StageConfig s3;
        s3.name = "end_to_end_kd";
        s3.steps = 80;
        s3.lr = 2e-4;
        s3.loss.weighting = "explicit";
        s3.loss.ce_weight = Schedule::constant(0.1);
        s3.loss.alpha = Schedule::constant(1.0);
        st = {s1, s2, s3};
    } else if (preset == "lolcats") {
        StageConfig s1;
        s1.name = "output_alignment";
        s1.steps = 100;
        s1.lr = 1e-3;
        s1.trainable = {"mlstm_mixer"};
        s1.loss.ce = s1.loss.kd = false;
        s1.loss.weighting = "explicit";
        s1.loss.output = true;
        s1.loss.output_factor = 1000.0;  // LoLCATs mse_factor
        s1.loss.output_weight = Schedule::constant(1.0);
        StageConfig s2;
        s2.name = "finetune";
        s2.steps = 100;
        s2.lr = 1e-4;
        s2.loss.kd = false;
        s2.loss.weighting = "explicit";
        st = {s1, s2};
    } else if (preset == "teacher") {
        StageConfig s;
        s.name = "pretrain";
        s.steps = 1000;
        s.lr = 1e-3;
        s.weight_decay = 0.1;
        s.min_lr_ratio = 0.1;
        s.loss.kd = false;
        s.loss.weighting = "explicit";
        st.push_back(s);
    } else {
        throw UsageError("preset: expected distil-xlstm|mohawk|lolcats|teacher, but got '" +
                         preset + "'");
    }
    return st;
}

namespace {

template <typename T>
void opt(const nlohmann::json& j, const char* key, T& out) {
    if (j.contains(key) && !j.at(key).is_null()) out = j.at(key).get<T>();
}
void opt(const nlohmann::json& j, const char* key, std::string& out) {
    out = data::json_string_or(j, key, out);
}
void opt(const nlohmann::json& j, const char* key, std::vector<std::string>& out) {
    if (!j.contains(key) || j.at(key).is_null()) return;
    out.clear();
    for (const auto& e : j.at(key))
        out.push_back(data::json_string(e, key));
}

void parse_loss(const nlohmann::json& j, LossConfig& l, const std::string& where) {
    opt(j, "weighting", l.weighting);
    DXL_CHECK(l.weighting == "additive" || l.weighting == "explicit", FormatError, where,
              ".weighting: expected additive|explicit, but got '", l.weighting, "'");
    opt(j, "ce", l.ce);
    opt(j, "kd", l.kd);
    opt(j, "hidden", l.hidden);
    opt(j, "output", l.output);
    opt(j, "kd_include_pad", l.kd_include_pad);
    opt(j, "teacher_forced", l.teacher_forced);
    opt(j, "output_factor", l.output_factor);
    if (j.contains("ce_weight")) l.ce_weight = parse_schedule(j["ce_weight"], where + ".ce_weight");
    if (j.contains("alpha")) l.alpha = parse_schedule(j["alpha"], where + ".alpha");
    if (j.contains("temperature"))
        l.temperature = parse_schedule(j["temperature"], where + ".temperature");
    if (j.contains("beta")) l.beta = parse_schedule(j["beta"], where + ".beta");
    if (j.contains("output_weight"))
        l.output_weight = parse_schedule(j["output_weight"], where + ".output_weight");
    if (j.contains("hidden_mode"))
        l.hidden_mode =
            parse_hidden_mode(data::json_string(j["hidden_mode"], where + ".hidden_mode"));
    if (j.contains("attention")) {
        l.attention.clear();
        for (const auto& a : j["attention"]) {
            AttnTerm t;
            t.kind = parse_attn_loss(data::json_string(a.at("kind"), where + ".attention.kind"));
            if (a.contains("weight"))
                t.weight = parse_schedule(a["weight"], where + ".attention.weight");
            opt(a, "norm", t.norm);
            l.attention.push_back(t);
        }
    }
}

nlohmann::json loss_json(const LossConfig& l) {
    nlohmann::json j{{"weighting", l.weighting},
                     {"ce", l.ce},
                     {"kd", l.kd},
                     {"hidden", l.hidden},
                     {"output", l.output},
                     {"kd_include_pad", l.kd_include_pad},
                     {"teacher_forced", l.teacher_forced},
                     {"output_factor", l.output_factor},
                     {"ce_weight", to_json(l.ce_weight)},
                     {"alpha", to_json(l.alpha)},
                     {"temperature", to_json(l.temperature)},
                     {"beta", to_json(l.beta)},
                     {"output_weight", to_json(l.output_weight)},
                     {"hidden_mode", to_string(l.hidden_mode)}};
    j["attention"] = nlohmann::json::array();
    for (const auto& a : l.attention)
        j["attention"].push_back(
            {{"kind", to_string(a.kind)}, {"weight", to_json(a.weight)}, {"norm", a.norm}});
    return j;
}

void parse_stage(const nlohmann::json& j, StageConfig& s, const std::string& where) {
    opt(j, "name", s.name);
    opt(j, "steps", s.steps);
    opt(j, "tokens", s.tokens);
    opt(j, "lr", s.lr);
    opt(j, "warmup_fraction", s.warmup_fraction);
    opt(j, "min_lr_ratio", s.min_lr_ratio);
    opt(j, "weight_decay", s.weight_decay);
    opt(j, "beta1", s.beta1);
    opt(j, "beta2", s.beta2);
    opt(j, "eps", s.eps);
    opt(j, "clip", s.clip);
    opt(j, "trainable", s.trainable);
    if (j.contains("loss")) parse_loss(j["loss"], s.loss, where + ".loss");
    DXL_CHECK(s.steps > 0 || s.tokens > 0, FormatError, where,
              ": expected \"steps\" or \"tokens\" > 0");
    DXL_CHECK(s.lr > 0 && std::isfinite(s.lr), FormatError, where, ".lr: expected > 0, but got ",
              s.lr);
    DXL_CHECK(s.steps >= 0 && s.tokens >= 0, FormatError, where,
              ": \"steps\" and \"tokens\" must not be negative");
    DXL_CHECK(s.warmup_fraction >= 0 && s.warmup_fraction <= 1, FormatError, where,
              ".warmup_fraction: expected 0..1, but got ", s.warmup_fraction);
    DXL_CHECK(s.min_lr_ratio >= 0 && s.min_lr_ratio <= 1, FormatError, where,
              ".min_lr_ratio: expected 0..1, but got ", s.min_lr_ratio);
    DXL_CHECK(s.beta1 >= 0 && s.beta1 < 1 && s.beta2 >= 0 && s.beta2 < 1, FormatError, where,
              ".beta1/.beta2: expected 0 <= beta < 1, but got ", s.beta1, " / ", s.beta2);
    DXL_CHECK(s.eps > 0 && s.weight_decay >= 0 && s.clip >= 0, FormatError, where,
              ": expected eps > 0, weight_decay >= 0 and clip >= 0");
}

}  // namespace

RunConfig parse_run_config(const nlohmann::json& j, const std::string& where) {
    DXL_CHECK(j.is_object(), FormatError, where, ": expected a JSON object");
    RunConfig c;
    try {
        opt(j, "preset", c.preset);
        opt(j, "teacher", c.teacher);
        if (j.contains("scratch_model")) c.scratch_model = j["scratch_model"];
        if (j.contains("student")) {
            const auto& s = j["student"];
            opt(s, "dir", c.student.dir);
            opt(s, "preset", c.student.preset);
            if (s.contains("overrides")) c.student.overrides = s["overrides"];
            opt(s, "tied", c.student.tied);
            opt(s, "copy_teacher_embeddings", c.student.copy_teacher_embeddings);
        }
        if (j.contains("data")) c.data = data::parse_data_config(j["data"], where + ".data");
        opt(j, "batch_size", c.batch_size);
        opt(j, "grad_accum", c.grad_accum);
        opt(j, "eval_every", c.eval_every);
        opt(j, "eval_batches", c.eval_batches);
        opt(j, "eval_alignment", c.eval_alignment);
        opt(j, "ckpt_every", c.ckpt_every);
        opt(j, "keep_last", c.keep_last);
        opt(j, "log_every", c.log_every);
        opt(j, "seed", c.seed);
        opt(j, "threads", c.threads);
        opt(j, "memory_budget_mb", c.memory_budget_mb);
        opt(j, "device", c.device);
        opt(j, "precision", c.precision);
        opt(j, "activation_checkpointing", c.activation_checkpointing);
        opt(j, "out_dir", c.out_dir);
        opt(j, "debug_nan_steps", c.debug_nan_steps);
        if (j.contains("layer_map"))
            for (const auto& p : j["layer_map"])
                c.layer_map.emplace_back(p.at(0).get<int64_t>(), p.at(1).get<int64_t>());
        if (j.contains("nonfinite")) {
            const auto& n = j["nonfinite"];
            opt(n, "max_consecutive", c.nonfinite.max_consecutive);
            opt(n, "action", c.nonfinite.action);
            opt(n, "lr_factor", c.nonfinite.lr_factor);
            opt(n, "max_rollbacks", c.nonfinite.max_rollbacks);
        }
        if (!c.preset.empty()) c.stages = preset_stages(c.preset);
        if (j.contains("stages")) {
            const auto& sj = j["stages"];
            DXL_CHECK(sj.is_array() && !sj.empty(), FormatError, where,
                      ".stages: expected a non-empty array");
            if (c.stages.size() != sj.size()) c.stages.assign(sj.size(), StageConfig{});
            for (size_t i = 0; i < sj.size(); ++i)
                parse_stage(sj[i], c.stages[i], where + ".stages[" + std::to_string(i) + "]");
        }
        if (j.contains("stage_overrides"))  // applied to every stage (e.g. steps for a quick run)
            for (size_t i = 0; i < c.stages.size(); ++i)
                parse_stage(j["stage_overrides"], c.stages[i], where + ".stage_overrides");
    } catch (const nlohmann::json::exception& e) {
        throw FormatError(where + ": bad run config (" + e.what() + ")");
    }
    DXL_CHECK(!c.stages.empty(), FormatError, where, ": expected a \"preset\" or \"stages\"");
    DXL_CHECK(!c.teacher.empty() || !c.scratch_model.is_null(), FormatError, where,
              ": expected \"teacher\" (a model folder) or \"scratch_model\" (train-teacher)");
    DXL_CHECK(c.batch_size >= 1 && c.grad_accum >= 1, FormatError, where,
              ": batch_size and grad_accum must be >= 1");
    DXL_CHECK(c.nonfinite.action == "rollback" || c.nonfinite.action == "stop", FormatError, where,
              ".nonfinite.action: expected rollback|stop, but got '", c.nonfinite.action, "'");
    DXL_CHECK(c.nonfinite.max_consecutive >= 1 && c.nonfinite.max_rollbacks >= 0 &&
                  c.nonfinite.lr_factor > 0 && c.nonfinite.lr_factor <= 1,
              FormatError, where,
              ".nonfinite: expected max_consecutive >= 1, max_rollbacks >= 0 and 0 < lr_factor "
              "<= 1");
    DXL_CHECK(c.eval_every >= 0 && c.ckpt_every >= 0 && c.keep_last >= 0 && c.log_every >= 0,
              FormatError, where,
              ": eval_every, ckpt_every, keep_last and log_every must not be negative");
    DXL_CHECK(c.eval_every == 0 || c.eval_batches >= 1, FormatError, where,
              ": eval_batches: expected >= 1 when eval_every > 0, but got ", c.eval_batches);
    DXL_CHECK(c.memory_budget_mb >= 0 && c.threads >= 0, FormatError, where,
              ": memory_budget_mb and threads must not be negative");
    DXL_CHECK(!c.out_dir.empty(), FormatError, where, ": out_dir: expected a folder name");
    DXL_CHECK(c.precision == "fp32" || c.precision == "bf16-mixed", FormatError, where,
              ".precision: expected \"fp32\" or \"bf16-mixed\", but got '", c.precision, "'");
    return c;
}

RunConfig load_run_config(const std::string& path) {
    std::ifstream in(path);
    DXL_CHECK(in.good(), IoError, "config ", path, ": cannot open; check the path");
    nlohmann::json j;
    try {
        in >> j;
    } catch (const std::exception& e) {
        throw FormatError("config " + path + ": not valid JSON (" + e.what() + ")");
    }
    return parse_run_config(j, path);
}

nlohmann::json to_json(const RunConfig& c) {
    nlohmann::json j;
    j["preset"] = c.preset;
    j["teacher"] = c.teacher;
    if (!c.scratch_model.is_null()) j["scratch_model"] = c.scratch_model;
    j["student"] = {{"dir", c.student.dir},
                    {"preset", c.student.preset},
                    {"overrides", c.student.overrides},
                    {"tied", c.student.tied},
                    {"copy_teacher_embeddings", c.student.copy_teacher_embeddings}};
    j["data"] = data::to_json(c.data);
    j["batch_size"] = c.batch_size;
    j["grad_accum"] = c.grad_accum;
    j["eval_every"] = c.eval_every;
    j["eval_batches"] = c.eval_batches;
    if (c.eval_alignment) j["eval_alignment"] = true;  // absent by default: older logs unchanged
    j["ckpt_every"] = c.ckpt_every;
    j["keep_last"] = c.keep_last;
    j["log_every"] = c.log_every;
    j["seed"] = c.seed;
    j["out_dir"] = c.out_dir;
    // Absent at their defaults: older logs and checkpoints compare unchanged.
    if (c.device != "auto") j["device"] = c.device;
    if (c.precision != "fp32") j["precision"] = c.precision;
    if (c.activation_checkpointing) j["activation_checkpointing"] = true;
    j["nonfinite"] = {{"max_consecutive", c.nonfinite.max_consecutive},
                      {"action", c.nonfinite.action},
                      {"lr_factor", c.nonfinite.lr_factor},
                      {"max_rollbacks", c.nonfinite.max_rollbacks}};
    j["debug_nan_steps"] = c.debug_nan_steps;
    j["layer_map"] = nlohmann::json::array();
    for (const auto& p : c.layer_map)
        j["layer_map"].push_back({p.first, p.second});
    j["stages"] = nlohmann::json::array();
    for (const auto& s : c.stages)
        j["stages"].push_back({{"name", s.name},
                               {"steps", s.steps},
                               {"tokens", s.tokens},
                               {"lr", s.lr},
                               {"warmup_fraction", s.warmup_fraction},
                               {"min_lr_ratio", s.min_lr_ratio},
                               {"weight_decay", s.weight_decay},
                               {"beta1", s.beta1},
                               {"beta2", s.beta2},
                               {"eps", s.eps},
                               {"clip", s.clip},
                               {"trainable", s.trainable},
                               {"loss", loss_json(s.loss)}});
    return j;
}

}  // namespace dxl::train
