// `dxl inspect`: readable summary of a capture file (models, samples, datasets, sizes, schema,
// integrity), and --repair: the documented recovery after an interrupted capture.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/cli/args.h"
#include "app/cli/commands.h"
#include "app/cli/format_bytes.h"
#include "core/base/error.h"
#include "core/store/capture_reader.h"

namespace dxl::cli {
namespace fs = std::filesystem;

namespace {

const char* const kInspectUsage =
    "usage: dxl inspect FILE.h5 [--repair] [--all-samples]\n\n"
    "Prints a summary of a capture file: schema version and status, producer, teacher and "
    "student,\n"
    "tokenizer, compression, committed samples (from the manifest), the datasets of the first "
    "sample\n"
    "(type, shape, dimension letters, bytes on disk) and an integrity check of every sample's "
    "checksum.\n"
    "Exit code 0 when the file is intact, 4 when it is damaged.\n\n"
    "--repair recovers an interrupted capture: it reads FILE.h5.partial (or FILE given as "
    "*.partial),\n"
    "copies every committed sample whose checksum verifies into a clean FILE.h5 and removes "
    "the partial\n"
    "file. Samples written after the last commit and damaged samples are dropped (later samples "
    "move\n"
    "down; each keeps its `original_index`). When FILE.h5 already exists (a damaged finished "
    "file, or\n"
    "an interrupted --append next to its finished file) the result goes to FILE.repaired.h5 and "
    "the\n"
    "existing files stay unchanged.\n";

std::string shape_str(const h5::Dims& d) {
    std::string s = "[";
    for (size_t i = 0; i < d.size(); ++i)
        s += (i ? ", " : "") + std::to_string(d[i]);
    return s + "]";
}

std::string model_line(const std::string& type, const std::string& json) {
    std::string line = type.empty() ? "?" : type;
    try {
        const auto j = nlohmann::json::parse(json);
        for (const char* k :
             {"n_layer", "num_hidden_layers", "num_blocks", "n_head", "num_attention_heads",
              "n_embd", "hidden_size", "embedding_dim", "vocab_size"}) {
            if (j.contains(k) && j[k].is_number_integer())
                line += std::string(", ") + k + " " + j[k].dump();
        }
    } catch (const std::exception&) {
        line += " (config JSON unreadable)";
    }
    return line;
}

int repair(const std::string& arg) {
    std::string in = arg, out = arg;
    const std::string suffix = ".partial";
    if (arg.size() > suffix.size() &&
        arg.compare(arg.size() - suffix.size(), suffix.size(), suffix) == 0) {
        out = arg.substr(0, arg.size() - suffix.size());
    } else if (fs::exists(arg + suffix)) {
        in = arg + suffix;
    }
    std::error_code ec;
    const std::string scratch = out + ".partial.new";  // header not yet flushed and renamed
    if (fs::remove(scratch, ec))
        std::printf("removed %s (a capture killed before its first flush)\n", scratch.c_str());
    if (!fs::exists(in)) fs::remove(store::journal_path(out + ".partial"), ec);  // a stale one
    DXL_CHECK(fs::exists(in), IoError, in, ": nothing to repair (no such file)");
    // Never replace a file that already exists under the output name (a finished capture next to
    // the partial of an interrupted --append, or a damaged finished file being repaired): the
    // repaired copy goes beside it and the user decides.
    const bool keep_in = in == out || fs::exists(out);
    if (fs::exists(out)) out = fs::path(out).replace_extension(".repaired.h5").string();
    DXL_CHECK(!fs::exists(out), IoError, out, ": exists; move it away before repairing ", in,
              " again");
    const store::RepairReport rep = store::repair_capture(in, out, !keep_in);
    std::printf("repaired %s -> %s: kept %lld committed samples, dropped %lld\n", in.c_str(),
                rep.output.c_str(), static_cast<long long>(rep.kept),
                static_cast<long long>(rep.dropped));
    for (const auto& n : rep.notes)
        std::printf("  note: %s\n", n.c_str());
    if (keep_in)
        std::printf("kept %s unchanged; replace it with %s once you have checked the result\n",
                    in.c_str(), rep.output.c_str());
    return 0;
}

}  // namespace

int run_inspect(const std::vector<std::string>& argv) {
    OptionSpec spec;
    spec.flags.insert({"repair", "all-samples"});
    spec.max_positional = 1;
    Args args("inspect", argv, spec);
    DXL_CHECK(args.positional().size() == 1, UsageError, "dxl inspect: expected one FILE.h5");
    const std::string path = args.positional()[0];
    if (args.flag("repair")) return repair(path);
    if (!fs::exists(path) && fs::exists(path + ".partial")) {
        throw IoError(path + ": does not exist, but " + path +
                      ".partial does (an interrupted capture); run `dxl "
                      "inspect " +
                      path + " --repair` to keep its committed samples");
    }
    store::CaptureReader r(path);
    std::printf("file:        %s (%s)\n", path.c_str(),
                format_bytes(static_cast<double>(fs::file_size(path))).c_str());
    std::printf("format:      %s, schema_version %s, status %s\n", r.attr("format").c_str(),
                r.attr("schema_version").c_str(), r.status().c_str());
    std::printf("created:     %s by %s\n", r.attr("creation_time_utc").c_str(),
                r.attr("producer").c_str());
    std::printf("teacher:     %s\n",
                model_line(r.attr("teacher_model_type"), r.attr("teacher_config_json")).c_str());
    std::printf("student:     %s\n",
                model_line(r.attr("student_model_type"), r.attr("student_config_json")).c_str());
    std::printf("tokenizer:   %s\n", r.attr("tokenizer_hash").c_str());
    std::printf("compression: %s\n", r.attr("compression").c_str());
    std::printf("options:     %s\n", r.attr("capture_options_json").c_str());
    std::printf("samples:     %lld committed\n", static_cast<long long>(r.num_samples()));
    const int64_t shown =
        args.flag("all-samples") ? r.num_samples() : std::min<int64_t>(1, r.num_samples());
    uint64_t stored_total = 0;
    for (int64_t s = 0; s < r.num_samples(); ++s) {
        const auto names = r.datasets(s);
        uint64_t bytes = 0;
        if (s < shown) std::printf("\nsample_%06lld:\n", static_cast<long long>(s));
        for (const auto& n : names) {
            const h5::DatasetInfo i = r.info(s, n);
            bytes += i.storage_bytes;
            if (s < shown) {
                std::printf("  %-36s %-8s %-18s %-10s %s\n", n.c_str(), i.type.c_str(),
                            shape_str(i.dims).c_str(), r.dataset_attr(s, n, "dims").c_str(),
                            format_bytes(static_cast<double>(i.storage_bytes)).c_str());
            }
        }
        stored_total += bytes;
        if (s < shown)
            std::printf("  (%zu datasets, %s stored)\n", names.size(),
                        format_bytes(static_cast<double>(bytes)).c_str());
    }
    if (r.num_samples() > shown) {
        std::printf("\n... %lld more samples (--all-samples lists them)\n",
                    static_cast<long long>(r.num_samples() - shown));
    }
    std::printf("\ndata stored: %s in %lld samples\n",
                format_bytes(static_cast<double>(stored_total)).c_str(),
                static_cast<long long>(r.num_samples()));
    const store::IntegrityReport rep = r.verify();
    if (!rep.uncommitted.empty()) {
        std::printf(
            "uncommitted: %zu sample group(s) after the last commit (dropped by --repair)\n",
            rep.uncommitted.size());
    }
    if (rep.ok) {
        std::printf("integrity:   OK (%lld/%lld sample checksums verified)\n",
                    static_cast<long long>(rep.verified), static_cast<long long>(rep.committed));
        return 0;
    }
    std::printf("integrity:   DAMAGED (%lld/%lld sample checksums verified)\n",
                static_cast<long long>(rep.verified), static_cast<long long>(rep.committed));
    for (const auto& p : rep.problems)
        std::printf("  %s\n", p.c_str());
    throw FormatError(path + ": damaged (" + rep.problems.front() + "); `dxl inspect " + path +
                      " --repair` writes the samples that verify to a new file beside it");
}

DXL_CLI_COMMAND(31, "inspect",
                "summarise a capture file and check its integrity (--repair: recover)",
                kInspectUsage, run_inspect);

}  // namespace dxl::cli
