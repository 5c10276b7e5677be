// Distillation trainer: stage loop, loss assembly, metrics, checkpoints, resume, non-finite
// policy, data parallel gradient averaging and pre-flight checks (evaluation: evaluate.cpp).
#include "core/train/trainer.h"

#include <unistd.h>

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/base/error.h"
#include "core/base/log.h"
#include "core/capture/memory_sink.h"
#include "core/data/json_util.h"
#include "core/dist/process_group.h"
#include "core/io/tokenizer.h"
#include "core/models/registry.h"
#include "core/models/xlstm_v1.h"
#include "core/runtime/torch_compat.h"
#include "core/train/activation_checkpoint.h"
#include "core/train/batch_tensors.h"
#include "core/train/losses.h"
#include "core/train/run_folder.h"
#include "core/train/run_log.h"
#include "core/train/stop_request.h"
#include "core/train/student.h"
#include "core/train/train_state.h"
#include "core/train/vocab_losses.h"

namespace fs = std::filesystem;
namespace pt = dxl::capture::point;

namespace dxl::train {

namespace {

using Clock = std::chrono::steady_clock;

// The values of one stage step's schedules.
struct Weights {
    double alpha = 0, temperature = 1, beta = 0, ce = 0, output = 0;
    std::vector<double> attention;
};

Weights stage_weights(const LossConfig& l, int64_t epoch, int64_t k, int64_t step, int64_t steps) {
    Weights w;
    w.alpha = l.kd ? l.alpha.value(epoch, k, step, steps) : 0.0;
    w.temperature = l.temperature.value(epoch, k, step, steps);
    w.beta = l.hidden ? l.beta.value(epoch, k, step, steps) : 0.0;
    if (!l.ce)
        w.ce = 0;
    else if (l.weighting == "additive")
        w.ce = std::max(0.0, 1.0 - w.alpha - w.beta);
    else
        w.ce = l.ce_weight.value(epoch, k, step, steps);
    w.output = l.output ? l.output_weight.value(epoch, k, step, steps) * l.output_factor : 0.0;
    for (const auto& a : l.attention)
        w.attention.push_back(a.weight.value(epoch, k, step, steps));
    return w;
}

// The loss graph of one micro-batch.
struct MicroLoss {
    torch::Tensor total;                  // scalar with graph
    std::map<std::string, double> parts;  // detached values
};

class Engine {
  public:
    Engine(const RunConfig& cfg, models::LanguageModel* teacher, models::LanguageModel& student,
           const torch::Device& device)
        : m_cfg(cfg),
          m_teacher(teacher),
          m_student(student),
          m_device(device),
          m_bf16(cfg.precision == "bf16-mixed") {
        m_blocks = student_blocks(student);
        if (teacher) {
            const int64_t LT = teacher->info().n_layers, NS = student.info().n_layers;
            m_groups = ratio_groups(LT, NS);
            for (const auto& [tl, sb] : cfg.layer_map) {
                DXL_CHECK(tl >= 0 && tl < LT && sb >= 0 && sb < NS, ValueError, "layer_map: pair (",
                          tl, ", ", sb, ") is outside teacher layers [0, ", LT,
                          ") / student blocks [0, ", NS, ")");
                m_groups[static_cast<size_t>(sb)] = {tl, tl + 1};
            }
        }
    }

