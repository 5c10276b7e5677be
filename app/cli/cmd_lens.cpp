// `dxl lens`: the logit lens of a teacher and a student on the same tokens, into one HDF5 file
// (docs/lens.md). Every layer's (block's) residual state is read through the model's own final
// norm and head; KL(teacher layer || student block) is written for the pairs of the layer map.
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "app/cli/args.h"
#include "app/cli/commands.h"
#include "app/cli/inputs.h"
#include "core/analysis/layer_map.h"
#include "core/analysis/lens.h"
#include "core/base/error.h"
#include "core/io/tokenizer.h"
#include "core/models/registry.h"
#include "core/runtime/runtime.h"
#include "core/store/h5.h"
#include "dxl/config.h"

namespace dxl::cli {
namespace fs = std::filesystem;

namespace {

const std::string kLensUsage =
    std::string(
        "usage: dxl lens --teacher DIR --student DIR INPUT --out F.h5 [--topk K]\n"
        "                [--layer-map all-blocks|all-pairs | --map FILE] [--form auto|parallel|"
        "chunkwise|recurrent]\n"
        "                [--chunk-size 64] [--force] [--threads N]\n\n"
        "Logit lens of both models: every teacher layer's and student block's output read "
        "through the\n"
        "model's final norm and head. Writes /tokens [T], per teacher layer "
        "/teacher/layer_NN/lens_logprobs\n"
        "[T, V] (float32 log-softmax) and lens_entropy [T], the same per student block under\n"
        "/student/block_NN/, with --topk K also lens_topk_ids [T, K] (int64) and "
        "lens_topk_logprobs [T, K],\n"
        "and /kl/teacher_layer_NN__student_block_MM [T] = KL(teacher layer || student block) "
        "for the pairs\n"
        "of the layer map (default: ratio groups over all blocks; sLSTM blocks included, since "
        "every\n"
        "block has a read-out). An existing F.h5 is kept unless --force.\n\n") +
    kInputHelp;

std::string layer_name(const char* kind, int64_t i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s_%02lld", kind, static_cast<long long>(i));
    return buf;
}

template <typename T>
void write_tensor(const h5::Group& root, const std::string& name, const torch::Tensor& t,
                  const std::string& dims) {
    torch::Tensor c = t.contiguous();
    h5::Dims d(c.sizes().begin(), c.sizes().end());
    root.write<T>(name, c.data_ptr<T>(), d);
    root.set_attr("dims", dims, name);
}

void write_layer(const h5::Group& root, const std::string& group, const analysis::LayerLens& l) {
    write_tensor<float>(root, group + "/lens_logprobs", l.logprobs, "T,V");
    write_tensor<float>(root, group + "/lens_entropy", l.entropy, "T");
    if (l.topk_ids.defined()) {
        write_tensor<int64_t>(root, group + "/lens_topk_ids", l.topk_ids, "T,K");
        write_tensor<float>(root, group + "/lens_topk_logprobs", l.topk_logprobs, "T,K");
    }
}

std::string pairs_json(const analysis::LayerMap& map) {
    std::string s = "[";
    for (size_t i = 0; i < map.pairs.size(); ++i)
        s += (i ? ",[" : "[") + std::to_string(map.pairs[i].teacher_layer) + "," +
             std::to_string(map.pairs[i].student_block) + "]";
    return s + "]";
}

}  // namespace

int run_lens(const std::vector<std::string>& argv) {
    OptionSpec spec;
    spec.with_value.insert(
        {"teacher", "student", "out", "topk", "layer-map", "map", "form", "chunk-size", "threads"});
    spec.flags.insert("force");
    add_input_options(spec);
    Args args("lens", argv, spec);
    const std::string teacher_dir = args.require("teacher");
    const std::string student_dir = args.require("student");
    const std::string out = args.require("out");
    const int64_t topk = args.get_int("topk", 0);
    DXL_CHECK(topk >= 0, UsageError, "--topk: expected a non-negative integer");
    models::ForwardOptions fo;
    fo.form = models::parse_mlstm_form(args.get_or("form", "auto"));
    fo.chunk_size = args.get_int("chunk-size", 64);
    DXL_CHECK(fo.chunk_size > 0, UsageError, "--chunk-size: expected a positive integer");
    DXL_CHECK(!(args.has("map") && args.has("layer-map")), UsageError,
              "dxl lens: give either --map FILE or --layer-map, not both");
    const fs::path out_dir = fs::absolute(out).parent_path();
    DXL_CHECK(fs::is_directory(out_dir), IoError, "--out: folder ", out_dir.string(),
              " does not exist");
    DXL_CHECK(args.flag("force") || !fs::exists(out), IoError, "--out: ", out,
              " already exists; choose another name or pass --force to replace it");
    runtime::RuntimeOptions ro;
    ro.threads = static_cast<int>(args.get_int("threads", 0));
    DXL_CHECK(ro.threads >= 0, UsageError, "--threads: expected a positive integer");
    runtime::configure(ro);

    auto teacher = models::load_model(teacher_dir);
    auto student = models::load_model(student_dir);
    const models::ModelInfo& ti = teacher->info();
    const models::ModelInfo& si = student->info();
    DXL_CHECK(ti.vocab_size == si.vocab_size, ValueError,
              "lens: teacher and student must share the vocabulary, but the teacher has ",
              ti.vocab_size, " tokens and the student ", si.vocab_size,
              "; distil the student from this teacher");
    auto tok = io::load_tokenizer(teacher_dir);
    auto seqs = read_token_input(args, tok.get(), teacher_dir);
    DXL_CHECK(seqs.size() == 1, UsageError, "dxl lens: takes one sequence, but got ", seqs.size(),
              "; use one line of --tokens-file");
    const std::vector<int64_t>& ids = seqs[0];
    DXL_CHECK(!ids.empty(), ValueError, "input: no tokens given");
    for (size_t t = 0; t < ids.size(); ++t)
        DXL_CHECK(ids[t] >= 0 && ids[t] < ti.vocab_size, ValueError, "input: token id ", ids[t],
                  " at position ", t, " is outside the vocabulary [0, ", ti.vocab_size, ")");
    const int64_t T = static_cast<int64_t>(ids.size());

    // The lens compares every block's read-out, so the map covers sLSTM blocks too.
    const std::vector<std::string> all_blocks(static_cast<size_t>(si.n_layers), "mlstm");
    analysis::LayerMap map;
    if (auto f = args.get("map")) {
        map = analysis::load_layer_map_file(*f, ti.n_layers, all_blocks);
    } else {
        const std::string mode = args.get_or("layer-map", "all-blocks");
        DXL_CHECK(mode == "all-blocks" || mode == "all-pairs", UsageError,
                  "--layer-map: expected all-blocks or all-pairs, but got '", mode, "'");
        map = mode == "all-pairs" ? analysis::all_pairs_layer_map(ti.n_layers, all_blocks)
                                  : analysis::ratio_layer_map(ti.n_layers, all_blocks);
    }

    torch::NoGradGuard no_grad;
    teacher->module().eval();
    student->module().eval();
    torch::Tensor tokens = torch::tensor(ids, torch::kInt64);  // (T)
    analysis::Residuals tr = analysis::residual_stream(*teacher, tokens, fo);
    analysis::Residuals sr = analysis::residual_stream(*student, tokens, fo);

    const std::string partial = out + ".partial";
    int64_t n_kl = 0;
    try {
        h5::File f(partial, h5::File::Mode::Truncate);
        const h5::Group& root = f.root();
        root.set_attr("format", "dxl-lens");
        root.set_attr("schema_version", int64_t{1});
        root.set_attr("producer", std::string("dxl ") + DXL_VERSION + " (" + DXL_GIT_REV + ")");
        root.set_attr("teacher_dir", fs::absolute(teacher_dir).string());
        root.set_attr("student_dir", fs::absolute(student_dir).string());
        root.set_attr("teacher_model_type", ti.architecture);
        root.set_attr("student_model_type", si.architecture);
        root.set_attr("layer_map", map.source);
        root.set_attr("layer_map_pairs_json", pairs_json(map));
        root.set_attr("topk", topk);
        root.set_attr("mlstm_form", to_string(fo.form));
        root.set_attr("kl_definition",
                      "KL(teacher layer || student block) per position, natural log, both "
                      "read through their own final norm and head");
        root.write<int64_t>("tokens", ids, {static_cast<hsize_t>(T)});
        root.set_attr("dims", "T", "tokens");

        // Student blocks first: the ones in the map stay in memory for the KL rows.
        std::map<int64_t, torch::Tensor> student_lp;  // block -> (T, V)
        for (int64_t b = 0; b < si.n_layers; ++b) {
            analysis::LayerLens l =
                analysis::read_layer(*student, sr.hidden[static_cast<size_t>(b)], topk);
            write_layer(root, "student/" + layer_name("block", b), l);
            for (const auto& p : map.pairs)
                if (p.student_block == b) student_lp[b] = l.logprobs;
        }
        // Teacher layers one at a time: at most one (T, V) teacher array is alive.
        for (int64_t l = 0; l < ti.n_layers; ++l) {
            analysis::LayerLens lens =
                analysis::read_layer(*teacher, tr.hidden[static_cast<size_t>(l)], topk);
            write_layer(root, "teacher/" + layer_name("layer", l), lens);
            for (const auto& p : map.pairs) {
                if (p.teacher_layer != l) continue;
                const std::string name = "kl/teacher_" + layer_name("layer", l) + "__student_" +
                                         layer_name("block", p.student_block);
                write_tensor<float>(
                    root, name, analysis::kl_rows(lens.logprobs, student_lp.at(p.student_block)),
                    "T");
                ++n_kl;
            }
        }
        f.flush();
    } catch (...) {
        std::error_code ec;
        fs::remove(partial, ec);
        throw;
    }
    fs::rename(partial, out);
    std::printf(
        "wrote %s: %lld tokens, lens of %lld teacher layers and %lld student blocks [%lld, %lld]"
        "%s, %lld KL rows (%s)\n",
        out.c_str(), static_cast<long long>(T), static_cast<long long>(ti.n_layers),
        static_cast<long long>(si.n_layers), static_cast<long long>(T),
        static_cast<long long>(ti.vocab_size),
        topk > 0 ? (", top-" + std::to_string(topk)).c_str() : "", static_cast<long long>(n_kl),
        map.source.c_str());
    return 0;
}

DXL_CLI_COMMAND(55, "lens", "logit lens of teacher and student: per-layer predictions and KL",
                kLensUsage.c_str(), run_lens);

}  // namespace dxl::cli
