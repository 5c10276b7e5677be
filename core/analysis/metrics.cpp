// Batched alignment metrics, per-head statistics and rollout (CKA and logit agreement:
// representation.cpp). One pass
// over a layer's maps (summarize / layer_pass) yields the per-head features (centred valid
// causal entries, exact integer average ranks by radix sort, eps row distributions, top-k
// column lists), the head statistics and the head-mean row distribution for the rollout, so the
// row distributions are computed once. The pairwise terms of all head pairs of a layer pair are
// then one blocked pass (pair_kernel.inc: float64 centred and rank products, the KL cross term,
// and a float32 s log s kernel with float64 accumulation for the JS mixture entropy; AVX2+FMA
// build chosen at run time, float64 broadcast fallback for subnormal probabilities) and a merge
// of sorted top-k lists.
#include "core/analysis/metrics.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/analysis/metrics_detail.h"
#include "core/base/error.h"

namespace dxl::analysis {

using detail::valid_count;

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

// x log x with 0 log 0 = 0, given log x: vectorised (torch::xlogy evaluates std::log per entry).
torch::Tensor xlogx(const torch::Tensor& x, const torch::Tensor& log_x) {
    return torch::where(x > 0, x * log_x, torch::zeros({}, x.options()));
}

}  // namespace

int64_t detail::valid_count(const char* op, const torch::Tensor& mask) {
    const int64_t r = mask.to(torch::kBool).sum().item<int64_t>();
    DXL_CHECK(r > 0, ValueError, op,
              ": the validity mask marks no token as valid; give at least one non-pad token");
    return r;
}

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

// Monotone unsigned key of a float / double: a < b  <=>  key(a) < key(b); -0 and +0 share a
// key, every NaN maps to the key of the positive quiet NaN (sorted last, as torch's sort does).
uint64_t order_key(double v) {
    if (v == 0.0) v = 0.0;
    if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();
    uint64_t b = 0;
    std::memcpy(&b, &v, sizeof b);
    return (b >> 63) != 0 ? ~b : b | (uint64_t{1} << 63);
}
uint32_t order_key(float v) {
    if (v == 0.0f) v = 0.0f;
    if (std::isnan(v)) v = std::numeric_limits<float>::quiet_NaN();
    uint32_t b = 0;
    std::memcpy(&b, &v, sizeof b);
    return (b >> 31) != 0 ? ~b : b | (uint32_t{1} << 31);
}

template <class K>
struct RankScratch {
    std::vector<K> key, key2;  // key[0, n) is the input
    std::vector<uint32_t> idx, idx2;
    std::vector<uint32_t> hist;
};

// Average ranks of the keys s.key[0, n) (ties share the mean rank, NaN keys never tie): stable
// LSD radix sort with 11-bit digits, skipping digits that are equal for every entry. Calls
// emit(i, lo, hi) for every entry i in a tie group occupying sorted positions [lo, hi), so the
// 1-based average rank is (lo + hi + 1) / 2.
template <class K, class Emit>
void rank_keys(RankScratch<K>& s, int64_t n, K nan_key, Emit emit) {
    constexpr int kBits = 11;
    constexpr int kPasses = (static_cast<int>(sizeof(K)) * 8 + kBits - 1) / kBits;
    constexpr K kMask = (K{1} << kBits) - 1;
    s.key2.resize(n);
    s.idx.resize(n);
    s.idx2.resize(n);
    s.hist.assign(static_cast<size_t>(kPasses) << kBits, 0);
    K* key = s.key.data();
    K* key2 = s.key2.data();
    uint32_t* idx = s.idx.data();
    uint32_t* idx2 = s.idx2.data();
    for (int64_t i = 0; i < n; ++i) {
        const K k = key[i];
        idx[i] = static_cast<uint32_t>(i);
        for (int p = 0; p < kPasses; ++p)
            ++s.hist[(static_cast<size_t>(p) << kBits) + ((k >> (p * kBits)) & kMask)];
    }
    for (int p = 0; p < kPasses; ++p) {
        uint32_t* h = s.hist.data() + (static_cast<size_t>(p) << kBits);
        const K d0 = (key[0] >> (p * kBits)) & kMask;
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
        std::swap(key, key2);
        std::swap(idx, idx2);
    }
    for (int64_t i = 0; i < n;) {
        int64_t j = i + 1;
        if (key[i] != nan_key)  // NaNs never tie (unique_consecutive semantics)
            while (j < n && key[j] == key[i])
                ++j;
        for (int64_t t = i; t < j; ++t)
            emit(idx[t], i, j);
        i = j;
    }
}

