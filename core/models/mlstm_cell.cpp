// mLSTM cell forms (parallel, chunkwise, recurrent) and the implicit-attention views.
// Each form follows the NX-AI/xlstm v1 reference operation order so float32 results land at the
// reference's own rounding distance (tests/data/golden/README.md).
#include <torch/torch.h>

#include "core/models/mlstm_cell.h"

#include <cmath>

#include "core/base/error.h"
#include "core/models/batched_matmul.h"
#include "dxl/config.h"
#include "dxl/kernels/mlstm.h"

namespace dxl::models::mlstm {
namespace F = torch::nn::functional;
using torch::indexing::None;
using torch::indexing::Slice;

namespace {

std::string shape_str(const torch::Tensor& t) {
    std::string s = "[";
    for (int64_t i = 0; i < t.dim(); ++i)
        s += (i ? ", " : "") + std::to_string(t.size(i));
    return s + "]";
}

// Door check for (q|k, v, gates): returns nothing, throws ShapeError/ValueError.
void check_inputs(const char* op, const torch::Tensor& q, const torch::Tensor& k,
                  const torch::Tensor* v, const torch::Tensor& ig, const torch::Tensor& fg) {
    DXL_CHECK(q.dim() == 4, ShapeError, op, ": expected q of shape (B, H, T, Dh), but got ",
              shape_str(q));
    DXL_CHECK(k.sizes() == q.sizes(), ShapeError, op, ": expected k of shape ", shape_str(q),
              ", but got ", shape_str(k));
    if (v != nullptr)  // d_v may differ from d_qk (xLSTM-Large: d_qk = d_v / 2)
        DXL_CHECK(v->dim() == 4 && v->sizes().slice(0, 3) == q.sizes().slice(0, 3), ShapeError, op,
                  ": expected v of shape (B, H, T, Dv) = [", q.size(0), ", ", q.size(1), ", ",
                  q.size(2), ", Dv], but got ", shape_str(*v));
    const auto gshape = q.sizes().slice(0, 3);
    DXL_CHECK(ig.sizes() == gshape && fg.sizes() == gshape, ShapeError, op,
              ": expected igate_pre and fgate_pre of shape (B, H, T) = [", q.size(0), ", ",
              q.size(1), ", ", q.size(2), "], but got ", shape_str(ig), " and ", shape_str(fg),
              "; squeeze a trailing 1 if the gates are (B, H, T, 1)");
    DXL_CHECK(q.is_floating_point(), ValueError, op, ": expected a floating dtype, but got ",
              q.scalar_type());
    DXL_CHECK(k.scalar_type() == q.scalar_type() && ig.scalar_type() == q.scalar_type() &&
                  fg.scalar_type() == q.scalar_type() &&
                  (v == nullptr || v->scalar_type() == q.scalar_type()),
              ValueError, op, ": expected q, k, v and gates of one dtype (", q.scalar_type(), ")");
}

void check_state(const char* op, const State& s, int64_t B, int64_t H, int64_t Dh, int64_t Dv) {
    DXL_CHECK(s.C.defined() && s.n.defined() && s.m.defined(), ValueError, op,
              ": expected a complete state (C, n, m)");
    DXL_CHECK(s.C.sizes() == torch::IntArrayRef({B, H, Dh, Dv}) &&
                  s.n.sizes() == torch::IntArrayRef({B, H, Dh}) &&
                  s.m.sizes() == torch::IntArrayRef({B, H}),
              ShapeError, op, ": expected state C (", B, ", ", H, ", ", Dh, ", ", Dv, "), n (", B,
              ", ", H, ", ", Dh, "), m (", B, ", ", H, "), but got ", shape_str(s.C), ", ",
              shape_str(s.n), ", ", shape_str(s.m));
}

// Bool (T, T) mask, true strictly above the diagonal.
torch::Tensor upper_mask(int64_t T, const torch::Device& device) {
    return torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(device)).triu(1);
}

struct ChunkPass {
    torch::Tensor h;      // (B, H, NC, L, Dh)
    torch::Tensor C_all;  // (B, H, NC+1, Dh, Dh) chunkwise scaling (sqrt(Dh) x recurrent)
    torch::Tensor n_all;  // (B, H, NC+1, Dh)
    torch::Tensor m_all;  // (B, H, NC+1)
};

// One chunkwise_simple pass over NC chunks of length L. q already divided by sqrt(Dh); k raw;
// C0/n0 in the chunkwise scaling.
ChunkPass chunk_pass(const torch::Tensor& q,   // (B, H, NC, L, Dh)
                     const torch::Tensor& k,   // (B, H, NC, L, Dh)
                     const torch::Tensor& v,   // (B, H, NC, L, Dh)
                     const torch::Tensor& ig,  // (B, H, NC, L)
                     const torch::Tensor& fg,  // (B, H, NC, L)
                     const torch::Tensor& C0,  // (B, H, Dh, Dh)
                     const torch::Tensor& n0,  // (B, H, Dh)
                     const torch::Tensor& m0,  // (B, H)
                     double eps) {
    const int64_t B = q.size(0), H = q.size(1), NC = q.size(2), L = q.size(3), Dh = q.size(4);
    const int64_t Dv = v.size(4);
    torch::Tensor b = F::logsigmoid(fg).cumsum(-1);  // (B, H, NC, L) cumulative log forget
    torch::Tensor g = b.select(-1, L - 1);           // (B, H, NC) total log forget per chunk
    torch::Tensor a = (ig - b) + g.unsqueeze(-1);    // (B, H, NC, L)
    torch::Tensor m_loc = std::get<0>(a.max(-1));    // (B, H, NC)
    torch::Tensor w = (a - m_loc.unsqueeze(-1)).exp().unsqueeze(-1);  // (B, H, NC, L, 1)
    torch::Tensor kv = batched_matmul(k.transpose(-1, -2), v * w);    // (B, H, NC, Dh, Dv)
    torch::Tensor ksum = (k * w).sum(-2);                             // (B, H, NC, Dh)

    // Inter-chunk recurrence m_c = max(g_c + m_{c-1}, m_loc_c), unrolled in closed form so the
    // stabilisers, decays and input scales of all chunks are computed at once:
    //   m_c = G_c + max(m_0, cummax_{c' <= c}(m_loc_c' - G_c')),  G = cumsum(g).
    // Only the (Dh x Dv) state accumulation stays sequential: one fused multiply-add per chunk
    // into a preallocated buffer (op dispatch, not arithmetic, dominates that loop).
    torch::Tensor G = g.cumsum(-1);                                       // (B, H, NC)
    torch::Tensor run_max = std::get<0>((m_loc - G).cummax(-1));          // (B, H, NC)
    torch::Tensor m_new = G + torch::maximum(run_max, m0.unsqueeze(-1));  // (B, H, NC)
    torch::Tensor m_all = torch::cat({m0.unsqueeze(-1), m_new}, -1);      // (B, H, NC+1)
    torch::Tensor decay = (g + m_all.narrow(-1, 0, NC) - m_new).exp();    // (B, H, NC)
    torch::Tensor scale = (m_loc - m_new).exp();                          // (B, H, NC)
    torch::Tensor kv_s = kv * scale.unsqueeze(-1).unsqueeze(-1);          // (B, H, NC, Dh, Dv)
    torch::Tensor ks_s = ksum * scale.unsqueeze(-1);                      // (B, H, NC, Dh)
    torch::Tensor decay_c = decay.unsqueeze(-1).unsqueeze(-1);            // (B, H, NC, 1, 1)
    torch::Tensor decay_n = decay.unsqueeze(-1);                          // (B, H, NC, 1)
    torch::Tensor C_all, n_all;  // (B, H, NC+1, Dh, Dv), (B, H, NC+1, Dh)
    const bool grad =
        torch::GradMode::is_enabled() &&
        (q.requires_grad() || k.requires_grad() || v.requires_grad() || ig.requires_grad() ||
         fg.requires_grad() || C0.requires_grad() || n0.requires_grad());
    if (grad) {
        // Training: out-of-place steps that autograd can follow. The backward then reuses the
        // NC chunk states (memory O(NC Dh Dv), never O(T^2)).
        std::vector<torch::Tensor> Cs{C0}, ns{n0};
        for (int64_t c = 0; c < NC; ++c) {
            Cs.push_back(torch::addcmul(kv_s.select(2, c), Cs.back(), decay_c.select(2, c)));
            ns.push_back(torch::addcmul(ks_s.select(2, c), ns.back(), decay_n.select(2, c)));
        }
        C_all = torch::stack(Cs, 2);
        n_all = torch::stack(ns, 2);
    } else {
        C_all = torch::empty({B, H, NC + 1, Dh, Dv}, q.options());
        n_all = torch::empty({B, H, NC + 1, Dh}, q.options());
        C_all.select(2, 0).copy_(C0);
        n_all.select(2, 0).copy_(n0);
        for (int64_t c = 0; c < NC; ++c) {
            torch::Tensor C_out = C_all.select(2, c + 1);
            torch::addcmul_out(C_out, kv_s.select(2, c), C_all.select(2, c), decay_c.select(2, c));
            torch::Tensor n_out = n_all.select(2, c + 1);
            torch::addcmul_out(n_out, ks_s.select(2, c), n_all.select(2, c), decay_n.select(2, c));
        }
    }
    ChunkPass out;
    out.C_all = C_all;
    out.n_all = n_all;
    out.m_all = m_all;
    torch::Tensor C_prev = C_all.narrow(2, 0, NC);  // (B, H, NC, Dh, Dv)
    torch::Tensor n_prev = n_all.narrow(2, 0, NC);  // (B, H, NC, Dh)
    torch::Tensor m_prev = m_all.narrow(2, 0, NC);  // (B, H, NC)

    // Intra-chunk parallel part, all chunks at once. The row maximum of log D is
    // b_i + cummax_{j <= i}(ig_j - b_j): an O(L) scan instead of a max over the (L x L) matrix.
    torch::Tensor d_max = b + std::get<0>((ig - b).cummax(-1));             // (B, H, NC, L)
    torch::Tensor inter_log = m_prev.unsqueeze(-1) + b;                     // (B, H, NC, L)
    torch::Tensor stab = torch::maximum(d_max, inter_log).unsqueeze(-1);    // (B, H, NC, L, 1)
    torch::Tensor q_inter = q * (inter_log.unsqueeze(-1) - stab).exp();     // (B, H, NC, L, Dh)
    torch::Tensor inter_C = batched_matmul(q_inter, C_prev);                // (B, H, NC, L, Dv)
    torch::Tensor inter_n = batched_matmul(q_inter, n_prev.unsqueeze(-1));  // (B, H, NC, L, 1)
    // E = (q k^T) * exp(log D - stab) with log D - stab = (b_i - stab_i) + (ig_j - b_j) for
    // j <= i. Built in place on one (L x L) buffer per chunk from a contiguous row expansion (a
    // 3-way broadcast expression is ~25x slower in ATen on CPU). Entries above the diagonal may
    // overflow to inf before tril_ zeroes them; below it the exponent is <= 0 by the choice of
    // stab.
    torch::Tensor E;  // (B, H, NC, L, L)
    if (grad) {
        // Out of place for autograd; entries above the diagonal are masked to -inf before exp
        // (an inf there would turn the zeroed gradient into NaN).
        torch::Tensor log_e = ((b.unsqueeze(-1) - stab) + (ig - b).unsqueeze(-2))
                                  .masked_fill(upper_mask(L, q.device()), -INFINITY);
        E = log_e.exp() * batched_matmul(q, k.transpose(-1, -2));
    } else {
        E = (b.unsqueeze(-1) - stab).expand({B, H, NC, L, L}).contiguous();
        E.add_((ig - b).unsqueeze(-2)).exp_().tril_();
        E.mul_(batched_matmul(q, k.transpose(-1, -2)));
    }
    torch::Tensor normalizer =
        torch::maximum((E.sum(-1, true) + inter_n).abs(), (-stab).exp()) + eps;  // (.., L, 1)
    out.h = (batched_matmul(E, v) + inter_C) / normalizer;  // (B, H, NC, L, Dv)
    return out;
}

}  // namespace

