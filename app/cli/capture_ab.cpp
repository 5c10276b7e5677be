// `dxl capture --input-b`: input B and the /ab group.
#include "app/cli/capture_ab.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "app/cli/args.h"
#include "core/analysis/ab_diff.h"
#include "core/analysis/layer_map.h"
#include "core/base/error.h"
#include "core/capture/memory_sink.h"
#include "core/io/tokenizer.h"
#include "core/store/h5.h"

namespace dxl::cli {

std::vector<int64_t> read_input_b(const Args& args, const io::Tokenizer* tok, size_t n_inputs) {
    const std::string v = args.require("input-b");
    DXL_CHECK(n_inputs == 1 && !args.has("dataset"), UsageError,
              "--input-b: compares two single inputs; give input A as one sequence");
    DXL_CHECK(!args.flag("append"), UsageError,
              "--input-b: writes a new file (A is sample 0, B sample 1); drop --append");
    std::vector<int64_t> ids;
    if (args.has("text") || args.has("text-file")) {
        DXL_CHECK(tok != nullptr, UsageError,
                  "--input-b: input A is text, but the models have no tokenizer");
        ids = tok->encode_ordinary(v);
    } else {
        ids = parse_int_list(v, "--input-b");
    }
    DXL_CHECK(!ids.empty(), ValueError, "--input-b: no tokens");
    return ids;
}

namespace {

analysis::AlignmentInput run_both(models::LanguageModel& teacher, models::LanguageModel& student,
                                  const std::vector<int64_t>& ids,
                                  const models::ForwardOptions& fo) {
    const std::vector<std::string> tp = analysis::teacher_capture_points(),
                                   sp = analysis::student_capture_points();
    capture::MemorySink ts({tp.begin(), tp.end()}), ss({sp.begin(), sp.end()});
    torch::Tensor tokens = torch::tensor(ids, torch::kInt64).unsqueeze(0);  // (1, T)
    torch::Tensor lt = teacher.forward(tokens, fo, &ts);                    // (1, T, V)
    torch::Tensor ls = student.forward(tokens, fo, &ss);                    // (1, T, V)
    return analysis::input_from_memory(ts, ss, tokens, lt, ls, teacher.info().n_layers,
                                       student.info().block_types);
}

void write_f32(const h5::Group& g, const std::string& name, const torch::Tensor& t,
               const std::string& dims) {
    torch::Tensor c = t.to(torch::kFloat32).contiguous();
    h5::Dims d(c.sizes().begin(), c.sizes().end());
    g.write<float>(name, c.data_ptr<float>(), d);
    g.set_attr("dims", dims, name);
}

std::string two(int64_t i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02lld", static_cast<long long>(i));
    return buf;
}

}  // namespace

void write_ab_group(const std::string& path, models::LanguageModel& teacher,
                    models::LanguageModel& student, const std::vector<int64_t>& a,
                    const std::vector<int64_t>& b, const models::ForwardOptions& fo) {
    torch::NoGradGuard no_grad;
    analysis::AlignmentInput ia = run_both(teacher, student, a, fo);
    analysis::AlignmentInput ib = run_both(teacher, student, b, fo);
    analysis::LayerMap map =
        analysis::ratio_layer_map(teacher.info().n_layers, student.info().block_types);
    analysis::AbDifference d = analysis::ab_difference(ia, ib, map);

    h5::File f(path, h5::File::Mode::ReadWrite, h5::File::Writes::CrashConsistent);
    if (f.root().exists("ab")) f.root().remove("ab");
    h5::Group g = f.root().create_group("ab");
    g.set_attr("sample_a", int64_t{0});
    g.set_attr("sample_b", int64_t{1});
    g.set_attr("T_a", static_cast<int64_t>(a.size()));
    g.set_attr("T_b", static_cast<int64_t>(b.size()));
    g.set_attr("T_common", d.t_common);
    g.set_attr("rule",
               "aligned by token position; compared on the first T_common = min(T_a, T_b) "
               "positions (maps cut to T_common x T_common); differences are A - B");
    g.set_attr("student_normalization",
               "student_diff: raw signed A; dd: |A| row-normalised, head mean");
    g.set_attr("layer_map", map.source);
    for (size_t l = 0; l < d.teacher_diff.size(); ++l)
        write_f32(g, "teacher/layer_" + two(static_cast<int64_t>(l)) + "/attn_diff",
                  d.teacher_diff[l], "H,T,T");
    for (size_t k = 0; k < d.student_diff.size(); ++k)
        if (d.student_diff[k].defined())
            write_f32(g, "student/block_" + two(static_cast<int64_t>(k)) + "/implicit_diff",
                      d.student_diff[k], "H,T,T");
    if (d.teacher_kl.defined()) write_f32(g, "teacher/next_token_kl", d.teacher_kl, "T");
    if (d.student_kl.defined()) write_f32(g, "student/next_token_kl", d.student_kl, "T");
    for (size_t i = 0; i < d.pairs.size(); ++i) {
        const std::string name = "dd/teacher_layer_" + two(d.pairs[i].teacher_layer) +
                                 "__student_block_" + two(d.pairs[i].student_block);
        write_f32(g, name, d.dd[i], "T,T");
        g.set_attr("change_correlation", d.change_correlation[i], name);
    }
    f.flush();
    std::printf(
        "wrote %s:/ab: A - B of both models on the first %lld positions (A %zu, B %zu tokens), "
        "%zu difference-of-differences maps\n",
        path.c_str(), static_cast<long long>(d.t_common), a.size(), b.size(), d.dd.size());
}

}  // namespace dxl::cli
