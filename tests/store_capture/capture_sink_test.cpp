// Capture store, torch part: the H5 sink on the golden tiny models writes what the
// model engine computes, and the reader rebuilds A and C/n/m exactly from the stored statistics.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>

#include "core/base/error.h"
#include "core/capture/capture_reader_torch.h"
#include "core/capture/h5_capture_sink.h"
#include "core/capture/memory_sink.h"
#include "core/io/checkpoint.h"
#include "core/io/json_config.h"
#include "core/models/architectures.h"
#include "core/models/language_model.h"
#include "core/models/mlstm_cell.h"
#include "core/store/capture_reader.h"
#include "core/store/capture_writer.h"
#include "tests/support/test_paths.h"

namespace {

using namespace dxl;
namespace mlstm = dxl::models::mlstm;

// Built directly (architectures.h) so this test links only the capture, teacher and student
// libraries.
std::unique_ptr<models::LanguageModel> load(const std::string& name, bool xlstm) {
    const std::string dir = test::data_path("golden/models/" + name);
    const io::JsonConfig cfg = io::JsonConfig::load(dir + "/config.json");
    const io::Checkpoint weights = io::Checkpoint::open_dir(dir);
    return xlstm ? models::make_xlstm_v1(cfg, &weights) : models::make_gpt2(cfg, &weights);
}

struct Models {
    std::unique_ptr<models::LanguageModel> teacher = load("gpt2_2600", false);
    std::unique_ptr<models::LanguageModel> student = load("xlstm_lm_2520", true);
};

Models& models_once() {
    static Models m;
    return m;
}

std::vector<int64_t> tokens(int64_t T, int64_t seed) {
    std::vector<int64_t> t(static_cast<size_t>(T));
    for (int64_t i = 0; i < T; ++i)
        t[static_cast<size_t>(i)] = (i * 31 + seed * 7 + 3) % 97;
    return t;
}

// Writes one capture with `opts` of the given sequences and returns its path.
std::string capture(const capture::H5SinkOptions& opts,
                    const std::vector<std::vector<int64_t>>& seqs, const std::string& tag) {
    const std::string path = test::scratch_dir(tag) + "/run.h5";
    store::WriterOptions wo;
    wo.path = path;
    store::CaptureWriter w(wo);
    capture::H5CaptureSink sink(&w, opts);
    for (const auto& s : seqs) {
        capture::capture_sample(w, sink, *models_once().teacher, *models_once().student, {s, {}},
                                {});
    }
    w.finish();
    return path;
}

TEST(CaptureSink, TeacherMapsAndLogitsEqualTheEngine) {
    capture::H5SinkOptions opts;
    opts.dtype = store::DType::F32;
    const auto seq = tokens(29, 1);
    const std::string path = capture(opts, {seq, tokens(17, 2)}, "sink_teacher");
    store::CaptureReader r(path);
    ASSERT_EQ(r.num_samples(), 2);
    EXPECT_TRUE(r.verify().ok);

    capture::MemorySink mem({capture::point::kAttnProbs});
    torch::NoGradGuard ng;
    torch::Tensor logits =
        models_once().teacher->forward(torch::tensor(seq).unsqueeze(0), {}, &mem);  // (1, T, V)
    for (int layer = 0; layer < 2; ++layer) {
        const std::string p = "teacher/layer_0" + std::to_string(layer) + "/attn_probs";
        torch::Tensor stored = capture::read_tensor(r, 0, p);  // (H, T, T)
        EXPECT_EQ(stored.sizes(), torch::IntArrayRef({4, 29, 29}));
        EXPECT_TRUE(torch::equal(stored, mem.values().at(p)[0])) << p;
    }
    EXPECT_TRUE(torch::equal(capture::read_tensor(r, 0, "teacher/logits"), logits[0]));
    EXPECT_EQ(r.read_int(0, "tokens"), seq);
    EXPECT_EQ(r.read_int(1, "tokens").size(), 17u);
    // Student per-block types and datasets.
    EXPECT_EQ(r.root().attr_string("type", "sample_000000/student/block_00"), "mlstm");
    EXPECT_EQ(r.root().attr_string("type", "sample_000000/student/block_01"), "slstm");
    for (const char* d :
         {"student/block_01/igate_pre", "student/block_01/fgate_pre", "student/block_01/zgate_pre",
          "student/block_01/ogate_pre", "student/block_01/c", "student/block_01/n",
          "student/block_01/m", "student/block_01/h", "student/logits"}) {
        EXPECT_TRUE(r.has(0, d)) << d;
    }
}

TEST(CaptureSink, RebuildsImplicitAttentionAndStatesFromStoredStatistics) {
    capture::H5SinkOptions opts;
    opts.dtype = store::DType::F32;
    opts.implicit_attn = true;
    opts.chunk_size = 8;  // boundaries 7, 15, 23, 31 for T = 32
    const auto seq = tokens(32, 3);
    const std::string path = capture(opts, {seq}, "sink_rebuild");
    store::CaptureReader r(path);

    // Direct computation by the model engine: A via the forward's own implicit-attention point,
    // and the chunkwise form's states at chunk boundaries (an independent path to C).
    capture::MemorySink mem({capture::point::kImplicitAttn, capture::point::kMlstmQ,
                             capture::point::kMlstmK, capture::point::kMlstmV,
                             capture::point::kMlstmIgatePre, capture::point::kMlstmFgatePre});
    torch::NoGradGuard ng;
    models_once().student->forward(torch::tensor(seq).unsqueeze(0), {}, &mem);
    const auto& v = mem.values();
    torch::Tensor A = v.at("student/block_00/implicit_attn");  // (1, H, T, T)
    mlstm::ChunkwiseResult cw =
        mlstm::chunkwise(v.at("student/block_00/mlstm_q"), v.at("student/block_00/mlstm_k"),
                         v.at("student/block_00/mlstm_v"), v.at("student/block_00/mlstm_igate_pre"),
                         v.at("student/block_00/mlstm_fgate_pre"), 8, nullptr, mlstm::kEps, true);
    ASSERT_EQ(cw.chunk_positions, (std::vector<int64_t>{0, 8, 16, 24, 32}));

    const std::vector<int64_t> positions = {7, 15, 23, 31};
    EXPECT_EQ(r.read_int(0, "student/block_00/state/positions"), positions);
    torch::Tensor Cs = capture::read_tensor(r, 0, "student/block_00/state/C");  // (H, P, Dh, Dh)
    torch::Tensor ms = capture::read_tensor(r, 0, "student/block_00/state/m");  // (H, P)
    for (int64_t h = 0; h < 4; ++h) {
        torch::Tensor Ar = capture::rebuild_implicit_attention(r, 0, 0, h);  // (T, T)
        EXPECT_LT((Ar - A[0][h]).abs().max().item<double>(), 1e-6) << "head " << h;
        EXPECT_TRUE(torch::allclose(capture::read_tensor(r, 0, "student/block_00/implicit_attn")[h],
                                    A[0][h]));
        mlstm::StatesAt st = capture::rebuild_states(r, 0, 0, h, positions);  // C (P, Dh, Dh)
        for (size_t p = 0; p < positions.size(); ++p) {
            // Undo each stabiliser: C_true = C exp(m). Compare against the chunkwise boundary
            // states.
            torch::Tensor c_rebuilt = st.C[p] * st.m[p].exp();
            torch::Tensor c_stored = Cs[h][p] * ms[h][p].exp();
            torch::Tensor c_chunk = cw.C_chunks[0][h][p + 1] * cw.m_chunks[0][h][p + 1].exp();
            const double scale = c_chunk.abs().max().item<double>() + 1e-12;
            EXPECT_LT((c_rebuilt - c_chunk).abs().max().item<double>() / scale, 1e-5)
                << h << "," << p;
            EXPECT_LT((c_stored - c_chunk).abs().max().item<double>() / scale, 1e-5)
                << h << "," << p;
        }
    }
}

TEST(CaptureSink, HeadAndLayerSubsetsAndHalfPrecision) {
    capture::H5SinkOptions opts;
    opts.teacher_layers = {1};
    opts.student_blocks = {0};
    opts.heads = {1, 3};
    opts.logits_top_k = 5;
    const auto seq = tokens(20, 4);
    const std::string path = capture(opts, {seq}, "sink_subset");
    store::CaptureReader r(path);
    EXPECT_FALSE(r.has(0, "teacher/layer_00/attn_probs"));
    EXPECT_FALSE(r.has(0, "student/block_01/c"));
    EXPECT_EQ(r.info(0, "teacher/layer_01/attn_probs").type, "float16");
    EXPECT_EQ(r.info(0, "teacher/layer_01/attn_probs").dims, (h5::Dims{2, 20, 20}));
    EXPECT_EQ(r.info(0, "student/block_00/igate_pre").type, "float32");
    EXPECT_EQ(r.heads(0, "student/block_00/q"), (std::vector<int64_t>{1, 3}));
    EXPECT_EQ(r.info(0, "teacher/logits_topk_indices").dims, (h5::Dims{20, 5}));

    capture::MemorySink mem({capture::point::kAttnProbs});
    torch::NoGradGuard ng;
    torch::Tensor logits =
        models_once().teacher->forward(torch::tensor(seq).unsqueeze(0), {}, &mem);  // (1, T, V)
    torch::Tensor P = mem.values().at("teacher/layer_01/attn_probs")[0];            // (H, T, T)
    torch::Tensor stored = capture::read_tensor(r, 0, "teacher/layer_01/attn_probs");
    EXPECT_TRUE(torch::equal(stored[0], P[1].to(torch::kHalf).to(torch::kFloat)));
    EXPECT_TRUE(torch::equal(stored[1], P[3].to(torch::kHalf).to(torch::kFloat)));
    auto top = logits[0].topk(5, 1);
    EXPECT_TRUE(
        torch::equal(capture::read_tensor(r, 0, "teacher/logits_topk_values"), std::get<0>(top)));
    // Probabilities from the stored normaliser equal the full softmax's top 5.
    torch::Tensor lse = capture::read_tensor(r, 0, "teacher/logits_logsumexp");  // (T)
    EXPECT_EQ(lse.sizes(), torch::IntArrayRef({20}));
    torch::Tensor p_stored =
        (capture::read_tensor(r, 0, "teacher/logits_topk_values") - lse.unsqueeze(1))
            .exp();                                                                // (T, 5)
    torch::Tensor p_full = std::get<0>(torch::softmax(logits[0], -1).topk(5, 1));  // (T, 5)
    EXPECT_TRUE(torch::allclose(p_stored, p_full, 1e-5, 1e-6));
    // A head that was not stored is a typed error.
    EXPECT_THROW(capture::rebuild_implicit_attention(r, 0, 0, 0), ValueError);
    torch::Tensor A = capture::rebuild_implicit_attention(r, 0, 0, 3);
    EXPECT_EQ(A.sizes(), torch::IntArrayRef({20, 20}));
}

TEST(CaptureSink, SizeEstimateMatchesTheBytesWritten) {
    capture::H5SinkOptions opts;
    opts.implicit_attn = true;
    opts.chunk_size = 8;
    const std::vector<std::vector<int64_t>> seqs = {tokens(32, 5), tokens(23, 6)};
    const uint64_t est = capture::estimate_capture_bytes(
        *models_once().teacher, *models_once().student, opts, {32, 23}, {});
    const std::string path = test::scratch_dir("sink_estimate") + "/run.h5";
    store::WriterOptions wo;
    wo.path = path;
    store::CaptureWriter w(wo);
    capture::H5CaptureSink sink(&w, opts);
    for (const auto& s : seqs) {
        capture::capture_sample(w, sink, *models_once().teacher, *models_once().student, {s, {}},
                                {});
    }
    w.finish();
    const double actual = static_cast<double>(w.stats().payload_bytes);
    EXPECT_NEAR(static_cast<double>(est) / actual, 1.0, 0.02) << est << " vs " << actual;
}

TEST(CaptureSink, IndexRangesParse) {
    EXPECT_EQ(capture::parse_index_ranges("0,3-5", "--layers"), (std::vector<int64_t>{0, 3, 4, 5}));
    EXPECT_EQ(capture::parse_index_ranges("2, 1,2", "--heads"), (std::vector<int64_t>{1, 2}));
    EXPECT_THROW(capture::parse_index_ranges("1,x", "--heads"), ValueError);
    EXPECT_THROW(capture::parse_index_ranges("5-3", "--heads"), ValueError);
    EXPECT_THROW(capture::parse_index_ranges("", "--heads"), ValueError);
}

}  // namespace