State zero_state(int64_t B, int64_t H, int64_t Dh, const torch::TensorOptions& options,
                 int64_t Dv) {
    return State{torch::zeros({B, H, Dh, Dv < 0 ? Dh : Dv}, options),
                 torch::zeros({B, H, Dh}, options), torch::zeros({B, H}, options)};
}

torch::Tensor log_decay_matrix(const torch::Tensor& igate_pre, const torch::Tensor& fgate_pre) {
    const int64_t T = igate_pre.size(-1);
    torch::Tensor cum = F::logsigmoid(fgate_pre).cumsum(-1);  // (B, H, T)
    torch::Tensor log_fg = (cum.unsqueeze(-1) - cum.unsqueeze(-2))
                               .masked_fill(upper_mask(T, igate_pre.device()), -INFINITY);
    return log_fg + igate_pre.unsqueeze(-2);  // (B, H, T, T)
}

torch::Tensor parallel(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor& igate_pre, const torch::Tensor& fgate_pre, double eps,
                       bool stabilize_rowwise) {
    check_inputs("mlstm::parallel", q, k, &v, igate_pre, fgate_pre);
    const int64_t Dh = q.size(3);
    torch::Tensor log_d = log_decay_matrix(igate_pre, fgate_pre);  // (B, H, T, T)
    torch::Tensor max_log_d;                                       // (B, H, T|1, 1)
    if (stabilize_rowwise) {
        max_log_d = std::get<0>(log_d.max(-1, true));
    } else {
        max_log_d = log_d.flatten(2).amax(-1, true).unsqueeze(-1);
    }
    torch::Tensor D = (log_d - max_log_d).exp();                         // (B, H, T, T)
    torch::Tensor k_scaled = k / std::sqrt(static_cast<double>(Dh));     // (B, H, T, Dh)
    torch::Tensor C = torch::matmul(q, k_scaled.transpose(-2, -1)) * D;  // (B, H, T, T)
    torch::Tensor normalizer = torch::maximum(C.sum(-1, true).abs(), (-max_log_d).exp());
    return torch::matmul(C / (normalizer + eps), v);  // (B, H, T, Dh)
}

