// AdamW, gradient clipping and atomic checkpoint folders.
#include "core/train/train_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/base/log.h"
#include "core/data/json_util.h"
#include "core/io/checkpoint.h"
#include "core/io/sha256.h"
#include "core/models/language_model.h"

namespace fs = std::filesystem;

namespace dxl::train {

AdamW::AdamW(std::vector<std::pair<std::string, torch::Tensor>> params)
    : m_params(std::move(params)) {
    for (auto& [n, p] : m_params) {
        m_exp_avg.push_back(torch::zeros_like(p));
        m_exp_avg_sq.push_back(torch::zeros_like(p));
    }
}

void AdamW::step(const AdamWOptions& o) {
    torch::NoGradGuard no_grad;
    ++m_step;
    const double bc1 = 1.0 - std::pow(o.beta1, static_cast<double>(m_step));
    const double bc2 = 1.0 - std::pow(o.beta2, static_cast<double>(m_step));
    for (size_t i = 0; i < m_params.size(); ++i) {
        torch::Tensor& p = m_params[i].second;
        const torch::Tensor& g = p.grad();
        if (!g.defined()) continue;
        p.mul_(1.0 - o.lr * o.weight_decay);
        m_exp_avg[i].mul_(o.beta1).add_(g, 1.0 - o.beta1);
        m_exp_avg_sq[i].mul_(o.beta2).addcmul_(g, g, 1.0 - o.beta2);
        torch::Tensor denom = (m_exp_avg_sq[i].sqrt() / std::sqrt(bc2)).add_(o.eps);
        p.addcdiv_(m_exp_avg[i], denom, -o.lr / bc1);
    }
}

void AdamW::zero_grad() {
    for (auto& [n, p] : m_params)
        if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
}

std::vector<std::pair<std::string, torch::Tensor>> AdamW::state_tensors() const {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (size_t i = 0; i < m_params.size(); ++i) {
        out.emplace_back("exp_avg/" + m_params[i].first, m_exp_avg[i]);
        out.emplace_back("exp_avg_sq/" + m_params[i].first, m_exp_avg_sq[i]);
    }
    out.emplace_back("step", torch::tensor({m_step}, torch::kInt64));
    return out;
}

void AdamW::load_state(const std::function<torch::Tensor(const std::string&)>& get) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < m_params.size(); ++i) {
        m_exp_avg[i].copy_(get("exp_avg/" + m_params[i].first));
        m_exp_avg_sq[i].copy_(get("exp_avg_sq/" + m_params[i].first));
    }
    m_step = get("step").item<int64_t>();
}

double grad_norm(const std::vector<std::pair<std::string, torch::Tensor>>& params) {
    // One host synchronisation for all parameters (per-parameter reads stall a GPU each time).
    std::vector<torch::Tensor> sq;
    for (const auto& [n, p] : params)
        if (p.grad().defined()) sq.push_back(p.grad().to(torch::kFloat64).pow(2).sum());
    return sq.empty() ? 0.0 : std::sqrt(torch::stack(sq).sum().item<double>());
}

double clip_grad_norm(const std::vector<std::pair<std::string, torch::Tensor>>& params,
                      double max_norm) {
    const double n = grad_norm(params);
    if (max_norm > 0 && std::isfinite(n) && n > max_norm) {
        const double f = max_norm / (n + 1e-6);
        for (const auto& [name, p] : params)
            if (p.grad().defined()) p.grad().mul_(f);
    }
    return n;
}

nlohmann::json to_json(const TrainState& s) {
    return {{"format", "dxl-train-state"},
            {"version", 1},
            {"global_step", s.global_step},
            {"stage", s.stage},
            {"stage_step", s.stage_step},
            {"stage_done", s.stage_done},
            {"epoch", s.cursor.epoch},
            {"position", s.cursor.position},
            {"lr_scale", s.lr_scale},
            {"n_skipped", s.n_skipped},
            {"n_consecutive_nonfinite", s.n_consecutive_nonfinite},
            {"n_rollbacks", s.n_rollbacks},
            {"log_bytes", s.log_bytes},
            {"tokens_seen", s.tokens_seen},
            {"config", s.config}};
}

