// The persistent recurrent kernel (kernels/cuda/persistent_rnn.cu): ONE cooperative kernel runs
// all T steps of one direction of an lstm or gru layer, f32 tensors, no projection, with f32 or
// bf16/f16 GEMM operands (the plan's precision; at bf16/f16 the forward's W_hh h_{t-1} runs on
// tensor cores). Each block owns a contiguous slice of hidden units and computes every gate of
// those units for every batch row, so the cell update is local; its rows of W_hh sit in shared
// memory for the whole sequence. Per step
// a block stages h_{t-1} [B,H] from L2 into shared memory (in chunks of rows), forms its slice of
// W_hh h_{t-1}, runs the per-unit cell math of kernels/cell_step_unit.h, writes its slice of h_t
// (and c_t, the cache, y), then the whole grid waits at a grid-wide barrier.
// The backward mirrors it: each block keeps its COLUMN slice of W_hh (every gate row, its units'
// columns) on-chip; per step it runs the per-unit backward of its units (kernels/
// cell_step_unit.h), writing their entries of dgates; the grid waits; then it forms its units'
// part of dh_{t-1} = dgates W_hh from its columns. Its units' dh and dc stay local between steps.
// Kernels: persistent_rnn_fwd_kernel<Cell, ...> and persistent_rnn_bwd_kernel<Cell, ...> for
// Cell in {lstm, gru}; the forward's training variant (the cache pointer set) and inference variant
// (null) share one kernel.
// Header without CUDA: every pointer is device memory on GPU `device`.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/cell.h"
#include "kernels/persistent_layout.h"
#include "kernels/recurrent_engine.h"

namespace recur {

// The layout of a call (kernels/persistent_layout.h) on GPU `device`, or why it cannot run there:
// the card's SMs and shared memory, then whether every block can be resident at once. With the
// cluster barrier the grid is one thread-block cluster of at most kPersistentMaxCluster blocks
// (so each owns more units and only small H fit). Remembered per (device, shape, barrier,
// precision) after the first query.
// ASSUMPTION: cell is lstm or gru, f32 tensors, no projection (S = H); the engine checks these.
// backward: the plan of the backward kernel (it stages rows of dgates [G] instead of h [H]).
// barrier: the variant laid out and checked (grid_sync and counter: one block per SM); not auto.
// precision: of the GEMM operands (bf16/f16 keep W_hh in 16 bits; the forward uses tensor cores).
PersistentPlan persistent_plan(CellKind cell, int64_t H, int64_t B, int device,
                               bool backward = false,
                               PersistentBarrier barrier = PersistentBarrier::grid_sync,
                               Precision precision = Precision::f32);

// The largest H that persistent_plan runs at batch 1 on GPU `device` (shared memory and
// occupancy), 0 when none: what the card fits, per cell, precision, direction and barrier.
int64_t persistent_max_hidden_on(int device, CellKind cell, Precision precision, bool backward,
                                 PersistentBarrier barrier = PersistentBarrier::grid_sync);

// One direction's forward over T steps (the time loop of kernels/recurrent_seq_driver.h).
struct PersistentRnnFwd {
  int64_t B = 0, T = 0, H = 0;
  bool reverse = false;
  const int64_t* lengths = nullptr;  // [B] or null (all T)
  const float* xp = nullptr;         // [B,T,G] W_ih x, no bias
  const float* w_hh = nullptr;       // [G,H]
  const float* b_ih = nullptr;       // [G] (zeros when the layer has none)
  const float* b_hh = nullptr;       // [G]
  float* hp = nullptr;               // [B,G] scratch: each block writes and reads its own entries
  float* hs = nullptr;               // [slots,B,H] slot 0 holds h0; slots = T+1 (training) or 2
  float* cs = nullptr;               // [slots,B,H] lstm, slot 0 holds c0; null for gru
  float* cache = nullptr;            // [T,B,4H] training (cell_step_unit.h layout), or null
  float* y = nullptr;                // [B,T,ld] already offset to this direction's first column
  int64_t ld_y_step = 0;             //   ld: y's row width Y; y[b, t, j] at b*T*Y + t*Y + j
  unsigned* counter = nullptr;       // [1] zeroed: the counter barrier's arrivals (else unused)
};

// Launches the cooperative kernel on `stream` (a cudaStream_t) of GPU `device`, as `plan` says
// (its precision picks the variant), with `barrier` between steps. Slots are indexed by processing
// step s (t = reverse ? T-1-s : s), as the driver's.
void launch_persistent_rnn_fwd(CellKind cell, const PersistentRnnFwd& args,
                               const PersistentPlan& plan, int device, void* stream,
                               PersistentBarrier barrier = PersistentBarrier::grid_sync);

// One direction's backward over T steps, on what a training forward saved (the time loop of
// seq_driver::backward, no projection). Indexed by processing step s as the driver's.
struct PersistentRnnBwd {
  int64_t B = 0, T = 0, H = 0;
  bool reverse = false;
  const int64_t* lengths = nullptr;  // [B] or null (all T)
  const float* w_hh = nullptr;       // [G,H]
  const float* cache = nullptr;      // [T,B,W] saved cell activations (W = cell_cache_blocks * H)
  const float* hs = nullptr;         // [T+1,B,H] saved states (hs[s] is what step s read)
  const float* cs = nullptr;         // [T+1,B,H] lstm saved cell states; null for gru
  const float* dy = nullptr;         // [B,T,ld] offset to this direction's first column, or null
  int64_t ld_dy_step = 0;            //   ld: dy's row width Y
  float* dxp = nullptr;              // [B,T,G] written: gradient of W_ih x_t + b_ih
  float* dhp = nullptr;              // [T,B,G] written: gradient of W_hh h' + b_hh, by step s
  float* dh = nullptr;               // [B,H] in: gradient of h_n (zeros for none); out: of h0
  float* dh_other = nullptr;         // [B,H] scratch (dh and dh_other alternate)
  float* dh_total = nullptr;         // [B,H] scratch: the gradient reaching each step's h
  float* dc = nullptr;               // [B,H] lstm in: gradient of c_n (zeros); out: of c0
  float* dc_other = nullptr;         // [B,H] lstm scratch
  unsigned* counter = nullptr;       // [1] zeroed: the counter barrier's arrivals (else unused)
};

void launch_persistent_rnn_bwd(CellKind cell, const PersistentRnnBwd& args,
                               const PersistentPlan& plan, int device, void* stream,
                               PersistentBarrier barrier = PersistentBarrier::grid_sync);

}  // namespace recur
