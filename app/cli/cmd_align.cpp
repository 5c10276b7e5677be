// `dxl align`: how well each student head reproduces teacher attention. Two modes:
// a capture file (results go into its /align group) or an in-memory capture of two model
// directories on the given tokens. Both write summary.json, pairs.csv and heads.csv to --out
// and print a plain-text summary (docs/alignment.md).
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "app/cli/align_show.h"
#include "app/cli/args.h"
#include "app/cli/commands.h"
#include "app/cli/device_options.h"
#include "app/cli/inputs.h"
#include "core/analysis/alignment.h"
#include "core/analysis/capture_input.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "core/capture/memory_sink.h"
#include "core/io/tokenizer.h"
#include "core/models/finite_weights.h"
#include "core/models/model_peek.h"
#include "core/models/registry.h"
#include "core/runtime/memory_guard.h"
#include "core/runtime/runtime.h"
#include "core/store/capture_reader.h"
#include "core/store/file_lock.h"
#include "core/store/h5.h"

namespace dxl::cli {
namespace fs = std::filesystem;

namespace {

const std::string kAlignUsage =
    std::string(
        "usage: dxl align RUN.h5 [OPTIONS]\n"
        "       dxl align --teacher DIR --student DIR INPUT [OPTIONS]\n\n"
        "Compares every teacher attention head with every student (mLSTM implicit attention) head "
        "of\n"
        "the mapped layers: Frobenius/T, KL, JS, Pearson, Spearman, cosine and top-k overlap; "
        "per-head\n"
        "entropy, distance, diagonal, sink, previous-token and induction scores; linear/RBF CKA "
        "on\n"
        "hidden states; next-token KL and top-1 agreement; attention rollout. Heads are matched "
        "with\n"
        "the Hungarian assignment on --metric. With several samples every value gets a 95% "
        "t-interval.\n"
        "RUN.h5 mode writes the results into the capture's /align group (replacing an older "
        "one).\n\n"
        "options:\n"
        "  --metric js|frob|kl|pearson|spearman|cosine|topk   head-matching metric (default js)\n"
        "  --normalize abs-row|relu-row|raw|minmax|gate-only  student normalisation (default "
        "abs-row)\n"
        "  --map FILE            user layer map: {\"blocks\": {\"0\": [0, 1]}} or {\"pairs\": [[l, "
        "b]]}\n"
        "  --layer-map all-blocks|mlstm-only|all-pairs  ratio grouping over all blocks (default; "
        "keeps\n"
        "                        the mLSTM ones), over mLSTM blocks only, or every layer x block\n"
        "  --top-k K             top-k overlap size (default 5)\n"
        "  --eps E               KL/JS smoothing (default 1e-8)\n"
        "  --out DIR             write summary.json, pairs.csv, heads.csv (RUN.h5 mode default:\n"
        "                        RUN_align/ next to the file; in-memory mode also writes "
        "align.h5)\n"
        "  --max-samples N       RUN.h5 mode: only the first N samples\n"
        "  --induction-period N  repeated random sequences of 2N tokens for the induction score\n"
        "                        (needs the models; default min(context/2, 64)); 0 disables\n"
        "  --induction-seqs N    number of such sequences (default 8)\n"
        "  --threads N\n") +
    kDeviceHelp + "\n" + kShowHelp + "\n" + kInputHelp;

struct Models {
    std::unique_ptr<models::LanguageModel> teacher, student;
};

analysis::LayerMap make_map(const Args& args, int64_t n_teacher,
                            const std::vector<std::string>& types) {
    if (auto f = args.get("map")) return analysis::load_layer_map_file(*f, n_teacher, types);
    const std::string mode = args.get_or("layer-map", "all-blocks");
    if (mode == "all-pairs") return analysis::all_pairs_layer_map(n_teacher, types);
    return analysis::ratio_layer_map(n_teacher, types, analysis::parse_layer_grouping(mode));
}

// Induction scores of both models added to the report (when the models are available).
void add_induction(const Args& args, Models& m, analysis::AlignmentReport& rep,
                   analysis::StudentNorm norm) {
    const auto ctx = [](const models::LanguageModel& x) {
        return x.info().context_length > 0 ? x.info().context_length : int64_t{1} << 20;
    };
    const int64_t def = std::min<int64_t>(64, std::min(ctx(*m.teacher), ctx(*m.student)) / 2);
    const int64_t period = args.get_int("induction-period", def);
    if (period == 0) return;
    DXL_CHECK(period >= 2 && 2 * period <= std::min(ctx(*m.teacher), ctx(*m.student)), UsageError,
              "--induction-period: expected 2 <= N and 2N within both models' context, but got ",
              period);
    const int64_t n_seq = args.get_int("induction-seqs", 8);
    DXL_CHECK(n_seq > 0, UsageError, "--induction-seqs: expected a positive integer");
    const int64_t V = std::min(m.teacher->info().vocab_size, m.student->info().vocab_size);
    torch::Tensor tokens = analysis::repeated_random_tokens(n_seq, period, V);  // (n_seq, 2 period)
    analysis::set_induction(rep.teacher_heads_stats,
                            analysis::induction_scores(*m.teacher, tokens, period), rep.ci_level);
    analysis::set_induction(rep.student_heads_stats,
                            analysis::induction_scores(*m.student, tokens, period, norm),
                            rep.ci_level);
}

void write_tables(const analysis::AlignmentReport& rep, const std::string& out) {
    fs::create_directories(out);
    analysis::write_summary_json(rep, out + "/summary.json");
    analysis::write_pairs_csv(rep, out + "/pairs.csv");
    analysis::write_heads_csv(rep, out + "/heads.csv");
}

Models load_pair(const std::string& tdir, const std::string& sdir, const models::LoadOptions& lo) {
    Models m;
    models::check_pairable(tdir, sdir, "dxl align");
    m.teacher = models::load_model(tdir, lo);
    m.student = models::load_model(sdir, lo);
    models::require_finite_weights(*m.teacher, tdir);
    models::require_finite_weights(*m.student, sdir);
    DXL_CHECK(m.teacher->info().family == "transformer", UsageError,
              "--teacher: expected a Transformer, but ", tdir, " holds a ",
              m.teacher->info().architecture);
    DXL_CHECK(m.student->info().family == "xlstm", UsageError, "--student: expected an xLSTM, but ",
              sdir, " holds a ", m.student->info().architecture);
    return m;
}

}  // namespace

int run_align(const std::vector<std::string>& argv) {
    OptionSpec spec;
    spec.with_value.insert({"teacher", "student", "metric", "normalize", "map", "layer-map",
                            "top-k", "eps", "out", "max-samples", "induction-period",
                            "induction-seqs", "threads"});
    add_input_options(spec);
    add_device_options(spec);
    add_show_options(spec);
    spec.max_positional = 1;
    Args args("align", argv, spec);
    analysis::AlignOptions opts;
    opts.match_metric = analysis::parse_metric(args.get_or("metric", "js"));
    opts.norm = analysis::parse_student_norm(args.get_or("normalize", "abs-row"));
    opts.metric.top_k = args.get_int("top-k", 5);
    DXL_CHECK(opts.metric.top_k > 0, UsageError, "--top-k: expected a positive integer");
    opts.metric.eps = args.get_double("eps", 1e-8);
    DXL_CHECK(opts.metric.eps > 0 && opts.metric.eps < 1, UsageError,
              "--eps: expected a number in (0, 1)");
    runtime::RuntimeOptions ro;
    ro.threads = static_cast<int>(args.get_int("threads", 0));
    DXL_CHECK(ro.threads >= 0, UsageError, "--threads: expected a positive integer");
    runtime::configure(ro);
    const models::LoadOptions lo = device_load_options(args);  // refuses cuda before any work
    torch::NoGradGuard no_grad;

    const bool file_mode = !args.positional().empty();
    DXL_CHECK(file_mode || !show_requested(args) || args.has("out"), UsageError,
              "dxl align: --show and the display options write OUT/show.h5; add --out DIR");
    if (file_mode) {
        const std::string run = args.positional()[0];
        DXL_CHECK(!args.has("text") && !args.has("text-file") && !args.has("tokens") &&
                      !args.has("tokens-file"),
                  UsageError,
                  "dxl align: RUN.h5 mode takes no token input (the capture holds the tokens)");
        std::vector<analysis::AlignmentInput> samples;
        std::vector<std::string> types;
        DXL_CHECK(fs::exists(run), IoError, run, ": no such capture file");
        const store::FileLock lock(run, "dxl align");  // held until /align is written
        {
            store::CaptureReader reader(run);
            // Never analyse a damaged sample: refuse the file and point at the repair.
            const store::IntegrityReport integrity = reader.verify();
            DXL_CHECK(integrity.ok, FormatError, run, ": ",
                      integrity.committed - integrity.verified, " of ", integrity.committed,
                      " samples fail their checksum (",
                      integrity.problems.empty() ? "damaged" : integrity.problems.front(),
                      "); `dxl inspect ", run,
                      " --repair` writes the samples that verify to a new file to align instead");
            if (reader.status() != "complete")
                log_warn("align: " + run + " has status '" + reader.status() +
                         "'; aligning its committed samples");
            samples = analysis::inputs_from_capture(reader, args.get_int("max-samples", 0));
            types = analysis::capture_layout(reader).student_block_types;
        }
        const auto n_teacher = static_cast<int64_t>(samples.at(0).teacher_attn.size());
        analysis::AlignmentReport rep =
            analysis::align(samples, make_map(args, n_teacher, types), opts);
        if (args.has("teacher") || args.has("student")) {
            Models m = load_pair(args.require("teacher"), args.require("student"), lo);
            add_induction(args, m, rep, opts.norm);
        }
        {
            h5::File f(run, h5::File::Mode::ReadWrite, h5::File::Writes::CrashConsistent);
            if (f.root().exists("align")) {
                f.root().remove("align");
                std::printf("replacing the earlier /align results in %s\n", run.c_str());
            }
            analysis::write_align_group(rep, f.root());
            f.flush();
        }
        fs::path def = fs::path(run).parent_path() / (fs::path(run).stem().string() + "_align");
        const std::string out = args.get_or("out", def.string());
        write_tables(rep, out);
        if (show_requested(args)) write_show(args, samples, opts.norm, out);
        analysis::print_summary(rep, stdout);
        std::printf("wrote %s:/align and %s/{summary.json,pairs.csv,heads.csv}\n", run.c_str(),
                    out.c_str());
        return 0;
    }

    DXL_CHECK(
        args.has("teacher") && args.has("student"), UsageError,
        "dxl align: give a capture file RUN.h5, or --teacher DIR --student DIR with token input");
    const std::string tdir = args.require("teacher"), sdir = args.require("student");
    Models m = load_pair(tdir, sdir, lo);
    DXL_CHECK(m.teacher->info().vocab_size == m.student->info().vocab_size, ValueError,
              "dxl align: the teacher's vocabulary (", m.teacher->info().vocab_size,
              ") differs from the student's (", m.student->info().vocab_size,
              "); distilled pairs share one tokenizer");
    auto tok = load_tokenizer_option(args, tdir);
    auto seqs = read_token_input(args, tok.get(), tdir);
    {  // every sample's maps of every layer are held until the alignment is computed
        const auto &ti = m.teacher->info(), &si = m.student->info();
        double need = 0;
        size_t tokens = 0;
        for (const auto& ids : seqs) {
            need += runtime::maps_and_logits_bytes(
                static_cast<int64_t>(ids.size()), ti.vocab_size,
                ti.n_layers * ti.n_heads + si.n_layers * std::max<int64_t>(1, si.n_heads));
            tokens += ids.size();
        }
        runtime::check_fits_in_memory("dxl align: " + std::to_string(seqs.size()) + " sequences (" +
                                          std::to_string(tokens) + " tokens)",
                                      need, "align fewer or shorter sequences");
    }
    m.teacher->module().eval();
    m.student->module().eval();
    const std::vector<std::string> tp = analysis::teacher_capture_points(),
                                   sp = analysis::student_capture_points();
    std::vector<analysis::AlignmentInput> samples;
    for (const auto& ids : seqs) {
        capture::MemorySink ts({tp.begin(), tp.end()}), ss({sp.begin(), sp.end()});
        torch::Tensor tokens = torch::tensor(ids, torch::kInt64).unsqueeze(0);  // (1, T)
        torch::Tensor lt = m.teacher->forward(tokens, {}, &ts);                 // (1, T, V)
        torch::Tensor ls = m.student->forward(tokens, {}, &ss);                 // (1, T, V)
        samples.push_back(
            analysis::input_from_memory(ts, ss, tokens, lt.to(torch::kCPU, torch::kFloat32),
                                        ls.to(torch::kCPU, torch::kFloat32),
                                        m.teacher->info().n_layers, m.student->info().block_types));
    }
    analysis::AlignmentReport rep = analysis::align(
        samples, make_map(args, m.teacher->info().n_layers, m.student->info().block_types), opts);
    add_induction(args, m, rep, opts.norm);
    analysis::print_summary(rep, stdout);
    if (auto out = args.get("out")) {
        if (show_requested(args)) write_show(args, samples, opts.norm, *out);
        write_tables(rep, *out);
        const std::string h5_path = *out + "/align.h5";
        {
            h5::File f(h5_path + ".partial", h5::File::Mode::Truncate);
            f.root().set_attr("format", "dxl-align");
            f.root().set_attr("teacher_dir", fs::absolute(tdir).string());
            f.root().set_attr("student_dir", fs::absolute(sdir).string());
            analysis::write_align_group(rep, f.root());
            f.flush();
        }
        fs::rename(h5_path + ".partial", h5_path);
        std::printf("wrote %s/{summary.json,pairs.csv,heads.csv,align.h5}\n", out->c_str());
    }
    return 0;
}

DXL_CLI_COMMAND(45, "align", "alignment of teacher attention and student implicit attention",
                kAlignUsage.c_str(), run_align);

}  // namespace dxl::cli
