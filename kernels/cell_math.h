// The gate equations of every cell, forward and backward, for ONE hidden unit j of ONE batch row:
// the single source of truth that the CPU reference and the CUDA kernels both call.
//
// Layout (PyTorch's): a row of gate pre-activations holds the gate blocks one after another,
// each H wide, in the order lstm i,f,g,o and gru r,z,n. `xp` is the input side (W_ih x, no bias),
// `hp` the hidden side (W_hh h', no bias); the biases are added here so no extra pass is needed.
// Backward writes the gradients of both sides (they differ only in gru's n gate).
#pragma once

#include <math.h>

#include <cstdint>

#include "core/host_device.h"
#include "kernels/cpu/fast_math.h"

namespace recur {
namespace cell_math {

// float: the GPU's own expf/tanhf; on the CPU, the vectorisable forms of kernels/cpu/fast_math.h.
// double (gradient checks, parity references): the C library's.
RECUR_HOST_DEVICE float exp_(float x) {
#if defined(__CUDA_ARCH__)
  return expf(x);
#else
  return fast_math::exp(x);
#endif
}
RECUR_HOST_DEVICE double exp_(double x) {
  return exp(x);
}
RECUR_HOST_DEVICE float tanh_(float x) {
#if defined(__CUDA_ARCH__)
  return tanhf(x);
#else
  return fast_math::tanh(x);
#endif
}
RECUR_HOST_DEVICE double tanh_(double x) {
  return tanh(x);
}

template <class T>
RECUR_HOST_DEVICE T sigmoid(T x) {
  return T(1) / (T(1) + exp_(-x));
}

// Gate block g of unit j: pre-activation = input side + bias_ih + hidden side + bias_hh.
template <class T>
RECUR_HOST_DEVICE T gate_pre(const T* xp, const T* hp, const T* b_ih, const T* b_hh, int64_t H,
                             int g, int64_t j) {
  int64_t k = g * H + j;
  return xp[k] + b_ih[k] + hp[k] + b_hh[k];
}

// ---------------------------------------------------------------- rnn_tanh, rnn_relu
// Forward returns h. Backward takes dh and h, returns d(pre).
template <class T>
RECUR_HOST_DEVICE T rnn_tanh_fwd(T pre) {
  return tanh_(pre);
}
template <class T>
RECUR_HOST_DEVICE T rnn_tanh_bwd(T dh, T h) {
  return dh * (T(1) - h * h);
}
template <class T>
RECUR_HOST_DEVICE T rnn_relu_fwd(T pre) {
  return pre > T(0) ? pre : T(0);
}
template <class T>
RECUR_HOST_DEVICE T rnn_relu_bwd(T dh, T h) {
  return h > T(0) ? dh : T(0);
}

// ---------------------------------------------------------------- leaky
// h = (1-a) h' + a u, u = tanh(pre).
template <class T>
RECUR_HOST_DEVICE T leaky_fwd(T pre, T h_prev, T a, T* u_out) {
  T u = tanh_(pre);
  *u_out = u;
  return (T(1) - a) * h_prev + a * u;
}
// Returns d(pre); adds the direct path to dh_prev and writes d(a) for this unit and row.
template <class T>
RECUR_HOST_DEVICE T leaky_bwd(T dh, T u, T h_prev, T a, T* dh_prev, T* da) {
  *dh_prev = (T(1) - a) * dh;
  *da = dh * (u - h_prev);
  return dh * a * (T(1) - u * u);
}

// ---------------------------------------------------------------- gru
// r = s(x_r + h_r), z = s(x_z + h_z), n = tanh(x_n + r * h_n), h = (1-z) n + z h'
// where x_* include b_i*, h_* include b_h*.
template <class T>
struct GruCache {
  T r, z, n, hn;
};

template <class T>
RECUR_HOST_DEVICE T gru_fwd(const T* xp, const T* hp, const T* b_ih, const T* b_hh, int64_t H,
                            int64_t j, T h_prev, GruCache<T>* cache) {
  T r = sigmoid(gate_pre(xp, hp, b_ih, b_hh, H, 0, j));
  T z = sigmoid(gate_pre(xp, hp, b_ih, b_hh, H, 1, j));
  T hn = hp[2 * H + j] + b_hh[2 * H + j];
  T n = tanh_(xp[2 * H + j] + b_ih[2 * H + j] + r * hn);
  *cache = {r, z, n, hn};
  return (T(1) - z) * n + z * h_prev;
}

// Writes d(pre) of both sides (dxp, dhp: blocks r, z, n of unit j) and the direct dh_prev.
template <class T>
RECUR_HOST_DEVICE void gru_bwd(T dh, const GruCache<T>& c, T h_prev, int64_t H, int64_t j, T* dxp,
                               T* dhp, T* dh_prev) {
  T dn = dh * (T(1) - c.z);
  T dz = dh * (h_prev - c.n);
  T dpn = dn * (T(1) - c.n * c.n);
  T dr = dpn * c.hn;
  T dpr = dr * c.r * (T(1) - c.r);
  T dpz = dz * c.z * (T(1) - c.z);
  dxp[j] = dpr;
  dxp[H + j] = dpz;
  dxp[2 * H + j] = dpn;
  dhp[j] = dpr;
  dhp[H + j] = dpz;
  dhp[2 * H + j] = dpn * c.r;
  *dh_prev = dh * c.z;
}

// ---------------------------------------------------------------- lstm
// i, f, o = s(.), g = tanh(.); c = f c' + i g; m = o tanh(c) (h, or what the projection maps).
template <class T>
struct LstmCache {
  T i, f, g, o;
};

template <class T>
RECUR_HOST_DEVICE T lstm_fwd(const T* xp, const T* hp, const T* b_ih, const T* b_hh, int64_t H,
                             int64_t j, T c_prev, T* c_out, LstmCache<T>* cache) {
  T i = sigmoid(gate_pre(xp, hp, b_ih, b_hh, H, 0, j));
  T f = sigmoid(gate_pre(xp, hp, b_ih, b_hh, H, 1, j));
  T g = tanh_(gate_pre(xp, hp, b_ih, b_hh, H, 2, j));
  T o = sigmoid(gate_pre(xp, hp, b_ih, b_hh, H, 3, j));
  T c = f * c_prev + i * g;
  *c_out = c;
  *cache = {i, f, g, o};
  return o * tanh_(c);
}

// dm: gradient reaching m = o tanh(c); dc_next: gradient reaching c from step t+1.
// Writes d(pre) of the four gate blocks of unit j to both sides (they are equal) and dc_prev.
template <class T>
RECUR_HOST_DEVICE void lstm_bwd(T dm, T dc_next, const LstmCache<T>& k, T c_prev, T c, int64_t H,
                                int64_t j, T* dxp, T* dhp, T* dc_prev) {
  T tc = tanh_(c);
  T dc = dc_next + dm * k.o * (T(1) - tc * tc);
  T d[4] = {dc * k.g * k.i * (T(1) - k.i), dc * c_prev * k.f * (T(1) - k.f),
            dc * k.i * (T(1) - k.g * k.g), dm * tc * k.o * (T(1) - k.o)};
  for (int g = 0; g < 4; ++g) {
    dxp[g * H + j] = d[g];
    dhp[g * H + j] = d[g];
  }
  *dc_prev = dc * k.f;
}

}  // namespace cell_math
}  // namespace recur
