// `dxl eval`: held-out perplexity (and teacher comparison) of a model on a data spec; also
// exports a run log (CRC-framed records) to CSV or JSON.
#include <cstdio>
#include <fstream>

#include "app/cli/args.h"
#include "app/cli/commands.h"
#include "app/cli/inputs.h"
#include "core/models/finite_weights.h"
#include "app/cli/train_device.h"
#include "core/base/error.h"
#include "core/data/dataset.h"
#include "core/io/tokenizer.h"
#include "core/models/language_model.h"
#include "core/models/model_peek.h"
#include "core/models/registry.h"
#include "core/runtime/runtime.h"
#include "core/train/run_log.h"
#include "core/train/trainer.h"

namespace dxl::cli {

namespace {
const char* const kEvalUsage =
    "usage: dxl eval --model DIR --data SPEC [--teacher DIR] [--seq-len 128] [--batch-size 8]\n"
    "                [--batches 16] [--heldout-fraction 0.05] [--seed 1234] [--tokenizer FILE] "
    "[--threads N]\n"
    "                [--device auto|cpu|cuda|cuda:N]\n"
    "       dxl eval --log RUN.dxlrec [--kind train|eval|event] [--format csv|json] [--out "
    "FILE]\n\n"
    "Evaluates on the held-out split of SPEC: perplexity = exp(masked mean CE) of the model and "
    "the\n"
    "teacher, top-1 agreement and mean KL(teacher || model) per token, task accuracy for mqar/\n"
    "induction. SPEC: fortunes | fortunes:PATH | text:PATH | jsonl:PATH[#field] | mqar | "
    "induction,\n"
    "joined by '+', synthetic parts with @share (e.g. fortunes+mqar@0.2). Prints JSON.\n"
    "With --log: exports a run log (tail-safe reader; stops at an incomplete last record).\n";
}  // namespace

int run_eval(const std::vector<std::string>& argv) {
    OptionSpec spec;
    spec.with_value.insert({"model", "data", "teacher", "seq-len", "batch-size", "batches",
                            "heldout-fraction", "seed", "threads", "log", "kind", "format", "out",
                            "device"});
    Args args("eval", argv, spec);
    if (args.has("log")) {
        const train::RunLogRead r = train::read_run_log(args.require("log"));
        const std::string format = args.get_or("format", "csv");
        DXL_CHECK(format == "csv" || format == "json", UsageError, "--format: expected csv|json");
        const std::string text = format == "csv"
                                     ? train::export_csv(r.records, args.get_or("kind", "train"))
                                     : train::export_json(r.records);
        if (args.has("out")) {
            std::ofstream o(args.require("out"));
            o << text;
            DXL_CHECK(o.good(), IoError, "--out: cannot write ", args.require("out"));
        } else {
            std::printf("%s", text.c_str());
        }
        if (r.corrupt_tail)
            std::fprintf(stderr, "eval --log: stopped at a corrupt record (offset %lld)\n",
                         static_cast<long long>(r.end_offset));
        return 0;
    }
    const std::string dir = args.require("model");
    const torch::Device device(training_device(args.get_or("device", "auto"), 0));  // exit 5 here
    runtime::RuntimeOptions ro;
    ro.threads = static_cast<int>(args.get_int("threads", 0));
    runtime::configure(ro);
    data::DataConfig dc = data::parse_data_spec(args.get_or("data", "fortunes"));
    dc.seq_len = args.get_int("seq-len", 128);
    dc.heldout_fraction = args.get_double("heldout-fraction", dc.heldout_fraction);
    dc.seed = static_cast<uint64_t>(args.get_int("seed", static_cast<int64_t>(dc.seed)));
    if (args.has("teacher")) models::check_pairable(args.require("teacher"), dir, "dxl eval");
    auto model = models::load_model(dir);
    models::require_finite_weights(*model, dir);
    model->module().to(device);
    std::unique_ptr<models::LanguageModel> teacher;
    if (args.has("teacher")) {
        teacher = models::load_model(args.require("teacher"));
        models::require_finite_weights(*teacher, args.require("teacher"));
        teacher->module().to(device);
        DXL_CHECK(teacher->info().vocab_size == model->info().vocab_size, ValueError,
                  "dxl eval: teacher vocabulary ", teacher->info().vocab_size,
                  " != model vocabulary ", model->info().vocab_size);
    }
    auto tok = load_tokenizer_option(args, args.has("teacher") ? args.require("teacher") : dir);
    if (!tok) tok = io::load_tokenizer(dir);
    data::Dataset ds(dc, tok.get(), model->info().vocab_size);
    nlohmann::json m = train::evaluate(*model, teacher.get(), ds, args.get_int("batch-size", 8),
                                       args.get_int("batches", 16));
    m["model"] = dir;
    m["data"] = data::to_json(dc);
    m["heldout_sequences"] = ds.size(data::Split::Heldout);
    m["invalid_utf8_documents"] = ds.stats().n_invalid_documents;
    std::printf("%s\n", m.dump(2).c_str());
    return 0;
}

DXL_CLI_COMMAND(70, "eval",
                "held-out perplexity / agreement of a model (and teacher); export run logs",
                kEvalUsage, run_eval);

}  // namespace dxl::cli
