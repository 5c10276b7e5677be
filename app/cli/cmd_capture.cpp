// `dxl capture`: runs a teacher and a student on the same token sequences and writes one
// crash-safe, self-describing HDF5 capture file (schema v1, docs/capture-schema.md).
#include <torch/torch.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "app/cli/args.h"
#include "app/cli/capture_ab.h"
#include "app/cli/commands.h"
#include "app/cli/device_options.h"
#include "app/cli/format_bytes.h"
#include "app/cli/inputs.h"
#include "app/cli/stop_signals.h"
#include "app/cli/train_outcome.h"
#include "core/base/error.h"
#include "core/base/log.h"
#include "core/capture/h5_capture_sink.h"
#include "core/io/tokenizer.h"
#include "core/models/finite_weights.h"
#include "core/models/model_peek.h"
#include "core/models/registry.h"
#include "core/runtime/memory_guard.h"
#include "core/runtime/runtime.h"
#include "core/store/capture_writer.h"
#include "core/store/file_lock.h"
#include "dxl/config.h"

namespace dxl::cli {
namespace fs = std::filesystem;

namespace {

const std::string kCaptureUsage =
    std::string(
        "usage: dxl capture --teacher DIR --student DIR INPUT --out run.h5 [--layers 0,3-5] "
        "[--blocks LIST]\n"
        "                   [--heads LIST] [--store-dtype f16|f32] [--state-positions "
        "chunk|all|none|LIST]\n"
        "                   [--chunk-size 64] [--implicit-attn] [--hidden] [--logits full|topK]\n"
        "                   [--compression shuffle-lzf|lzf|none|gzip] [--max-bytes 2G] "
        "[--truncate] [--append | --force] "
        "[--device D] [--dtype T] [--threads N]\n\n"
        "Runs both models on each token sequence and writes one sample per sequence to run.h5: "
        "tokens,\n"
        "teacher attn_probs [H,T,T] per layer and logits, student q/k/v/igate_pre/fgate_pre per "
        "mLSTM block\n"
        "with C/n/m at the state positions (default: every chunk boundary), sLSTM gates and "
        "states, and\n"
        "student logits (full up to 32768 tokens of vocabulary; above, the top 64 with the\n"
        "log-normaliser unless --logits full). Teacher and student must share the vocabulary\n"
        "(checked from the configs before any weight is read). The file is written as\n"
        "run.h5.partial, flushed after every sample and renamed when complete; after a crash,\n"
        "`dxl inspect run.h5 --repair` keeps the committed samples. An existing run.h5 is kept "
        "unless\n"
        "--force; --append adds samples to a copy of the finished file that replaces it when "
        "complete.\n"
        "Ctrl-C (SIGINT) or SIGTERM finishes the current sample, finalizes the file and exits 10. "
        "--layers selects teacher layers, --blocks student blocks, --heads the heads of "
        "every\n"
        "per-head dataset. --max-bytes refuses a capture whose estimated size (before compression) "
        "is\n"
        "larger. --dataset F reads a plain text file (one sample per non-empty line) or a .jsonl "
        "file\n"
        "(one {\"text\": ...} per line); it needs a tokenizer.\n\n") +
    kInputHelp + "  --dataset F         text or JSONL file, one sample per line (see above)\n" +
    "  --store-dtype f16|f32  dtype of the stored maps and states (default f16; gates and\n"
    "                      stabilisers are always f32)\n"
    "  --input-b B         a second input (text or ids, as input A): A is sample 0, B sample 1,\n"
    "                      and /ab holds A - B of both models (docs/capture-schema.md)\n" +
    kDeviceHelp;

constexpr int64_t kFullLogitsMaxVocab = 32768;

// "2G", "500M", "64k", "12345" -> bytes.
uint64_t parse_bytes(const std::string& s) {
    DXL_CHECK(!s.empty(), UsageError, "--max-bytes: expected a size such as 2G, 500M or 12345");
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(s, &used);
    } catch (const std::exception&) {
        throw UsageError("--max-bytes: expected a size such as 2G, 500M or 12345, but got '" + s +
                         "'");
    }
    std::string unit = s.substr(used);
    double mult = 1;
    if (unit == "k" || unit == "K")
        mult = 1024.0;
    else if (unit == "M")
        mult = 1024.0 * 1024;
    else if (unit == "G")
        mult = 1024.0 * 1024 * 1024;
    else if (unit == "T")
        mult = 1024.0 * 1024 * 1024 * 1024;
    else
        DXL_CHECK(unit.empty(), UsageError, "--max-bytes: unknown unit '", unit,
                  "'; use K, M, G or T");
    DXL_CHECK(v > 0, UsageError, "--max-bytes: expected a positive size");
    return static_cast<uint64_t>(v * mult);
}

// --dataset: plain text (one sample per non-empty line) or JSONL with a "text" field.
std::vector<std::vector<int64_t>> read_dataset(const std::string& path, const io::Tokenizer* tok) {
    DXL_CHECK(tok != nullptr, UsageError,
              "--dataset: the teacher has no tokenizer (tokenizer.json); give token ids "
              "with --tokens-file instead");
    std::ifstream in(path);
    DXL_CHECK(in.good(), IoError, "--dataset: cannot read ", path);
    const bool jsonl = path.size() > 6 && path.substr(path.size() - 6) == ".jsonl";
    std::vector<std::vector<int64_t>> out;
    std::string line;
    int64_t lineno = 0;
    while (std::getline(in, line)) {
        ++lineno;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        std::string text = line;
        if (jsonl) {
            nlohmann::json j;
            try {
                j = nlohmann::json::parse(line);
            } catch (const std::exception& e) {
                throw FormatError(path + ":" + std::to_string(lineno) + ": not valid JSON (" +
                                  e.what() + ")");
            }
            DXL_CHECK(j.is_object() && j.contains("text") && j["text"].is_string(), FormatError,
                      path, ":", lineno, ": expected an object with a string field \"text\"");
            text = j["text"].get<std::string>();
        }
        auto ids = tok->encode_ordinary(text);
        if (!ids.empty()) out.push_back(std::move(ids));
    }
    DXL_CHECK(!out.empty(), ValueError, "--dataset: ", path, " holds no non-empty sample");
    return out;
}

// An existing file at --out is kept unless --force (replace) or --append (add samples).
void check_capture_output(const std::string& out, bool append, bool force) {
    std::error_code ec;
    DXL_CHECK(!fs::is_directory(out, ec), IoError, "--out: ", out,
              " is a folder; give a file name such as ", out, "/run.h5");
    if (append || !fs::exists(out, ec)) return;
    DXL_CHECK(force, UsageError, "--out: ", out,
              " exists (a finished capture, and any /align results in it); pass --append to add "
              "samples to it, --force to replace it, or choose another name");
    log_warn("capture: --force: " + out + " will be replaced when the new capture is complete");
}

// What happened to the data after a failed capture, for the error message.
std::string partial_advice(const std::string& out, bool append) {
    const std::string partial = out + ".partial";
    if (append)
        return out + " is unchanged; " + partial +
               " holds it plus the new samples committed so far (`dxl inspect " + out +
               " --repair` writes them to a separate file, or delete " + partial + ")";
    return "the committed samples stay in " + partial + " (recover them with `dxl inspect " +
           partial + " --repair`)";
}

capture::StatePositions parse_positions(const std::string& s, std::vector<int64_t>* list) {
    if (s == "chunk") return capture::StatePositions::Chunk;
    if (s == "all") return capture::StatePositions::All;
    if (s == "none") return capture::StatePositions::None;
    *list = capture::parse_index_ranges(s, "--state-positions");
    return capture::StatePositions::List;
}

}  // namespace