TrainState train_state_from_json(const nlohmann::json& j, const std::string& where) {
    TrainState s;
    try {
        DXL_CHECK(data::json_string_or(j, "format", "") == "dxl-train-state", FormatError, where,
                  ": expected format 'dxl-train-state'; is this a dxl checkpoint?");
        DXL_CHECK(data::json_int_or(j, "version", 0) == 1, UnsupportedError, where,
                  ": train-state version ", data::json_int_or(j, "version", 0),
                  " is not supported (expected 1)");
        s.global_step = j.at("global_step").get<int64_t>();
        s.stage = j.at("stage").get<int64_t>();
        s.stage_step = j.at("stage_step").get<int64_t>();
        s.stage_done = j.at("stage_done").get<bool>();
        s.cursor.epoch = j.at("epoch").get<int64_t>();
        s.cursor.position = j.at("position").get<int64_t>();
        s.lr_scale = j.at("lr_scale").get<double>();
        s.n_skipped = j.at("n_skipped").get<int64_t>();
        s.n_consecutive_nonfinite = j.at("n_consecutive_nonfinite").get<int64_t>();
        s.n_rollbacks = j.at("n_rollbacks").get<int64_t>();
        s.log_bytes = j.at("log_bytes").get<int64_t>();
        s.tokens_seen = j.at("tokens_seen").get<int64_t>();
        s.config = j.at("config");
    } catch (const nlohmann::json::exception& e) {
        throw FormatError(where + ": bad train state (" + e.what() + ")");
    }
    return s;
}

