// Rounding in vectors and the single-row mixed-precision product (kernels/cpu/rounded_gemv.h).
// Written with GCC's vector extensions in vectors of 16 floats: the build's instruction set
// (AVX2 by default) runs each as two halves, and where the CPU has AVX-512 the hot loops run a
// clone compiled for it (target_clones); the lanes and the order of every sum are the same in
// both.
#include "kernels/cpu/rounded_gemv.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/host_device.h"
#include "core/parallel.h"
#include "kernels/cpu/avx512_clone.h"

// The helpers below take and return 64-byte vectors; they are always inlined
// (RECUR_ALWAYS_INLINE), so no call passes one and GCC's note about the AVX-512 calling convention
// does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace recur {

namespace {

constexpr int kLanes = 16;
typedef float Floats __attribute__((vector_size(4 * kLanes)));
typedef uint32_t Bits __attribute__((vector_size(4 * kLanes)));
typedef int32_t Mask __attribute__((vector_size(4 * kLanes)));  // a comparison's all-ones lanes

RECUR_ALWAYS_INLINE Floats load(const float* p) {
  Floats v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

RECUR_ALWAYS_INLINE void store(float* p, Floats v) {
  std::memcpy(p, &v, sizeof v);
}

RECUR_ALWAYS_INLINE Floats splat(float x) {
  return Floats{} + x;
}

// Lanes rounded to bf16's grid as core/half.h's to_bf16 does: to nearest even; a NaN keeps its
// top 16 bits, made quiet.
RECUR_ALWAYS_INLINE Floats round_bf16(Floats x) {
  const Bits u = reinterpret_cast<Bits>(x);
  const Bits rounded = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  const Bits nan = ((u & 0xffff0000u) | 0x00400000u);
  const Mask is_nan = (u & 0x7fffffffu) > 0x7f800000u;
  return reinterpret_cast<Floats>(is_nan ? nan : rounded);
}

// Lanes rounded to f16's grid as core/half.h's to_f16 does: to nearest even; from 65520 on
// infinity; below 2^-14 to a multiple of 2^-24 (adding and taking away 0.5, whose float spacing
// is 2^-24, makes the FPU round there); NaN the quiet NaN.
RECUR_ALWAYS_INLINE Floats round_f16(Floats x) {
  const Bits u = reinterpret_cast<Bits>(x);
  const Bits sign = u & 0x80000000u, abs = u & 0x7fffffffu;
  const Bits normal = (abs + 0xfffu + ((abs >> 13) & 1u)) & 0xffffe000u;
  const Floats tiny_value = (reinterpret_cast<Floats>(abs) + 0.5f) - 0.5f;
  const Bits tiny = reinterpret_cast<Bits>(tiny_value);
  Bits r = abs < 0x38800000u ? tiny : normal;
  r = abs >= 0x477ff000u ? Bits{} + 0x7f800000u : r;
  r = abs > 0x7f800000u ? Bits{} + 0x7fc00000u : r;
  return reinterpret_cast<Floats>(sign | r);
}

template <Precision P>
RECUR_ALWAYS_INLINE Floats rounded(Floats x) {
  if constexpr (P == Precision::bf16) return round_bf16(x);
  return round_f16(x);
}

RECUR_ALWAYS_INLINE float lane_sum(Floats v) {  // in a fixed order: a tree over the 16 lanes
  float s[kLanes];
  store(s, v);
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int i = 0; i < width; ++i) s[i] += s[i + width];
  return s[0];
}

template <Precision P>
RECUR_AVX512_CLONE void round_span(const float* src, int64_t n, float* dst) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store(dst + i, rounded<P>(load(src + i)));
  for (; i < n; ++i) dst[i] = round_to_precision(src[i], P);
}

// R rows of c = alpha * W a + beta * c from row n, each a dot product over k in 16 lanes, the
// last K % 16 terms added one by one.
template <Precision P, int R>
RECUR_ALWAYS_INLINE void dot_block(int64_t n, int64_t K, float alpha, const float* a,
                                   const float* w, int64_t ldw, float beta, float* c) {
  const int64_t k_vec = K / kLanes * kLanes;
  Floats acc[R] = {};
  for (int64_t k = 0; k < k_vec; k += kLanes) {
    const Floats av = load(a + k);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r] += rounded<P>(load(w + (n + r) * ldw + k)) * av;
  }
  for (int r = 0; r < R; ++r) {
    float s = lane_sum(acc[r]);
    for (int64_t k = k_vec; k < K; ++k) s += round_to_precision(w[(n + r) * ldw + k], P) * a[k];
    float* out = c + n + r;
    *out = beta == 0.0f ? alpha * s : alpha * s + beta * *out;
  }
}

