// One hidden unit j of one batch row b of a cell time step (kernels/cell_step.h), forward and
// backward, with the padding mask applied: the body that the CPU reference loops over and that
// each CUDA thread runs. Cell is a template parameter so each kernel specialises on it.
#pragma once

#include "kernels/cell_math.h"
#include "kernels/cell_step.h"

namespace recur {

RECUR_HOST_DEVICE bool step_valid(const int64_t* lengths, int64_t b, int64_t t) {
  return lengths == nullptr || t < lengths[b];
}

// A padded row keeps its state.
template <CellKind Cell, class T>
RECUR_HOST_DEVICE void cell_unit_fwd_padding(const CellStepFwd<T>& a, int64_t b, int64_t j) {
  const int64_t H = a.H, u = b * H + j;
  T* h = a.h + b * a.ld_h;
  if constexpr (Cell == CellKind::lstm) {
    a.c[u] = a.c_prev[u];
    if (a.m_prev) h[j] = a.m_prev[u];
  } else {
    h[j] = a.h_prev[u];
  }
  if (a.cache)
    for (int64_t k = 0; k < cell_cache_blocks(Cell); ++k)
      a.cache[b * cell_cache_blocks(Cell) * H + k * H + j] = T(0);
}

// A valid row: the gate math. KeepCache is a template parameter so the CPU loop over j has no
// branch in it and vectorises.
template <CellKind Cell, bool KeepCache, class T>
RECUR_HOST_DEVICE void cell_unit_fwd_valid(const CellStepFwd<T>& a, int64_t b, int64_t j) {
  using namespace cell_math;
  const int64_t H = a.H, G = cell_gates(Cell) * H, W = cell_cache_blocks(Cell) * H;
  const int64_t u = b * H + j;
  T* h = a.h + b * a.ld_h;
  T* cache = a.cache + b * W;  // only used when KeepCache
  const T* xp = a.xp + b * a.ld_xp;
  const T* hp = a.hp + b * G;
  if constexpr (Cell == CellKind::rnn_tanh || Cell == CellKind::rnn_relu) {
    T pre = gate_pre(xp, hp, a.b_ih, a.b_hh, H, 0, j);
    T out = Cell == CellKind::rnn_tanh ? rnn_tanh_fwd(pre) : rnn_relu_fwd(pre);
    h[j] = out;
    if constexpr (KeepCache) cache[j] = out;
  } else if constexpr (Cell == CellKind::leaky) {
    T act;
    h[j] = leaky_fwd(gate_pre(xp, hp, a.b_ih, a.b_hh, H, 0, j), a.h_prev[u], a.leak[j], &act);
    if constexpr (KeepCache) cache[j] = act;
  } else if constexpr (Cell == CellKind::gru) {
    GruCache<T> k;
    h[j] = gru_fwd(xp, hp, a.b_ih, a.b_hh, H, j, a.h_prev[u], &k);
    if constexpr (KeepCache) {
      cache[j] = k.r;
      cache[H + j] = k.z;
      cache[2 * H + j] = k.n;
      cache[3 * H + j] = k.hn;
    }
  } else {
    LstmCache<T> k;
    h[j] = lstm_fwd(xp, hp, a.b_ih, a.b_hh, H, j, a.c_prev[u], &a.c[u], &k);
    if constexpr (KeepCache) {
      cache[j] = k.i;
      cache[H + j] = k.f;
      cache[2 * H + j] = k.g;
      cache[3 * H + j] = k.o;
    }
  }
}

template <CellKind Cell, class T>
RECUR_HOST_DEVICE void cell_unit_fwd(const CellStepFwd<T>& a, int64_t b, int64_t j, bool valid) {
  if (!valid)
    cell_unit_fwd_padding<Cell>(a, b, j);
  else if (a.cache)
    cell_unit_fwd_valid<Cell, true>(a, b, j);
  else
    cell_unit_fwd_valid<Cell, false>(a, b, j);
}

// v rounded into element i of a RoundedCopy, bit for bit as kernels/mixed_gemm.h rounds operands.
RECUR_HOST_DEVICE void store_rounded(const RoundedCopy& r, int64_t i, float v) {
  if (!r.narrow)
    static_cast<float*>(r.data)[i] = round_to_precision(v, r.precision);
  else if (r.precision == Precision::bf16)
    static_cast<bf16*>(r.data)[i] = to_bf16(v);
  else
    static_cast<f16*>(r.data)[i] = to_f16(v);
}

// Unit j of row b's new h rounded for the next step's GEMM (a.h_rounded set), once the unit's
// forward has written h, valid row or padded.
template <class T>
RECUR_HOST_DEVICE void cell_unit_h_rounded(const CellStepFwd<T>& a, int64_t b, int64_t j) {
  store_rounded(a.h_rounded, b * a.H + j, static_cast<float>(a.h[b * a.ld_h + j]));
}

// Unit j of row b's gate gradients dhp rounded for the step's dh GEMM (a.dhp_rounded set), once
// the unit's backward has written them.
template <CellKind Cell, class T>
RECUR_HOST_DEVICE void cell_unit_dhp_rounded(const CellStepBwd<T>& a, int64_t b, int64_t j) {
  const int64_t G = cell_gates(Cell) * a.H;
  for (int64_t k = 0; k < cell_gates(Cell); ++k) {
    const int64_t i = b * G + k * a.H + j;
    store_rounded(a.dhp_rounded, i, static_cast<float>(a.dhp[i]));
  }
}

// The layer's output of unit j, row b, once the unit's forward has written h (a.y set): h for a
// valid row, 0 for a padded one.
template <class T>
RECUR_HOST_DEVICE void cell_unit_output(const CellStepFwd<T>& a, int64_t b, int64_t j, bool valid) {
  a.y[b * a.ld_y + j] = valid ? a.h[b * a.ld_h + j] : T(0);
}

// A padded row passes its gradients straight through to the previous step (it has no output, so
// no dy either).
template <CellKind Cell, class T>
RECUR_HOST_DEVICE void cell_unit_bwd_padding(const CellStepBwd<T>& a, int64_t b, int64_t j) {
  const int64_t H = a.H, G = cell_gates(Cell) * H, u = b * H + j;
  for (int64_t k = 0; k < cell_gates(Cell); ++k) {
    a.dxp[b * a.ld_dxp + k * H + j] = T(0);
    a.dhp[b * G + k * H + j] = T(0);
  }
  a.dh_prev[u] = a.dh[u];
  if constexpr (Cell == CellKind::lstm) a.dc_prev[u] = a.dc_next[u];
}

// AddDy: a.dy is set (a template parameter, so the CPU loop over j has no branch in it).
template <CellKind Cell, bool AddDy, class T>
RECUR_HOST_DEVICE void cell_unit_bwd_valid(const CellStepBwd<T>& a, int64_t b, int64_t j) {
  using namespace cell_math;
  const int64_t H = a.H, G = cell_gates(Cell) * H, W = cell_cache_blocks(Cell) * H;
  const int64_t u = b * H + j;
  T dh = a.dh[u];
  if constexpr (AddDy) dh += a.dy[b * a.ld_dy + j];
  T* dxp = a.dxp + b * a.ld_dxp;
  T* dhp = a.dhp + b * G;
  const T* cache = a.cache + b * W;
  if constexpr (Cell == CellKind::rnn_tanh || Cell == CellKind::rnn_relu) {
    T d = Cell == CellKind::rnn_tanh ? rnn_tanh_bwd(dh, cache[j]) : rnn_relu_bwd(dh, cache[j]);
    dxp[j] = d;
    dhp[j] = d;
    a.dh_prev[u] = T(0);
  } else if constexpr (Cell == CellKind::leaky) {
    T da, direct;
    T d = leaky_bwd(dh, cache[j], a.h_prev[u], a.leak[j], &direct, &da);
    dxp[j] = d;
    dhp[j] = d;
    a.dh_prev[u] = direct;
    a.dleak_rows[u] += da;
  } else if constexpr (Cell == CellKind::gru) {
    GruCache<T> k{cache[j], cache[H + j], cache[2 * H + j], cache[3 * H + j]};
    T direct;
    gru_bwd(dh, k, a.h_prev[u], H, j, dxp, dhp, &direct);
    a.dh_prev[u] = direct;
  } else {
    LstmCache<T> k{cache[j], cache[H + j], cache[2 * H + j], cache[3 * H + j]};
    T dc_prev;
    lstm_bwd(dh, a.dc_next[u], k, a.c_prev[u], a.c[u], H, j, dxp, dhp, &dc_prev);
    a.dc_prev[u] = dc_prev;
    a.dh_prev[u] = T(0);
  }
}

template <CellKind Cell, class T>
RECUR_HOST_DEVICE void cell_unit_bwd(const CellStepBwd<T>& a, int64_t b, int64_t j, bool valid) {
  if (!valid)
    cell_unit_bwd_padding<Cell>(a, b, j);
  else if (a.dy)
    cell_unit_bwd_valid<Cell, true>(a, b, j);
  else
    cell_unit_bwd_valid<Cell, false>(a, b, j);
}

}  // namespace recur