#if DXL_HAVE_CUDA
namespace {
// Tensors on a GPU (a CUDA-enabled LibTorch build): the chunkwise kernel of kernels/cuda on the
// default stream, fp32, square heads, no autograd. States come back in the recurrent scaling.
ChunkwiseResult chunkwise_cuda(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& igate_pre,
                               const torch::Tensor& fgate_pre, int64_t L, const State* initial,
                               double eps, bool return_chunk_states) {
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), Dh = q.size(3);
    const int64_t S = kernels::mlstm_chunk_slots(static_cast<int>(T), static_cast<int>(L));
    auto opt = q.options();
    torch::Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();  // (B, H, T, Dh)
    torch::Tensor ic = igate_pre.contiguous(), fc = fgate_pre.contiguous();       // (B, H, T)
    torch::Tensor h = torch::empty({B, H, T, Dh}, opt);                           // (B, H, T, Dh)
    torch::Tensor C_all = torch::empty({B, H, S, Dh, Dh}, opt);  // (B, H, S, Dh, Dh)
    torch::Tensor n_all = torch::empty({B, H, S, Dh}, opt);      // (B, H, S, Dh)
    torch::Tensor m_all = torch::empty({B, H, S}, opt);          // (B, H, S)
    State s0;
    if (initial)
        s0 = State{initial->C.contiguous(), initial->n.contiguous(), initial->m.contiguous()};
    kernels::mlstm_chunk_forward_cuda(
        h.data_ptr<float>(), C_all.data_ptr<float>(), n_all.data_ptr<float>(),
        m_all.data_ptr<float>(), qc.data_ptr<float>(), kc.data_ptr<float>(), vc.data_ptr<float>(),
        ic.data_ptr<float>(), fc.data_ptr<float>(), initial ? s0.C.data_ptr<float>() : nullptr,
        initial ? s0.n.data_ptr<float>() : nullptr, initial ? s0.m.data_ptr<float>() : nullptr,
        static_cast<int>(B), static_cast<int>(H), static_cast<int>(T), static_cast<int>(Dh),
        static_cast<int>(L), static_cast<float>(eps), nullptr);
    ChunkwiseResult out;
    out.h = h;
    out.last = State{C_all.select(2, S - 1), n_all.select(2, S - 1), m_all.select(2, S - 1)};
    if (return_chunk_states) {
        out.C_chunks = C_all;
        out.n_chunks = n_all;
        out.m_chunks = m_all;
        for (int64_t c = 0; c < S; ++c)
            out.chunk_positions.push_back(std::min(T, c * L));
    }
    return out;
}
}  // namespace
#endif

