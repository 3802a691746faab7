// CPU reference of one cell time step, forward and backward, for every cell kind: the gate math
// comes from kernels/cell_math.h; this file only loops over rows (threaded) and units, and
// applies the padding mask.
#include <algorithm>
#include <cstring>

#include "core/parallel.h"
#include "kernels/cell_math.h"
#include "kernels/cell_step.h"

namespace recur {

namespace {

bool row_valid(const int64_t* lengths, int64_t b, int64_t t) {
  return !lengths || t < lengths[b];
}

// Rows per parallel chunk: keep at least ~16K units of work per thread.
int64_t row_grain(int64_t H) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(H, 1));
}

template <class T>
void fwd_row(CellKind cell, const CellStepFwd<T>& a, int64_t b) {
  using namespace cell_math;
  const int64_t H = a.H, G = cell_gates(cell) * H, W = cell_cache_blocks(cell) * H;
  T* h = a.h + b * a.ld_h;
  if (!row_valid(a.lengths, b, a.t)) {
    if (cell == CellKind::lstm) {
      std::memcpy(a.c + b * H, a.c_prev + b * H, H * sizeof(T));
      if (a.m_prev) std::memcpy(h, a.m_prev + b * H, H * sizeof(T));
    } else {
      std::memcpy(h, a.h_prev + b * H, H * sizeof(T));
    }
    if (a.cache) std::fill(a.cache + b * W, a.cache + (b + 1) * W, T(0));
    return;
  }
  const T* xp = a.xp + b * a.ld_xp;
  const T* hp = a.hp + b * G;
  T* cache = a.cache ? a.cache + b * W : nullptr;
  switch (cell) {
    case CellKind::rnn_tanh:
    case CellKind::rnn_relu:
      for (int64_t j = 0; j < H; ++j) {
        T pre = gate_pre(xp, hp, a.b_ih, a.b_hh, H, 0, j);
        h[j] = cell == CellKind::rnn_tanh ? rnn_tanh_fwd(pre) : rnn_relu_fwd(pre);
        if (cache) cache[j] = h[j];
      }
      break;
    case CellKind::leaky:
      for (int64_t j = 0; j < H; ++j) {
        T u;
        h[j] = leaky_fwd(gate_pre(xp, hp, a.b_ih, a.b_hh, H, 0, j), a.h_prev[b * H + j], a.leak[j],
                         &u);
        if (cache) cache[j] = u;
      }
      break;
    case CellKind::gru:
      for (int64_t j = 0; j < H; ++j) {
        GruCache<T> k;
        h[j] = gru_fwd(xp, hp, a.b_ih, a.b_hh, H, j, a.h_prev[b * H + j], &k);
        if (cache) {
          cache[j] = k.r;
          cache[H + j] = k.z;
          cache[2 * H + j] = k.n;
          cache[3 * H + j] = k.hn;
        }
      }
      break;
    case CellKind::lstm:
      for (int64_t j = 0; j < H; ++j) {
        LstmCache<T> k;
        h[j] = lstm_fwd(xp, hp, a.b_ih, a.b_hh, H, j, a.c_prev[b * H + j], &a.c[b * H + j], &k);
        if (cache) {
          cache[j] = k.i;
          cache[H + j] = k.f;
          cache[2 * H + j] = k.g;
          cache[3 * H + j] = k.o;
        }
      }
      break;
  }
}

template <class T>
void bwd_row(CellKind cell, const CellStepBwd<T>& a, int64_t b) {
  using namespace cell_math;
  const int64_t H = a.H, G = cell_gates(cell) * H, W = cell_cache_blocks(cell) * H;
  const T* dh = a.dh + b * H;
  T* dxp = a.dxp + b * a.ld_dxp;
  T* dhp = a.dhp + b * G;
  T* dh_prev = a.dh_prev + b * H;
  if (!row_valid(a.lengths, b, a.t)) {
    std::fill(dxp, dxp + G, T(0));
    std::fill(dhp, dhp + G, T(0));
    std::memcpy(dh_prev, dh, H * sizeof(T));
    if (cell == CellKind::lstm) std::memcpy(a.dc_prev + b * H, a.dc_next + b * H, H * sizeof(T));
    return;
  }
  const T* cache = a.cache + b * W;
  switch (cell) {
    case CellKind::rnn_tanh:
    case CellKind::rnn_relu:
      for (int64_t j = 0; j < H; ++j) {
        T d = cell == CellKind::rnn_tanh ? rnn_tanh_bwd(dh[j], cache[j])
                                         : rnn_relu_bwd(dh[j], cache[j]);
        dxp[j] = d;
        dhp[j] = d;
        dh_prev[j] = T(0);
      }
      break;
    case CellKind::leaky:
      for (int64_t j = 0; j < H; ++j) {
        T da;
        T d = leaky_bwd(dh[j], cache[j], a.h_prev[b * H + j], a.leak[j], &dh_prev[j], &da);
        dxp[j] = d;
        dhp[j] = d;
        a.dleak_rows[b * H + j] += da;
      }
      break;
    case CellKind::gru:
      for (int64_t j = 0; j < H; ++j) {
        GruCache<T> k{cache[j], cache[H + j], cache[2 * H + j], cache[3 * H + j]};
        gru_bwd(dh[j], k, a.h_prev[b * H + j], H, j, dxp, dhp, &dh_prev[j]);
      }
      break;
    case CellKind::lstm:
      for (int64_t j = 0; j < H; ++j) {
        LstmCache<T> k{cache[j], cache[H + j], cache[2 * H + j], cache[3 * H + j]};
        lstm_bwd(dh[j], a.dc_next[b * H + j], k, a.c_prev[b * H + j], a.c[b * H + j], H, j, dxp,
                 &a.dc_prev[b * H + j]);
        dh_prev[j] = T(0);
      }
      std::memcpy(dhp, dxp, G * sizeof(T));
      break;
  }
}

}  // namespace

template <class T>
void cell_step_fwd_ref(CellKind cell, const CellStepFwd<T>& a) {
  parallel_for(a.B, row_grain(a.H), [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) fwd_row(cell, a, b);
  });
}

template <class T>
void cell_step_bwd_ref(CellKind cell, const CellStepBwd<T>& a) {
  parallel_for(a.B, row_grain(a.H), [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) bwd_row(cell, a, b);
  });
}

template void cell_step_fwd_ref<float>(CellKind, const CellStepFwd<float>&);
template void cell_step_fwd_ref<double>(CellKind, const CellStepFwd<double>&);
template void cell_step_bwd_ref<float>(CellKind, const CellStepBwd<float>&);
template void cell_step_bwd_ref<double>(CellKind, const CellStepBwd<double>&);

}  // namespace recur
