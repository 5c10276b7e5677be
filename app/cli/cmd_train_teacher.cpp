// `dxl train-teacher`: trains a small byte-level Llama-style teacher from scratch (CE only) on a
// data spec (default: the fortunes corpus), with the trainer's logs, checkpoints and resume.
#include <csignal>
#include <cstdio>

#include "app/cli/args.h"
#include "app/cli/commands.h"
#include "app/cli/stop_signals.h"
#include "app/cli/train_outcome.h"
#include "app/cli/train_device.h"
#include "app/cli/train_progress.h"
#include "core/base/error.h"
#include "core/runtime/runtime.h"
#include "core/train/trainer.h"

namespace dxl::cli {

namespace {
const char* const kTrainTeacherUsage =
    "usage: dxl train-teacher --out DIR [--data fortunes] [--d-model 128] [--layers 4] [--heads "
    "4]\n"
    "                         [--kv-heads H] [--ffn 384] [--context 256] [--seq-len 128] [--steps "
    "1000]\n"
    "                         [--batch-size 16] [--lr 1e-3] [--warmup 0.05] [--seed 0] "
    "[--eval-every 100]\n"
    "                         [--ckpt-every 200] [--resume auto] [--threads N] [--quiet]\n"
    "                         [--device auto|cpu|cuda|cuda:N]\n\n"
    "Trains a byte-level (vocab 259: 256 bytes + <|bos|> <|eos|> <|pad|>) Llama-style model with\n"
    "AdamW + cosine LR on SPEC's train split. The model folder (config.json with\n"
    "\"tokenizer_class\": \"dxl-byte\", model.safetensors) lands in DIR/final. An earlier run in "
    "DIR\n"
    "is kept unless --force. Ctrl-C (SIGINT) or SIGTERM saves a checkpoint and exits 10.\n";
}  // namespace

int run_train_teacher(const std::vector<std::string>& argv) {
    OptionSpec spec;
    spec.with_value.insert({"out", "data", "d-model", "layers", "heads", "kv-heads", "ffn",
                            "context", "seq-len", "steps", "batch-size", "lr", "warmup", "seed",
                            "eval-every", "ckpt-every", "resume", "threads", "device"});
    spec.flags.insert({"quiet", "force"});
    Args args("train-teacher", argv, spec);
    // Refused before anything is written (exit 5 without CUDA).
    const std::string device = training_device(args.get_or("device", "auto"), 0);
    runtime::RuntimeOptions ro;
    ro.threads = static_cast<int>(args.get_int("threads", 0));
    runtime::configure(ro);
    const int64_t d = args.get_int("d-model", 128), heads = args.get_int("heads", 4);
    DXL_CHECK(d > 0 && heads > 0 && d % heads == 0, UsageError,
              "--d-model must be a positive multiple of --heads");
    train::RunConfig cfg;
    cfg.scratch_model = {{"model_type", "llama"},
                         {"architectures", {"LlamaForCausalLM"}},
                         {"vocab_size", 259},
                         {"hidden_size", d},
                         {"intermediate_size", args.get_int("ffn", 3 * d)},
                         {"num_hidden_layers", args.get_int("layers", 4)},
                         {"num_attention_heads", heads},
                         {"num_key_value_heads", args.get_int("kv-heads", heads)},
                         {"max_position_embeddings", args.get_int("context", 256)},
                         {"rms_norm_eps", 1e-5},
                         {"rope_theta", 10000.0},
                         {"hidden_act", "silu"},
                         {"tie_word_embeddings", false},
                         {"bos_token_id", 256},
                         {"eos_token_id", 257},
                         {"pad_token_id", 258},
                         {"torch_dtype", "float32"},
                         {"tokenizer_class", "dxl-byte"}};
    cfg.data = data::parse_data_spec(args.get_or("data", "fortunes"));
    cfg.data.seq_len = args.get_int("seq-len", 128);
    DXL_CHECK(cfg.data.seq_len <= args.get_int("context", 256), UsageError,
              "--seq-len must be <= --context");
    cfg.seed = static_cast<uint64_t>(args.get_int("seed", 0));
    cfg.data.seed = 1234 + cfg.seed;
    cfg.batch_size = args.get_int("batch-size", 16);
    cfg.eval_every = args.get_int("eval-every", 100);
    cfg.ckpt_every = args.get_int("ckpt-every", 200);
    cfg.out_dir = args.require("out");
    cfg.stages = train::preset_stages("teacher");
    cfg.stages[0].steps = args.get_int("steps", 1000);
    cfg.stages[0].lr = args.get_double("lr", 1e-3);
    cfg.stages[0].warmup_fraction = args.get_double("warmup", 0.05);
    cfg.preset = "teacher";
    train::TrainOptions topt;
    topt.resume = args.get_or("resume", "") == "auto";
    topt.force = args.flag("force");
    topt.device = device;
    ProgressPrinter printer(!args.flag("quiet"));
    train::TrainHooks hooks;
    hooks.on_progress = [&](const train::ProgressInfo& p) { printer.progress(p); };
    hooks.on_record = [&](const nlohmann::json& r) { printer.record(r); };
    hooks.cancel = &install_stop_signals("finishing the current step, then saving a checkpoint");
    // A file-size limit (ulimit -f) must surface as a write error, not kill the process.
    std::signal(SIGXFSZ, SIG_IGN);
    train::TrainOutcome o = train::run_training(cfg, topt, hooks);
    printer.finish();
    std::printf("%s\n", nlohmann::json{{"steps", o.global_step},
                                       {"final_model", o.final_model_dir},
                                       {"log", o.log_path},
                                       {"eval", o.last_eval},
                                       {"stopped", o.stopped}}
                            .dump(2)
                            .c_str());
    return report_stop("train-teacher", o);
}

DXL_CLI_COMMAND(65, "train-teacher",
                "train a small byte-level Llama-style teacher (default corpus: fortunes)",
                kTrainTeacherUsage, run_train_teacher);

}  // namespace dxl::cli