ChunkwiseResult chunkwise(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          const torch::Tensor& igate_pre, const torch::Tensor& fgate_pre,
                          int64_t chunk_size, const State* initial, double eps,
                          bool return_chunk_states) {
    check_inputs("mlstm::chunkwise", q, k, &v, igate_pre, fgate_pre);
    DXL_CHECK(chunk_size >= 1, ValueError, "mlstm::chunkwise: expected chunk_size >= 1, but got ",
              chunk_size);
#if DXL_HAVE_CUDA
    if (q.is_cuda() && q.scalar_type() == torch::kFloat32 && v.size(3) == q.size(3) &&
        !(torch::GradMode::is_enabled() &&
          (q.requires_grad() || k.requires_grad() || v.requires_grad()))) {
        return chunkwise_cuda(q, k, v, igate_pre, fgate_pre, chunk_size, initial, eps,
                              return_chunk_states);
    }
#endif
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), Dh = q.size(3);
    const double sqrt_dh = std::sqrt(static_cast<double>(Dh));
    const int64_t Dv = v.size(3);
    State s0 = initial ? *initial : zero_state(B, H, Dh, q.options(), Dv);
    if (initial) check_state("mlstm::chunkwise", s0, B, H, Dh, Dv);
    // chunkwise_simple scales q, so its C, n are sqrt(Dh) x the recurrent ones.
    torch::Tensor C = s0.C * sqrt_dh;  // (B, H, Dh, Dh)
    torch::Tensor n = s0.n * sqrt_dh;  // (B, H, Dh)
    torch::Tensor m = s0.m;            // (B, H)
    torch::Tensor qs = q / sqrt_dh;    // (B, H, T, Dh)

    const int64_t L = std::min(chunk_size, std::max<int64_t>(T, 1));
    const int64_t n_full = T / L, rem = T - n_full * L;
    std::vector<torch::Tensor> hs, Cb{C}, nb{n}, mb{m};
    ChunkwiseResult out;
    out.chunk_positions.push_back(0);
    auto run = [&](int64_t t0, int64_t nc, int64_t len) {
        auto cut = [&](const torch::Tensor& x) {  // (B, H, T, Dx) -> (B, H, nc, len, Dx)
            return x.narrow(2, t0, nc * len).reshape({B, H, nc, len, x.size(3)});
        };
        auto cut_g = [&](const torch::Tensor& x) {  // (B, H, T) -> (B, H, nc, len)
            return x.narrow(2, t0, nc * len).reshape({B, H, nc, len});
        };
        ChunkPass p = chunk_pass(cut(qs), cut(k), cut(v), cut_g(igate_pre), cut_g(fgate_pre),
                                 Cb.back(), nb.back(), mb.back(), eps);
        hs.push_back(p.h.reshape({B, H, nc * len, Dv}));
        for (int64_t c = 1; c <= nc; ++c) {
            Cb.push_back(p.C_all.select(2, c));
            nb.push_back(p.n_all.select(2, c));
            mb.push_back(p.m_all.select(2, c));
            out.chunk_positions.push_back(t0 + c * len);
        }
    };
    if (n_full > 0) run(0, n_full, L);
    if (rem > 0) run(n_full * L, 1, rem);

    out.h = hs.empty() ? torch::zeros_like(v) : (hs.size() == 1 ? hs[0] : torch::cat(hs, 2));
    out.last = State{Cb.back() / sqrt_dh, nb.back() / sqrt_dh, mb.back()};
    if (return_chunk_states) {
        out.C_chunks = torch::stack(Cb, 2) / sqrt_dh;  // (B, H, NB, Dh, Dh)
        out.n_chunks = torch::stack(nb, 2) / sqrt_dh;  // (B, H, NB, Dh)
        out.m_chunks = torch::stack(mb, 2);            // (B, H, NB)
    } else {
        out.chunk_positions.clear();
    }
    return out;
}

