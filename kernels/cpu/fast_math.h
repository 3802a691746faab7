// Vectorisable single-precision exp, tanh and sigmoid for the CPU reference: branch-free
// polynomial forms (after Cephes' expf and tanhf) that GCC turns into SIMD code inside the cell
// loops, where glibc's scalar expf/tanhf calls would dominate the pointwise step.
//
// Accuracy (tests/kernels/fast_math_test.cpp): within a few float ulps of the exact values over
// the whole range. exp saturates outside [-87, 88] (exp(88) ~ 1.65e38), which leaves sigmoid and
// tanh exact to float precision there. NaN in gives NaN out.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/host_device.h"  // RECUR_ALWAYS_INLINE: the cell loops vectorise with these inside

namespace recur::fast_math {

RECUR_ALWAYS_INLINE float exp(float x) {
  // Comparisons rather than fmin/fmax, so a NaN passes through.
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  // n = round(x / ln 2) by the 1.5 * 2^23 trick; r = x - n ln 2 in two parts (Cody-Waite).
  const float shifter = 12582912.0f;
  float n = (x * 1.44269504088896341f + shifter) - shifter;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

RECUR_ALWAYS_INLINE float sigmoid(float x) {
  return 1.0f / (1.0f + exp(-x));
}

RECUR_ALWAYS_INLINE float tanh(float x) {
  const float a = x < 0.0f ? -x : x;
  // Large |x|: 1 - 2 / (e^{2|x|} + 1), sign restored.
  const float big = 1.0f - 2.0f / (exp(2.0f * a) + 1.0f);
  // Small |x|: odd polynomial, accurate where the form above cancels.
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = x + x * z * p;
  const float signed_big = x < 0.0f ? -big : big;
  return a < 0.625f ? small : (x != x ? x : signed_big);
}

}  // namespace recur::fast_math
