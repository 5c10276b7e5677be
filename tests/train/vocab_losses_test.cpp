// The chunked CE + KD (core/train/vocab_losses) against the plain full-vocabulary loss_ce /
// loss_kd: values and gradients, with temperature, masks, pads and chunks that do not divide the
// token count; the reduced-precision input path returns a gradient in the logits' dtype.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/train/losses.h"
#include "core/train/vocab_losses.h"
#include "tests/train/test_device.h"

using namespace dxl;

namespace {

struct Case {
    torch::Tensor zs, zt, y, ce_mask, kd_mask;  // (B, T, V) x2, (B, T) x3
};

Case make_case(torch::ScalarType dt, const torch::Device& dev) {
    torch::manual_seed(7);
    const int64_t B = 3, T = 7, V = 37;
    const auto o = torch::TensorOptions().dtype(dt).device(dev);
    Case c;
    c.zs = (torch::randn({B, T, V}, o) * 3).requires_grad_(true);
    c.zt = torch::randn({B, T, V}, o) * 2;
    c.y = torch::randint(0, V, {B, T}, o.dtype(torch::kInt64));
    c.y[2][6] = -1;  // a pad target, masked out below
    c.ce_mask = torch::rand({B, T}, o.dtype(torch::kFloat32)) > 0.3;
    c.ce_mask[2][6] = false;
    c.kd_mask = torch::rand({B, T}, o.dtype(torch::kFloat32)) > 0.2;
    return c;
}

double rel_err(const torch::Tensor& a, const torch::Tensor& b) {
    const auto d = (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
    return d / std::max(1e-30, b.to(torch::kFloat64).abs().max().item<double>());
}

}  // namespace

TEST(VocabLosses, EqualThePlainLossesInValueAndGradient) {
    const torch::Device dev = test::test_device();
    for (const int64_t chunk : {int64_t{0}, int64_t{1}, int64_t{4}, int64_t{100}}) {
        for (const double temp : {1.0, 2.5}) {
            Case c = make_case(torch::kFloat64, dev);
            const double wc = 0.7, wk = 1.3;
            torch::Tensor ce0 = train::loss_ce(c.zs, c.y, c.ce_mask);
            torch::Tensor kl0 = train::loss_kd(c.zs, c.zt, temp, c.kd_mask);
            torch::Tensor g0 = torch::autograd::grad({wc * ce0 + wk * kl0}, {c.zs})[0];

            train::VocabLossOptions o;
            o.temperature = temp;
            o.chunk_rows = chunk;
            auto r = train::vocab_losses(c.zs, c.zt, c.y, c.ce_mask, c.kd_mask, o);
            torch::Tensor g1 = torch::autograd::grad({wc * r.ce + wk * r.kl}, {c.zs})[0];
            EXPECT_LT(rel_err(r.ce, ce0), 1e-6) << "chunk " << chunk << " T " << temp;
            EXPECT_LT(rel_err(r.kl, kl0), 1e-6) << "chunk " << chunk << " T " << temp;
            EXPECT_LT(rel_err(g1, g0), 1e-6) << "chunk " << chunk << " T " << temp;
        }
    }
}

TEST(VocabLosses, SingleTermsFloat32AndEmptyMasks) {
    const torch::Device dev = test::test_device();
    Case c = make_case(torch::kFloat32, dev);
    train::VocabLossOptions o;
    o.kd = false;
    o.chunk_rows = 5;
    auto r = train::vocab_losses(c.zs, {}, c.y, c.ce_mask, {}, o);
    EXPECT_FALSE(r.kl.defined());
    torch::Tensor ce0 = train::loss_ce(c.zs, c.y, c.ce_mask);
    EXPECT_LT(rel_err(r.ce, ce0), 1e-6);
    torch::Tensor g1 = torch::autograd::grad({r.ce}, {c.zs})[0];
    torch::Tensor g0 = torch::autograd::grad({ce0}, {c.zs})[0];
    EXPECT_LT(rel_err(g1, g0), 1e-5);  // float32 sums in another order

    o = {};
    o.ce = false;
    o.temperature = 2.0;
    auto none = torch::zeros_like(c.kd_mask);
    auto k = train::vocab_losses(c.zs, c.zt, c.y, c.ce_mask, none, o);
    EXPECT_EQ(k.kl.item<double>(), 0.0);
    torch::Tensor g = torch::autograd::grad({k.kl}, {c.zs})[0];
    EXPECT_EQ(g.abs().max().item<double>(), 0.0);
}

TEST(VocabLosses, Bfloat16LogitsWorkInFloat32) {
    const torch::Device dev = test::test_device();
    Case c = make_case(torch::kFloat32, dev);
    torch::Tensor zs16 = c.zs.detach().to(torch::kBFloat16).requires_grad_(true);
    torch::Tensor zt16 = c.zt.to(torch::kBFloat16);
    train::VocabLossOptions o;
    o.temperature = 2.0;
    o.chunk_rows = 3;
    auto r = train::vocab_losses(zs16, zt16, c.y, c.ce_mask, c.kd_mask, o);
    EXPECT_EQ(r.ce.scalar_type(), torch::kFloat32);
    EXPECT_EQ(r.kl.scalar_type(), torch::kFloat32);
    torch::Tensor g = torch::autograd::grad({r.ce + r.kl}, {zs16})[0];
    EXPECT_EQ(g.scalar_type(), torch::kBFloat16);
    // The same bf16 inputs upcast and run through the plain float32 losses.
    torch::Tensor zs32 = zs16.detach().to(torch::kFloat32).requires_grad_(true);
    torch::Tensor zt32 = zt16.to(torch::kFloat32);
    torch::Tensor ce0 = train::loss_ce(zs32, c.y, c.ce_mask);
    torch::Tensor kl0 = train::loss_kd(zs32, zt32, 2.0, c.kd_mask);
    EXPECT_LT(rel_err(r.ce, ce0), 1e-6);
    EXPECT_LT(rel_err(r.kl, kl0), 1e-5);
    torch::Tensor g0 = torch::autograd::grad({ce0 + kl0}, {zs32})[0];
    EXPECT_LT(rel_err(g, g0), 1e-2);  // the gradient itself is rounded to bf16
}
