// kernels/gemm.h on the CPU: shape and dtype checks, then OpenBLAS.
#include "core/parallel.h"
#include "kernels/cpu/gemm_cpu.h"
#include "kernels/gemm.h"

namespace recur {

namespace {

void check_operand(const Tensor& t, DType dtype, const char* what) {
  RECUR_CHECK(t.defined() && t.dim() == 2, "gemm {}: expected a 2-D tensor, got {}", what,
              t.defined() ? t.shape_str() : "an undefined tensor");
  RECUR_CHECK(t.is_contiguous(), "gemm {}: expected a contiguous tensor", what);
  RECUR_CHECK(t.device().is_cpu(), "gemm {}: expected a CPU tensor, got one on {}", what,
              t.device().name());
  RECUR_CHECK(t.dtype() == dtype, "gemm {}: expected dtype {}, got {}", what, dtype_name(dtype),
              dtype_name(t.dtype()));
}

template <class T>
void add_sums(const T* m, int64_t rows, int64_t cols, T* out) {
  parallel_for(cols, 256, [&](int64_t begin, int64_t end) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = begin; j < end; ++j) out[j] += m[r * cols + j];
  });
}

}  // namespace

void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, double alpha,
          double beta) {
  const DType dtype = a.dtype();
  RECUR_CHECK(dtype == DType::f32 || dtype == DType::f64,
              "gemm: the CPU computes in f32 or f64, got {}", dtype_name(dtype));
  check_operand(a, dtype, "a");
  check_operand(b, dtype, "b");
  check_operand(c, dtype, "c");
  const int64_t M = trans_a ? a.size(1) : a.size(0), K = trans_a ? a.size(0) : a.size(1);
  const int64_t Kb = trans_b ? b.size(1) : b.size(0), N = trans_b ? b.size(0) : b.size(1);
  RECUR_CHECK(K == Kb && c.size(0) == M && c.size(1) == N,
              "gemm: shapes do not chain: op(a) [{},{}] x op(b) [{},{}] into c {}", M, K, Kb, N,
              c.shape_str());
  if (dtype == DType::f64)
    gemm_cpu<double>(trans_a, trans_b, M, N, K, alpha, a.data<double>(), a.size(1),
                     b.data<double>(), b.size(1), beta, c.data<double>(), N);
  else
    gemm_cpu<float>(trans_a, trans_b, M, N, K, static_cast<float>(alpha), a.data<float>(),
                    a.size(1), b.data<float>(), b.size(1), static_cast<float>(beta),
                    c.data<float>(), N);
}

void axpy(double alpha, const Tensor& x, Tensor& y) {
  RECUR_CHECK(x.shape() == y.shape(), "axpy: expected x of shape {}, got {}", y.shape_str(),
              x.shape_str());
  RECUR_CHECK(x.dtype() == y.dtype(), "axpy: dtypes differ ({} and {})", dtype_name(x.dtype()),
              dtype_name(y.dtype()));
  RECUR_CHECK(x.is_contiguous() && y.is_contiguous(), "axpy: expected contiguous tensors");
  const int64_t n = x.numel();
  if (x.dtype() == DType::f64) {
    const double* xs = x.data<double>();
    double* ys = y.data<double>();
    for (int64_t i = 0; i < n; ++i) ys[i] += alpha * xs[i];
  } else {
    const float* xs = x.data<float>();
    float* ys = y.data<float>();
    const float a = static_cast<float>(alpha);
    for (int64_t i = 0; i < n; ++i) ys[i] += a * xs[i];
  }
}

void add_column_sums(const Tensor& m, Tensor& out) {
  RECUR_CHECK(m.dim() == 2 && out.dim() == 1 && m.size(1) == out.size(0),
              "add_column_sums: expected m [rows, {}] and out [{}], got {} and {}", out.size(0),
              out.size(0), m.shape_str(), out.shape_str());
  RECUR_CHECK(m.dtype() == out.dtype(), "add_column_sums: dtypes differ");
  if (m.dtype() == DType::f64)
    add_sums(m.data<double>(), m.size(0), m.size(1), out.data<double>());
  else
    add_sums(m.data<float>(), m.size(0), m.size(1), out.data<float>());
}

}  // namespace recur
