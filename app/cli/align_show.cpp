// `dxl align --show`: parse the options, compute analysis::show_maps, write OUT/show.h5.
#include "app/cli/align_show.h"

#include <torch/torch.h>

#include <cstdio>
#include <filesystem>

#include "core/analysis/display_maps.h"
#include "core/base/error.h"
#include "core/store/h5.h"
#include "dxl/config.h"

namespace dxl::cli {
namespace fs = std::filesystem;

const char* const kShowHelp =
    "shown maps (what the studio's linked panes show; written to OUT/show.h5):\n"
    "  --show L.H,B.H        teacher layer.head and student block.head (default: layer 0 head 0,\n"
    "                        the first mLSTM block head 0)\n"
    "  --show-sample N       which sample (default 0)\n"
    "  --rollout             attention rollout up to layer L and block B instead of one head\n"
    "  --filter-threshold X  cells with |value| < X shown as 0\n"
    "  --filter-top-k K      keep the K largest causal entries of each row\n"
    "  --drop-sink           drop column 0 and renormalise the rows\n"
    "  --highlight none|teacher-received|student-received|difference-received|kl\n"
    "                        per-token values that colour the studio's token chips\n";

void add_show_options(OptionSpec& spec) {
    spec.with_value.insert(
        {"show", "show-sample", "filter-threshold", "filter-top-k", "highlight"});
    spec.flags.insert({"rollout", "drop-sink", "force"});  // --force: replace show.h5
}

bool show_requested(const Args& args) {
    for (const char* o : {"show", "show-sample", "filter-threshold", "filter-top-k", "highlight",
                          "rollout", "drop-sink"})
        if (args.has(o)) return true;
    return false;
}

namespace {

// "L.H,B.H" -> request fields; UsageError otherwise.
void parse_show(const std::string& s, analysis::ShowRequest& q) {
    long long tl = 0, th = 0, sb = 0, sh = 0;
    char tail = 0;
    DXL_CHECK(std::sscanf(s.c_str(), "%lld.%lld,%lld.%lld%c", &tl, &th, &sb, &sh, &tail) == 4,
              UsageError,
              "--show: expected L.H,B.H (teacher layer.head, student block.head), "
              "but got '",
              s, "'");
    q.teacher_layer = tl;
    q.teacher_head = th;
    q.student_block = sb;
    q.student_head = sh;
}

void write_matrix(const h5::Group& root, const std::string& name, const torch::Tensor& m,
                  const std::string& dims) {
    torch::Tensor c = m.to(torch::kFloat32).contiguous();
    h5::Dims d(c.sizes().begin(), c.sizes().end());
    root.write<float>(name, c.data_ptr<float>(), d);
    root.set_attr("dims", dims, name);
}

}  // namespace

void write_show(const Args& args, const std::vector<analysis::AlignmentInput>& samples,
                analysis::StudentNorm norm, const std::string& out_dir) {
    const int64_t n = args.get_int("show-sample", 0);
    DXL_CHECK(n >= 0 && n < static_cast<int64_t>(samples.size()), UsageError,
              "--show-sample: expected a sample in [0, ", samples.size(), "), but got ", n);
    const analysis::AlignmentInput& in = samples[static_cast<size_t>(n)];
    analysis::ShowRequest q;
    q.norm = norm;
    if (auto s = args.get("show")) {
        parse_show(*s, q);
    } else {  // the first mLSTM block
        for (size_t b = 0; b < in.student_attn.size(); ++b)
            if (in.student_attn[b].defined()) {
                q.student_block = static_cast<int64_t>(b);
                break;
            }
    }
    q.rollout = args.flag("rollout");
    q.filter.threshold = args.get_double("filter-threshold", 0.0);
    q.filter.top_k = args.get_int("filter-top-k", 0);
    q.filter.drop_sink = args.flag("drop-sink");
    DXL_CHECK(q.filter.threshold >= 0 && q.filter.top_k >= 0, UsageError,
              "--filter-threshold / --filter-top-k: expected non-negative values; 0 is off");
    q.highlight = analysis::parse_highlight(args.get_or("highlight", "none"));
    analysis::ShownMaps m = analysis::show_maps(in, q);

    fs::create_directories(out_dir);
    const std::string path = out_dir + "/show.h5";
    DXL_CHECK(args.flag("force") || !fs::exists(path), IoError, "dxl align: ", path,
              " already exists; choose another --out or pass --force to replace it");
    const std::string partial = path + ".partial";
    try {
        h5::File f(partial, h5::File::Mode::Truncate);
        const h5::Group& root = f.root();
        root.set_attr("format", "dxl-align-show");
        root.set_attr("producer", std::string("dxl ") + DXL_VERSION + " (" + DXL_GIT_REV + ")");
        root.set_attr("display_flags", analysis::display_flags(q));
        root.set_attr("map_mode", q.rollout ? "rollout" : "single_head");
        root.set_attr("display_filter_threshold", q.filter.threshold);
        root.set_attr("display_filter_top_k", q.filter.top_k);
        root.set_attr("display_filter_drop_sink", int64_t{q.filter.drop_sink ? 1 : 0});
        root.set_attr("token_highlight", analysis::to_string(q.highlight));
        root.set_attr("student_normalisation", analysis::to_string(q.norm));
        root.set_attr("sample", n);
        torch::Tensor tokens = in.tokens.contiguous();
        root.write<int64_t>("tokens", tokens.data_ptr<int64_t>(),
                            {static_cast<hsize_t>(tokens.numel())});
        write_matrix(root, "teacher_map", m.teacher, "T,T");
        write_matrix(root, "student_map", m.student, "T,T");
        if (!m.highlight.empty())
            write_matrix(root, "highlight", torch::tensor(m.highlight, torch::kFloat64), "T");
        f.flush();
    } catch (...) {
        std::error_code ec;
        fs::remove(partial, ec);
        throw;
    }
    fs::rename(partial, path);
    std::printf("wrote %s: shown maps of sample %lld (%s)\n", path.c_str(),
                static_cast<long long>(n), analysis::display_flags(q).c_str());
}

}  // namespace dxl::cli