    MicroLoss compute(const BatchTensors& bt, const LossConfig& l, const Weights& w) {
        MicroLoss out;
        const bool need_teacher =
            m_teacher && (l.kd || l.hidden || l.output || !l.attention.empty());
        const bool need_student_full = l.ce || l.kd || l.hidden ||
                                       (!l.attention.empty() && !l.teacher_forced) ||
                                       (l.output && !l.teacher_forced);
        const bool need_tf = (l.output || !l.attention.empty()) && l.teacher_forced;
        if ((l.output || !l.attention.empty()) && m_blocks.empty())
            throw UnsupportedError("loss: attention/output terms need an xlstm_v1 student");
        if ((l.output || !l.attention.empty() || l.kd || l.hidden) && !m_teacher)
            throw UsageError("loss: KD, hidden, attention and output terms need a teacher");

        // Teacher pass (no grad): logits and the captured points.
        torch::Tensor t_logits;  // (B, T, V)
        std::set<std::string> tpoints;
        if (l.hidden || need_tf || l.output)
            tpoints.insert({pt::kHidden, pt::kFinalHidden, pt::kEmbed});
        if (!l.attention.empty()) tpoints.insert(pt::kAttnProbs);
        capture::MemorySink tsink(tpoints);
        if (need_teacher) {
            torch::NoGradGuard ng;
            compat::AutocastGuard ac(m_device.type(), torch::kBFloat16, m_bf16);
            t_logits = m_teacher->forward(bt.input, {}, tpoints.empty() ? nullptr : &tsink);
        }
        auto tget = [&](const std::string& p) {
            auto it = tsink.values().find(p);
            DXL_ASSERT(it != tsink.values().end(), "teacher capture missing ", p);
            return it->second;
        };
        const int64_t LT = m_teacher ? m_teacher->info().n_layers : 0;

        // Student full pass.
        std::set<std::string> spoints;
        if (l.hidden) spoints.insert({pt::kHidden, pt::kFinalHidden});
        if (!l.attention.empty() && !l.teacher_forced) spoints.insert(pt::kImplicitAttn);
        if (l.output && !l.teacher_forced) spoints.insert(pt::kHidden);
        GraphSink ssink(spoints);
        torch::Tensor s_logits;  // (B, T, V)
        if (need_student_full) {
            compat::AutocastGuard ac(m_device.type(), torch::kBFloat16, m_bf16);
            // Blocks recompute in backward only when nothing inside them is captured.
            const bool ckpt = m_cfg.activation_checkpointing && !spoints.count(pt::kImplicitAttn);
            BlockCheckpointing scope(m_student, m_blocks, ckpt);
            s_logits = m_student.forward(bt.input, {}, spoints.empty() ? nullptr : &ssink);
        }

        torch::Tensor total = torch::zeros({}, torch::TensorOptions().device(m_device));
        auto add = [&](const char* name, double weight, const torch::Tensor& term) {
            out.parts[name] = term.item<double>();
            if (weight != 0.0) total = total + weight * term;
        };
        if (l.ce || l.kd) {  // over token chunks: no extra full-vocabulary float32 copies
            VocabLossOptions vo;
            vo.ce = l.ce;
            vo.kd = l.kd;
            vo.temperature = w.temperature;
            torch::Tensor kd_mask =
                l.kd_include_pad ? torch::ones_like(bt.input_valid) : bt.input_valid;
            VocabLosses vl =
                vocab_losses(s_logits, t_logits, bt.target, bt.target_valid, kd_mask, vo);
            if (l.ce) add("ce", w.ce, vl.ce);
            if (l.kd) add("kl", w.alpha, vl.kl);
        }
        std::vector<torch::Tensor> t_hidden;  // L_T x (B, T, D): layer outputs, last post-norm
        if (l.hidden) {
            for (int64_t i = 0; i + 1 < LT; ++i)
                t_hidden.push_back(tget(layer_path("teacher", static_cast<int>(i), pt::kHidden)));
            t_hidden.push_back(tget(layer_path("teacher", -1, pt::kFinalHidden)));
            std::vector<torch::Tensor> s_hidden;
            for (int64_t b = 0; b < m_student.info().n_layers; ++b)
                s_hidden.push_back(
                    ssink.get(layer_path("student", static_cast<int>(b), pt::kHidden)));
            torch::Tensor s_final = ssink.get(layer_path("student", -1, pt::kFinalHidden));
            add("hidden", w.beta,
                loss_hidden(l.hidden_mode, t_hidden, s_hidden, s_final, bt.input_valid));
        }
        if (l.output || !l.attention.empty()) {
            torch::Tensor out_acc;
            std::vector<torch::Tensor> attn_acc(l.attention.size());
            int64_t n_out = 0, n_attn = 0;
            for (size_t b = 0; b < m_blocks.size(); ++b) {
                const auto [first, last] = m_groups[b];
                const bool is_mlstm = !m_blocks[b]->is_slstm();
                torch::Tensor y;  // (B, T, D) student block output
                torch::Tensor A;  // (B, H, T, T) student implicit attention
                if (need_tf) {
                    torch::Tensor x_in =
                        first == 0
                            ? tget(layer_path("teacher", -1, pt::kEmbed))
                            : tget(layer_path("teacher", static_cast<int>(first - 1), pt::kHidden));
                    GraphSink bs(is_mlstm && !l.attention.empty()
                                     ? std::set<std::string>{pt::kImplicitAttn}
                                     : std::set<std::string>{});
                    compat::AutocastGuard ac(m_device.type(), torch::kBFloat16, m_bf16);
                    y = m_blocks[b]->forward(x_in, {}, nullptr, &bs, static_cast<int>(b));
                    if (is_mlstm && !l.attention.empty())
                        A = bs.get(layer_path("student", static_cast<int>(b), pt::kImplicitAttn));
                } else {
                    if (l.output)
                        y = ssink.get(layer_path("student", static_cast<int>(b), pt::kHidden));
                    if (is_mlstm && !l.attention.empty())
                        A = ssink.get(
                            layer_path("student", static_cast<int>(b), pt::kImplicitAttn));
                }
                if (l.output) {
                    torch::Tensor target =
                        tget(layer_path("teacher", static_cast<int>(last - 1), pt::kHidden));
                    torch::Tensor term = masked_mse(y, target, bt.input_valid);
                    out_acc = out_acc.defined() ? out_acc + term : term;
                    ++n_out;
                }
                if (A.defined()) {
                    torch::Tensor P;  // (B, H, T, T) mean over the group's layers
                    for (int64_t tl = first; tl < last; ++tl) {
                        torch::Tensor p =
                            tget(layer_path("teacher", static_cast<int>(tl), pt::kAttnProbs));
                        P = P.defined() ? P + p : p;
                    }
                    P = P / static_cast<double>(last - first);
                    for (size_t a = 0; a < l.attention.size(); ++a) {
                        torch::Tensor term = loss_attention(l.attention[a].kind, P, A,
                                                            l.attention[a].norm, bt.input_valid);
                        attn_acc[a] = attn_acc[a].defined() ? attn_acc[a] + term : term;
                    }
                    ++n_attn;
                }
            }
            if (l.output && n_out > 0)
                add("output", w.output, out_acc / static_cast<double>(n_out));
            for (size_t a = 0; a < l.attention.size(); ++a) {
                DXL_CHECK(n_attn > 0, UnsupportedError,
                          "attention terms: the student has no mLSTM block");
                const std::string key = std::string("attn_") + to_string(l.attention[a].kind);
                out.parts[key] = (attn_acc[a] / static_cast<double>(n_attn)).item<double>();
                total = total + w.attention[a] * attn_acc[a] / static_cast<double>(n_attn);
            }
        }
        out.parts["total"] = total.item<double>();
        out.total = total;
        return out;
    }