namespace {

constexpr const char* kCheckpointFiles[] = {"model.safetensors", "optimizer.safetensors",
                                            "config.json", "state.json"};
constexpr const char* kChecksumFile = "checksums.json";

void fsync_path(const std::string& path, bool directory) {
    const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream o(path, std::ios::binary);
    o << text;
    o.close();
    DXL_CHECK(o.good(), IoError, "checkpoint: cannot write ", path, " (disk full?)");
}

std::vector<fs::path> complete_checkpoints(const std::string& root) {
    std::vector<fs::path> out;
    std::error_code ec;
    if (!fs::is_directory(root, ec)) return out;
    for (const auto& e : fs::directory_iterator(root)) {
        const std::string n = e.path().filename().string();
        if (e.is_directory() && n.rfind("step_", 0) == 0 && fs::exists(e.path() / "state.json"))
            out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

std::string write_checkpoint(const std::string& root, models::LanguageModel& model,
                             const nlohmann::json& model_config, const AdamW* opt,
                             const TrainState& state, int64_t keep_last) {
    std::vector<std::pair<std::string, torch::Tensor>> weights;
    for (auto& p : model.module().named_parameters(true))
        weights.emplace_back(p.key(), p.value().detach());
    std::vector<std::pair<std::string, torch::Tensor>> opt_tensors;
    if (opt) opt_tensors = opt->state_tensors();
    for (const auto* list : {&weights, &opt_tensors})
        for (const auto& [n, t] : *list)
            DXL_CHECK(!t.is_floating_point() || torch::isfinite(t).all().item<bool>(),
                      InternalError, "checkpoint: tensor '", n,
                      "' holds a non-finite value; refusing to write a checkpoint");
    opt_tensors.emplace_back("rng/torch_cpu", at::detail::getDefaultCPUGenerator().get_state());

    char name[32];
    std::snprintf(name, sizeof name, "step_%08lld", static_cast<long long>(state.global_step));
    fs::create_directories(root);
    const fs::path tmp = fs::path(root) / (std::string(".tmp-") + name);
    const fs::path final_dir = fs::path(root) / name;
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    io::save_safetensors((tmp / "model.safetensors").string(), weights, {{"format", "pt"}});
    io::save_safetensors((tmp / "optimizer.safetensors").string(), opt_tensors,
                         {{"format", "dxl-optimizer"}});
    write_text((tmp / "config.json").string(), model_config.dump(2));
    write_text((tmp / "state.json").string(), to_json(state).dump(2));
    // Checksums of what is on disk, verified before a resume or rollback trusts the folder.
    nlohmann::json sums = {{"format", "dxl-checkpoint-checksums"}, {"algorithm", "sha256"}};
    for (const char* f : kCheckpointFiles)
        sums["files"][f] = io::sha256_file_hex((tmp / f).string());
    write_text((tmp / kChecksumFile).string(), sums.dump(2));
    for (const char* f : kCheckpointFiles)
        fsync_path((tmp / f).string(), false);
    fsync_path((tmp / kChecksumFile).string(), false);
    fsync_path(tmp.string(), true);
    fs::remove_all(final_dir);
    fs::rename(tmp, final_dir);
    fsync_path(root, true);
    auto all = complete_checkpoints(root);
    for (size_t i = 0; keep_last > 0 && i + static_cast<size_t>(keep_last) < all.size(); ++i)
        fs::remove_all(all[i]);
    return final_dir.string();
}

std::optional<std::string> latest_checkpoint(const std::string& root) {
    auto all = complete_checkpoints(root);
    if (all.empty()) return std::nullopt;
    return all.back().string();
}

int64_t clean_stale_checkpoints(const std::string& root) {
    int64_t n = 0;
    std::error_code ec;
    if (!fs::is_directory(root, ec)) return 0;
    for (const auto& e : fs::directory_iterator(root)) {
        if (e.path().filename().string().rfind(".tmp-", 0) == 0) {
            fs::remove_all(e.path());
            ++n;
        }
    }
    return n;
}

std::string verify_checkpoint(const std::string& dir) {
    std::ifstream in(dir + "/" + kChecksumFile);
    if (!in.good()) return "checksums.json is missing";
    nlohmann::json sums;
    try {
        in >> sums;
    } catch (const std::exception&) {
        return "checksums.json is not valid JSON";
    }
    if (!sums.is_object() || !sums.contains("files") || !sums["files"].is_object())
        return "checksums.json lists no files";
    for (const char* f : kCheckpointFiles) {
        const auto it = sums["files"].find(f);
        if (it == sums["files"].end() || !it->is_string())
            return std::string("checksums.json has no entry for ") + f;
        std::string actual;
        try {
            actual = io::sha256_file_hex(dir + "/" + f);
        } catch (const Error&) {
            return std::string(f) + " is missing or unreadable";
        }
        if (actual != it->get<std::string>())
            return std::string(f) + " does not match its checksum (damaged or changed)";
    }
    return "";
}

std::optional<ResumePoint> restore_newest_intact(const std::string& root,
                                                 models::LanguageModel& model) {
    const auto all = complete_checkpoints(root);
    std::vector<std::string> skipped;
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        const std::string dir = it->string();
        std::string problem;
        if (fs::exists(fs::path(dir) / kChecksumFile))
            problem = verify_checkpoint(dir);
        else
            log_warn("checkpoint " + dir +
                     " has no checksums.json (written by an older dxl); loading it unverified");
        if (problem.empty()) {
            try {
                ResumePoint rp{dir, read_checkpoint(dir, model), skipped};
                return rp;
            } catch (const Error& e) {
                problem = e.what();
            }
        }
        log_warn("checkpoint " + dir + ": " + problem + "; trying the next older checkpoint");
        skipped.push_back(dir);
    }
    if (!skipped.empty())
        throw FormatError("no intact checkpoint in " + root + " (" +
                          std::to_string(skipped.size()) +
                          " damaged); move the checkpoints folder away to start over");
    return std::nullopt;
}

std::optional<std::string> latest_intact_checkpoint(const std::string& root) {
    const auto all = complete_checkpoints(root);
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        if (!fs::exists(*it / kChecksumFile)) return it->string();
        const std::string problem = verify_checkpoint(it->string());
        if (problem.empty()) return it->string();
        log_warn("checkpoint " + it->string() + ": " + problem + "; skipping it");
    }
    return std::nullopt;
}

std::string resume_message(const std::string& root, const std::optional<ResumePoint>& rp) {
    if (!rp) return "--resume auto: no checkpoint in " + root + "; starting from step 0";
    std::string m = "--resume auto: resuming from " + rp->dir + " (step " +
                    std::to_string(rp->state.global_step) + ")";
    if (!rp->skipped.empty())
        m += ", the newest intact checkpoint; skipped " + std::to_string(rp->skipped.size()) +
             " damaged newer one(s)";
    return m;
}

TrainState read_checkpoint(const std::string& dir, models::LanguageModel& model) {
    std::ifstream in(dir + "/state.json");
    DXL_CHECK(in.good(), IoError, "checkpoint ", dir,
              ": state.json is missing; the folder is not a complete checkpoint");
    nlohmann::json j;
    try {
        in >> j;
    } catch (const std::exception& e) {
        throw FormatError(dir + "/state.json: not valid JSON (" + std::string(e.what()) + ")");
    }
    TrainState s = train_state_from_json(j, dir + "/state.json");
    io::Checkpoint w = io::Checkpoint::open_file(dir + "/model.safetensors");
    {
        torch::NoGradGuard no_grad;
        for (auto& p : model.module().named_parameters(true))
            p.value().copy_(w.get(p.key(), p.value().sizes().vec(), p.value().scalar_type()));
        for (auto& p : model.module().named_parameters(true))
            DXL_CHECK(
                !p.value().is_floating_point() || torch::isfinite(p.value()).all().item<bool>(),
                ValueError, "checkpoint ", dir, ": weight '", p.key(),
                "' holds a non-finite value (NaN or inf); resume from an older checkpoint");
    }
    io::Checkpoint o = io::Checkpoint::open_file(dir + "/optimizer.safetensors");
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    gen.set_state(o.get("rng/torch_cpu", torch::kUInt8));
    return s;
}

void read_optimizer(const std::string& dir, AdamW& opt) {
    io::Checkpoint o = io::Checkpoint::open_file(dir + "/optimizer.safetensors");
    opt.load_state([&](const std::string& n) {
        return o.get(n, n == "step" ? torch::kInt64 : torch::kFloat32);
    });
}

}  // namespace dxl::train
