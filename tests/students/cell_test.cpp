// mLSTM / sLSTM cells against the NX-AI/xlstm goldens (mlstm_{parallel,recurrent,chunkwise}.h5,
// slstm_cell.h5) and the cross-form identities (docs/method.md#cross-form-identities) on random
// inputs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "core/base/error.h"
#include "core/models/mlstm_cell.h"
#include "core/models/slstm_cell.h"
#include "core/store/h5.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace {

using dxl::test::max_abs_diff;
using dxl::test::read_tensor;
namespace mlstm = dxl::models::mlstm;
namespace slstm = dxl::models::slstm;

struct Case {
    dxl::h5::Group g;
    std::string name;
    torch::Dtype dtype;
    bool f64;
};

std::vector<Case> cases(dxl::h5::File& f) {
    std::vector<Case> out;
    for (const auto& name : f.root().members()) {
        dxl::h5::Group g = f.root().group(name);
        const bool f64 = g.attr_string("dtype") == "float64";
        out.push_back({std::move(g), name, f64 ? torch::kFloat64 : torch::kFloat32, f64});
    }
    return out;
}

// float32: 10 x the reference's own float32-vs-float64 deviation (at least `floor`);
// float64: tight, scaled by the output magnitude.
double tolerance(const Case& c, const std::string& attr, const torch::Tensor& ref,
                 double floor = 2e-6) {
    if (c.f64) return 1e-10 * (1.0 + ref.abs().max().item<double>());
    return std::max(10.0 * c.g.attr_double(attr), floor);
}

void expect_close(const Case& c, const std::string& what, const torch::Tensor& got,
                  const torch::Tensor& ref, double tol) {
    const double d = max_abs_diff(got, ref);
    std::printf("[dev] %-58s %-34s max_abs=%.3g tol=%.3g\n", c.name.c_str(), what.c_str(), d, tol);
    EXPECT_LE(d, tol) << c.name << " " << what;
}

struct Inputs {
    torch::Tensor q, k, v, ig, fg;  // (B, H, T, Dh) x3, (B, H, T) x2
};
Inputs inputs(const Case& c) {
    return {read_tensor(c.g, "q", c.dtype), read_tensor(c.g, "k", c.dtype),
            read_tensor(c.g, "v", c.dtype), read_tensor(c.g, "igate_preact", c.dtype).squeeze(-1),
            read_tensor(c.g, "fgate_preact", c.dtype).squeeze(-1)};
}

bool is_io100(const Case& c) {
    return c.name.find("io100") != std::string::npos;
}

TEST(MlstmGolden, Parallel) {
    dxl::h5::File f(dxl::test::data_path("golden/mlstm_parallel.h5"),
                    dxl::h5::File::Mode::ReadOnly);
    auto all = cases(f);
    ASSERT_EQ(all.size(), 14u);
    for (const auto& c : all) {
        Inputs in = inputs(c);
        const bool rowwise = c.g.attr_int("stabilize_rowwise") != 0;
        torch::Tensor h = mlstm::parallel(in.q, in.k, in.v, in.ig, in.fg, 1e-6, rowwise);
        ASSERT_FALSE(h.isnan().any().item<bool>()) << c.name;
        torch::Tensor ref = read_tensor(c.g, "h", c.dtype);
        const std::string attr = "max_abs_diff_vs_float64_same_inputs";
        if (is_io100(c)) {  // ill-conditioned: compare with the float64 evaluation
            torch::Tensor ref64 = read_tensor(c.g, "h_f64ref", torch::kFloat64);
            expect_close(c, "h vs h_f64ref", h, ref64, 10.0 * c.g.attr_double(attr));
        } else {
            expect_close(c, "h", h, ref, tolerance(c, attr, ref));
        }
    }
}

