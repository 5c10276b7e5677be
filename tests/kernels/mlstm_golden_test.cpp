// The chunkwise mLSTM CPU reference against the xlstm `chunkwise_simple` goldens
// (tests/data/golden/mlstm_chunkwise.h5), at the README tolerances: float32 cases within 10x the
// reference's own float32-vs-float64 deviation (floor 1e-5), float64 cases (run here in float32)
// within the README's typical float32 level of 2e-4. The golden states scale q instead of k, so
// their C and n are sqrt(DH) times ours.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/store/h5.h"
#include "dxl/kernels/mlstm.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace dxl::kernels {
namespace {

using torch::Tensor;

struct Out {
    Tensor h, C, n, m;  // (B, NH, S, DH), (B, NH, DH, DH), (B, NH, DH), (B, NH): final state
};

// Runs the reference on (B, NH, S, DH) inputs with chunk L and an optional initial state.
Out run(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& ig, const Tensor& fg,
        int L, const Tensor& C0 = {}, const Tensor& n0 = {}, const Tensor& m0 = {}) {
    const int B = static_cast<int>(q.size(0)), H = static_cast<int>(q.size(1));
    const int T = static_cast<int>(q.size(2)), Dh = static_cast<int>(q.size(3));
    const int S = mlstm_chunk_slots(T, L);
    Out o;
    o.h = torch::full({B, H, T, Dh}, NAN);
    Tensor Cc = torch::full({B, H, S, Dh, Dh}, NAN), nc = torch::full({B, H, S, Dh}, NAN),
           mc = torch::full({B, H, S}, NAN);
    mlstm_chunk_forward_cpu(
        o.h.data_ptr<float>(), Cc.data_ptr<float>(), nc.data_ptr<float>(), mc.data_ptr<float>(),
        q.data_ptr<float>(), k.data_ptr<float>(), v.data_ptr<float>(), ig.data_ptr<float>(),
        fg.data_ptr<float>(), C0.defined() ? C0.data_ptr<float>() : nullptr,
        n0.defined() ? n0.data_ptr<float>() : nullptr,
        m0.defined() ? m0.data_ptr<float>() : nullptr, B, H, T, Dh, L, kMlstmEps);
    o.C = Cc.select(2, S - 1);
    o.n = nc.select(2, S - 1);
    o.m = mc.select(2, S - 1);
    return o;
}

TEST(MlstmGolden, ChunkwiseMatchesXlstmChunkwiseSimple) {
    h5::File file(test::data_path("golden/mlstm_chunkwise.h5"), h5::File::Mode::ReadOnly);
    int n_cases = 0;
    for (const std::string& name : file.root().members()) {
        SCOPED_TRACE("case " + name);
        const h5::Group g = file.root().group(name);
        const bool is_f32 = g.attr_string("dtype") == "float32";
        const double sqrt_d = std::sqrt(static_cast<double>(g.attr_int("DH")));
        auto rd = [&](const std::string& ds) {
            return test::read_tensor(g, ds, torch::kFloat32).contiguous();
        };
        const Tensor q = rd("q"), k = rd("k"), v = rd("v");
        const Tensor ig = rd("igate_preact").squeeze(-1).contiguous();
        const Tensor fg = rd("fgate_preact").squeeze(-1).contiguous();
        for (int L : {16, 64}) {
            const std::string cs = "_cs" + std::to_string(L);
            SCOPED_TRACE("chunk " + std::to_string(L));
            const Out o = run(q, k, v, ig, fg, L);
            const double tol_h = is_f32 ? std::max(10 * g.attr_double("max_abs_diff_h" + cs +
                                                                      "_vs_float64_same_inputs"),
                                                   1e-5)
                                        : 2e-4;
            const double tol_C = std::max(
                10 * g.attr_double("max_abs_diff_C_last" + cs + "_div_sqrtDH_vs_recurrent_C_final"),
                1e-6);
            const double tol_n = std::max(
                10 * g.attr_double("max_abs_diff_n_last" + cs + "_div_sqrtDH_vs_recurrent_n_final"),
                1e-6);
            const double tol_m = std::max(
                10 * g.attr_double("max_abs_diff_m_last" + cs + "_vs_recurrent_m_final"), 1e-6);
            const double dh = test::max_abs_diff(o.h, rd("h" + cs));
            const double dC = test::max_abs_diff(o.C, rd("C_last" + cs) / sqrt_d);
            const double dn = test::max_abs_diff(o.n, rd("n_last" + cs) / sqrt_d);
            const double dm = test::max_abs_diff(o.m, rd("m_last" + cs).flatten(2).squeeze(-1));
            EXPECT_LE(dh, tol_h);
            EXPECT_LE(dC, tol_C);
            EXPECT_LE(dn, tol_n);
            EXPECT_LE(dm, tol_m);
            if (std::getenv("DXL_KERNEL_REPORT"))
                std::cout << name << cs << ": h " << dh << " (tol " << tol_h << "), C " << dC
                          << ", n " << dn << ", m " << dm << "\n";
        }
        // state carry-over: the second half from the golden prefix state (chunk 16)
        const int64_t half = g.attr_int("prefix_len");
        auto second = [&](const Tensor& t) { return t.slice(2, half).contiguous(); };
        const Tensor C0 = (rd("prefix_C_cs16") / sqrt_d).contiguous();
        const Tensor n0 = (rd("prefix_n_cs16") / sqrt_d).contiguous();
        const Tensor m0 = rd("prefix_m_cs16").contiguous();
        const Out o = run(second(q), second(k), second(v), second(ig), second(fg), 16, C0, n0, m0);
        const double tol_h =
            is_f32
                ? std::max(10 * g.attr_double("max_abs_diff_h_cs16_vs_float64_same_inputs"), 1e-5)
                : 2e-4;
        EXPECT_LE(test::max_abs_diff(o.h, rd("h_suffix_from_prefix_state_cs16")), tol_h);
        ++n_cases;
    }
    EXPECT_EQ(n_cases, 7);
}

}  // namespace
}  // namespace dxl::kernels
