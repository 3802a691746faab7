// Tensor comparison for parity tests: normalised MSE over the whole tensor plus a per-element
// bound |a - r| <= atol + rtol * |r|, with a readable failure naming the worst element.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace recur::testing {

struct Tolerance {
  double nmse;  // sum (a-r)^2 / sum r^2
  double rtol;
  double atol;
};

// f64 engine against an f64 reference: only summation order differs.
inline constexpr Tolerance kF64Tolerance{1e-24, 1e-10, 1e-12};
// f32 engine against an f64 reference (the bar: NMSE <= 1e-10, relative error <= 1e-4).
inline constexpr Tolerance kF32Tolerance{1e-10, 1e-4, 1e-6};

// The normalised MSE of `actual` against `reference` (sum (a-r)^2 / sum r^2), same shape.
inline double normalised_mse(const Tensor& actual, const Tensor& reference) {
  std::vector<double> a = actual.to_vector(), r = reference.to_vector();
  double err2 = 0, ref2 = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    err2 += (a[i] - r[i]) * (a[i] - r[i]);
    ref2 += r[i] * r[i];
  }
  return ref2 > 0 ? err2 / ref2 : err2;
}

// A mixed-precision run (bf16/f16 GEMM operands, f32 elsewhere) against an f64 reference, the
// issue's bar of 2e-2: each element within 2e-2 of the tensor's largest magnitude (rounding errors
// scale with the operands, not with each element), and a normalised MSE <= 1e-4.
inline Tolerance mixed_tolerance(const Tensor& reference) {
  double largest = 0;
  for (double v : reference.to_vector()) largest = std::max(largest, std::fabs(v));
  return {1e-4, 0.0, 2e-2 * largest};
}

inline void expect_close(const Tensor& actual, const Tensor& reference, const Tolerance& tol,
                         const std::string& what) {
  ASSERT_TRUE(actual.defined()) << what << ": missing";
  ASSERT_EQ(actual.shape(), reference.shape()) << what;
  std::vector<double> a = actual.to_vector(), r = reference.to_vector();
  double err2 = 0, ref2 = 0, worst = 0;
  size_t worst_i = 0, bad = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = std::fabs(a[i] - r[i]);
    err2 += d * d;
    ref2 += r[i] * r[i];
    double excess = d - (tol.atol + tol.rtol * std::fabs(r[i]));
    if (!(excess <= 0)) {
      ++bad;
      if (!(excess <= worst)) {
        worst = excess;
        worst_i = i;
      }
    }
  }
  double nmse = ref2 > 0 ? err2 / ref2 : err2;
  EXPECT_LE(nmse, tol.nmse) << what << ": normalised MSE";
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " elements out of tolerance; worst [" << worst_i
                     << "] got " << a[worst_i] << " expected " << r[worst_i];
}

}  // namespace recur::testing
