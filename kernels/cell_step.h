// One time step of a recurrent cell over a batch, after the GEMMs: the pointwise part that turns
// gate pre-activations into the new state (forward), or the state gradient into gate gradients
// (backward). The arguments are raw pointers so the CPU reference and the CUDA kernels share them.
//
// Shapes (B rows, H units, G = cell_gates * H gate rows, S the recurrent state width: H, or P for
// an LSTM with projection). Rows whose step t is past their length (lengths[b] <= t) are padding:
// forward keeps their state (h = h', c = c') and backward passes dh and dc straight through.
// Without a projection the step also writes the layer's output y (forward) and adds the output's
// gradient dy (backward), saving the time loop a kernel per step on a GPU.
#pragma once

#include <cstdint>

#include "core/precision.h"
#include "kernels/cell.h"

namespace recur {

// A step's result rounded once more for the next step's GEMM at a mixed math precision
// (kernels/mixed_gemm.h), written by the step itself so no separate rounding runs per step:
// contiguous, in the storage of mixed_gemm.h's rounded operands (rounded_storage).
struct RoundedCopy {
  void* data = nullptr;  // null: none
  Precision precision = Precision::f32;
  bool narrow = false;  // bf16/f16 storage (a GPU); else f32 holding the rounded values (the CPU)
};

// Which rows of a batch are valid at time t: those with t < lengths[b] (all when lengths is null).
struct RowMask {
  int64_t B = 0;
  int64_t t = 0;
  const int64_t* lengths = nullptr;  // [B] in the memory of the device that runs the step, or null
};

template <class T>
struct CellStepFwd {
  int64_t B = 0, H = 0;
  int64_t t = 0;                     // this step's time index, for the lengths mask
  const int64_t* lengths = nullptr;  // [B] or null (all rows valid)
  const T* xp = nullptr;             // [B,G] row stride ld_xp; W_ih x_t, no bias
  int64_t ld_xp = 0;
  const T* hp = nullptr;      // [B,G] contiguous; W_hh h_{t-1}, no bias
  const T* b_ih = nullptr;    // [G]
  const T* b_hh = nullptr;    // [G]
  const T* h_prev = nullptr;  // [B,H] state (not lstm; the lstm state is c and m is new)
  const T* c_prev = nullptr;  // [B,H] lstm cell state
  const T* leak = nullptr;    // [H] leaky
  T* h = nullptr;             // [B,H] row stride ld_h: new h (lstm: m = o tanh(c)); masked
  int64_t ld_h = 0;           //   rows get h_prev (lstm: m_prev, see below)
  const T* m_prev = nullptr;  // [B,H] lstm only: masked rows copy it into h (may be null
                              //   when the layer fixes masked rows itself, as projection does)
  T* c = nullptr;             // [B,H] lstm new cell state
  T* cache = nullptr;         // [B, cell_cache_blocks * H] or null (inference)
  T* y = nullptr;             // [B,H] row stride ld_y, or null: the layer's output at step t
  int64_t ld_y = 0;           //   (no projection): h for valid rows, 0 for padded ones
  RoundedCopy h_rounded;      // [B,H]: h rounded for the next step's W_hh GEMM (f32 T only)
};

template <class T>
struct CellStepBwd {
  int64_t B = 0, H = 0;
  int64_t t = 0;
  const int64_t* lengths = nullptr;  // [B] or null
  const T* dh = nullptr;             // [B,H] gradient reaching this step's h (lstm: m) from
                                     //   step t+1 (plus dy, when given)
  const T* dy = nullptr;             // [B,H] row stride ld_dy, or null: the output's gradient
  int64_t ld_dy = 0;                 //   at step t, added to dh in valid rows (no projection)
  const T* dc_next = nullptr;        // [B,H] lstm: gradient reaching c_t from step t+1
  const T* cache = nullptr;          // [B, cell_cache_blocks * H] from the forward
  const T* h_prev = nullptr;         // [B,H] gru, leaky: the state before this step
  const T* c_prev = nullptr;         // [B,H] lstm
  const T* c = nullptr;              // [B,H] lstm: c_t
  const T* leak = nullptr;           // [H] leaky
  T* dxp = nullptr;                  // [B,G] row stride ld_dxp: gradient of W_ih x_t (+ b_ih)
  int64_t ld_dxp = 0;
  T* dhp = nullptr;         // [B,G] contiguous: gradient of W_hh h' (+ b_hh)
  T* dh_prev = nullptr;     // [B,H] written: the direct (non-GEMM) part of dh_{t-1},
                            //   dh itself for masked rows, 0 where there is none
  T* dc_prev = nullptr;     // [B,H] lstm: written
  T* dleak_rows = nullptr;  // [B,H] leaky: accumulated (+=) d(a) per row
  RoundedCopy dhp_rounded;  // [B,G]: dhp rounded for this step's dh GEMM (f32 T only)
};

// CPU reference, threaded over the batch. T is float or double.
template <class T>
void cell_step_fwd_ref(CellKind cell, const CellStepFwd<T>& a);
template <class T>
void cell_step_bwd_ref(CellKind cell, const CellStepBwd<T>& a);

}  // namespace recur