TEST(MlstmGolden, Recurrent) {
    dxl::h5::File f(dxl::test::data_path("golden/mlstm_recurrent.h5"),
                    dxl::h5::File::Mode::ReadOnly);
    auto all = cases(f);
    ASSERT_EQ(all.size(), 11u);
    for (const auto& c : all) {
        Inputs in = inputs(c);
        mlstm::RecurrentResult r = mlstm::recurrent(in.q, in.k, in.v, in.ig, in.fg);
        torch::Tensor h = read_tensor(c.g, "h", c.dtype);
        torch::Tensor C = read_tensor(c.g, "C_final", c.dtype);
        torch::Tensor n = read_tensor(c.g, "n_final", c.dtype).squeeze(-1);
        torch::Tensor m = read_tensor(c.g, "m_final", c.dtype).squeeze(-1).squeeze(-1);
        torch::Tensor m_all = read_tensor(c.g, "m_all", c.dtype).squeeze(-1);
        const double floor = is_io100(c) ? 1e-5 : 2e-7;
        expect_close(c, "h", r.h, h, tolerance(c, "max_abs_diff_h_vs_float64_same_inputs", h));
        expect_close(c, "C_final", r.last.C, C,
                     tolerance(c, "max_abs_diff_C_vs_float64_same_inputs", C, floor));
        expect_close(c, "n_final", r.last.n, n,
                     tolerance(c, "max_abs_diff_n_vs_float64_same_inputs", n, floor));
        expect_close(c, "m_final", r.last.m, m,
                     tolerance(c, "max_abs_diff_m_vs_float64_same_inputs", m, floor));
        expect_close(c, "m_all", r.m_all, m_all,
                     tolerance(c, "max_abs_diff_m_vs_float64_same_inputs", m_all, floor));
    }
}

TEST(MlstmGolden, Chunkwise) {
    dxl::h5::File f(dxl::test::data_path("golden/mlstm_chunkwise.h5"),
                    dxl::h5::File::Mode::ReadOnly);
    auto all = cases(f);
    ASSERT_EQ(all.size(), 7u);
    for (const auto& c : all) {
        Inputs in = inputs(c);
        const int64_t T = in.q.size(2), Dh = in.q.size(3);
        const double sqrt_dh = std::sqrt(static_cast<double>(Dh));
        for (int64_t cs : {16, 64}) {
            const std::string s = "cs" + std::to_string(cs);
            mlstm::ChunkwiseResult r = mlstm::chunkwise(in.q, in.k, in.v, in.ig, in.fg, cs);
            torch::Tensor h = read_tensor(c.g, "h_" + s, c.dtype);
            expect_close(c, "h_" + s, r.h, h,
                         tolerance(c, "max_abs_diff_h_" + s + "_vs_float64_same_inputs", h));
            // Stored C/n are chunkwise_simple's (sqrt(Dh) x ours).
            torch::Tensor C = read_tensor(c.g, "C_last_" + s, c.dtype) / sqrt_dh;
            torch::Tensor n = read_tensor(c.g, "n_last_" + s, c.dtype) / sqrt_dh;
            torch::Tensor m = read_tensor(c.g, "m_last_" + s, c.dtype).squeeze(-1).squeeze(-1);
            const double tol_state = c.f64 ? 1e-12 : (is_io100(c) ? 1e-4 : 2e-5);
            expect_close(c, "C_last_" + s + "/sqrt(Dh)", r.last.C, C, tol_state);
            expect_close(c, "n_last_" + s + "/sqrt(Dh)", r.last.n, n, tol_state);
            expect_close(c, "m_last_" + s, r.last.m, m, tol_state);
        }
        // Prefix state carry-over with cs 16.
        const int64_t P = T / 2;
        mlstm::ChunkwiseResult pre =
            mlstm::chunkwise(in.q.narrow(2, 0, P), in.k.narrow(2, 0, P), in.v.narrow(2, 0, P),
                             in.ig.narrow(2, 0, P), in.fg.narrow(2, 0, P), 16);
        torch::Tensor pC = read_tensor(c.g, "prefix_C_cs16", c.dtype) / sqrt_dh;
        torch::Tensor pn = read_tensor(c.g, "prefix_n_cs16", c.dtype) / sqrt_dh;
        torch::Tensor pm = read_tensor(c.g, "prefix_m_cs16", c.dtype);
        const double tol_state = c.f64 ? 1e-12 : (is_io100(c) ? 1e-4 : 2e-5);
        expect_close(c, "prefix_C_cs16/sqrt(Dh)", pre.last.C, pC, tol_state);
        mlstm::State s0{pC, pn, pm};  // the golden prefix state, converted to our scaling
        mlstm::ChunkwiseResult suf = mlstm::chunkwise(
            in.q.narrow(2, P, T - P), in.k.narrow(2, P, T - P), in.v.narrow(2, P, T - P),
            in.ig.narrow(2, P, T - P), in.fg.narrow(2, P, T - P), 16, &s0);
        torch::Tensor hs = read_tensor(c.g, "h_suffix_from_prefix_state_cs16", c.dtype);
        expect_close(c, "h_suffix_from_prefix_state_cs16", suf.h, hs,
                     tolerance(c, "max_abs_diff_h_cs16_vs_float64_same_inputs", hs));
    }
}