// The pairwise sums: a portable build and an AVX2+FMA build of the same code.
namespace portable {
#include "core/analysis/pair_kernel.inc"
}  // namespace portable
#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
#define DXL_PAIR_KERNEL_AVX2 1
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
#include "core/analysis/pair_kernel.inc"
}  // namespace avx2
#pragma GCC pop_options
#endif

using PairSumsFn = void (*)(const portable::SideView&, int64_t, int64_t, const portable::SideView&,
                            int64_t, int64_t, int64_t, double*, double*, double*, double*, int64_t);

bool cpu_has_avx2() {
#ifdef DXL_PAIR_KERNEL_AVX2
    static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return has;
#else
    return false;
#endif
}

PairKernel& kernel_choice() {
    static PairKernel k = PairKernel::Auto;
    return k;
}

void run_pair_sums(const portable::SideView& P, int64_t h0, int64_t h1, const portable::SideView& A,
                   int64_t g0, int64_t g1, int64_t n, double* gc, double* gr, double* kl,
                   double* js, int64_t ld) {
#ifdef DXL_PAIR_KERNEL_AVX2
    if (active_pair_kernel() == PairKernel::Avx2) {
        // Same layout in both namespaces (identical definitions from one file).
        static_assert(sizeof(avx2::SideView) == sizeof(portable::SideView));
        avx2::SideView p{P.c, P.r, P.d, P.ld, P.d32}, a{A.c, A.r, A.d, A.ld, A.d32};
        avx2::pair_sums(p, h0, h1, a, g0, g1, n, gc, gr, kl, js, ld);
        return;
    }
#endif
    portable::pair_sums(P, h0, h1, A, g0, g1, n, gc, gr, kl, js, ld);
}

portable::SideView side_view(const PairFeatures& f) {
    return {f.centred.data_ptr<double>(), f.ranks.data_ptr<int32_t>(), f.dist.data_ptr<double>(),
            f.log_dist.data_ptr<double>(),
            f.dist32.defined() ? f.dist32.data_ptr<float>() : nullptr};
}

// Valid causal entries of a mask: the valid columns of a valid row i are the valid tokens
// j <= i, i.e. the first n_i entries of the sorted valid-token list; row i's entries start at
// n_i (n_i - 1) / 2 in the row-major entry order.
struct Layout {
    int64_t T = 0, R = 0, E = 0;
    std::vector<int64_t> cols;  // (R) valid tokens, ascending
};

Layout make_layout(const char* op, const torch::Tensor& mask) {
    Layout L;
    torch::Tensor m = mask.to(torch::kBool).contiguous();
    L.T = m.size(0);
    const bool* mp = m.data_ptr<bool>();
    for (int64_t i = 0; i < L.T; ++i)
        if (mp[i]) L.cols.push_back(i);
    L.R = static_cast<int64_t>(L.cols.size());
    DXL_CHECK(L.R > 0, ValueError, op,
              ": the validity mask marks no token as valid; give at least one non-pad token");
    L.E = L.R * (L.R + 1) / 2;
    return L;
}

struct PassOptions {
    bool features = false, stats = false, mean_dist = false;
    double eps = 0.0;
    int64_t k = 0;
};

