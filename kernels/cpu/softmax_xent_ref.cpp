// CPU reference of the fused softmax cross-entropy (kernels/softmax_xent.h), threaded over rows.
// The log-sum-exp subtracts the row maximum, so large logits do not overflow.
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "kernels/softmax_xent.h"

namespace recur {

namespace {

template <class T>
double fwd(const Tensor& logits, const int64_t* targets, int64_t ignore_index, Tensor& probs,
           int64_t* counted) {
  const int64_t N = logits.size(0), C = logits.size(1);
  const T* x = logits.data<T>();
  T* p = probs.data<T>();
  std::vector<double> row_loss(N, 0.0);
  parallel_for(N, 16, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const T* xr = x + n * C;
      T* pr = p + n * C;
      T m = xr[0];
      for (int64_t c = 1; c < C; ++c) m = xr[c] > m ? xr[c] : m;
      double sum = 0;
      for (int64_t c = 0; c < C; ++c) {
        pr[c] = static_cast<T>(std::exp(static_cast<double>(xr[c] - m)));
        sum += pr[c];
      }
      const T inv = static_cast<T>(1.0 / sum);
      for (int64_t c = 0; c < C; ++c) pr[c] *= inv;
      if (targets[n] != ignore_index)
        row_loss[n] = std::log(sum) - static_cast<double>(xr[targets[n]] - m);
    }
  });
  double total = 0;
  int64_t count = 0;
  for (int64_t n = 0; n < N; ++n) {
    if (targets[n] == ignore_index) continue;
    total += row_loss[n];
    ++count;
  }
  *counted = count;
  return total;
}

template <class T>
void bwd(const Tensor& probs, const int64_t* targets, int64_t ignore_index, double scale,
         Tensor& dlogits) {
  const int64_t N = probs.size(0), C = probs.size(1);
  const T* p = probs.data<T>();
  T* d = dlogits.data<T>();
  const T s = static_cast<T>(scale);
  parallel_for(N, 16, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      T* dr = d + n * C;
      if (targets[n] == ignore_index) {
        for (int64_t c = 0; c < C; ++c) dr[c] = T(0);
        continue;
      }
      for (int64_t c = 0; c < C; ++c) dr[c] = p[n * C + c] * s;
      dr[targets[n]] -= s;
    }
  });
}

void check_targets(const Tensor& targets, int64_t N, int64_t C, int64_t ignore_index) {
  check_cpu_dtype(targets, DType::i64, "cross-entropy targets");
  check_shape(targets, {N}, "cross-entropy targets");
  const int64_t* t = targets.data<int64_t>();
  for (int64_t n = 0; n < N; ++n)
    if (t[n] != ignore_index && (t[n] < 0 || t[n] >= C))
      throw_bad_xent_target(t[n], n, C, ignore_index);
}

}  // namespace

void throw_bad_xent_target(int64_t target, int64_t row, int64_t classes, int64_t ignore_index) {
  RECUR_FAIL("cross-entropy: target {} at row {} is outside [0, {}) and is not the ignore index {}",
             target, row, classes, ignore_index);
}

double softmax_xent_fwd_ref(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                            Tensor& probs, int64_t* counted) {
  RECUR_CHECK(logits.dim() == 2 && logits.is_contiguous() && logits.size(1) >= 1,
              "cross-entropy logits: expected [N,C] contiguous, got {}", logits.shape_str());
  check_targets(targets, logits.size(0), logits.size(1), ignore_index);
  check_shape(probs, {logits.size(0), logits.size(1)}, "cross-entropy probs");
  if (logits.dtype() == DType::f64)
    return fwd<double>(logits, targets.data<int64_t>(), ignore_index, probs, counted);
  return fwd<float>(logits, targets.data<int64_t>(), ignore_index, probs, counted);
}

void softmax_xent_bwd_ref(const Tensor& probs, const Tensor& targets, int64_t ignore_index,
                          double scale, Tensor& dlogits) {
  check_shape(dlogits, {probs.size(0), probs.size(1)}, "cross-entropy logits gradient");
  if (probs.dtype() == DType::f64)
    bwd<double>(probs, targets.data<int64_t>(), ignore_index, scale, dlogits);
  else
    bwd<float>(probs, targets.data<int64_t>(), ignore_index, scale, dlogits);
}

}  // namespace recur