TEST(SlstmGolden, CellBothLayouts) {
    dxl::h5::File f(dxl::test::data_path("golden/slstm_cell.h5"), dxl::h5::File::Mode::ReadOnly);
    auto all = cases(f);
    ASSERT_EQ(all.size(), 7u);
    for (const auto& c : all) {
        torch::Tensor x = read_tensor(c.g, "x", c.dtype);               // (B, S, 4H)
        torch::Tensor s0 = read_tensor(c.g, "initial_state", c.dtype);  // (4, B, H)
        torch::Tensor R = read_tensor(c.g, "R_internal_vanilla", c.dtype);
        torch::Tensor b = read_tensor(c.g, "b_internal_vanilla", c.dtype);
        torch::Tensor R_ext = read_tensor(c.g, "R_external", c.dtype);  // (NH, DH, 4, DH)
        torch::Tensor b_ext = read_tensor(c.g, "b_external", c.dtype);  // (NH, 4, DH)
        const int64_t NH = R.size(0), DH = R.size(2), B = x.size(0), S = x.size(1);
        // The CUDA layout (R_external.reshape(NH, DH, 4DH), b_external.reshape(4H)) converts back.
        torch::Tensor R_from_cuda =
            slstm::recurrent_kernel_from_cuda(R_ext.reshape({NH, DH, 4 * DH}));
        torch::Tensor b_from_cuda = slstm::bias_from_cuda(b_ext.reshape({-1}), NH);
        EXPECT_EQ(max_abs_diff(R_from_cuda, R), 0.0) << c.name;
        EXPECT_EQ(max_abs_diff(b_from_cuda, b), 0.0) << c.name;
        EXPECT_EQ(max_abs_diff(slstm::recurrent_kernel_to_cuda(R), R_ext.reshape({NH, DH, 4 * DH})),
                  0.0);
        EXPECT_EQ(max_abs_diff(slstm::bias_to_cuda(b, NH), b_ext.reshape({-1})), 0.0);

        const bool zero_state = s0.abs().max().item<double>() == 0.0;
        slstm::Result r =
            slstm::forward(x, R_from_cuda, b_from_cuda, zero_state ? torch::Tensor() : s0, true);
        const double tol_o =
            c.f64
                ? 1e-12
                : std::max(10.0 * c.g.attr_double("max_abs_diff_out_vs_float64_same_inputs"), 1e-6);
        const double tol_s =
            c.f64 ? 1e-12
                  : std::max(
                        10.0 * c.g.attr_double("max_abs_diff_final_state_vs_float64_same_inputs"),
                        1e-6);
        torch::Tensor out = read_tensor(c.g, "out", c.dtype);  // (B, NH, S, DH)
        expect_close(c, "out", r.h.view({B, S, NH, DH}).transpose(1, 2), out, tol_o);
        expect_close(c, "final_state", r.state, read_tensor(c.g, "final_state", c.dtype), tol_s);
        expect_close(c, "h", r.h, read_tensor(c.g, "h", c.dtype), tol_o);
        expect_close(c, "c", r.c, read_tensor(c.g, "c", c.dtype), tol_s);
        expect_close(c, "n", r.n, read_tensor(c.g, "n", c.dtype), tol_s);
        expect_close(c, "m", r.m, read_tensor(c.g, "m", c.dtype), tol_s);
        if (!c.f64) {
            // Activated gates from our raw pre-activations and m (checks raw = x + R h + b).
            torch::Tensor gates = read_tensor(c.g, "gates", c.dtype);    // (S, 4, B, H)
            auto raw = r.raw.view({B, S, 4, -1}).permute({1, 2, 0, 3});  // (S, 4, B, H)
            torch::Tensor m_prev =
                torch::cat({s0[3].unsqueeze(0), r.m.transpose(0, 1).narrow(0, 0, S - 1)}, 0);
            torch::Tensor m_new = r.m.transpose(0, 1);  // (S, B, H)
            torch::Tensor i_act = torch::clamp_max((raw.select(1, 0) - m_new).exp(), 1.0);
            torch::Tensor f_act = torch::clamp_max(
                (torch::log_sigmoid(raw.select(1, 1)) + m_prev - m_new).exp(), 1.0);
            expect_close(c, "gates i'", i_act, gates.select(1, 0), tol_s);
            expect_close(c, "gates f'", f_act, gates.select(1, 1), tol_s);
            expect_close(c, "gates z_raw", raw.select(1, 2), gates.select(1, 2), tol_s);
            expect_close(c, "gates o", torch::sigmoid(raw.select(1, 3)), gates.select(1, 3), tol_s);
        }
        // Split run: first half, then the rest from the returned state.
        if (S >= 2) {
            const int64_t P = S / 2;
            slstm::Result a =
                slstm::forward(x.narrow(1, 0, P), R, b, zero_state ? torch::Tensor() : s0);
            slstm::Result bb = slstm::forward(x.narrow(1, P, S - P), R, b, a.state);
            EXPECT_EQ(max_abs_diff(torch::cat({a.h, bb.h}, 1), r.h), 0.0) << c.name;
        }
    }
}