// One pass over the maps (H, T, T) of scalar type S: per head and valid row, the valid causal
// entries, their row distributions with eps (features) and without (statistics, rollout), the
// order keys (ranks, top-k). Same operations as row_distributions / head_stats, reordered.
template <class S>
void layer_pass(const torch::Tensor& maps, const Layout& L, const PassOptions& o,
                LayerSummary& out) {
    using Key = std::conditional_t<sizeof(S) == 4, uint32_t, uint64_t>;
    const int64_t H = maps.size(0), T = L.T, R = L.R, E = L.E;
    const S* X = maps.data_ptr<S>();
    const int64_t* cols = L.cols.data();
    constexpr double kMin = std::numeric_limits<double>::min();
    PairFeatures& f = out.features;
    double *cent = nullptr, *dist = nullptr, *mean = nullptr, *sq = nullptr;
    float* dist32 = nullptr;
    double dmin = std::numeric_limits<double>::infinity();  // smallest eps row probability
    int32_t *ranks = nullptr, *topk = nullptr;
    const int64_t k = o.k;
    if (o.features) {
        f.heads = H;
        f.T = T;
        f.E = E;
        f.k = k;
        f.rows = static_cast<double>(R);
        f.centred = torch::empty({H, E}, torch::kFloat64);
        f.dist = torch::empty({H, E}, torch::kFloat64);
        f.dist32 = torch::empty({H, E}, torch::kFloat32);
        f.mean = torch::empty({H}, torch::kFloat64);
        f.sq = torch::empty({H}, torch::kFloat64);
        f.ranks = torch::empty({H, E}, torch::kInt32);
        f.topk = torch::zeros({H, T, k}, torch::kInt32);
        f.topk_count = torch::zeros({T}, torch::kInt32);
        cent = f.centred.data_ptr<double>();
        dist = f.dist.data_ptr<double>();
        dist32 = f.dist32.data_ptr<float>();
        mean = f.mean.data_ptr<double>();
        sq = f.sq.data_ptr<double>();
        ranks = f.ranks.data_ptr<int32_t>();
        topk = f.topk.data_ptr<int32_t>();
        int32_t* kc = f.topk_count.data_ptr<int32_t>();
        for (int64_t r = 0; r < R; ++r)
            kc[cols[r]] = static_cast<int32_t>(std::min(k, r + 1));
    }
    double* msum = nullptr;
    if (o.mean_dist) {
        out.mean_dist = torch::zeros({T, T}, torch::kFloat64);
        msum = out.mean_dist.data_ptr<double>();
    }
    double* st = nullptr;
    if (o.stats) {
        out.stats = torch::full({kNumHeadStats, H}, kNaN, torch::kFloat64);  // (S, H)
        st = out.stats.data_ptr<double>();
    }
    std::vector<double> p0(E);  // eps-0 row distributions of one head
    torch::Tensor logp = o.stats ? torch::empty({E}, torch::kFloat64) : torch::Tensor();
    RankScratch<Key> rs;
    if (o.features) rs.key.resize(E);
    std::vector<Key> bk(static_cast<size_t>(std::max<int64_t>(k, 1)));
    std::vector<int32_t> bj(bk.size());
    int64_t n_prev = 0;
    for (int64_t r = 1; r < R; ++r)
        n_prev += cols[r - 1] == cols[r] - 1;
    for (int64_t h = 0; h < H; ++h) {
        const S* Xh = X + h * T * T;
        double* c = o.features ? cent + h * E : nullptr;
        double* d = o.features ? dist + h * E : nullptr;
        float* d32 = o.features ? dist32 + h * E : nullptr;
        Key* keys = o.features ? rs.key.data() : nullptr;
        double se = 0.0, se2 = 0.0;
        double dist_sum = 0.0, diag_sum = 0.0, sink_sum = 0.0, prev_sum = 0.0;
        for (int64_t r = 0; r < R; ++r) {
            const int64_t i = cols[r], n = r + 1, off = r * (r + 1) / 2;
            const S* xi = Xh + i * T;
            double s0 = 0.0, seps = 0.0;
            for (int64_t t = 0; t < n; ++t) {
                const S x = xi[cols[t]];
                const double v = static_cast<double>(x);
                const double v0 = std::max(v, 0.0);  // NaN stays NaN
                p0[off + t] = v0;
                s0 += v0;
                seps += v0 + o.eps;
                if (o.features) {
                    c[off + t] = v;
                    se += v;
                    se2 += v * v;
                    keys[off + t] = order_key(x);
                }
            }
            // Reciprocals of the row sums (clamped as row_distributions does): one division
            // per row instead of two per entry (results differ from division by <= 1 ulp).
            const double inv0 = 1.0 / std::max(s0, kMin), inveps = 1.0 / std::max(seps, kMin);
            double rdist = 0.0;
            for (int64_t t = 0; t < n; ++t) {
                const double v0 = p0[off + t];
                if (o.features) {
                    const double de = (v0 + o.eps) * inveps;
                    d[off + t] = de;
                    d32[off + t] = static_cast<float>(de);
                    if (de < dmin || std::isnan(de)) dmin = de;  // NaN sticks
                }
                const double p = v0 * inv0;
                p0[off + t] = p;
                rdist += p * static_cast<double>(i - cols[t]);
                if (msum != nullptr) msum[i * T + cols[t]] += p;
            }
            dist_sum += rdist;
            diag_sum += p0[off + n - 1];
            sink_sum += p0[off];
            if (r > 0 && cols[r - 1] == i - 1) prev_sum += p0[off + n - 2];
            if (o.features) {  // top-k: descending key, ties to the smaller column
                const int64_t kr = std::min(k, n);
                int64_t cnt = 0;
                for (int64_t t = 0; t < n; ++t) {
                    const Key key = keys[off + t];
                    if (cnt == kr && !(key > bk[cnt - 1])) continue;
                    int64_t pos = cnt < kr ? cnt++ : kr - 1;
                    while (pos > 0 && key > bk[pos - 1]) {
                        bk[pos] = bk[pos - 1];
                        bj[pos] = bj[pos - 1];
                        --pos;
                    }
                    bk[pos] = key;
                    bj[pos] = static_cast<int32_t>(cols[t]);
                }
                int32_t* dst = topk + (h * T + i) * k;
                std::copy(bj.begin(), bj.begin() + kr, dst);
                std::sort(dst, dst + kr);
            }
        }
        if (o.features) {
            const double mu = se / static_cast<double>(E);
            mean[h] = mu;
            sq[h] = se2;
            for (int64_t e = 0; e < E; ++e)
                c[e] -= mu;
            int32_t* rk = ranks + h * E;
            const int64_t En = E;
            const Key nan_key = order_key(std::numeric_limits<S>::quiet_NaN());
            rank_keys(rs, E, nan_key, [&](uint32_t e, int64_t lo, int64_t hi) {
                rk[e] = static_cast<int32_t>(lo + hi - En);
            });
        }
        if (o.stats) {
            torch::Tensor pt = torch::from_blob(p0.data(), {E}, torch::kFloat64);
            at::log_out(logp, pt);
            const double* lp = logp.data_ptr<double>();
            double ent = 0.0;
            for (int64_t r = 0; r < R; ++r) {
                const int64_t off = r * (r + 1) / 2;
                double s = 0.0;
                for (int64_t t = 0; t <= r; ++t)
                    if (p0[off + t] > 0) s += p0[off + t] * lp[off + t];
                ent += -s;
            }
            const double Rd = static_cast<double>(R);
            st[static_cast<int>(HeadStat::Entropy) * H + h] = ent / Rd;
            st[static_cast<int>(HeadStat::Distance) * H + h] = dist_sum / Rd;
            st[static_cast<int>(HeadStat::Diagonal) * H + h] = diag_sum / Rd;
            st[static_cast<int>(HeadStat::Sink) * H + h] = sink_sum / Rd;
            if (n_prev > 0)
                st[static_cast<int>(HeadStat::PrevToken) * H + h] =
                    prev_sum / static_cast<double>(n_prev);
        }
    }
    if (msum != nullptr) out.mean_dist.div_(static_cast<double>(H));
    // JS kernel domain: s = p + q normal and positive (float rounding is monotone, so the
    // float32 minimum is the rounded float64 minimum; NaN fails the test).
    if (o.features && !(E == 0 || static_cast<float>(dmin) >= std::numeric_limits<float>::min()))
        f.dist32 = torch::Tensor();
}