namespace {

// The state tensor itself when this State is its only owner (contiguous, unshared storage),
// else a private contiguous copy: the fused kernel updates in place.
torch::Tensor owned(const torch::Tensor& t) {
    const bool sole = t.is_contiguous() && t.use_count() == 1 && t.storage().use_count() == 1 &&
                      t.storage().nbytes() == static_cast<size_t>(t.nbytes()) &&
                      t.storage_offset() == 0;
    return sole ? t : t.contiguous().clone();
}

// Fused CPU step (kernels/ref, ~3 us at H=4, Dh=64 against ~50 us for the op-by-op version)
// for float32 CPU inference with square heads; false when it does not apply.
bool step_fused(State& state, const torch::Tensor& q_t, const torch::Tensor& k_t,
                const torch::Tensor& v_t, const torch::Tensor& igate_t,
                const torch::Tensor& fgate_t, double eps, torch::Tensor* h) {
    const bool grad = torch::GradMode::is_enabled() &&
                      (q_t.requires_grad() || k_t.requires_grad() || v_t.requires_grad() ||
                       igate_t.requires_grad() || fgate_t.requires_grad() ||
                       state.C.requires_grad() || state.n.requires_grad());
    const int64_t B = q_t.size(0), H = q_t.size(1), Dh = q_t.size(2);
    if (grad || !q_t.device().is_cpu() || q_t.scalar_type() != torch::kFloat32 ||
        state.C.scalar_type() != torch::kFloat32 || v_t.size(-1) != Dh || state.C.size(-1) != Dh) {
        return false;
    }
    state.C = owned(state.C);
    state.n = owned(state.n);
    state.m = owned(state.m);
    torch::Tensor q = q_t.contiguous(), k = k_t.contiguous(), v = v_t.contiguous();  // (B, H, Dh)
    torch::Tensor ig = igate_t.contiguous(), fg = fgate_t.contiguous();              // (B, H)
    *h = torch::empty({B, H, Dh}, q.options());                                      // (B, H, Dh)
    kernels::mlstm_step_cpu(state.C.data_ptr<float>(), state.n.data_ptr<float>(),
                            state.m.data_ptr<float>(), h->data_ptr<float>(), q.data_ptr<float>(),
                            k.data_ptr<float>(), v.data_ptr<float>(), ig.data_ptr<float>(),
                            fg.data_ptr<float>(), static_cast<int>(B), static_cast<int>(H),
                            static_cast<int>(Dh), static_cast<float>(eps));
    return true;
}

}  // namespace