// ---- cross-form identities on random inputs (docs/method.md#cross-form-identities) ----

struct Rand {
    torch::Tensor q, k, v, ig, fg;
};
Rand random_inputs(int64_t B, int64_t H, int64_t T, int64_t Dh, torch::Dtype dt, uint64_t seed,
                   double gate_scale = 1.0, double f_offset = 3.0) {
    torch::manual_seed(seed);
    auto o = torch::TensorOptions().dtype(torch::kFloat64);
    Rand r{torch::randn({B, H, T, Dh}, o), torch::randn({B, H, T, Dh}, o),
           torch::randn({B, H, T, Dh}, o), gate_scale * torch::randn({B, H, T}, o),
           f_offset + gate_scale * torch::randn({B, H, T}, o)};
    r.q = r.q.to(dt), r.k = r.k.to(dt), r.v = r.v.to(dt), r.ig = r.ig.to(dt), r.fg = r.fg.to(dt);
    return r;
}

void report(const char* what, double d, double tol) {
    std::printf("[dev] %-93s max_abs=%.3g tol=%.3g\n", what, d, tol);
    EXPECT_LE(d, tol) << what;
}

TEST(MlstmCrossForm, ParallelRecurrentChunkwise) {
    for (auto dt : {torch::kFloat32, torch::kFloat64}) {
        const bool f64 = dt == torch::kFloat64;
        // Ragged T (not a multiple of any chunk size used) and T < chunk size.
        for (int64_t T : {1, 37, 100, 130}) {
            Rand r = random_inputs(2, 3, T, 16, dt, 100 + T);
            torch::Tensor hp = mlstm::parallel(r.q, r.k, r.v, r.ig, r.fg);
            auto rec = mlstm::recurrent(r.q, r.k, r.v, r.ig, r.fg);
            // eps is added at different stabiliser scales: ~1e-6 relative even in float64.
            const double tol = f64 ? 5e-6 : 2e-4;
            char buf[128];
            std::snprintf(buf, sizeof buf, "random %s T=%lld parallel vs recurrent",
                          f64 ? "f64" : "f32", static_cast<long long>(T));
            report(buf, max_abs_diff(hp, rec.h), tol);
            for (int64_t cs : {16, 64}) {
                auto ch = mlstm::chunkwise(r.q, r.k, r.v, r.ig, r.fg, cs);
                std::snprintf(buf, sizeof buf, "random %s T=%lld cs=%lld chunkwise vs recurrent h",
                              f64 ? "f64" : "f32", static_cast<long long>(T),
                              static_cast<long long>(cs));
                report(buf, max_abs_diff(ch.h, rec.h), tol);
                std::snprintf(buf, sizeof buf, "random %s T=%lld cs=%lld chunkwise vs recurrent C",
                              f64 ? "f64" : "f32", static_cast<long long>(T),
                              static_cast<long long>(cs));
                report(buf, max_abs_diff(ch.last.C, rec.last.C), f64 ? 1e-12 : 1e-5);
                EXPECT_LE(max_abs_diff(ch.last.m, rec.last.m), f64 ? 1e-12 : 1e-5);
                EXPECT_LE(max_abs_diff(ch.last.n, rec.last.n), f64 ? 1e-12 : 1e-5);
            }
        }
    }
}

