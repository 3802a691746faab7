// kernels/gemm.h's dispatch points: shape, dtype and device checks, then OpenBLAS or plain loops
// on the CPU, cuBLAS or the CUDA kernels on a GPU.
#include "core/cuda_runtime.h"
#include "core/parallel.h"
#include "kernels/cpu/gemm_cpu.h"
#include "kernels/gemm.h"
#include "kernels/mixed_gemm.h"
#if RECUR_WITH_CUDA
#include "kernels/cuda/elementwise_cuda.h"
#include "kernels/cuda/gemm_cuda.h"
#include "kernels/cuda/recurrent_seq_ops.h"
#endif

namespace recur {

namespace {

// ASSUMPTION: every operand is a defined 2-D contiguous tensor of `dtype` on `device` (a's).
void check_operand(const Tensor& t, DType dtype, Device device, const char* what) {
  RECUR_CHECK(t.defined() && t.dim() == 2, "gemm {}: expected a 2-D tensor, got {}", what,
              t.defined() ? t.shape_str() : "an undefined tensor");
  RECUR_CHECK(t.is_contiguous(), "gemm {}: expected a contiguous tensor", what);
  if (device.is_cpu())
    RECUR_CHECK(t.device().is_cpu(), "gemm {}: expected a CPU tensor, got one on {}", what,
                t.device().name());
  else
    RECUR_CHECK(t.device() == device, "gemm {}: expected a tensor on {} (as a), got one on {}",
                what, device.name(), t.device().name());
  RECUR_CHECK(t.dtype() == dtype, "gemm {}: expected dtype {}, got {}", what, dtype_name(dtype),
              dtype_name(t.dtype()));
}

// ASSUMPTION: `b` is on `a`'s device (GPU work runs on one device's stream).
void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  RECUR_CHECK(a.device() == b.device(), "{}: expected tensors on one device, got {} and {}", op,
              a.device().name(), b.device().name());
}

template <class T>
void add_sums(const T* m, int64_t rows, int64_t cols, T* out) {
  parallel_for(cols, 256, [&](int64_t begin, int64_t end) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = begin; j < end; ++j) out[j] += m[r * cols + j];
  });
}

#if !RECUR_WITH_CUDA
[[noreturn]] void no_cuda(Device device) {
  cuda_stream(device.index);  // throws: this build has no CUDA
  RECUR_FAIL("{}: this build has no CUDA", device.name());
}
#endif

}  // namespace

void gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, double alpha,
          double beta, Precision precision) {
  const DType dtype = a.dtype();
  const Device device = a.device();
  RECUR_CHECK(dtype == DType::f32 || dtype == DType::f64,
              "gemm: the {} computes in f32 or f64, got {}", device.is_cpu() ? "CPU" : "GPU",
              dtype_name(dtype));
  check_operand(a, dtype, device, "a");
  check_operand(b, dtype, device, "b");
  check_operand(c, dtype, device, "c");
  const int64_t M = trans_a ? a.size(1) : a.size(0), K = trans_a ? a.size(0) : a.size(1);
  const int64_t Kb = trans_b ? b.size(1) : b.size(0), N = trans_b ? b.size(0) : b.size(1);
  RECUR_CHECK(K == Kb && c.size(0) == M && c.size(1) == N,
              "gemm: shapes do not chain: op(a) [{},{}] x op(b) [{},{}] into c {}", M, K, Kb, N,
              c.shape_str());
  if (precision != Precision::f32) {
    RECUR_CHECK(dtype == DType::f32, "gemm: {} math precision needs f32 tensors, got {}",
                precision_name(precision), dtype_name(dtype));
    gemm_mixed(device, precision, trans_a, trans_b, M, N, K, static_cast<float>(alpha),
               GemmOperand{a.data<float>(), a.size(1)}, GemmOperand{b.data<float>(), b.size(1)},
               static_cast<float>(beta), c.data<float>(), N);
    return;
  }
  if (device.is_cuda()) {
#if RECUR_WITH_CUDA
    if (dtype == DType::f64)
      gemm_cuda<double>(device.index, trans_a, trans_b, M, N, K, alpha, a.data<double>(), a.size(1),
                        b.data<double>(), b.size(1), beta, c.data<double>(), N);
    else
      gemm_cuda<float>(device.index, trans_a, trans_b, M, N, K, static_cast<float>(alpha),
                       a.data<float>(), a.size(1), b.data<float>(), b.size(1),
                       static_cast<float>(beta), c.data<float>(), N);
    return;
#else
    no_cuda(device);
#endif
  }
  if (dtype == DType::f64)
    gemm_cpu<double>(trans_a, trans_b, M, N, K, alpha, a.data<double>(), a.size(1),
                     b.data<double>(), b.size(1), beta, c.data<double>(), N);
  else
    gemm_cpu<float>(trans_a, trans_b, M, N, K, static_cast<float>(alpha), a.data<float>(),
                    a.size(1), b.data<float>(), b.size(1), static_cast<float>(beta),
                    c.data<float>(), N);
}