torch::Tensor step(State& state, const torch::Tensor& q_t, const torch::Tensor& k_t,
                   const torch::Tensor& v_t, const torch::Tensor& igate_t,
                   const torch::Tensor& fgate_t, double eps) {
    if (torch::Tensor h; step_fused(state, q_t, k_t, v_t, igate_t, fgate_t, eps, &h)) return h;
    const int64_t Dh = q_t.size(-1);
    torch::Tensor log_f = F::logsigmoid(fgate_t);                       // (B, H)
    torch::Tensor m_new = torch::maximum(log_f + state.m, igate_t);     // (B, H)
    torch::Tensor f_act = (log_f + state.m - m_new).exp();              // (B, H)
    torch::Tensor i_act = (igate_t - m_new).exp();                      // (B, H)
    torch::Tensor k_scaled = k_t / std::sqrt(static_cast<double>(Dh));  // (B, H, Dh)
    torch::Tensor kv = k_scaled.unsqueeze(-1) * v_t.unsqueeze(-2);      // (B, H, Dh, Dh)
    state.C = f_act.unsqueeze(-1).unsqueeze(-1) * state.C + i_act.unsqueeze(-1).unsqueeze(-1) * kv;
    state.n = f_act.unsqueeze(-1) * state.n + i_act.unsqueeze(-1) * k_scaled;
    state.m = m_new;
    torch::Tensor h_num = torch::matmul(q_t.unsqueeze(-2), state.C).squeeze(-2);  // (B, H, Dh)
    torch::Tensor qn =
        torch::matmul(q_t.unsqueeze(-2), state.n.unsqueeze(-1)).squeeze(-1).squeeze(-1);  // (B, H)
    torch::Tensor denom = torch::maximum(qn.abs(), (-m_new).exp()) + eps;                 // (B, H)
    return h_num / denom.unsqueeze(-1);
}