// Training through the chunkwise form (T above the auto threshold): gradients of every input
// equal those through the parallel form (float64), with ragged chunks and several chunks.
TEST(MlstmCrossForm, ChunkwiseGradientsEqualParallel) {
    for (int64_t T : {37, 130}) {
        Rand r = random_inputs(2, 3, T, 16, torch::kFloat64, 300 + T);
        std::vector<torch::Tensor> inputs{r.q, r.k, r.v, r.ig, r.fg};
        auto grads = [&](bool chunkwise) {
            std::vector<torch::Tensor> x;
            for (const auto& t : inputs)
                x.push_back(t.detach().clone().requires_grad_(true));
            torch::Tensor h = chunkwise ? mlstm::chunkwise(x[0], x[1], x[2], x[3], x[4], 16).h
                                        : mlstm::parallel(x[0], x[1], x[2], x[3], x[4]);
            (h * h).sum().backward();
            std::vector<torch::Tensor> g;
            for (const auto& t : x)
                g.push_back(t.grad());
            return g;
        };
        auto gp = grads(false), gc = grads(true);
        for (size_t i = 0; i < gp.size(); ++i) {
            ASSERT_TRUE(gc[i].defined()) << "input " << i;
            const double scale = std::max(1.0, gp[i].abs().max().item<double>());
            EXPECT_LE(max_abs_diff(gc[i], gp[i]), 1e-5 * scale) << "input " << i << " T=" << T;
        }
    }
}

TEST(MlstmCrossForm, DistinctValueHeadDim) {
    // xLSTM-Large style: d_qk = 8, d_v = 16.
    Rand r = random_inputs(1, 2, 45, 8, torch::kFloat64, 21);
    torch::manual_seed(22);
    torch::Tensor v = torch::randn({1, 2, 45, 16}, torch::kFloat64);
    torch::Tensor hp = mlstm::parallel(r.q, r.k, v, r.ig, r.fg);
    auto rec = mlstm::recurrent(r.q, r.k, v, r.ig, r.fg);
    auto ch = mlstm::chunkwise(r.q, r.k, v, r.ig, r.fg, 16);
    EXPECT_EQ(rec.last.C.sizes(), torch::IntArrayRef({1, 2, 8, 16}));
    report("f64 Dqk=8 Dv=16 parallel vs recurrent", max_abs_diff(hp, rec.h), 5e-6);
    report("f64 Dqk=8 Dv=16 chunkwise vs recurrent", max_abs_diff(ch.h, rec.h), 1e-12);
    report("f64 Dqk=8 Dv=16 chunkwise C vs recurrent C", max_abs_diff(ch.last.C, rec.last.C),
           1e-12);
}

TEST(MlstmCrossForm, ChunkStatesMatchStatesAt) {
    Rand r = random_inputs(1, 2, 50, 8, torch::kFloat64, 7);
    auto ch = mlstm::chunkwise(r.q, r.k, r.v, r.ig, r.fg, 16, nullptr, mlstm::kEps, true);
    ASSERT_EQ(ch.chunk_positions, (std::vector<int64_t>{0, 16, 32, 48, 50}));
    // states_at(t) = state after token t, i.e. boundary position t+1.
    auto st = mlstm::states_at(r.k, r.v, r.ig, r.fg, {15, 31, 47, 49});
    report("f64 chunk-boundary C vs states_at (K^T diag(D) V)",
           max_abs_diff(ch.C_chunks.narrow(2, 1, 4), st.C), 1e-12);
    report("f64 chunk-boundary n vs states_at", max_abs_diff(ch.n_chunks.narrow(2, 1, 4), st.n),
           1e-12);
    report("f64 chunk-boundary m vs states_at", max_abs_diff(ch.m_chunks.narrow(2, 1, 4), st.m),
           1e-12);
    // And the recurrence at every position.
    auto rec = mlstm::recurrent(r.q.narrow(2, 0, 23), r.k.narrow(2, 0, 23), r.v.narrow(2, 0, 23),
                                r.ig.narrow(2, 0, 23), r.fg.narrow(2, 0, 23));
    auto s22 = mlstm::states_at(r.k, r.v, r.ig, r.fg, {22});
    report("f64 recurrent C_22 vs K^T diag(D_22,:) V", max_abs_diff(rec.last.C, s22.C.select(2, 0)),
           1e-12);
    EXPECT_LE(max_abs_diff(rec.last.m, s22.m.select(2, 0)), 1e-12);
}