// Rows [n0, n1) of c = alpha * W a + beta * c, W [N,K] (row stride ldw), a rounded: four rows at
// a time (four independent sums), then one by one.
template <Precision P>
RECUR_AVX512_CLONE void dot_rows(int64_t n0, int64_t n1, int64_t K, float alpha, const float* a,
                                 const float* w, int64_t ldw, float beta, float* c) {
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) dot_block<P, 4>(n, K, alpha, a, w, ldw, beta, c);
  for (; n < n1; ++n) dot_block<P, 1>(n, K, alpha, a, w, ldw, beta, c);
}

// Columns [n0, n1) of c = alpha * W^T a + beta * c, W [K,N] (row stride ldw), a rounded: 128
// columns at a time in eight vectors, each c[n] summed over k in order; the last N % 16 columns
// one by one.
template <Precision P>
RECUR_AVX512_CLONE void axpy_columns(int64_t n0, int64_t n1, int64_t K, float alpha, const float* a,
                                     const float* w, int64_t ldw, float beta, float* c) {
  constexpr int kVectors = 8;
  int64_t n = n0;
  auto finish = [&](Floats sums, int64_t col) {
    Floats out = splat(alpha) * sums;
    if (beta != 0.0f) out += splat(beta) * load(c + col);
    store(c + col, out);
  };
  for (; n + kVectors * kLanes <= n1; n += kVectors * kLanes) {
    Floats acc[kVectors] = {};
    for (int64_t k = 0; k < K; ++k) {
      const Floats ak = splat(a[k]);
      for (int v = 0; v < kVectors; ++v)
        acc[v] += rounded<P>(load(w + k * ldw + n + v * kLanes)) * ak;
    }
    for (int v = 0; v < kVectors; ++v) finish(acc[v], n + v * kLanes);
  }
  for (; n + kLanes <= n1; n += kLanes) {
    Floats acc = {};
    for (int64_t k = 0; k < K; ++k) acc += rounded<P>(load(w + k * ldw + n)) * splat(a[k]);
    finish(acc, n);
  }
  for (; n < n1; ++n) {
    float s = 0.0f;
    for (int64_t k = 0; k < K; ++k) s += round_to_precision(w[k * ldw + n], P) * a[k];
    c[n] = beta == 0.0f ? alpha * s : alpha * s + beta * c[n];
  }
}

template <Precision P>
void gemv(bool trans_w, int64_t N, int64_t K, float alpha, const float* a, const float* w,
          int64_t ldw, float beta, float* c) {
  // Chunks of 128 outputs (a whole block of axpy_columns): a few per thread, so the parts of a
  // step's W stream through all cores.
  constexpr int64_t kChunk = 128;
  const int64_t chunks = (N + kChunk - 1) / kChunk;
  const int64_t grain = N * K < (int64_t(1) << 16) ? chunks : 1;  // small: one thread
  parallel_for(chunks, grain, [&](int64_t begin, int64_t end) {
    const int64_t n0 = begin * kChunk, n1 = std::min(N, end * kChunk);
    if (trans_w)
      dot_rows<P>(n0, n1, K, alpha, a, w, ldw, beta, c);
    else
      axpy_columns<P>(n0, n1, K, alpha, a, w, ldw, beta, c);
  });
}

}  // namespace

void round_floats(const float* src, int64_t n, Precision precision, float* dst) {
  if (precision == Precision::bf16) return round_span<Precision::bf16>(src, n, dst);
  if (precision == Precision::f16) return round_span<Precision::f16>(src, n, dst);
  if (src != dst) std::copy_n(src, n, dst);
}

void rounded_gemv(Precision precision, bool trans_w, int64_t N, int64_t K, float alpha,
                  const float* a, int64_t inc_a, const float* w, int64_t ldw, float beta,
                  float* c) {
  RECUR_CHECK(precision != Precision::f32, "rounded_gemv: f32 needs no rounding (use gemm_cpu)");
  if (N <= 0) return;
  std::vector<float> a_rounded(static_cast<size_t>(K));
  for (int64_t k = 0; k < K; ++k) a_rounded[k] = a[k * inc_a];
  round_floats(a_rounded.data(), K, precision, a_rounded.data());
  if (precision == Precision::bf16)
    return gemv<Precision::bf16>(trans_w, N, K, alpha, a_rounded.data(), w, ldw, beta, c);
  gemv<Precision::f16>(trans_w, N, K, alpha, a_rounded.data(), w, ldw, beta, c);
}

}  // namespace recur