int run_capture(const std::vector<std::string>& argv) {
    OptionSpec spec;
    spec.with_value.insert({"teacher", "student", "out", "layers", "blocks", "heads", "dtype",
                            "state-positions", "chunk-size", "logits", "compression", "max-bytes",
                            "threads", "dataset", "form", "store-dtype", "input-b"});
    spec.flags.insert({"append", "force", "implicit-attn", "hidden", "truncate"});
    add_input_options(spec);
    add_device_options(spec);
    Args args("capture", argv, spec);
    const std::string teacher_dir = args.require("teacher");
    const std::string student_dir = args.require("student");
    const std::string out = args.require("out");
    // Refuse a mismatched pair from the configs before any weight is read.
    const models::ModelPeek tpeek = models::peek_model(teacher_dir);
    models::check_pairable(tpeek, models::peek_model(student_dir), "capture");
    const int64_t vocab = tpeek.summary.info.vocab_size;

    capture::H5SinkOptions so;
    if (auto v = args.get("layers"))
        so.teacher_layers = capture::parse_index_ranges(*v, "--layers");
    if (auto v = args.get("blocks"))
        so.student_blocks = capture::parse_index_ranges(*v, "--blocks");
    if (auto v = args.get("heads")) so.heads = capture::parse_index_ranges(*v, "--heads");
    // --store-dtype is what is written; --dtype the models' compute dtype. Captures made before
    // --store-dtype existed passed f16/f32 as --dtype: those spellings still mean storage.
    std::optional<std::string> legacy_store;
    if (auto v = args.get("dtype"); v && (*v == "f16" || *v == "f32")) legacy_store = *v;
    const std::string dtype = args.get_or("store-dtype", legacy_store.value_or("f16"));
    DXL_CHECK(dtype == "f16" || dtype == "f32", UsageError,
              "--store-dtype: expected f16 or f32, but got ", dtype);
    so.dtype = dtype == "f16" ? store::DType::F16 : store::DType::F32;
    so.state_positions = parse_positions(args.get_or("state-positions", "chunk"), &so.state_list);
    so.chunk_size = args.get_int("chunk-size", 64);
    DXL_CHECK(so.chunk_size > 0, UsageError, "--chunk-size: expected a positive integer");
    so.implicit_attn = args.flag("implicit-attn");
    so.hidden = args.flag("hidden");
    // Full logits of a large vocabulary dominate a capture (78 of 98 MB for 128 tokens of a 152k
    // vocabulary); above 32k tokens the default keeps the top 64 and the log-normaliser.
    const bool default_logits = !args.has("logits");
    const std::string logits =
        args.get_or("logits", vocab > kFullLogitsMaxVocab ? "top64" : "full");
    if (logits != "full") {
        const std::string k = logits.rfind("top", 0) == 0 ? logits.substr(3) : "";
        DXL_CHECK(
            !k.empty() && k.size() <= 9 && k.find_first_not_of("0123456789") == std::string::npos,
            UsageError, "--logits: expected full or topK (e.g. top32), but got '", logits, "'");
        so.logits_top_k = std::stoll(k);
        DXL_CHECK(so.logits_top_k > 0, UsageError, "--logits: K must be positive");
    }
    models::ForwardOptions fo;
    fo.form = models::parse_mlstm_form(args.get_or("form", "auto"));
    fo.chunk_size = so.chunk_size;
    store::WriterOptions wo;
    wo.path = out;
    wo.append = args.flag("append");
    DXL_CHECK(!(wo.append && args.flag("force")), UsageError,
              "dxl capture: give --append (add samples) or --force (replace the file), not both");
    check_capture_output(out, wo.append, args.flag("force"));
    wo.filter = h5::parse_filter(args.get_or("compression", "shuffle-lzf"));
    runtime::RuntimeOptions ro;
    ro.threads = static_cast<int>(args.get_int("threads", 0));
    runtime::configure(ro);
    // A file-size limit (ulimit -f) must surface as a write error, not kill the process.
    std::signal(SIGXFSZ, SIG_IGN);

    models::LoadOptions lo;
    {
        std::vector<std::string> device_argv;  // --device / --dtype without the legacy spelling
        if (auto d = args.get("device")) device_argv = {"--device", *d};
        if (auto d = args.get("dtype"); d && !legacy_store) {
            device_argv.push_back("--dtype");
            device_argv.push_back(*d);
        }
        OptionSpec ds;
        add_device_options(ds);
        lo = device_load_options(Args("capture", device_argv, ds));
    }
    auto ttok = io::load_tokenizer(teacher_dir);
    auto stok = io::load_tokenizer(student_dir);
    DXL_CHECK(!ttok || !stok || ttok->fingerprint() == stok->fingerprint(), ValueError,
              "capture: teacher and student tokenizers differ (fingerprints ",
              ttok ? ttok->fingerprint() : "", " vs ", stok ? stok->fingerprint() : "",
              "); both must use the same tokenizer.json: make the student with `dxl student "
              "--for ",
              teacher_dir, " --out DIR`");
    auto teacher = models::load_model(teacher_dir, lo);
    auto student = models::load_model(student_dir, lo);
    models::require_finite_weights(*teacher, teacher_dir);
    models::require_finite_weights(*student, student_dir);
    const auto& ti = teacher->info();
    const auto& si = student->info();
    // --tokenizer gives checkpoints that ship without one a tokenizer; its hash is recorded.
    auto given_tok = args.has("tokenizer") ? load_tokenizer_option(args, teacher_dir) : nullptr;
    const io::Tokenizer* tok = given_tok ? given_tok.get() : ttok ? ttok.get() : stok.get();

    std::vector<std::vector<int64_t>> seqs;
    if (auto d = args.get("dataset")) {
        for (const char* o : {"text", "text-file", "tokens", "tokens-file"}) {
            DXL_CHECK(!args.has(o), UsageError,
                      "dxl capture: give --dataset or one of --text, --text-file, --tokens, "
                      "--tokens-file, not both");
        }
        seqs = read_dataset(*d, tok);
    } else {
        seqs = read_token_input(args, tok, teacher_dir);
    }
    if (args.has("input-b")) seqs.push_back(read_input_b(args, tok, seqs.size()));  // sample 1
    int64_t context = ti.context_length;
    if (si.context_length > 0)
        context = context > 0 ? std::min(context, si.context_length) : si.context_length;
    std::vector<int64_t> lengths;
    for (size_t i = 0; i < seqs.size(); ++i) {
        if (context > 0 && static_cast<int64_t>(seqs[i].size()) > context) {
            DXL_CHECK(args.flag("truncate"), ValueError, "capture: sequence ", i, " has ",
                      seqs[i].size(), " tokens, but the models take at most ", context,
                      "; shorten it or pass --truncate");
            seqs[i].resize(static_cast<size_t>(context));
        }
        for (size_t t = 0; t < seqs[i].size(); ++t) {
            DXL_CHECK(seqs[i][t] >= 0 && seqs[i][t] < ti.vocab_size, ValueError,
                      "capture: token id ", seqs[i][t], " (sequence ", i, ", position ", t,
                      ") is outside the vocabulary [0, ", ti.vocab_size, ")");
        }
        lengths.push_back(static_cast<int64_t>(seqs[i].size()));
        // Layers stream to the writer: one layer's maps of either model at a time.
        runtime::check_fits_in_memory(
            "capture: sequence " + std::to_string(i) + " (" + std::to_string(lengths.back()) +
                " tokens) would",
            runtime::maps_and_logits_bytes(lengths.back(), ti.vocab_size,
                                           2 * std::max<int64_t>(ti.n_heads, si.n_heads)),
            "shorten it");
    }
    const fs::path out_dir = fs::absolute(out).parent_path();
    DXL_CHECK(fs::is_directory(out_dir), IoError, "--out: folder ", out_dir.string(),
              " does not exist");

    // Size guard: estimated bytes handed to the writer (before compression).
    const uint64_t estimate = capture::estimate_capture_bytes(*teacher, *student, so, lengths, fo);
    if (auto mb = args.get("max-bytes")) {
        const uint64_t limit = parse_bytes(*mb);
        DXL_CHECK(estimate <= limit, ValueError, "capture: the estimated size ",
                  format_bytes(static_cast<double>(estimate)),
                  " (before compression) exceeds --max-bytes ",
                  format_bytes(static_cast<double>(limit)),
                  "; capture fewer teacher layers (--layers) or blocks (--blocks), fewer heads "
                  "(--heads), "
                  "--dtype f16, fewer state positions (--state-positions chunk|none|LIST), "
                  "--logits top32, "
                  "or fewer/shorter sequences");
    }
    std::error_code ec;
    const auto space = fs::space(out_dir, ec);
    if (!ec && estimate > space.available) {
        log_warn("capture: the estimated size " + format_bytes(static_cast<double>(estimate)) +
                 " exceeds the free space " + format_bytes(static_cast<double>(space.available)) +
                 " (compression may still make it fit)");
    }

    nlohmann::json options = {{"layers", so.teacher_layers},
                              {"blocks", so.student_blocks},
                              {"heads", so.heads},
                              {"dtype", dtype},
                              {"state_positions", args.get_or("state-positions", "chunk")},
                              {"chunk_size", so.chunk_size},
                              {"implicit_attn", so.implicit_attn},
                              {"hidden", so.hidden},
                              {"logits", logits},
                              {"mlstm_form", to_string(fo.form)}};
    wo.attrs = {{"producer", std::string("dxl ") + DXL_VERSION + " (" + DXL_GIT_REV + ")"},
                {"producer_name", "dxl"},
                {"producer_version", DXL_VERSION},
                {"producer_git_revision", DXL_GIT_REV},
                {"teacher_dir", fs::absolute(teacher_dir).string()},
                {"student_dir", fs::absolute(student_dir).string()},
                {"teacher_model_type", ti.architecture},
                {"student_model_type", si.architecture},
                {"teacher_config_json", teacher->config().json().dump()},
                {"student_config_json", student->config().json().dump()},
                {"tokenizer_hash", tok ? tok->fingerprint()
                                       : "none (token ids only, shared vocabulary of " +
                                             std::to_string(ti.vocab_size) + ")"},
                {"capture_options_json", options.dump()}};
    if (wo.append) wo.attrs.clear();  // keep the original header; the models are checked below
    if (wo.append && fs::exists(out)) {
        // Appending is only meaningful with the same models.
        h5::File probe(out, h5::File::Mode::ReadOnly);
        const auto stored = [&](const char* a) {
            return probe.root().has_attr(a) ? probe.root().attr_string(a) : "";
        };
        DXL_CHECK(stored("teacher_model_type") == ti.architecture &&
                      stored("student_model_type") == si.architecture,
                  ValueError, "--append: ", out, " was captured from ",
                  stored("teacher_model_type"), " / ", stored("student_model_type"),
                  ", but --teacher/--student are ", ti.architecture, " / ", si.architecture,
                  "; write a new file");
    }
    uint64_t size_before = 0;
    int64_t samples_before = 0;
    if (wo.append && fs::exists(out)) {
        size_before = fs::file_size(out);
        h5::File probe(out, h5::File::Mode::ReadOnly);
        samples_before = probe.root().attr_int("count", store::kManifestGroup);
    }
    // No other dxl may change the finished file while this capture replaces or extends it.
    std::unique_ptr<store::FileLock> out_lock;
    if (fs::exists(out)) out_lock = std::make_unique<store::FileLock>(out, "dxl capture");
    const CancelToken& stop =
        install_stop_signals("finishing the current sample, then finalizing the file");
    store::CaptureWriter writer(wo);
    capture::H5CaptureSink sink(&writer, so);
    teacher->module().eval();
    student->module().eval();
    for (size_t i = 0; i < seqs.size() && !stop.cancelled(); ++i) {
        capture::SampleInput in;
        in.tokens = seqs[i];
        if (tok) {
            for (int64_t id : seqs[i])
                in.token_strings.push_back(tok->token_label(id));
        }
        try {
            capture::capture_sample(writer, sink, *teacher, *student, in, fo);
        } catch (const IoError& e) {
            throw IoError(std::string(e.what()) + "; " + partial_advice(out, wo.append) +
                          "; free disk space or capture less (--max-bytes shows the estimate)");
        }
    }
    try {
        writer.finish();
    } catch (const IoError& e) {
        throw IoError(std::string(e.what()) + "; " + partial_advice(out, wo.append));
    }
    if (args.has("input-b")) write_ab_group(out, *teacher, *student, seqs.at(0), seqs.at(1), fo);
    const store::WriterStats st = writer.stats();
    const double size = static_cast<double>(fs::file_size(out));
    // Compare only the bytes this run added with the float32 size of the samples it added.
    const double added = std::max(0.0, size - static_cast<double>(size_before));
    std::printf(
        "wrote %s: %lld samples added%s, %s on disk (%s%s = %.1f%% of %s as float32), filter %s, "
        "writer %.2f GB/s fp32-equivalent\n",
        out.c_str(), static_cast<long long>(st.committed),
        wo.append ? (" to " + std::to_string(samples_before) + " already there").c_str() : "",
        format_bytes(size).c_str(), wo.append ? "+" : "", format_bytes(added).c_str(),
        100.0 * added / std::max(1.0, static_cast<double>(st.fp32_bytes)),
        format_bytes(static_cast<double>(st.fp32_bytes)).c_str(), h5::to_string(writer.filter()),
        static_cast<double>(st.fp32_bytes) / 1e9 / std::max(1e-9, st.busy_seconds));
    if (so.logits_top_k > 0)
        std::printf(
            "logits: top %lld per position with the log-normaliser%s\n",
            static_cast<long long>(so.logits_top_k),
            default_logits ? " (the default above 32768 tokens; --logits full keeps all)" : "");
    if (stop_signal() != 0) {
        std::fprintf(stderr,
                     "dxl capture: stopped by signal after %lld of %zu samples; %s is complete "
                     "with the samples captured so far\n",
                     static_cast<long long>(st.committed), seqs.size(), out.c_str());
        return kExitStopped;
    }
    return 0;
}

DXL_CLI_COMMAND(30, "capture",
                "run teacher and student on token sequences, write an HDF5 capture file",
                kCaptureUsage.c_str(), run_capture);

}  // namespace dxl::cli