RecurrentResult recurrent(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          const torch::Tensor& igate_pre, const torch::Tensor& fgate_pre,
                          const State* initial, double eps) {
    check_inputs("mlstm::recurrent", q, k, &v, igate_pre, fgate_pre);
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), Dh = q.size(3);
    const int64_t Dv = v.size(3);
    State s = initial ? *initial : zero_state(B, H, Dh, q.options(), Dv);
    if (initial) check_state("mlstm::recurrent", s, B, H, Dh, Dv);
    std::vector<torch::Tensor> hs, ms;
    hs.reserve(T);
    ms.reserve(T);
    for (int64_t t = 0; t < T; ++t) {
        hs.push_back(step(s, q.select(2, t), k.select(2, t), v.select(2, t), igate_pre.select(2, t),
                          fgate_pre.select(2, t), eps));
        ms.push_back(s.m);
    }
    RecurrentResult out;
    out.h = T > 0 ? torch::stack(hs, 2) : torch::zeros_like(v);
    out.m_all = T > 0 ? torch::stack(ms, 2) : torch::zeros({B, H, 0}, q.options());
    out.last = std::move(s);
    return out;
}

torch::Tensor implicit_attention(const torch::Tensor& q, const torch::Tensor& k,
                                 const torch::Tensor& igate_pre, const torch::Tensor& fgate_pre) {
    check_inputs("mlstm::implicit_attention", q, k, nullptr, igate_pre, fgate_pre);
    const int64_t Dh = q.size(3);
    torch::Tensor log_d = log_decay_matrix(igate_pre, fgate_pre);  // (B, H, T, T)
    torch::Tensor m = std::get<0>(log_d.max(-1, true));            // (B, H, T, 1)
    torch::Tensor S = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(Dh));
    torch::Tensor C = S * (log_d - m).exp();  // (B, H, T, T)
    return C / torch::maximum(C.sum(-1, true).abs(), (-m).exp());
}

const char* to_string(AttnNorm mode) noexcept {
    switch (mode) {
        case AttnNorm::Raw:
            return "raw";
        case AttnNorm::AbsRow:
            return "abs_row";
        case AttnNorm::ReluRow:
            return "relu_row";
        case AttnNorm::MinMax:
            return "minmax";
    }
    return "abs_row";
}

AttnNorm parse_attn_norm(const std::string& s) {
    if (s == "raw") return AttnNorm::Raw;
    if (s == "abs_row") return AttnNorm::AbsRow;
    if (s == "relu_row") return AttnNorm::ReluRow;
    if (s == "minmax") return AttnNorm::MinMax;
    throw ValueError(
        "attention normalisation: expected raw, abs_row, relu_row or minmax, but got '" + s + "'");
}

