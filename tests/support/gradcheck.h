// Gradient checking by central differences, in f64, for the layer tests.
//
// A check perturbs elements of a tensor in place (t[i] += eps and -= eps), evaluates the scalar
// loss each time, and compares (L+ - L-) / 2eps with the analytic gradient under the tolerance
// |a - n| <= tol * max(|a|, |n|, 1).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"

namespace recur::testing {

// Indices to check: all when the tensor is small, else `max_checks` spread evenly (first and
// last included).
inline std::vector<int64_t> check_indices(int64_t n, int64_t max_checks) {
  std::vector<int64_t> idx;
  if (n <= max_checks) {
    for (int64_t i = 0; i < n; ++i) idx.push_back(i);
  } else {
    for (int64_t k = 0; k < max_checks; ++k) idx.push_back(k * (n - 1) / (max_checks - 1));
  }
  return idx;
}

// Compares analytic gradient `analytic` of `t` (same shape, f64, contiguous) with central
// differences of `loss`. Returns the number of mismatches (each also reported by gtest).
inline int expect_gradient(const std::string& what, Tensor t, const Tensor& analytic,
                           const std::function<double()>& loss, double eps = 1e-6,
                           double tol = 1e-6, int64_t max_checks = 24) {
  EXPECT_TRUE(analytic.defined()) << what << ": no analytic gradient";
  if (!analytic.defined()) return 1;
  EXPECT_EQ(analytic.shape(), t.shape()) << what;
  double* p = t.data<double>();
  const double* a = analytic.data<double>();
  int bad = 0;
  for (int64_t i : check_indices(t.numel(), max_checks)) {
    const double saved = p[i];
    p[i] = saved + eps;
    const double up = loss();
    p[i] = saved - eps;
    const double down = loss();
    p[i] = saved;
    const double numeric = (up - down) / (2 * eps);
    const double scale = std::max({std::fabs(a[i]), std::fabs(numeric), 1.0});
    if (std::fabs(a[i] - numeric) > tol * scale) {
      ADD_FAILURE() << what << "[" << i << "]: analytic " << a[i] << " numeric " << numeric;
      if (++bad > 5) break;
    }
  }
  return bad;
}

// A random f64 tensor with entries uniform in [-1, 1).
inline Tensor random_tensor(const Shape& shape, uint64_t seed, uint32_t stream = 0) {
  Tensor t = Tensor::empty(shape, DType::f64);
  fill_uniform(t, -1.0, 1.0, seed, stream);
  return t;
}

// sum(a * b) over all elements (f64, same shape).
inline double dot(const Tensor& a, const Tensor& b) {
  std::vector<double> x = a.to_vector(), y = b.to_vector();
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

}  // namespace recur::testing