LayerSummary summarize(const char* op, const torch::Tensor& maps, const torch::Tensor& mask,
                       const PassOptions& o) {
    Layout L = make_layout(op, mask);
    LayerSummary out;
    torch::Tensor x = maps;
    if (x.scalar_type() != torch::kFloat32 && x.scalar_type() != torch::kFloat64)
        x = x.to(torch::kFloat64);
    x = x.contiguous();
    if (x.scalar_type() == torch::kFloat32)
        layer_pass<float>(x, L, o, out);
    else
        layer_pass<double>(x, L, o, out);
    if (!o.features) return out;
    PairFeatures& f = out.features;
    f.mask = mask.to(torch::kBool);
    f.log_dist = f.dist.log();
    const bool positive = f.dist32.defined();  // every eps row probability > 0
    if (!positive) f.dist_logd = xlogx(f.dist, f.log_dist).sum(1);
    // Self pairs through the pair kernel: |c|^2, sum ranks^2, F(2 dist32) bitwise as any pair.
    const int64_t H = f.heads;
    f.csq = torch::empty({H}, torch::kFloat64);
    f.rsq = torch::empty({H}, torch::kFloat64);
    f.self_slogs = torch::empty({H}, torch::kFloat64);
    if (positive) f.dist_logd = torch::empty({H}, torch::kFloat64);
    const portable::SideView v = side_view(f);
    std::vector<double> gc(H * H), gr(H * H), kl(H * H), js(H * H);
    for (int64_t h = 0; h < H; ++h) {
        run_pair_sums(v, h, h + 1, v, h, h + 1, f.E, gc.data(), gr.data(), kl.data(), js.data(), H);
        f.csq[h] = gc[h * H + h];
        f.rsq[h] = gr[h * H + h];
        f.self_slogs[h] = js[h * H + h];
        if (positive) f.dist_logd[h] = kl[h * H + h];  // sum dist log dist (no zero entries)
    }
    return out;
}

