// batched_matmul (direct BLAS path) equals torch::matmul for every operand layout the chunkwise
// mLSTM uses, keeps autograd working, and the fused recurrent step (kernels/ref) used by
// mlstm::step for float32 inference equals the op-by-op step.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/models/batched_matmul.h"
#include "core/models/mlstm_cell.h"
#include "core/models/row_linear.h"

namespace {

using dxl::models::batched_matmul;

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// row_linear: one row through GEMV, several through GEMM, both equal to a float64 brute force,
// with and without bias and for a transposed (in, out) weight view.
TEST(RowLinear, EqualsBruteForceForOneAndManyRows) {
    torch::manual_seed(11);
    const torch::Tensor w = torch::randn({37, 19});     // (out, in)
    const torch::Tensor w_in_out = w.t().contiguous();  // (in, out), as GPT-2's Conv1D stores it
    const torch::Tensor bias = torch::randn({37});
    for (const auto& shape : {std::vector<int64_t>{1, 1, 19}, std::vector<int64_t>{2, 3, 19}}) {
        const torch::Tensor x = torch::randn(shape);  // (B, T, in)
        const torch::Tensor ref = torch::einsum(
            "bti,oi->bto", {x.to(torch::kFloat64), w.to(torch::kFloat64)});  // (B, T, out)
        for (bool gemv : {true, false}) {
            dxl::models::set_row_gemv_enabled(gemv);
            EXPECT_LT(max_diff(dxl::models::row_linear(x, w), ref), 1e-5);
            EXPECT_LT(max_diff(dxl::models::row_linear(x, w_in_out.t(), bias), ref + bias), 1e-5);
            EXPECT_EQ(dxl::models::row_linear(x, w).sizes(), ref.sizes());
        }
    }
    dxl::models::set_row_gemv_enabled(true);
}

TEST(BatchedMatmul, EqualsTorchMatmulForStridedLayouts) {
    torch::manual_seed(7);
    for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
        auto opt = torch::TensorOptions().dtype(dtype);
        auto a = torch::randn({2, 3, 5, 7, 4}, opt);
        auto b = torch::randn({2, 3, 5, 4, 6}, opt);
        const double tol = dtype == torch::kFloat32 ? 1e-5 : 1e-12;
        EXPECT_LT(max_diff(batched_matmul(a, b), torch::matmul(a, b)), tol);
        auto bt = torch::randn({2, 3, 5, 6, 4}, opt).transpose(-1, -2);  // column-major matrices
        EXPECT_LT(max_diff(batched_matmul(a, bt), torch::matmul(a, bt)), tol);
        auto at = torch::randn({2, 3, 5, 4, 7}, opt).transpose(-1, -2);
        EXPECT_LT(max_diff(batched_matmul(at, bt), torch::matmul(at, bt)), tol);
        auto big = torch::randn({2, 3, 6, 4, 6}, opt);  // leading-dim view with a gap (narrow)
        auto nar = big.narrow(2, 0, 5);
        EXPECT_LT(max_diff(batched_matmul(a, nar), torch::matmul(a, nar)), tol);
        auto odd = torch::randn({2, 3, 5, 6, 8}, opt)
                       .narrow(-1, 1, 4)
                       .transpose(-1, -2);  // non-unit strides
        auto odd_a = torch::randn({2, 3, 5, 7, 4}, opt);
        EXPECT_LT(max_diff(batched_matmul(odd_a, odd), torch::matmul(odd_a, odd)), tol);
        EXPECT_EQ(batched_matmul(a, b).sizes(), torch::matmul(a, b).sizes());
    }
}

TEST(BatchedMatmul, KeepsAutograd) {
    auto a = torch::randn({3, 4, 5}, torch::requires_grad());
    auto b = torch::randn({3, 5, 2}, torch::requires_grad());
    batched_matmul(a, b).sum().backward();
    ASSERT_TRUE(a.grad().defined());
    EXPECT_LT(max_diff(a.grad(), torch::ones({3, 4, 2}).matmul(b.detach().transpose(-1, -2))),
              1e-5);
}

TEST(MlstmStep, FusedKernelEqualsOpByOpStep) {
    namespace mlstm = dxl::models::mlstm;
    torch::manual_seed(3);
    const int64_t B = 2, H = 3, Dh = 16, T = 20;
    auto q = torch::randn({B, H, T, Dh}), k = torch::randn({B, H, T, Dh}),
         v = torch::randn({B, H, T, Dh});
    auto ig = torch::randn({B, H, T}) * 3, fg = torch::randn({B, H, T}) + 2;
    torch::NoGradGuard no_grad;
    mlstm::State fused = mlstm::zero_state(B, H, Dh, q.options());
    // float64 runs the op-by-op path: the reference for the float32 fused kernel.
    mlstm::State ref = mlstm::zero_state(B, H, Dh, q.options().dtype(torch::kFloat64));
    for (int64_t t = 0; t < T; ++t) {
        auto h1 = mlstm::step(fused, q.select(2, t), k.select(2, t), v.select(2, t),
                              ig.select(2, t), fg.select(2, t));
        auto h2 =
            mlstm::step(ref, q.select(2, t).to(torch::kFloat64), k.select(2, t).to(torch::kFloat64),
                        v.select(2, t).to(torch::kFloat64), ig.select(2, t).to(torch::kFloat64),
                        fg.select(2, t).to(torch::kFloat64));
        ASSERT_LT(max_diff(h1, h2), 1e-4 * std::max(1.0, h2.abs().max().item<double>()))
            << "t=" << t;
    }
    EXPECT_LT(max_diff(fused.C, ref.C), 1e-5);
    EXPECT_LT(max_diff(fused.n, ref.n), 1e-5);
    EXPECT_LT(max_diff(fused.m, ref.m), 1e-5);
    // A state that is shared must not be changed behind its other owner's back.
    mlstm::State a = mlstm::zero_state(B, H, Dh, q.options());
    mlstm::State b = a;
    mlstm::step(a, q.select(2, 0), k.select(2, 0), v.select(2, 0), ig.select(2, 0),
                fg.select(2, 0));
    EXPECT_EQ(b.C.abs().sum().item<double>(), 0.0);
}

}  // namespace