namespace {

// The device the device tests run on (DXL_TEST_DEVICE; cpu when unset, as in CI).
torch::Device test_device() {
    const char* env = std::getenv("DXL_TEST_DEVICE");
    return torch::Device(env != nullptr && *env != '\0' ? env : "cpu");
}

// A capture made with both models on the test device stores what the CPU capture stores: every
// dataset of every sample, with the same names, shapes and dtypes, values within float32
// rounding (the GPU's own GEMMs differ from the CPU's in the last bits).
TEST(CaptureSink, CaptureOnTheTestDeviceEqualsTheCpuCapture) {
    capture::H5SinkOptions opts;
    opts.dtype = store::DType::F32;
    opts.implicit_attn = true;
    const std::vector<std::vector<int64_t>> seqs{tokens(23, 4), tokens(9, 5)};
    const std::string cpu_path = capture(opts, seqs, "sink_device_cpu");
    const torch::Device dev = test_device();
    Models on_dev;
    on_dev.teacher->module().to(dev);
    on_dev.student->module().to(dev);
    const std::string path = test::scratch_dir("sink_device") + "/run.h5";
    {
        store::WriterOptions wo;
        wo.path = path;
        store::CaptureWriter w(wo);
        capture::H5CaptureSink sink(&w, opts);
        for (const auto& s : seqs)
            capture::capture_sample(w, sink, *on_dev.teacher, *on_dev.student, {s, {}}, {});
        w.finish();
    }
    store::CaptureReader a(cpu_path), b(path);
    ASSERT_EQ(b.num_samples(), 2);
    EXPECT_TRUE(b.verify().ok);
    for (int64_t i = 0; i < 2; ++i) {
        const auto names = a.datasets(i);
        ASSERT_EQ(names, b.datasets(i));
        for (const std::string& n : names) {
            if (n.find("tokens") != std::string::npos || n.find("positions") != std::string::npos ||
                n.find("indices") != std::string::npos) {
                EXPECT_EQ(a.read_int(i, n), b.read_int(i, n)) << n;
                continue;
            }
            torch::Tensor x = capture::read_tensor(a, i, n), y = capture::read_tensor(b, i, n);
            ASSERT_EQ(x.sizes(), y.sizes()) << n;
            const double tol = 1e-4 * std::max(1.0, x.abs().max().item<double>());
            EXPECT_LE((x - y).abs().max().item<double>(), tol) << n;
        }
    }
}

}  // namespace