  private:
    // Activation checkpointing of the student's blocks for one forward (restored on exit).
    class BlockCheckpointing {
      public:
        BlockCheckpointing(models::LanguageModel& student,
                           const std::vector<std::shared_ptr<models::xlstm_v1::BlockImpl>>& blocks,
                           bool on)
            : m_student(student), m_on(on && !blocks.empty()) {
            if (!m_on) return;
            models::xlstm_v1::set_block_runner(
                student,
                [blocks](int64_t b, const models::xlstm_v1::BlockFn& run, const torch::Tensor& x) {
                    return checkpointed(run, x, blocks[static_cast<size_t>(b)]->parameters());
                });
        }
        ~BlockCheckpointing() {
            if (m_on) models::xlstm_v1::set_block_runner(m_student, nullptr);
        }
        BlockCheckpointing(const BlockCheckpointing&) = delete;
        BlockCheckpointing& operator=(const BlockCheckpointing&) = delete;

      private:
        models::LanguageModel& m_student;
        bool m_on;
    };

    const RunConfig& m_cfg;
    models::LanguageModel* m_teacher;
    models::LanguageModel& m_student;
    torch::Device m_device;
    bool m_bf16;  // bf16-mixed: forwards under bfloat16 autocast
    std::vector<std::shared_ptr<models::xlstm_v1::BlockImpl>> m_blocks;
    std::vector<std::pair<int64_t, int64_t>>
        m_groups;  // per student block: teacher layers [first, last)
};

double physical_memory_mb() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0
               ? static_cast<double>(pages) * static_cast<double>(page) / (1 << 20)
               : 0.0;
}

int64_t stage_steps(const StageConfig& s, int64_t global_batch, int64_t T) {
    if (s.steps > 0) return s.steps;
    return (s.tokens + global_batch * T - 1) / (global_batch * T);
}

}  // namespace

