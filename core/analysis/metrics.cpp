// Batched alignment metrics, per-head statistics, CKA, logit agreement and rollout. Per-head
// features (valid causal entries, average ranks by radix sort, eps row distributions and their
// logs, top-k indicators) are computed once per layer (pair_features); the pairwise terms are
// then float64 matmuls (Frobenius, KL cross term, Pearson, Spearman, cosine), a float32 batched
// matmul for top-k intersections, and a float32 s log s kernel with float64 accumulation for the
// JS mixture entropy (float64 broadcast fallback for subnormal probabilities).
#include "core/analysis/metrics.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/base/error.h"

namespace dxl::analysis {

namespace {

using torch::indexing::Slice;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_maps(const char* op, const torch::Tensor& x, const torch::Tensor& mask,
                const char* name) {
    DXL_CHECK(x.defined() && x.dim() == 3 && x.size(1) == x.size(2), ShapeError, op, ": expected ",
              name, " as (H, T, T), but got ",
              x.defined() ? std::to_string(x.dim()) + "-d" : "an undefined tensor");
    DXL_CHECK(mask.defined() && mask.dim() == 1 && mask.size(0) == x.size(1), ShapeError, op,
              ": expected the validity mask as (T) with T = ", x.size(1), ", but got ",
              mask.sizes());
}

int64_t valid_count(const char* op, const torch::Tensor& mask) {
    const int64_t r = mask.to(torch::kBool).sum().item<int64_t>();
    DXL_CHECK(r > 0, ValueError, op,
              ": the validity mask marks no token as valid; give at least one non-pad token");
    return r;
}

// Rows centred and scaled to unit norm (H, N); zero-variance rows become NaN.
torch::Tensor center_unit(const torch::Tensor& x) {
    torch::Tensor c = x - x.mean(1, true);  // (H, N)
    return c / c.norm(2, 1, true);
}

// x log x with 0 log 0 = 0, given log x: vectorised (torch::xlogy evaluates std::log per entry).
torch::Tensor xlogx(const torch::Tensor& x, const torch::Tensor& log_x) {
    return torch::where(x > 0, x * log_x, torch::zeros({}, x.options()));
}

}  // namespace

torch::Tensor causal_valid(const torch::Tensor& mask) {
    torch::Tensor m = mask.to(torch::kBool);  // (T)
    const int64_t T = m.size(0);
    return torch::ones({T, T}, torch::kBool).tril() & m.unsqueeze(1) & m.unsqueeze(0);  // (T, T)
}

torch::Tensor row_distributions(const torch::Tensor& attn, const torch::Tensor& mask, double eps) {
    check_maps("row_distributions", attn, mask, "attn");
    torch::Tensor c = causal_valid(mask).to(torch::kFloat64);  // (T, T)
    // clamp(attn, 0) * c + eps * c, then / row sums: in place on one float64 copy.
    torch::Tensor x = attn.to(torch::kFloat64, /*non_blocking=*/false, /*copy=*/true);  // (H, T, T)
    x.clamp_min_(0.0).mul_(c).add_(eps * c);
    torch::Tensor s = x.sum(-1, true);                               // (H, T, 1)
    return x.div_(s.clamp_min(std::numeric_limits<double>::min()));  // (H, T, T)
}

namespace {

// Monotone unsigned key of a double: a < b  <=>  key(a) < key(b); -0 and +0 share a key, every
// NaN maps to the key of the positive quiet NaN (sorted last, as torch's sort does).
uint64_t order_key(double v) {
    if (v == 0.0) v = 0.0;
    if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();
    uint64_t b = 0;
    std::memcpy(&b, &v, sizeof b);
    return (b >> 63) != 0 ? ~b : b | (uint64_t{1} << 63);
}

// Average ranks of x[0..n) into out (1-based, ties share the mean rank): stable LSD radix sort
// of the keys with 11-bit digits, skipping digits that are equal for every entry (float32
// inputs widened to float64 leave the low 29 bits zero).
void rank_row(const double* x, int64_t n, double* out, std::vector<uint64_t>& key,
              std::vector<uint64_t>& key2, std::vector<uint32_t>& idx,
              std::vector<uint32_t>& idx2) {
    constexpr int kBits = 11, kPasses = 6;
    constexpr uint64_t kMask = (uint64_t{1} << kBits) - 1;
    key.resize(n);
    key2.resize(n);
    idx.resize(n);
    idx2.resize(n);
    std::vector<uint32_t> hist(static_cast<size_t>(kPasses) << kBits, 0);
    for (int64_t i = 0; i < n; ++i) {
        const uint64_t k = order_key(x[i]);
        key[i] = k;
        idx[i] = static_cast<uint32_t>(i);
        for (int p = 0; p < kPasses; ++p)
            ++hist[(static_cast<size_t>(p) << kBits) + ((k >> (p * kBits)) & kMask)];
    }
    for (int p = 0; p < kPasses; ++p) {
        uint32_t* h = hist.data() + (static_cast<size_t>(p) << kBits);
        const uint64_t d0 = (key[0] >> (p * kBits)) & kMask;
        if (h[d0] == static_cast<uint32_t>(n)) continue;  // one digit value: nothing to reorder
        uint32_t sum = 0;
        for (size_t d = 0; d <= kMask; ++d) {
            const uint32_t c = h[d];
            h[d] = sum;
            sum += c;
        }
        for (int64_t i = 0; i < n; ++i) {
            const uint32_t dst = h[(key[i] >> (p * kBits)) & kMask]++;
            key2[dst] = key[i];
            idx2[dst] = idx[i];
        }
        key.swap(key2);
        idx.swap(idx2);
    }
    const uint64_t nan_key = order_key(std::numeric_limits<double>::quiet_NaN());
    for (int64_t i = 0; i < n;) {
        int64_t j = i + 1;
        if (key[i] != nan_key)  // NaNs never tie (unique_consecutive semantics)
            while (j < n && key[j] == key[i])
                ++j;
        const double avg = (static_cast<double>(i) + static_cast<double>(j) + 1.0) * 0.5;
        for (int64_t t = i; t < j; ++t)
            out[idx[t]] = avg;
        i = j;
    }
}

// JS kernel: f(s) = s log s on float32 lanes with a branch-free Cephes-style log (valid for
// normal positive s; callers guarantee that). GCC/Clang vector extensions (SSE2 or better).
typedef float V4f __attribute__((vector_size(16)));
typedef int32_t V4i __attribute__((vector_size(16)));
typedef double V4d __attribute__((vector_size(32)));

inline V4f splat(float v) {
    return V4f{v, v, v, v};
}
inline V4i as_int(V4f x) {
    V4i r;
    std::memcpy(&r, &x, sizeof r);
    return r;
}
inline V4f as_float(V4i x) {
    V4f r;
    std::memcpy(&r, &x, sizeof r);
    return r;
}

inline V4f slogs4(V4f s) {
    V4i bits = as_int(s);
    V4i e = ((bits >> 23) & 0xff) - 126;
    V4f m = as_float((bits & 0x007fffff) | 0x3f000000);  // mantissa in [0.5, 1)
    const V4i small = m < splat(0.707106781186547524f);  // -1 where true
    e = e + small;
    m = m - splat(1.0f) + as_float(as_int(m) & small);
    const V4f z = m * m;
    V4f y = splat(7.0376836292e-2f);
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    const V4f fe = __builtin_convertvector(e, V4f);
    y = y + fe * -2.12194440e-4f;
    y = y - 0.5f * z;
    return s * (m + y + fe * 0.693359375f);
}

// out[i * hb + j] = sum_e f(a_i[e] + b_j[e]) for a (ha, n), b (hb, n) float32 rows. Blocked over
// e; per block float lanes, folded into double. The result for a pair depends only on the two
// rows (not on ha, hb or the other rows), so identical rows give bitwise identical sums.
void slogs_sums(const float* a, int64_t ha, const float* b, int64_t hb, int64_t n, double* out) {
    constexpr int64_t kBlock = 2048;
    std::fill(out, out + ha * hb, 0.0);
    for (int64_t e0 = 0; e0 < n; e0 += kBlock) {
        const int64_t e1 = std::min(n, e0 + kBlock);
        const int64_t full = e0 + (e1 - e0) / 8 * 8;
        for (int64_t i = 0; i < ha; ++i) {
            const float* ai = a + i * n;
            for (int64_t j = 0; j < hb; ++j) {
                const float* bj = b + j * n;
                V4d dacc = {0, 0, 0, 0};
                V4f acc0 = splat(0.0f), acc1 = splat(0.0f);
                for (int64_t e = e0; e < full; e += 8) {
                    V4f a0, a1, b0, b1;
                    std::memcpy(&a0, ai + e, sizeof a0);
                    std::memcpy(&a1, ai + e + 4, sizeof a1);
                    std::memcpy(&b0, bj + e, sizeof b0);
                    std::memcpy(&b1, bj + e + 4, sizeof b1);
                    acc0 += slogs4(a0 + b0);
                    acc1 += slogs4(a1 + b1);
                    if (((e - e0) & 63) == 56) {  // fold every 64 entries into float64
                        dacc += __builtin_convertvector(acc0 + acc1, V4d);
                        acc0 = splat(0.0f);
                        acc1 = splat(0.0f);
                    }
                }
                if (full < e1) {  // tail: pad with s = 1 and drop the padded lanes
                    float va[8] = {1, 1, 1, 1, 1, 1, 1, 1}, vb[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                    for (int64_t e = full; e < e1; ++e) {
                        va[e - full] = ai[e];
                        vb[e - full] = bj[e];
                    }
                    V4f a0, a1, b0, b1;
                    std::memcpy(&a0, va, sizeof a0);
                    std::memcpy(&a1, va + 4, sizeof a1);
                    std::memcpy(&b0, vb, sizeof b0);
                    std::memcpy(&b1, vb + 4, sizeof b1);
                    float t[8];
                    const V4f t0 = slogs4(a0 + b0), t1 = slogs4(a1 + b1);
                    std::memcpy(t, &t0, sizeof t0);
                    std::memcpy(t + 4, &t1, sizeof t1);
                    for (int64_t l = e1 - full; l < 8; ++l)
                        t[l] = 0.0f;
                    std::memcpy(&a0, t, sizeof a0);
                    std::memcpy(&a1, t + 4, sizeof a1);
                    acc0 += a0;
                    acc1 += a1;
                }
                dacc += __builtin_convertvector(acc0 + acc1, V4d);
                const double s = (dacc[0] + dacc[1]) + (dacc[2] + dacc[3]);
                out[i * hb + j] += s;
            }
        }
    }
}

}  // namespace

torch::Tensor average_ranks(const torch::Tensor& x) {
    DXL_CHECK(x.dim() == 2, ShapeError, "average_ranks: expected (H, N), but got ", x.sizes());
    const int64_t H = x.size(0), N = x.size(1);
    DXL_CHECK(N < (int64_t{1} << 32), ValueError, "average_ranks: expected N < 2^32, but got ", N);
    torch::Tensor xd = x.to(torch::kFloat64).contiguous();      // (H, N)
    torch::Tensor out = torch::empty({H, N}, torch::kFloat64);  // (H, N)
    if (N == 0) return out;
    std::vector<uint64_t> key, key2;
    std::vector<uint32_t> idx, idx2;
    for (int64_t h = 0; h < H; ++h)
        rank_row(xd.data_ptr<double>() + h * N, N, out.data_ptr<double>() + h * N, key, key2, idx,
                 idx2);
    return out;
}

PairFeatures pair_features(const torch::Tensor& maps, const torch::Tensor& mask,
                           const MetricOptions& opts) {
    check_maps("pair_metrics", maps, mask, "attention maps");
    DXL_CHECK(opts.eps > 0, ValueError, "pair_metrics: expected eps > 0 (KL needs it), but got ",
              opts.eps);
    DXL_CHECK(opts.top_k > 0, ValueError, "pair_metrics: expected top_k > 0, but got ", opts.top_k);
    torch::NoGradGuard no_grad;
    PairFeatures f;
    f.heads = maps.size(0);
    f.T = maps.size(1);
    const int64_t T = f.T;
    f.rows = static_cast<double>(valid_count("pair_metrics", mask));
    f.cv = causal_valid(mask);                                // (T, T) bool
    torch::Tensor idx = f.cv.flatten().nonzero().squeeze(1);  // (E)
    auto entries = [&](const torch::Tensor& x) {              // (H, T, T) -> (H, E)
        return x.reshape({x.size(0), T * T}).index_select(1, idx);
    };
    torch::Tensor x64 = maps.to(torch::kFloat64);  // (H, T, T)
    f.e = entries(x64);                            // (H, E)
    f.sq = f.e.square().sum(1);
    f.unit = f.e / f.e.norm(2, 1, true);
    f.centred = center_unit(f.e);
    f.ranks = center_unit(average_ranks(f.e));
    {  // row_distributions(maps, mask, eps), in place (same operations, fewer big temporaries)
        torch::Tensor c = f.cv.to(torch::kFloat64);  // (T, T)
        torch::Tensor d = x64.clamp_min(0.0);        // (H, T, T)
        d.mul_(c).add_(opts.eps * c);
        d.div_(d.sum(-1, true).clamp_min(std::numeric_limits<double>::min()));
        x64 = torch::Tensor();
        f.dist = entries(d);  // (H, E)
    }
    f.log_dist = f.dist.log();
    f.dist_logd = xlogx(f.dist, f.log_dist).sum(1);
    torch::Tensor d32 = f.dist.to(torch::kFloat32).contiguous();  // (H, E)
    const bool normal =
        d32.numel() == 0 || d32.min().item<float>() >= std::numeric_limits<float>::min();
    if (normal) {  // JS kernel domain: s = p + q normal and positive
        f.dist32 = d32;
        f.self_slogs = torch::empty({f.heads}, torch::kFloat64);  // (H)
        const int64_t E = d32.size(1);
        for (int64_t h = 0; h < f.heads; ++h) {
            const float* row = d32.data_ptr<float>() + h * E;
            slogs_sums(row, 1, row, 1, E, f.self_slogs.data_ptr<double>() + h);
        }
    }
    f.k = std::min(opts.top_k, T);
    // Top-k in the maps' own float type when it widens exactly to float64 (same order, same
    // ties, so the same indices as on the float64 values).
    const bool exact =
        maps.scalar_type() == torch::kFloat32 || maps.scalar_type() == torch::kFloat64;
    torch::Tensor xm = (exact ? maps : maps.to(torch::kFloat64))
                           .masked_fill(f.cv.logical_not(),
                                        -std::numeric_limits<double>::infinity());  // (H, T, T)
    torch::Tensor ind = std::get<1>(xm.topk(f.k, -1));                              // (H, T, k)
    torch::Tensor I = torch::zeros(maps.sizes(), torch::kFloat32).scatter_(-1, ind, 1.0f);
    I.mul_(f.cv.to(torch::kFloat32));  // (H, T, T)
    f.topk_hfirst = I.permute({1, 0, 2}).contiguous();
    f.topk_hlast = I.permute({1, 2, 0}).contiguous();
    return f;
}

torch::Tensor pair_metrics(const PairFeatures& P, const PairFeatures& A) {
    DXL_CHECK(P.T == A.T && P.k == A.k && P.e.size(1) == A.e.size(1) && P.cv.equal(A.cv),
              ShapeError, "pair_metrics: teacher and student features differ in T, mask or top-k");
    torch::NoGradGuard no_grad;
    const int64_t Ht = P.heads, Hs = A.heads, T = P.T;
    const double R = P.rows;
    torch::Tensor out = torch::empty({kNumMetrics, Ht, Hs}, torch::kFloat64);  // (M, Ht, Hs)

    // Frobenius (MOHAWK): sqrt(|p|^2 + |a|^2 - 2 p.a) / T_valid.
    torch::Tensor sq = P.sq.unsqueeze(1) + A.sq.unsqueeze(0) - 2.0 * P.e.mm(A.e.t());
    out[static_cast<int>(Metric::Frob)] = sq.clamp_min(0.0).sqrt() / R;
    // Pearson, Spearman (Pearson of average ranks), cosine.
    out[static_cast<int>(Metric::Pearson)] = P.centred.mm(A.centred.t());
    out[static_cast<int>(Metric::Spearman)] = P.ranks.mm(A.ranks.t());
    out[static_cast<int>(Metric::Cosine)] = P.unit.mm(A.unit.t());

    // KL(p || q) and JS over eps-smoothed row distributions, summed over rows, / valid rows.
    out[static_cast<int>(Metric::Kl)] = (P.dist_logd.unsqueeze(1) - P.dist.mm(A.log_dist.t())) / R;
    if (P.dist32.defined() && A.dist32.defined()) {
        // JS = 1/2 sum [p log p + q log q] - sum m log m = (F(2p)/4 + F(2q)/4 - F(p + q)/2),
        // F(x) = sum x log x: identical rows give exactly 0.
        torch::Tensor cross = torch::empty({Ht, Hs}, torch::kFloat64);  // (Ht, Hs)
        slogs_sums(P.dist32.data_ptr<float>(), Ht, A.dist32.data_ptr<float>(), Hs, P.dist32.size(1),
                   cross.data_ptr<double>());
        out[static_cast<int>(Metric::Js)] =
            (0.25 * P.self_slogs.unsqueeze(1) + 0.25 * A.self_slogs.unsqueeze(0) - 0.5 * cross) / R;
    } else {                              // subnormal probabilities (tiny eps): float64 broadcast
        const torch::Tensor& p = P.dist;  // (Ht, E)
        const torch::Tensor& q = A.dist;  // (Hs, E)
        const int64_t E = p.size(1);
        const int64_t chunk =
            std::max<int64_t>(1, (int64_t{1} << 22) / std::max<int64_t>(1, Ht * Hs));
        torch::Tensor mlogm = torch::zeros({Ht, Hs}, torch::kFloat64);  // (Ht, Hs)
        for (int64_t a = 0; a < E; a += chunk) {
            const int64_t b = std::min(E, a + chunk);
            torch::Tensor m = (p.index({Slice(), Slice(a, b)}).unsqueeze(1) +
                               q.index({Slice(), Slice(a, b)}).unsqueeze(0)) *
                              0.5;  // (Ht, Hs, c)
            mlogm += (m * m.log()).sum(-1);
        }
        out[static_cast<int>(Metric::Js)] =
            (0.5 * P.dist_logd.unsqueeze(1) + 0.5 * A.dist_logd.unsqueeze(0) - mlogm) / R;
    }

    // Top-k overlap: per valid row, Jaccard of the k largest valid causal entries; mean over rows.
    torch::Tensor inter = P.topk_hfirst.bmm(A.topk_hlast).to(torch::kFloat64);  // (T, Ht, Hs)
    torch::Tensor kr =
        P.cv.sum(-1).clamp_max(P.k).to(torch::kFloat64).view({T, 1, 1});  // (T, 1, 1)
    torch::Tensor jac =
        torch::where(kr > 0, inter / (2.0 * kr - inter).clamp_min(1.0), torch::zeros_like(inter));
    out[static_cast<int>(Metric::TopK)] = jac.sum(0) / R;
    return out;
}

torch::Tensor pair_metrics(const torch::Tensor& P, const torch::Tensor& A,
                           const torch::Tensor& mask, const MetricOptions& opts) {
    check_maps("pair_metrics", P, mask, "teacher P");
    check_maps("pair_metrics", A, mask, "student A");
    return pair_metrics(pair_features(P, mask, opts), pair_features(A, mask, opts));
}

torch::Tensor head_stats(const torch::Tensor& attn, const torch::Tensor& mask) {
    check_maps("head_stats", attn, mask, "attn");
    torch::NoGradGuard no_grad;
    const int64_t H = attn.size(0), T = attn.size(1);
    torch::Tensor valid = mask.to(torch::kBool);   // (T)
    torch::Tensor vf = valid.to(torch::kFloat64);  // (T)
    const double R = static_cast<double>(valid_count("head_stats", mask));
    torch::Tensor p = row_distributions(attn, mask, 0.0);                        // (H, T, T)
    torch::Tensor out = torch::full({kNumHeadStats, H}, kNaN, torch::kFloat64);  // (S, H)
    auto row_mean = [&](const torch::Tensor& per_row) {
        return (per_row * vf).sum(-1) / R;
    };  // (H, T) -> (H)
    out[static_cast<int>(HeadStat::Entropy)] = row_mean(-xlogx(p, p.log()).sum(-1));
    torch::Tensor pos = torch::arange(T, torch::kFloat64);             // (T)
    torch::Tensor dist = (pos.unsqueeze(1) - pos.unsqueeze(0)).abs();  // (T, T)
    out[static_cast<int>(HeadStat::Distance)] = row_mean((p * dist).sum(-1));
    out[static_cast<int>(HeadStat::Diagonal)] = row_mean(p.diagonal(0, -2, -1));
    const int64_t first = valid.to(torch::kInt64).argmax().item<int64_t>();
    out[static_cast<int>(HeadStat::Sink)] = row_mean(p.select(-1, first));
    if (T > 1) {
        torch::Tensor pv =
            (valid.slice(0, 1) & valid.slice(0, 0, T - 1)).to(torch::kFloat64);  // (T-1)
        const double n_prev = pv.sum().item<double>();
        if (n_prev > 0)
            out[static_cast<int>(HeadStat::PrevToken)] =
                (p.diagonal(-1, -2, -1) * pv).sum(-1) / n_prev;
    }
    return out;
}

torch::Tensor induction_score(const torch::Tensor& attn, int64_t period, int64_t offset) {
    DXL_CHECK(attn.dim() == 3, ShapeError, "induction_score: expected attn as (H, T, T), but got ",
              attn.sizes());
    const int64_t T = attn.size(1);
    DXL_CHECK(
        period >= 2 && offset >= 0 && offset + 2 * period <= T, ValueError,
        "induction_score: expected offset + 2 * period <= T with period >= 2, but got offset ",
        offset, ", period ", period, ", T ", T);
    torch::NoGradGuard no_grad;
    torch::Tensor p = row_distributions(attn, torch::ones({T}, torch::kBool), 0.0);  // (H, T, T)
    torch::Tensor rows = torch::arange(offset + period, offset + 2 * period, torch::kInt64);  // (n)
    torch::Tensor cols = rows - period + 1;                                                   // (n)
    return p.index({Slice(), rows, cols}).mean(-1);                                           // (H)
}

namespace {

// numpy-style median of all entries (mean of the two middle values for an even count).
double np_median(const torch::Tensor& x) {
    torch::Tensor s = std::get<0>(x.flatten().sort());  // (N)
    const int64_t n = s.size(0);
    if (n % 2 == 1) return s[n / 2].item<double>();
    return 0.5 * (s[n / 2 - 1].item<double>() + s[n / 2].item<double>());
}

// Centred Gram matrix of X (N, D) flattened to (N*N); undefined X gives NaN.
torch::Tensor centered_gram(const torch::Tensor& X, const torch::Tensor& idx, bool rbf,
                            double sigma_factor) {
    const int64_t N = idx.size(0);
    if (!X.defined()) return torch::full({N * N}, kNaN, torch::kFloat64);
    DXL_CHECK(X.dim() == 2, ShapeError, "cka: expected hidden states as (T, D), but got ",
              X.sizes());
    torch::Tensor xv = X.to(torch::kFloat64).index_select(0, idx);  // (N, D)
    torch::Tensor K = xv.mm(xv.t());                                // (N, N)
    if (rbf) {
        torch::Tensor sq = K.diagonal();                                                  // (N)
        torch::Tensor d2 = (sq.unsqueeze(1) + sq.unsqueeze(0) - 2.0 * K).clamp_min(0.0);  // (N, N)
        const double med = np_median(d2);
        K = (-d2 / (2.0 * sigma_factor * sigma_factor * med)).exp();
    }
    torch::Tensor Kc = K - K.mean(0, true) - K.mean(1, true) + K.mean();  // (N, N)
    return Kc.flatten();
}

// a.mm(r) for lower-triangular a, r (T, T): the zero upper block is skipped recursively
// (C11 = A11 R11, C21 = A21 R11 + A22 R21, C22 = A22 R22), about a third of the flops.
torch::Tensor tril_mm(const torch::Tensor& a, const torch::Tensor& r) {
    const int64_t T = a.size(0);
    if (T < 128) return a.mm(r);
    const int64_t h = T / 2;
    torch::Tensor out = torch::zeros({T, T}, a.options());    // (T, T)
    torch::Tensor a21 = a.index({Slice(h), Slice(0, h)});     // (T-h, h)
    torch::Tensor r11 = r.index({Slice(0, h), Slice(0, h)});  // (h, h)
    out.index({Slice(0, h), Slice(0, h)}).copy_(tril_mm(a.index({Slice(0, h), Slice(0, h)}), r11));
    out.index({Slice(h), Slice(0, h)})
        .copy_(torch::addmm(a21.mm(r11), a.index({Slice(h), Slice(h)}),
                            r.index({Slice(h), Slice(0, h)})));
    out.index({Slice(h), Slice(h)})
        .copy_(tril_mm(a.index({Slice(h), Slice(h)}), r.index({Slice(h), Slice(h)})));
    return out;
}

}  // namespace

torch::Tensor cka_matrix(const std::vector<torch::Tensor>& X, const std::vector<torch::Tensor>& Y,
                         const torch::Tensor& mask, bool rbf, double sigma_factor) {
    DXL_CHECK(mask.defined() && mask.dim() == 1, ShapeError,
              "cka: expected the validity mask as (T)");
    torch::NoGradGuard no_grad;
    valid_count("cka", mask);
    torch::Tensor idx = mask.to(torch::kBool).nonzero().squeeze(1);  // (N)
    std::vector<torch::Tensor> gx, gy;
    for (const auto& x : X)
        gx.push_back(centered_gram(x, idx, rbf, sigma_factor));
    for (const auto& y : Y)
        gy.push_back(centered_gram(y, idx, rbf, sigma_factor));
    if (gx.empty() || gy.empty())
        return torch::empty({static_cast<int64_t>(gx.size()), static_cast<int64_t>(gy.size())},
                            torch::kFloat64);
    torch::Tensor a = torch::stack(gx);                                  // (L, N*N)
    torch::Tensor b = torch::stack(gy);                                  // (Nb, N*N)
    return a.mm(b.t()) / (a.norm(2, 1, true) * b.norm(2, 1, true).t());  // (L, Nb)
}

LogitAgreement logit_agreement(const torch::Tensor& teacher_logits,
                               const torch::Tensor& student_logits, const torch::Tensor& mask) {
    DXL_CHECK(
        teacher_logits.dim() == 2 && student_logits.sizes() == teacher_logits.sizes(), ShapeError,
        "logit_agreement: expected teacher and student logits of the same shape (T, V), but got ",
        teacher_logits.sizes(), " and ", student_logits.sizes(),
        "; both models need the same vocabulary");
    DXL_CHECK(mask.dim() == 1 && mask.size(0) == teacher_logits.size(0), ShapeError,
              "logit_agreement: expected the mask as (T) with T = ", teacher_logits.size(0));
    torch::NoGradGuard no_grad;
    const double R = static_cast<double>(valid_count("logit_agreement", mask));
    torch::Tensor vf = mask.to(torch::kFloat64);                                    // (T)
    torch::Tensor lt = torch::log_softmax(teacher_logits.to(torch::kFloat64), -1);  // (T, V)
    torch::Tensor ls = torch::log_softmax(student_logits.to(torch::kFloat64), -1);  // (T, V)
    LogitAgreement r;
    r.kl = (lt.exp() * (lt - ls)).sum(-1) * vf;
    r.top1 = lt.argmax(-1).eq(ls.argmax(-1)).to(torch::kFloat64) * vf;
    r.kl_mean = r.kl.sum().item<double>() / R;
    r.top1_mean = r.top1.sum().item<double>() / R;
    return r;
}

torch::Tensor rollout(const std::vector<torch::Tensor>& layers, const torch::Tensor& mask) {
    DXL_CHECK(mask.defined() && mask.dim() == 1, ShapeError,
              "rollout: expected the validity mask as (T)");
    torch::NoGradGuard no_grad;
    const int64_t T = mask.size(0);
    torch::Tensor cv = causal_valid(mask).to(torch::kFloat64);                      // (T, T)
    torch::Tensor eye = torch::eye(T, torch::kFloat64) * mask.to(torch::kFloat64);  // (T, T)
    torch::Tensor r = eye.clone();                                                  // (T, T)
    for (const auto& layer : layers) {
        torch::Tensor m =
            layer.defined() ? row_distributions(layer, mask, 0.0).mean(0) : eye;  // (T, T)
        torch::Tensor a = (0.5 * (m + eye)) * cv;                                 // (T, T)
        a = a / a.sum(-1, true).clamp_min(std::numeric_limits<double>::min());
        r = tril_mm(a, r);
    }
    return r;
}

}  // namespace dxl::analysis
