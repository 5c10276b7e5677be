// mLSTM cell (NX-AI/xlstm v1 semantics): parallel, chunkwise and recurrent forms, plus the
// implicit-attention view (docs/method.md#mlstm-cell, #implicit-attention).
//
// Conventions shared by every function here:
// - q, k, v are (B, H, T, Dh) exactly as fed to the cell; k is UNscaled, the 1/sqrt(Dh) scale is
//   applied inside (xlstm v1 divides k, mlstm_kernels multiplies q: equivalent).
// - igate_pre / fgate_pre are (B, H, T) pre-activations: i = exp(igate_pre), log f =
//   logsigmoid(fgate_pre).
// - State is the stabilised recurrent state in code layout: C = sum of decayed i_t (k_t/sqrt(Dh))
//   v_t^T times exp(-m) (Dh_k x Dh_v), n likewise, m the stabiliser. This is the golden
//   recurrent C_final. NX-AI's chunkwise_simple scales q instead of k, so ITS C and n are
//   sqrt(Dh) times ours; chunkwise() below converts at its boundaries, so all functions here
//   exchange states in the recurrent scaling.
// All functions work for float32 and float64 (computation in the input dtype).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dxl::models::mlstm {

inline constexpr double kEps = 1e-6;

struct State {
    torch::Tensor C;  // (B, H, Dh, Dv) code layout k v^T, recurrent scaling (Dv = Dh in v1)
    torch::Tensor n;  // (B, H, Dh)
    torch::Tensor m;  // (B, H)
};

// Zero state (what the reference uses when no state is given: C = n = 0, m = 0). Dv < 0 means
// Dv = Dh. v may have its own head dim Dv everywhere (C is then (Dh, Dv)).
// Reduced precision (bf16 / fp16 models): the recurrence runs in float32. The gates, the
// stabiliser m and the normaliser n lose too much in bf16 (docs/models.md, "Precision"), so the
// cell inputs are promoted and the cell output is cast back by the caller.
inline bool is_reduced(torch::ScalarType t) {
    return t == torch::kBFloat16 || t == torch::kFloat16;
}
inline torch::Tensor cell_precision(const torch::Tensor& t) {
    return is_reduced(t.scalar_type()) ? t.to(torch::kFloat32) : t;
}
// Options for a recurrent state of a model whose activations use `o`: float32 when reduced.
inline torch::TensorOptions state_options(const torch::TensorOptions& o) {
    return is_reduced(o.dtype().toScalarType()) ? o.dtype(torch::kFloat32) : o;
}

State zero_state(int64_t B, int64_t H, int64_t Dh, const torch::TensorOptions& options,
                 int64_t Dv = -1);

// parallel_stabilized_simple: h (B, H, T, Dh). stabilize_rowwise=false uses the global max.
torch::Tensor parallel(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor& igate_pre, const torch::Tensor& fgate_pre,
                       double eps = kEps, bool stabilize_rowwise = true);

struct ChunkwiseResult {
    torch::Tensor h;  // (B, H, T, Dh)
    State last;       // state after the last token
    // Only with return_chunk_states: states at every chunk boundary t = 0, L, 2L, ..., and T
    // (index 0 = the initial state; a ragged last chunk adds the boundary T).
    torch::Tensor C_chunks;                // (B, H, NB, Dh, Dh)
    torch::Tensor n_chunks;                // (B, H, NB, Dh)
    torch::Tensor m_chunks;                // (B, H, NB)
    std::vector<int64_t> chunk_positions;  // NB token counts consumed at each boundary
};

// chunkwise_simple semantics with chunk length `chunk_size`. T need not be a multiple of
// chunk_size: the ragged tail is processed as one shorter chunk (exactly what the recurrence
// does). `initial` may be null (zero state).
ChunkwiseResult chunkwise(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          const torch::Tensor& igate_pre, const torch::Tensor& fgate_pre,
                          int64_t chunk_size = 64, const State* initial = nullptr,
                          double eps = kEps, bool return_chunk_states = false);

// recurrent_step_stabilized_simple: one token. q_t, k_t, v_t (B, H, Dh), gates (B, H).
// Updates `state` in place (new tensors) and returns h_t (B, H, Dh).
torch::Tensor step(State& state, const torch::Tensor& q_t, const torch::Tensor& k_t,
                   const torch::Tensor& v_t, const torch::Tensor& igate_t,
                   const torch::Tensor& fgate_t, double eps = kEps);

struct RecurrentResult {
    torch::Tensor h;      // (B, H, T, Dh)
    State last;           // state after the last token
    torch::Tensor m_all;  // (B, H, T) stabiliser after every step
};

// step() over t = 0..T-1 from `initial` (null = zero state).
RecurrentResult recurrent(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          const torch::Tensor& igate_pre, const torch::Tensor& fgate_pre,
                          const State* initial = nullptr, double eps = kEps);

// log D (B, H, T, T): F_i - F_j + igate_pre_j for j <= i (F = cumsum of logsigmoid(f)), -inf
// above the diagonal (docs/method.md#parallel-form step 2, as the reference computes it).
torch::Tensor log_decay_matrix(const torch::Tensor& igate_pre, const torch::Tensor& fgate_pre);

// Implicit attention A (B, H, T, T), raw and signed (docs/method.md#implicit-attention):
//   A_ij = S_ij D_ij / max(|sum_j' S_ij' D_ij'|, 1), S = q k^T / sqrt(Dh),
// computed in the row-stabilised form (stabiliser-invariant; no eps), so A v = h up to the
// eps placement of the cell. Causal: zero above the diagonal.
torch::Tensor implicit_attention(const torch::Tensor& q, const torch::Tensor& k,
                                 const torch::Tensor& igate_pre, const torch::Tensor& fgate_pre);

enum class AttnNorm { Raw, AbsRow, ReluRow, MinMax };
const char* to_string(AttnNorm mode) noexcept;
AttnNorm parse_attn_norm(const std::string& s);  // "raw|abs_row|relu_row|minmax", ValueError

// Makes A comparable to a softmax P (docs/method.md#normalisations), over the last two dims of
// (..., T, T):
// Raw: A unchanged; AbsRow: |A| / row sum of |A|; ReluRow: relu(A) / row sum (rows that sum to
// zero stay zero); MinMax: (|A| - min) / (max - min) per matrix over the causal triangle, zero
// above the diagonal (a constant matrix maps to 0).
torch::Tensor normalize_attention(const torch::Tensor& A, AttnNorm mode = AttnNorm::AbsRow);

// Gate-only matrix G (B, H, T, T) = D_ij / sum_j D_ij: row-stochastic memory horizon.
torch::Tensor gate_only(const torch::Tensor& igate_pre, const torch::Tensor& fgate_pre);

// C, n, m at the given positions (token index t: the state after consuming token t), from
// C_t = K^T diag(D_t,:) V exp(-m_t) with the recurrent stabiliser m_t = max(F_t, max_j log D_tj)
// (zero initial state). Returns C (B, H, P, Dh, Dh), n (B, H, P, Dh), m (B, H, P).
struct StatesAt {
    torch::Tensor C;  // (B, H, P, Dh, Dh)
    torch::Tensor n;  // (B, H, P, Dh)
    torch::Tensor m;  // (B, H, P)
};
StatesAt states_at(const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& igate_pre,
                   const torch::Tensor& fgate_pre, const std::vector<int64_t>& positions);

}  // namespace dxl::models::mlstm