double preflight(models::LanguageModel* teacher, models::LanguageModel& student,
                 const std::string& teacher_dir, const std::string& student_dir,
                 const RunConfig& cfg) {
    const auto& si = student.info();
    if (teacher) {
        const auto& ti = teacher->info();
        DXL_CHECK(ti.vocab_size == si.vocab_size, ValueError, "pre-flight: teacher vocabulary ",
                  ti.vocab_size, " != student vocabulary ", si.vocab_size,
                  "; build the student for this teacher");
        DXL_CHECK(ti.context_length == 0 || cfg.data.seq_len <= ti.context_length, ValueError,
                  "pre-flight: seq_len ", cfg.data.seq_len, " exceeds the teacher's context ",
                  ti.context_length, "; lower data.seq_len");
        if (!student_dir.empty()) {
            auto tt = io::load_tokenizer(teacher_dir);
            auto st = io::load_tokenizer(student_dir);
            if (tt && st) {
                DXL_CHECK(tt->fingerprint() == st->fingerprint(), ValueError,
                          "pre-flight: tokenizer fingerprints differ (teacher ", tt->fingerprint(),
                          ", student ", st->fingerprint(),
                          "); the student must use the teacher's tokenizer");
                DXL_CHECK(tt->bos_id() == st->bos_id() && tt->eos_id() == st->eos_id(), ValueError,
                          "pre-flight: special tokens (bos/eos) differ between teacher and student "
                          "tokenizers");
            } else {
                DXL_CHECK(!tt == !st, ValueError, "pre-flight: only one of teacher (", teacher_dir,
                          ") and student (", student_dir,
                          ") has a tokenizer; give both the same tokenizer");
            }
        }
    }
    // Memory: weights + grads + two Adam moments of the student, teacher weights, and logits /
    // activations / attention captures of one micro-batch (a coarse upper estimate).
    const double B = static_cast<double>(cfg.batch_size), T = static_cast<double>(cfg.data.seq_len);
    const double V = static_cast<double>(si.vocab_size), D = static_cast<double>(si.d_model);
    double bytes = 16.0 * static_cast<double>(models::count_parameters(student.module(), false));
    double layers = static_cast<double>(si.n_layers);
    if (teacher) {
        bytes += 4.0 * static_cast<double>(models::count_parameters(teacher->module(), false));
        layers += static_cast<double>(teacher->info().n_layers);
        bytes += 4.0 * B * T * T *
                 static_cast<double>(teacher->info().n_heads * teacher->info().n_layers) * 2;
    }
    bytes += 4.0 * B * T * V * 6 + 4.0 * B * T * D * layers * 24;
    const double mb = bytes / (1 << 20);
    const double budget =
        cfg.memory_budget_mb > 0 ? cfg.memory_budget_mb : 0.8 * physical_memory_mb();
    DXL_CHECK(budget <= 0 || mb <= budget, ValueError, "pre-flight: estimated memory ",
              static_cast<int64_t>(mb), " MB exceeds the budget of ", static_cast<int64_t>(budget),
              " MB; lower batch_size or seq_len (or raise memory_budget_mb)");
    return mb;
}