void check_options(const MetricOptions& opts) {
    DXL_CHECK(opts.eps > 0, ValueError, "pair_metrics: expected eps > 0 (KL needs it), but got ",
              opts.eps);
    DXL_CHECK(opts.top_k > 0, ValueError, "pair_metrics: expected top_k > 0, but got ", opts.top_k);
}

}  // namespace

void set_pair_kernel(PairKernel k) {
    DXL_CHECK(k != PairKernel::Avx2 || cpu_has_avx2(), ValueError,
              "set_pair_kernel: this CPU (or build) has no AVX2+FMA kernel");
    kernel_choice() = k;
}

PairKernel active_pair_kernel() {
    const PairKernel k = kernel_choice();
    if (k == PairKernel::Auto) return cpu_has_avx2() ? PairKernel::Avx2 : PairKernel::Portable;
    return k;
}

torch::Tensor average_ranks(const torch::Tensor& x) {
    DXL_CHECK(x.dim() == 2, ShapeError, "average_ranks: expected (H, N), but got ", x.sizes());
    const int64_t H = x.size(0), N = x.size(1);
    DXL_CHECK(N < (int64_t{1} << 32), ValueError, "average_ranks: expected N < 2^32, but got ", N);
    torch::Tensor xd = x.to(torch::kFloat64).contiguous();      // (H, N)
    torch::Tensor out = torch::empty({H, N}, torch::kFloat64);  // (H, N)
    if (N == 0) return out;
    RankScratch<uint64_t> s;
    s.key.resize(N);
    const uint64_t nan_key = order_key(std::numeric_limits<double>::quiet_NaN());
    for (int64_t h = 0; h < H; ++h) {
        const double* row = xd.data_ptr<double>() + h * N;
        double* o = out.data_ptr<double>() + h * N;
        for (int64_t i = 0; i < N; ++i)
            s.key[i] = order_key(row[i]);
        rank_keys(s, N, nan_key, [&](uint32_t i, int64_t lo, int64_t hi) {
            o[i] = (static_cast<double>(lo) + static_cast<double>(hi) + 1.0) * 0.5;
        });
    }
    return out;
}

