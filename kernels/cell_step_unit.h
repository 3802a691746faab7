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

template <CellKind Cell, class T>
RECUR_HOST_DEVICE void cell_unit_fwd(const CellStepFwd<T>& a, int64_t b, int64_t j, bool valid) {
  using namespace cell_math;
  const int64_t H = a.H, G = cell_gates(Cell) * H, W = cell_cache_blocks(Cell) * H;
  T* h = a.h + b * a.ld_h;
  T* cache = a.cache ? a.cache + b * W : nullptr;
  const int64_t u = b * H + j;
  if (!valid) {  // padding: keep the state
    if (Cell == CellKind::lstm) {
      a.c[u] = a.c_prev[u];
      if (a.m_prev) h[j] = a.m_prev[u];
    } else {
      h[j] = a.h_prev[u];
    }
    if (cache)
      for (int64_t k = 0; k < cell_cache_blocks(Cell); ++k) cache[k * H + j] = T(0);
    return;
  }
  const T* xp = a.xp + b * a.ld_xp;
  const T* hp = a.hp + b * G;
  if (Cell == CellKind::rnn_tanh || Cell == CellKind::rnn_relu) {
    T pre = gate_pre(xp, hp, a.b_ih, a.b_hh, H, 0, j);
    h[j] = Cell == CellKind::rnn_tanh ? rnn_tanh_fwd(pre) : rnn_relu_fwd(pre);
    if (cache) cache[j] = h[j];
  } else if (Cell == CellKind::leaky) {
    T act;
    h[j] = leaky_fwd(gate_pre(xp, hp, a.b_ih, a.b_hh, H, 0, j), a.h_prev[u], a.leak[j], &act);
    if (cache) cache[j] = act;
  } else if (Cell == CellKind::gru) {
    GruCache<T> k;
    h[j] = gru_fwd(xp, hp, a.b_ih, a.b_hh, H, j, a.h_prev[u], &k);
    if (cache) {
      cache[j] = k.r;
      cache[H + j] = k.z;
      cache[2 * H + j] = k.n;
      cache[3 * H + j] = k.hn;
    }
  } else {
    LstmCache<T> k;
    h[j] = lstm_fwd(xp, hp, a.b_ih, a.b_hh, H, j, a.c_prev[u], &a.c[u], &k);
    if (cache) {
      cache[j] = k.i;
      cache[H + j] = k.f;
      cache[2 * H + j] = k.g;
      cache[3 * H + j] = k.o;
    }
  }
}

template <CellKind Cell, class T>
RECUR_HOST_DEVICE void cell_unit_bwd(const CellStepBwd<T>& a, int64_t b, int64_t j, bool valid) {
  using namespace cell_math;
  const int64_t H = a.H, G = cell_gates(Cell) * H, W = cell_cache_blocks(Cell) * H;
  const int64_t u = b * H + j;
  const T dh = a.dh[u];
  T* dxp = a.dxp + b * a.ld_dxp;
  T* dhp = a.dhp + b * G;
  if (!valid) {  // padding: gradients pass straight through to the previous step
    for (int64_t k = 0; k < cell_gates(Cell); ++k) {
      dxp[k * H + j] = T(0);
      dhp[k * H + j] = T(0);
    }
    a.dh_prev[u] = dh;
    if (Cell == CellKind::lstm) a.dc_prev[u] = a.dc_next[u];
    return;
  }
  const T* cache = a.cache + b * W;
  if (Cell == CellKind::rnn_tanh || Cell == CellKind::rnn_relu) {
    T d = Cell == CellKind::rnn_tanh ? rnn_tanh_bwd(dh, cache[j]) : rnn_relu_bwd(dh, cache[j]);
    dxp[j] = d;
    dhp[j] = d;
    a.dh_prev[u] = T(0);
  } else if (Cell == CellKind::leaky) {
    T da;
    T d = leaky_bwd(dh, cache[j], a.h_prev[u], a.leak[j], &a.dh_prev[u], &da);
    dxp[j] = d;
    dhp[j] = d;
    a.dleak_rows[u] += da;
  } else if (Cell == CellKind::gru) {
    GruCache<T> k{cache[j], cache[H + j], cache[2 * H + j], cache[3 * H + j]};
    gru_bwd(dh, k, a.h_prev[u], H, j, dxp, dhp, &a.dh_prev[u]);
  } else {
    LstmCache<T> k{cache[j], cache[H + j], cache[2 * H + j], cache[3 * H + j]};
    lstm_bwd(dh, a.dc_next[u], k, a.c_prev[u], a.c[u], H, j, dxp, dhp, &a.dc_prev[u]);
    a.dh_prev[u] = T(0);
  }
}

}  // namespace recur