torch::Tensor normalize_attention(const torch::Tensor& A, AttnNorm mode) {
    DXL_CHECK(A.dim() >= 2 && A.size(-1) == A.size(-2), ShapeError,
              "normalize_attention: expected (..., T, T), but got ", shape_str(A));
    auto row_norm = [](const torch::Tensor& x) {
        torch::Tensor s = x.sum(-1, true);  // (..., T, 1)
        return x / torch::where(s > 0, s, torch::ones_like(s));
    };
    switch (mode) {
        case AttnNorm::Raw:
            return A;
        case AttnNorm::AbsRow:
            return row_norm(A.abs());
        case AttnNorm::ReluRow:
            return row_norm(A.relu());
        case AttnNorm::MinMax: {
            const int64_t T = A.size(-1);
            torch::Tensor upper = upper_mask(T, A.device());  // (T, T)
            torch::Tensor a = A.abs();                        // (..., T, T)
            torch::Tensor mn =
                a.masked_fill(upper, INFINITY).flatten(-2).amin(-1, true);  // (.., 1)
            torch::Tensor mx = a.masked_fill(upper, -INFINITY).flatten(-2).amax(-1, true);
            mn = mn.unsqueeze(-1);
            mx = mx.unsqueeze(-1);
            torch::Tensor range = mx - mn;  // (..., 1, 1)
            torch::Tensor out = (a - mn) / torch::where(range > 0, range, torch::ones_like(range));
            return out.masked_fill(upper, 0.0);
        }
    }
    return A;
}

torch::Tensor gate_only(const torch::Tensor& igate_pre, const torch::Tensor& fgate_pre) {
    DXL_CHECK(igate_pre.dim() == 3 && fgate_pre.sizes() == igate_pre.sizes(), ShapeError,
              "mlstm::gate_only: expected igate_pre and fgate_pre of shape (B, H, T), but got ",
              shape_str(igate_pre), " and ", shape_str(fgate_pre));
    return torch::softmax(log_decay_matrix(igate_pre, fgate_pre), -1);  // (B, H, T, T)
}

StatesAt states_at(const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& igate_pre,
                   const torch::Tensor& fgate_pre, const std::vector<int64_t>& positions) {
    check_inputs("mlstm::states_at", k, k, &v, igate_pre, fgate_pre);
    const int64_t T = k.size(2), Dh = k.size(3);
    for (int64_t p : positions)
        DXL_CHECK(p >= 0 && p < T, ValueError, "mlstm::states_at: expected positions in [0, ", T,
                  "), but got ", p);
    torch::Tensor idx =
        torch::tensor(positions, torch::TensorOptions().dtype(torch::kLong)).to(k.device());  // (P)
    torch::Tensor cum = F::logsigmoid(fgate_pre).cumsum(-1);  // (B, H, T)
    torch::Tensor cum_p = cum.index_select(-1, idx);          // (B, H, P)
    torch::Tensor j = torch::arange(T, idx.options());        // (T)
    torch::Tensor after = j.unsqueeze(0) > idx.unsqueeze(1);  // (P, T) j > t
    torch::Tensor log_d = (cum_p.unsqueeze(-1) - cum.unsqueeze(-2)).masked_fill(after, -INFINITY) +
                          igate_pre.unsqueeze(-2);  // (B, H, P, T)
    // m_t of the recurrence from m_0 = 0: max(F_t + 0, max_j log D_tj).
    torch::Tensor m = torch::maximum(cum_p, std::get<0>(log_d.max(-1)));  // (B, H, P)
    torch::Tensor w = (log_d - m.unsqueeze(-1)).exp();                    // (B, H, P, T)
    torch::Tensor k_scaled = k / std::sqrt(static_cast<double>(Dh));      // (B, H, T, Dh)
    StatesAt out;
    // C[p] = sum_j w[p, j] k_j v_j^T
    out.C = torch::einsum("bhpt,bhtd,bhte->bhpde", {w, k_scaled, v});
    out.n = torch::matmul(w, k_scaled);  // (B, H, P, Dh)
    out.m = m;
    return out;
}

}  // namespace dxl::models::mlstm