PairFeatures pair_features(const torch::Tensor& maps, const torch::Tensor& mask,
                           const MetricOptions& opts) {
    check_maps("pair_metrics", maps, mask, "attention maps");
    check_options(opts);
    torch::NoGradGuard no_grad;
    PassOptions o;
    o.features = true;
    o.eps = opts.eps;
    o.k = std::min(opts.top_k, maps.size(1));
    return summarize("pair_metrics", maps, mask, o).features;
}

LayerSummary summarize_layer(const torch::Tensor& maps, const torch::Tensor& mask,
                             const MetricOptions& opts, bool features) {
    check_maps("align", maps, mask, "attention maps");
    if (features) check_options(opts);
    torch::NoGradGuard no_grad;
    PassOptions o;
    o.features = features;
    o.stats = true;
    o.mean_dist = true;
    o.eps = opts.eps;
    o.k = std::min(opts.top_k, maps.size(1));
    return summarize("align", maps, mask, o);
}

torch::Tensor pair_metrics(const PairFeatures& P, const PairFeatures& A) {
    DXL_CHECK(P.T == A.T && P.k == A.k && P.E == A.E && P.mask.equal(A.mask), ShapeError,
              "pair_metrics: teacher and student features differ in T, mask or top-k");
    torch::NoGradGuard no_grad;
    const int64_t Ht = P.heads, Hs = A.heads, T = P.T, E = P.E;
    const double R = P.rows;
    torch::Tensor out = torch::empty({kNumMetrics, Ht, Hs}, torch::kFloat64);  // (M, Ht, Hs)
    const bool js_kernel = P.dist32.defined() && A.dist32.defined();
    std::vector<double> gc(Ht * Hs), gr(Ht * Hs), kx(Ht * Hs), jx(Ht * Hs);
    portable::SideView pv = side_view(P), av = side_view(A);
    if (!js_kernel) pv.d32 = av.d32 = nullptr;
    run_pair_sums(pv, 0, Ht, av, 0, Hs, E, gc.data(), gr.data(), kx.data(), jx.data(), Hs);

    const double* pm = P.mean.data_ptr<double>();
    const double* am = A.mean.data_ptr<double>();
    const double* psq = P.sq.data_ptr<double>();
    const double* asq = A.sq.data_ptr<double>();
    const double* pc = P.csq.data_ptr<double>();
    const double* ac = A.csq.data_ptr<double>();
    const double* pr = P.rsq.data_ptr<double>();
    const double* ar = A.rsq.data_ptr<double>();
    const double* pdl = P.dist_logd.data_ptr<double>();
    const double* pss = P.self_slogs.data_ptr<double>();
    const double* ass = A.self_slogs.data_ptr<double>();
    double* o = out.data_ptr<double>();
    const int64_t HH = Ht * Hs;
    auto ref = [&](Metric m, int64_t h, int64_t g) -> double& {
        return o[static_cast<int>(m) * HH + h * Hs + g];
    };
    const double En = static_cast<double>(E);
    for (int64_t h = 0; h < Ht; ++h)
        for (int64_t g = 0; g < Hs; ++g) {
            const int64_t i = h * Hs + g;
            // p.a from the centred product: sum (cp + mp)(ca + ma) = gc + E mp ma.
            const double dot = gc[i] + En * pm[h] * am[g];
            // Frobenius (MOHAWK): sqrt(|p|^2 + |a|^2 - 2 p.a) / T_valid.
            ref(Metric::Frob, h, g) = std::sqrt(std::max(psq[h] + asq[g] - 2.0 * dot, 0.0)) / R;
            ref(Metric::Pearson, h, g) = gc[i] / std::sqrt(pc[h] * ac[g]);
            ref(Metric::Spearman, h, g) = gr[i] / std::sqrt(pr[h] * ar[g]);  // Pearson of ranks
            ref(Metric::Cosine, h, g) = dot / std::sqrt(psq[h] * asq[g]);
            // KL(p || q) over eps-smoothed row distributions, summed over rows, / valid rows.
            ref(Metric::Kl, h, g) = (pdl[h] - kx[i]) / R;
            // JS = 1/2 sum [p log p + q log q] - sum m log m = (F(2p)/4 + F(2q)/4 - F(p + q)/2),
            // F(x) = sum x log x: identical rows give exactly 0.
            if (js_kernel)
                ref(Metric::Js, h, g) = (0.25 * pss[h] + 0.25 * ass[g] - 0.5 * jx[i]) / R;
        }
    if (!js_kernel) {                     // subnormal probabilities (tiny eps): float64 broadcast
        const torch::Tensor& p = P.dist;  // (Ht, E)
        const torch::Tensor& q = A.dist;  // (Hs, E)
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

    // Top-k overlap: per valid row, Jaccard of the k largest valid causal entries (sorted column
    // lists, merged); mean over valid rows.
    const int32_t* kc = P.topk_count.data_ptr<int32_t>();
    const int32_t* tp = P.topk.data_ptr<int32_t>();
    const int32_t* ta = A.topk.data_ptr<int32_t>();
    const int64_t k = P.k;
    for (int64_t h = 0; h < Ht; ++h)
        for (int64_t g = 0; g < Hs; ++g) {
            double jac = 0.0;
            for (int64_t i = 0; i < T; ++i) {
                const int32_t kr = kc[i];
                if (kr == 0) continue;
                const int32_t* a = tp + (h * T + i) * k;
                const int32_t* b = ta + (g * T + i) * k;
                int32_t x = 0, y = 0, inter = 0;
                while (x < kr && y < kr) {
                    if (a[x] == b[y]) {
                        ++inter;
                        ++x;
                        ++y;
                    } else if (a[x] < b[y]) {
                        ++x;
                    } else {
                        ++y;
                    }
                }
                jac += static_cast<double>(inter) / static_cast<double>(2 * kr - inter);
            }
            ref(Metric::TopK, h, g) = jac / R;
        }
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
    PassOptions o;
    o.stats = true;
    return summarize("head_stats", attn, mask, o).stats;
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

torch::Tensor rollout_start(const torch::Tensor& mask) {
    const int64_t T = mask.size(0);
    return torch::eye(T, torch::kFloat64) * mask.to(torch::kFloat64);  // (T, T)
}

torch::Tensor rollout_step(const torch::Tensor& r, const torch::Tensor& M,
                           const torch::Tensor& mask) {
    torch::NoGradGuard no_grad;
    torch::Tensor cv = causal_valid(mask).to(torch::kFloat64);  // (T, T)
    torch::Tensor eye = rollout_start(mask);                    // (T, T)
    torch::Tensor m = M.defined() ? M : eye;                    // (T, T)
    torch::Tensor a = (0.5 * (m + eye)) * cv;                   // (T, T)
    a = a / a.sum(-1, true).clamp_min(std::numeric_limits<double>::min());
    return tril_mm(a, r);
}

torch::Tensor rollout(const std::vector<torch::Tensor>& layers, const torch::Tensor& mask) {
    DXL_CHECK(mask.defined() && mask.dim() == 1, ShapeError,
              "rollout: expected the validity mask as (T)");
    torch::NoGradGuard no_grad;
    const bool any_valid = mask.to(torch::kBool).any().item<bool>();
    PassOptions o;
    o.mean_dist = true;
    torch::Tensor r = rollout_start(mask);  // (T, T)
    for (const auto& layer : layers) {
        torch::Tensor m;  // (T, T) head-mean row distribution; undefined: identity
        if (layer.defined()) {
            check_maps("rollout", layer, mask, "attention maps");
            m = any_valid ? summarize("rollout", layer, mask, o).mean_dist
                          : row_distributions(layer, mask, 0.0).mean(0);
        }
        r = rollout_step(r, m, mask);
    }
    return r;
}

}  // namespace dxl::analysis