TrainOutcome run_training(const RunConfig& cfg_in, const TrainOptions& opts,
                          const TrainHooks& hooks) {
    RunConfig cfg = cfg_in;
    dist::ProcessGroup* group = opts.group;
    const int rank = group ? group->rank() : 0;
    const int world = group ? group->world_size() : 1;
    const bool lead = rank == 0;
    const torch::Device device(opts.device);
    TrainOutcome outcome;

    // Models.
    torch::manual_seed(cfg.seed);
    std::unique_ptr<models::LanguageModel> teacher;
    std::unique_ptr<models::LanguageModel> student;
    nlohmann::json student_cfg;
    std::unique_ptr<io::Tokenizer> tok;
    std::string tokenizer_dir;
    bool byte_tok = false;
    if (!cfg.teacher.empty()) {
        // Under bf16-mixed on a GPU the frozen teacher is kept in bf16 (no per-step weight
        // casts, half the memory); its logits come back in float32.
        models::LoadOptions tl;
        tl.device = device;
        tl.dtype =
            cfg.precision == "bf16-mixed" && device.is_cuda() ? torch::kBFloat16 : torch::kFloat32;
        teacher = models::load_model(cfg.teacher, tl);
        teacher->module().eval();
        for (auto& p : teacher->module().parameters())
            p.set_requires_grad(false);
        tok = io::load_tokenizer(cfg.teacher);
        tokenizer_dir = cfg.teacher;
        if (!cfg.student.dir.empty()) {
            student = models::load_model(cfg.student.dir, {device, torch::kFloat32});
            student_cfg = student->config().json();
        } else {
            student = make_student(*teacher, cfg.student, &student_cfg);
        }
    } else {
        student = models::build_model(io::JsonConfig(cfg.scratch_model, "scratch_model"), nullptr);
        student_cfg = cfg.scratch_model;
        if (data::json_string_or(cfg.scratch_model, "tokenizer_class", "") == "dxl-byte")
            tok = io::make_byte_tokenizer();
    }
    byte_tok = tok && tok->kind() == "byte";
    // Weights, gradients and optimiser state live on the device (float32 masters whatever the
    // precision); checkpoints are written from and read into them on any device.
    if (teacher) teacher->module().to(device);
    student->module().to(device);
    // Checkpoints are model folders too ("show maps at step t"): they read text like final/.
    if (byte_tok) student_cfg["tokenizer_class"] = "dxl-byte";
    student->module().train();
    const double mem_mb = preflight(teacher.get(), *student, cfg.teacher, cfg.student.dir, cfg);

    data::Dataset ds(cfg.data, tok.get(), student->info().vocab_size);
    const int64_t B = cfg.batch_size, T = cfg.data.seq_len, GB = B * cfg.grad_accum * world;

    // Output folder, log, resume.
    const std::string ckpt_root = cfg.out_dir + "/checkpoints";
    const std::string log_path = cfg.out_dir + "/run.dxlrec";
    outcome.log_path = log_path;
    TrainState st;
    st.config = to_json(cfg);
    std::optional<std::string> resume_dir;
    std::unique_ptr<RunFolderLock> folder_lock;
    if (lead) {
        folder_lock = std::make_unique<RunFolderLock>(cfg.out_dir);
        if (!opts.resume) prepare_fresh_run_folder(cfg.out_dir, opts.force);
        const int64_t stale = clean_stale_checkpoints(ckpt_root);
        if (stale > 0)
            log_warn(detail::str_cat("distill: removed ", stale,
                                     " stale temporary checkpoint folder(s) in ", ckpt_root));
    }
    if (group) group->barrier();
    std::optional<ResumePoint> resume_point;
    if (opts.resume)
        resume_point = restore_newest_intact(ckpt_root, *student);
    else
        DXL_CHECK(!latest_checkpoint(ckpt_root), UsageError, "distill: ", ckpt_root,
                  " already holds checkpoints; pass --resume auto to continue, or choose another "
                  "out_dir");
    if (opts.resume && lead) log_info(resume_message(ckpt_root, resume_point));
    if (resume_point) {
        resume_dir = resume_point->dir;
        TrainState saved = resume_point->state;
        saved.config = st.config;
        st = saved;
        outcome.resumed_from_checkpoint = true;
        if (st.stage_done) {
            ++st.stage;
            st.stage_step = 0;
            st.stage_done = false;
        }
    }
    std::unique_ptr<RunLogWriter> log;
    if (lead) {
        log = std::make_unique<RunLogWriter>(log_path, resume_dir ? st.log_bytes : 0);
        std::ofstream(cfg.out_dir + "/run_config.json") << to_json(cfg).dump(2) << "\n";
    }
    auto record = [&](const nlohmann::json& r) {
        if (!lead) return;
        log->append(r);
        if (hooks.on_record) hooks.on_record(r);
    };
    if (!resume_dir)
        record({{"kind", "event"},
                {"step", 0},
                {"event", "start"},
                {"metrics",
                 {{"memory_estimate_mb", mem_mb},
                  {"world_size", world},
                  {"train_sequences", ds.size(data::Split::Train)},
                  {"heldout_sequences", ds.size(data::Split::Heldout)},
                  {"invalid_utf8_documents", ds.stats().n_invalid_documents},
                  {"invalid_utf8_bytes", ds.stats().n_invalid_bytes},
                  {"trainable_params", models::count_parameters(student->module(), true)},
                  {"total_params", models::count_parameters(student->module(), false)}}}});
    else
        record({{"kind", "event"},
                {"step", st.global_step},
                {"event", "resume"},
                {"metrics", nlohmann::json::object()}});

    int64_t total_steps = 0;
    for (const auto& s : cfg.stages)
        total_steps += stage_steps(s, GB, T);
    Engine engine(cfg, teacher.get(), *student, device);
    const auto t_start = Clock::now();
    int64_t steps_this_run = 0;
    std::set<int64_t> injected_steps;

    auto save = [&](const AdamW* opt) {
        if (lead) {
            st.log_bytes = log->size();
            log->sync();
            write_checkpoint(ckpt_root, *student, student_cfg, opt, st, cfg.keep_last);
        }
        if (group) group->barrier();
    };
    auto do_eval = [&]() {
        nlohmann::json m;
        if (lead) {
            m = evaluate(*student, teacher.get(), ds, B, cfg.eval_batches);
            if (cfg.eval_alignment && teacher)
                m.update(evaluate_alignment(*student, *teacher, ds, B, cfg.layer_map));
            record(
                {{"kind", "eval"}, {"step", st.global_step}, {"stage", st.stage}, {"metrics", m}});
            outcome.last_eval = m;
        }
        if (group) group->barrier();
    };

    for (; st.stage < static_cast<int64_t>(cfg.stages.size()); ++st.stage) {
        const StageConfig& stage = cfg.stages[static_cast<size_t>(st.stage)];
        const int64_t steps = stage_steps(stage, GB, T);
        const int64_t warmup =
            static_cast<int64_t>(std::llround(stage.warmup_fraction * static_cast<double>(steps)));
        auto params = apply_trainable(*student, select_trainable(*student, stage.trainable));
        AdamW opt(params);
        if (resume_dir && st.stage_step > 0) read_optimizer(*resume_dir, opt);
        resume_dir.reset();
        if (lead)
            log_info(detail::str_cat("distill: stage ", st.stage + 1, "/", cfg.stages.size(), " '",
                                     stage.name, "': ", steps, " steps, ", params.size(),
                                     " trainable tensors"));
        while (st.stage_step < steps) {
            if (stop_requested(hooks.cancel, group)) {
                outcome.stopped = true;
                outcome.stop_reason = "cancelled";
                record({{"kind", "event"},
                        {"step", st.global_step},
                        {"event", "stop"},
                        {"metrics", nlohmann::json::object()}});
                save(&opt);
                outcome.global_step = st.global_step;
                outcome.n_skipped = st.n_skipped;
                outcome.n_rollbacks = st.n_rollbacks;
                return outcome;
            }
            const auto t0 = Clock::now();
            const int64_t first = ds.take(st.cursor, GB);
            const int64_t epoch = st.cursor.epoch, k = first / GB;
            const Weights w = stage_weights(stage.loss, epoch, k, st.stage_step, steps);
            const double lr =
                cosine_lr(stage.lr, st.stage_step, steps, warmup, stage.min_lr_ratio) * st.lr_scale;
            std::map<std::string, double> parts;
            for (int64_t a = 0; a < cfg.grad_accum; ++a) {
                const int64_t row = first + (a * world + rank) * B;
                BatchTensors bt = to_tensors(ds.batch(data::Split::Train, epoch, row, B), device);
                MicroLoss ml = engine.compute(bt, stage.loss, w);
                (ml.total / static_cast<double>(cfg.grad_accum)).backward();
                for (const auto& [n, v] : ml.parts)
                    parts[n] += v / static_cast<double>(cfg.grad_accum);
            }
            // Every rank contributes a gradient for every parameter (zeros where unused).
            std::vector<torch::Tensor> grads;
            for (auto& [n, p] : params) {
                if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
                grads.push_back(p.grad());
            }
            if (group && world > 1) {
                group->allreduce_mean(grads);
                std::vector<double> vals;
                for (const auto& [n, v] : parts)
                    vals.push_back(v);
                torch::Tensor tv = torch::tensor(vals, torch::kFloat64);
                group->allreduce_sum(tv);
                size_t i = 0;
                for (auto& [n, v] : parts)
                    v = tv[static_cast<int64_t>(i++)].item<double>() / world;
            }
            // Test hook: a non-finite loss at these global steps, once each (a replay after a
            // rollback runs clean, as a transient fault would).
            const bool injected = std::find(cfg.debug_nan_steps.begin(), cfg.debug_nan_steps.end(),
                                            st.global_step) != cfg.debug_nan_steps.end() &&
                                  injected_steps.insert(st.global_step).second;
            if (injected) parts["total"] = std::nan("");
            const double gnorm = clip_grad_norm(params, stage.clip);
            const bool finite = std::isfinite(parts["total"]) && std::isfinite(gnorm);
            nlohmann::json metrics;
            for (const auto& [n, v] : parts)
                metrics[n] = v;
            metrics["alpha"] = w.alpha;
            metrics["temperature"] = w.temperature;
            metrics["beta"] = w.beta;
            metrics["ce_weight"] = w.ce;
            metrics["lr"] = lr;
            metrics["grad_norm"] = gnorm;
            metrics["epoch"] = epoch;
            metrics["step_in_epoch"] = k;
            if (!finite) {
                opt.zero_grad();
                ++st.n_skipped;
                ++st.n_consecutive_nonfinite;
                metrics["skipped"] = 1;
            } else {
                opt.step({lr, stage.beta1, stage.beta2, stage.eps, stage.weight_decay});
                opt.zero_grad();
                st.n_consecutive_nonfinite = 0;
            }
            ++st.stage_step;
            ++st.global_step;
            ++steps_this_run;
            st.tokens_seen += GB * T;
            const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
            metrics["tokens_per_s"] = static_cast<double>(GB * T) / std::max(dt, 1e-9);
            metrics["n_skipped"] = st.n_skipped;
            if (lead && (st.global_step % std::max<int64_t>(1, cfg.log_every) == 0 || !finite))
                record({{"kind", "train"},
                        {"step", st.global_step},
                        {"stage", st.stage},
                        {"metrics", metrics}});
            if (lead && hooks.on_progress) {
                ProgressInfo pi;
                pi.stage = stage.name;
                pi.stage_index = st.stage;
                pi.n_stages = static_cast<int64_t>(cfg.stages.size());
                pi.stage_step = st.stage_step;
                pi.stage_steps = steps;
                pi.global_step = st.global_step;
                pi.total_steps = total_steps;
                pi.elapsed_s = std::chrono::duration<double>(Clock::now() - t_start).count();
                pi.eta_s = pi.elapsed_s / static_cast<double>(steps_this_run) *
                           static_cast<double>(std::max<int64_t>(0, total_steps - st.global_step));
                for (auto it = metrics.begin(); it != metrics.end(); ++it)
                    if (it.value().is_number()) pi.values[it.key()] = it.value().get<double>();
                hooks.on_progress(pi);
            }
            if (st.n_consecutive_nonfinite >= cfg.nonfinite.max_consecutive) {
                const auto last = latest_intact_checkpoint(ckpt_root);
                const bool can_roll = cfg.nonfinite.action == "rollback" && last &&
                                      st.n_rollbacks < cfg.nonfinite.max_rollbacks;
                record({{"kind", "event"},
                        {"step", st.global_step},
                        {"event", can_roll ? "rollback" : "stop"},
                        {"metrics", {{"consecutive_nonfinite", st.n_consecutive_nonfinite}}}});
                if (!can_roll) {
                    outcome.stopped = true;
                    outcome.stop_reason = "non-finite loss/gradients for " +
                                          std::to_string(st.n_consecutive_nonfinite) +
                                          " consecutive steps";
                    outcome.global_step = st.global_step;
                    outcome.n_skipped = st.n_skipped;
                    outcome.n_rollbacks = st.n_rollbacks;
                    return outcome;
                }
                const int64_t skipped = st.n_skipped, rollbacks = st.n_rollbacks + 1;
                const double scale = st.lr_scale * cfg.nonfinite.lr_factor;
                TrainState back = read_checkpoint(*last, *student);
                back.config = st.config;
                st = back;
                st.n_skipped = skipped;
                st.n_rollbacks = rollbacks;
                st.lr_scale = scale;
                st.n_consecutive_nonfinite = 0;
                if (st.stage_done) {  // rolled back to a stage boundary: start this stage over
                    ++st.stage;
                    st.stage_step = 0;
                    st.stage_done = false;
                }
                opt = AdamW(params);
                if (st.stage_step > 0) read_optimizer(*last, opt);
                continue;
            }
            if (cfg.eval_every > 0 && st.global_step % cfg.eval_every == 0) do_eval();
            if (cfg.ckpt_every > 0 && st.global_step % cfg.ckpt_every == 0 && st.stage_step < steps)
                save(&opt);
        }
        st.stage_done = true;
        save(&opt);
        st.stage_done = false;
        st.stage_step = 0;
    }
    --st.stage;  // keep the last stage index in the final record
    do_eval();
    outcome.final_model_dir = cfg.out_dir + "/final";
    if (lead) {
        nlohmann::json fc = student_cfg;
        save_model_dir(*student, fc, outcome.final_model_dir, byte_tok, tokenizer_dir);
        record({{"kind", "event"},
                {"step", st.global_step},
                {"event", "done"},
                {"metrics", {{"n_skipped", st.n_skipped}, {"n_rollbacks", st.n_rollbacks}}}});
        log->sync();
    }
    if (group) group->barrier();
    outcome.global_step = st.global_step;
    outcome.n_skipped = st.n_skipped;
    outcome.n_rollbacks = st.n_rollbacks;
    return outcome;
}

}  // namespace dxl::train
