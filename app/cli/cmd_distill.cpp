// `dxl distill`: run a distillation config (stages, losses, schedules), optionally resumed and
// data parallel (--nproc N local workers, the torchrun / srun environment, or
// --rank/--world-size/--master to join a run), on the CPU or a CUDA device.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

#include "app/cli/args.h"
#include "app/cli/commands.h"
#include "app/cli/stop_signals.h"
#include "app/cli/train_outcome.h"
#include "app/cli/train_device.h"
#include "app/cli/train_progress.h"
#include "core/base/error.h"
#include "core/dist/launcher_env.h"
#include "core/dist/process_group.h"
#include "core/models/model_peek.h"
#include "core/runtime/runtime.h"
#include "core/train/trainer.h"

namespace dxl::cli {

namespace {
const char* const kDistillUsage =
    "usage: dxl distill --config CFG.json [--resume auto | --force] [--out DIR] [--steps N] "
    "[--threads N]\n"
    "                   [--device auto|cpu|cuda|cuda:N]\n"
    "                   [--nproc N | --rank R --world-size W --master HOST:PORT] [--quiet]\n\n"
    "Runs the stages of CFG (see docs/distillation.md and data/configs/distill_*.json): a preset\n"
    "(\"distil-xlstm\", \"mohawk\", \"lolcats\") or explicit stages. Writes OUT/run.dxlrec "
    "(CRC-framed\n"
    "metrics), OUT/checkpoints/step_*/ and the distilled student in OUT/final/.\n"
    "  --resume auto   continue from the newest checkpoint in OUT/checkpoints\n"
    "  --force         replace an earlier run in OUT (log, checkpoints, final/)\n"
    "  --steps N       override every stage's length (quick runs)\n"
    "  --device D      where to compute (default: the config's \"device\", else auto = the first\n"
    "                  CUDA device when there is one); auto/cuda take cuda:LOCAL_RANK per rank\n"
    "Ctrl-C (SIGINT) or SIGTERM finishes the current step, saves a checkpoint and exits 10; a\n"
    "second signal exits at once.\n"
    "  --nproc N       start N local data-parallel workers (c10d on 127.0.0.1)\n"
    "Started by torchrun (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) or srun\n"
    "(SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID with MASTER_ADDR/MASTER_PORT exported), each\n"
    "process joins the run as its rank: NCCL between GPUs, Gloo on CPUs.\n";
}  // namespace

int run_distill(const std::vector<std::string>& argv) {
    OptionSpec spec;
    spec.with_value.insert({"config", "resume", "out", "steps", "threads", "nproc", "rank",
                            "world-size", "master", "device"});
    spec.flags.insert({"quiet", "force"});
    Args args("distill", argv, spec);
    const std::string cfg_path = args.require("config");
    const std::string resume = args.get_or("resume", "");
    DXL_CHECK(resume.empty() || resume == "auto", UsageError,
              "--resume: expected 'auto', but got '", resume, "'");
    train::RunConfig cfg = train::load_run_config(cfg_path);
    const std::string device_spec = args.get_or("device", cfg.device);
    const std::optional<dist::LauncherEnv> env =
        args.has("rank") ? std::nullopt : dist::launcher_env();
    const int64_t nproc = args.get_int("nproc", 1);
    // Refused here, before any worker starts or any file is written.
    (void)training_device(device_spec, 0);
    if (nproc > 1) {
        DXL_CHECK(!env, UsageError,
                  "dxl distill: --nproc cannot be combined with a launcher environment (RANK / "
                  "SLURM_PROCID); let the launcher start the ranks");
        DXL_CHECK(!args.has("rank"), UsageError,
                  "dxl distill: --nproc cannot be combined with --rank");
        std::vector<std::string> child{"distill"};
        for (size_t i = 0; i < argv.size(); ++i) {
            if (argv[i] == "--nproc") {
                ++i;
                continue;
            }
            if (argv[i].rfind("--nproc=", 0) == 0) continue;
            child.push_back(argv[i]);
        }
        return dist::launch_local_workers("/proc/self/exe", child, static_cast<int>(nproc),
                                          dist::pick_free_port());
    }
    runtime::RuntimeOptions ro;
    ro.threads = static_cast<int>(args.get_int("threads", 0));
    runtime::configure(ro);

    if (args.has("out")) cfg.out_dir = args.require("out");
    if (args.has("steps")) {
        const int64_t s = args.get_int("steps", 0);
        DXL_CHECK(s > 0, UsageError, "--steps: expected a positive integer");
        for (auto& st : cfg.stages) {
            st.steps = s;
            st.tokens = 0;
        }
    }
    // A given student must fit the teacher; refused before either is loaded.
    if (!cfg.teacher.empty() && !cfg.student.dir.empty())
        models::check_pairable(cfg.teacher, cfg.student.dir, "dxl distill");
    dist::DistOptions dopt;
    std::unique_ptr<dist::ProcessGroup> group;
    int local_rank = 0;
    if (args.has("rank") || args.has("world-size")) {
        dopt.rank = static_cast<int>(args.get_int("rank", 0));
        dopt.world_size = static_cast<int>(args.get_int("world-size", 1));
        dist::parse_master(args.get_or("master", "127.0.0.1:29500"), dopt);
        const char* lr = std::getenv("LOCAL_RANK");  // set by --nproc for its workers
        local_rank = lr && *lr ? std::atoi(lr) : dopt.rank;
    } else if (env) {
        dopt.rank = env->rank;
        dopt.world_size = env->world_size;
        dopt.master_addr = env->master_addr;
        dopt.master_port = env->master_port;
        dopt.store_exists = env->agent_store;
        local_rank = env->local_rank;
    }
    dopt.device = torch::Device(training_device(device_spec, local_rank));
    if (args.has("rank") || args.has("world-size") || env) group = dist::connect(dopt);
    train::TrainOptions topt;
    topt.device = dopt.device.str();
    topt.resume = resume == "auto";
    topt.force = args.flag("force");
    topt.group = group.get();
    ProgressPrinter printer(!args.flag("quiet") && dopt.rank == 0);
    train::TrainHooks hooks;
    hooks.on_progress = [&](const train::ProgressInfo& p) { printer.progress(p); };
    hooks.on_record = [&](const nlohmann::json& r) { printer.record(r); };
    hooks.cancel = &install_stop_signals("finishing the current step, then saving a checkpoint");
    // A file-size limit (ulimit -f) must surface as a write error, not kill the process.
    std::signal(SIGXFSZ, SIG_IGN);
    train::TrainOutcome o = train::run_training(cfg, topt, hooks);
    printer.finish();
    if (dopt.rank == 0) {
        std::printf("%s\n", nlohmann::json{{"steps", o.global_step},
                                           {"skipped", o.n_skipped},
                                           {"rollbacks", o.n_rollbacks},
                                           {"stopped", o.stopped},
                                           {"stop_reason", o.stop_reason},
                                           {"resumed", o.resumed_from_checkpoint},
                                           {"final_model", o.final_model_dir},
                                           {"log", o.log_path},
                                           {"eval", o.last_eval}}
                                .dump(2)
                                .c_str());
    }
    return dopt.rank == 0 ? report_stop("distill", o) : stop_exit_code(o);
}

DXL_CLI_COMMAND(60, "distill",
                "distil a teacher into an xLSTM student (stages, resume, data parallel)",
                kDistillUsage, run_distill);

}  // namespace dxl::cli
