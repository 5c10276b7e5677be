// batched_matmul: per-matrix BLAS calls for small batched products (see header).
#include <torch/torch.h>

#include "core/models/batched_matmul.h"

#include <vector>

#include "core/base/error.h"

extern "C" {
// Reference BLAS (Fortran) interface; provided by OpenBLAS through libblas.so.3.
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
            const float* beta, float* c, const int* ldc);
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b, const int* ldb,
            const double* beta, double* c, const int* ldc);
}

namespace dxl::models {
namespace {

// Layout of the matrices of a (..., rows, cols) tensor, for a column-major BLAS; the leading
// dims may have any strides (views such as narrow() over a state buffer are used in place).
struct Operand {
    torch::Tensor t;  // (..., rows, cols)
    char op = 'N';    // column-major BLAS sees the transpose of row-major data
    int ld = 1;
    std::vector<int64_t> offsets;  // element offset of each matrix, leading dims in row-major order
};

Operand describe(const torch::Tensor& t) {
    const int64_t rows = t.size(-2), cols = t.size(-1);
    const int64_t s_row = t.stride(-2), s_col = t.stride(-1);
    Operand o;
    if (s_col == 1 && s_row >= std::max<int64_t>(cols, 1)) {
        o = {t, 'N', static_cast<int>(s_row), {}};
    } else if (s_row == 1 && s_col >= std::max<int64_t>(rows, 1)) {
        o = {t, 'T', static_cast<int>(s_col), {}};
    } else {
        o = {t.contiguous(), 'N', static_cast<int>(std::max<int64_t>(cols, 1)), {}};
    }
    const int64_t lead = o.t.dim() - 2;
    int64_t count = 1;
    for (int64_t d = 0; d < lead; ++d)
        count *= o.t.size(d);
    o.offsets.reserve(static_cast<size_t>(count));
    std::vector<int64_t> idx(static_cast<size_t>(lead), 0);
    for (int64_t i = 0; i < count; ++i) {
        int64_t off = 0;
        for (int64_t d = 0; d < lead; ++d)
            off += idx[static_cast<size_t>(d)] * o.t.stride(d);
        o.offsets.push_back(off);
        for (int64_t d = lead - 1; d >= 0; --d) {  // odometer increment
            if (++idx[static_cast<size_t>(d)] < o.t.size(d)) break;
            idx[static_cast<size_t>(d)] = 0;
        }
    }
    return o;
}

template <typename T, typename Gemm>
void run(const Operand& A, const Operand& B, torch::Tensor& C, Gemm gemm) {
    // Row-major C = A B is column-major C^T = B^T A^T: pass B first. C is contiguous.
    const int n = static_cast<int>(C.size(-2)), m = static_cast<int>(C.size(-1));
    const int k = static_cast<int>(A.t.size(-1));
    const T alpha = 1, beta = 0;
    const T* a = A.t.data_ptr<T>();
    const T* b = B.t.data_ptr<T>();
    T* c = C.data_ptr<T>();
    const int64_t sc = static_cast<int64_t>(n) * m;
    for (size_t i = 0; i < A.offsets.size(); ++i) {
        gemm(&B.op, &A.op, &m, &n, &k, &alpha, b + B.offsets[i], &B.ld, a + A.offsets[i], &A.ld,
             &beta, c + static_cast<int64_t>(i) * sc, &m);
    }
}

}  // namespace

torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b) {
    DXL_ASSERT(a.dim() >= 3 && a.dim() == b.dim() && a.size(-1) == b.size(-2),
               "batched_matmul shapes");
    DXL_ASSERT(a.sizes().slice(0, a.dim() - 2) == b.sizes().slice(0, b.dim() - 2),
               "batched_matmul batch dims");
    const int64_t n = a.size(-2), k = a.size(-1), m = b.size(-1);
    std::vector<int64_t> out_shape(a.sizes().begin(), a.sizes().end());
    out_shape.back() = m;
    const bool needs_grad =
        torch::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad());
    const auto dtype = a.scalar_type();
    const bool blas_ok =
        !needs_grad && a.device().is_cpu() && b.device().is_cpu() && b.scalar_type() == dtype &&
        (dtype == torch::kFloat32 || dtype == torch::kFloat64) && n > 0 && m > 0 && k > 0;
    if (!blas_ok) return torch::bmm(a.reshape({-1, n, k}), b.reshape({-1, k, m})).view(out_shape);
    torch::Tensor c = torch::empty(out_shape, a.options());  // (..., n, m)
    const Operand A = describe(a), B = describe(b);
    if (dtype == torch::kFloat32) {
        run<float>(A, B, c, sgemm_);
    } else {
        run<double>(A, B, c, dgemm_);
    }
    return c;
}

}  // namespace dxl::models