TEST(MlstmCrossForm, ImplicitAttention) {
    for (auto dt : {torch::kFloat32, torch::kFloat64}) {
        const bool f64 = dt == torch::kFloat64;
        Rand r = random_inputs(2, 2, 40, 16, dt, 11);
        torch::Tensor A = mlstm::implicit_attention(r.q, r.k, r.ig, r.fg);  // (B, H, T, T)
        // A has no eps; the cell adds eps to the normaliser at the stabilised scale, so compare
        // with the cell at eps = 0 (exact identity) and at the default eps (relative ~eps/N).
        torch::Tensor h0 = mlstm::parallel(r.q, r.k, r.v, r.ig, r.fg, 0.0);
        torch::Tensor h = mlstm::parallel(r.q, r.k, r.v, r.ig, r.fg);
        report(f64 ? "f64 A V vs parallel h (eps 0)" : "f32 A V vs parallel h (eps 0)",
               max_abs_diff(torch::matmul(A, r.v), h0), f64 ? 1e-12 : 2e-5);
        report(f64 ? "f64 A V vs parallel h (eps 1e-6, relative)"
                   : "f32 A V vs parallel h (eps 1e-6, relative)",
               dxl::test::max_rel_diff(torch::matmul(A, r.v), h, 1.0), 5e-3);
        EXPECT_EQ(A.triu(1).abs().max().item<double>(), 0.0);
        // Unstabilised formula (small gates, float64 only).
        if (f64) {
            torch::Tensor D = mlstm::log_decay_matrix(r.ig, r.fg).exp();
            torch::Tensor SD = torch::matmul(r.q, r.k.transpose(-1, -2)) / 4.0 * D;
            torch::Tensor A0 = SD / torch::clamp_min(SD.sum(-1, true).abs(), 1.0);
            report("f64 A stabilised vs unstabilised", max_abs_diff(A, A0), 1e-12);
        }
        torch::Tensor an = mlstm::normalize_attention(A, mlstm::AttnNorm::AbsRow);
        report("abs_row rows sum to 1", max_abs_diff(an.sum(-1), torch::ones_like(an.sum(-1))),
               f64 ? 1e-12 : 1e-5);
        EXPECT_GE(an.min().item<double>(), 0.0);
        torch::Tensor G = mlstm::gate_only(r.ig, r.fg);
        report("gate_only rows sum to 1", max_abs_diff(G.sum(-1), torch::ones_like(G.sum(-1))),
               f64 ? 1e-12 : 1e-5);
        torch::Tensor mm = mlstm::normalize_attention(A, mlstm::AttnNorm::MinMax);
        EXPECT_GE(mm.min().item<double>(), 0.0);
        EXPECT_LE(mm.max().item<double>(), 1.0 + 1e-6);
        EXPECT_NEAR(mm.max().item<double>(), 1.0, 1e-6);
        torch::Tensor rr = mlstm::normalize_attention(A, mlstm::AttnNorm::ReluRow);
        EXPECT_GE(rr.min().item<double>(), 0.0);
        EXPECT_TRUE(mlstm::normalize_attention(A, mlstm::AttnNorm::Raw).equal(A));
    }
    EXPECT_EQ(mlstm::parse_attn_norm("minmax"), mlstm::AttnNorm::MinMax);
    EXPECT_THROW(mlstm::parse_attn_norm("softmax"), dxl::ValueError);
}

TEST(MlstmCrossForm, BadShapesThrow) {
    Rand r = random_inputs(1, 1, 4, 8, torch::kFloat32, 1);
    EXPECT_THROW(mlstm::parallel(r.q, r.k, r.v, r.ig.unsqueeze(-1), r.fg), dxl::ShapeError);
    EXPECT_THROW(mlstm::chunkwise(r.q, r.k.narrow(3, 0, 4), r.v, r.ig, r.fg), dxl::ShapeError);
}

}  // namespace