namespace {

// One group's operand of batched_gemm: 3-D, contiguous, of a's dtype and device.
void check_batch_operand(const Tensor& t, DType dtype, Device device, int64_t groups,
                         const char* what) {
  RECUR_CHECK(t.defined() && t.dim() == 3 && t.size(0) == groups,
              "batched_gemm {}: expected a 3-D tensor of {} groups, got {}", what, groups,
              t.defined() ? t.shape_str() : "an undefined tensor");
  check_operand(t.select(0, 0), dtype, device, what);
}

template <class T>
void batched_gemm_typed(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                        int64_t M, int64_t N, int64_t K, double alpha, double beta) {
  const int64_t G = a.size(0), sa = a.size(1) * a.size(2), sb = b.size(1) * b.size(2);
  const T* A = a.data<T>();
  const T* B = b.data<T>();
  T* C = c.data<T>();
  if (c.device().is_cuda()) {
#if RECUR_WITH_CUDA
    gemm_cuda_strided_batched<T>(c.device().index, trans_a, trans_b, G, M, N, K,
                                 static_cast<T>(alpha), A, a.size(2), sa, B, b.size(2), sb,
                                 static_cast<T>(beta), C, N, M * N);
    return;
#else
    no_cuda(c.device());
#endif
  }
  for (int64_t g = 0; g < G; ++g)
    gemm_cpu<T>(trans_a, trans_b, M, N, K, static_cast<T>(alpha), A + g * sa, a.size(2), B + g * sb,
                b.size(2), static_cast<T>(beta), C + g * M * N, N);
}

}  // namespace

void batched_gemm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
                  double alpha, double beta) {
  const DType dtype = a.dtype();
  RECUR_CHECK(dtype == DType::f32 || dtype == DType::f64,
              "batched_gemm: computes in f32 or f64, got {}", dtype_name(dtype));
  RECUR_CHECK(a.defined() && a.dim() == 3 && a.size(0) >= 1,
              "batched_gemm a: expected a 3-D tensor of at least one group, got {}",
              a.defined() ? a.shape_str() : "an undefined tensor");
  const int64_t G = a.size(0);
  check_batch_operand(a, dtype, a.device(), G, "a");
  check_batch_operand(b, dtype, a.device(), G, "b");
  check_batch_operand(c, dtype, a.device(), G, "c");
  const int64_t M = trans_a ? a.size(2) : a.size(1), K = trans_a ? a.size(1) : a.size(2);
  const int64_t Kb = trans_b ? b.size(2) : b.size(1), N = trans_b ? b.size(1) : b.size(2);
  RECUR_CHECK(K == Kb && c.size(1) == M && c.size(2) == N,
              "batched_gemm: shapes do not chain: op(a[g]) [{},{}] x op(b[g]) [{},{}] into c {}", M,
              K, Kb, N, c.shape_str());
  RECUR_CHECK(a.is_contiguous() && b.is_contiguous() && c.is_contiguous(),
              "batched_gemm: expected contiguous tensors");
  if (dtype == DType::f64)
    batched_gemm_typed<double>(a, trans_a, b, trans_b, c, M, N, K, alpha, beta);
  else
    batched_gemm_typed<float>(a, trans_a, b, trans_b, c, M, N, K, alpha, beta);
}

void axpy(double alpha, const Tensor& x, Tensor& y) {
  RECUR_CHECK(x.shape() == y.shape(), "axpy: expected x of shape {}, got {}", y.shape_str(),
              x.shape_str());
  RECUR_CHECK(x.dtype() == y.dtype(), "axpy: dtypes differ ({} and {})", dtype_name(x.dtype()),
              dtype_name(y.dtype()));
  RECUR_CHECK(x.is_contiguous() && y.is_contiguous(), "axpy: expected contiguous tensors");
  check_same_device(x, y, "axpy");
  const int64_t n = x.numel();
  if (y.device().is_cuda()) {
    RECUR_CHECK(y.dtype() == DType::f32 || y.dtype() == DType::f64,
                "axpy: expected dtype f32 or f64, got {}", dtype_name(y.dtype()));
#if RECUR_WITH_CUDA
    void* stream = cuda_stream(y.device().index);
    if (y.dtype() == DType::f64)
      launch_axpy(alpha, x.data<double>(), n, y.data<double>(), stream);
    else
      launch_axpy(alpha, x.data<float>(), n, y.data<float>(), stream);
    return;
#else
    no_cuda(y.device());
#endif
  }
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
  check_same_device(m, out, "add_column_sums");
  if (out.device().is_cuda()) {
    RECUR_CHECK(m.is_contiguous() && out.is_contiguous(),
                "add_column_sums: expected contiguous tensors");
    RECUR_CHECK(out.dtype() == DType::f32 || out.dtype() == DType::f64,
                "add_column_sums: expected dtype f32 or f64, got {}", dtype_name(out.dtype()));
#if RECUR_WITH_CUDA
    void* stream = cuda_stream(out.device().index);
    if (out.dtype() == DType::f64)
      launch_add_column_sums(m.data<double>(), m.size(0), m.size(1), out.data<double>(), stream);
    else
      launch_add_column_sums(m.data<float>(), m.size(0), m.size(1), out.data<float>(), stream);
    return;
#else
    no_cuda(out.device());
#endif
  }
  if (m.dtype() == DType::f64)
    add_sums(m.data<double>(), m.size(0), m.size(1), out.data<double>());
  else
    add_sums(m.data<float>(), m.size(0), m.size(1), out.data<float>());
}

}  // namespace recur
