// The row math of kernels/attention.h, one row (one query) at a time: the single source that the
// CPU reference (kernels/cpu/attention_ref.cpp) and the CUDA kernels
// (kernels/cuda/attention_cuda.cu) both call, so both sum in the same order.
#pragma once

#include <cstdint>

#include "core/host_device.h"
#include "kernels/cell_math.h"

namespace recur {
namespace attention_math {

// weights[s] = softmax(scores[0..valid))[s] for s < valid, 0 for valid <= s < S.
template <class T>
RECUR_HOST_DEVICE void softmax_row_fwd(const T* scores, int64_t valid, int64_t S, T* weights) {
  T top = scores[0];
  for (int64_t s = 1; s < valid; ++s) top = scores[s] > top ? scores[s] : top;
  T total = 0;
  for (int64_t s = 0; s < valid; ++s) {
    weights[s] = cell_math::exp_(scores[s] - top);
    total += weights[s];
  }
  const T inverse = T(1) / total;
  for (int64_t s = 0; s < valid; ++s) weights[s] *= inverse;
  for (int64_t s = valid; s < S; ++s) weights[s] = 0;
}

// dscores[s] = weights[s] * (dweights[s] - sum_s' weights[s'] * dweights[s']).
template <class T>
RECUR_HOST_DEVICE void softmax_row_bwd(const T* weights, const T* dweights, int64_t S, T* dscores) {
  T dot = 0;
  for (int64_t s = 0; s < S; ++s) dot += weights[s] * dweights[s];
  for (int64_t s = 0; s < S; ++s) dscores[s] = weights[s] * (dweights[s] - dot);
}

template <class T>
RECUR_HOST_DEVICE T tanh_bwd(T y, T dy) {
  return dy * (T(1) - y * y);
}

}  // namespace attention_math
}  // namespace recur
