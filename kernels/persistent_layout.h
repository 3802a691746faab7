// How the persistent kernels (kernels/cuda/persistent_rnn.h) lay one call out on a GPU, as plain
// arithmetic on the card's SM count and shared memory per block, so the fit of every (cell, H, B,
// math precision, direction) is known, and testable, without a GPU; and the largest H each
// precision fits on a card.
//
// Shared memory per block, forward (a block owns `units` hidden units, all gates of them):
//   f32        w    [gates*units, H] f32           its rows of W_hh
//              hbuf [chunk_rows, H] f32            rows of h_{t-1} staged per chunk
//   bf16/f16   w    [mma_rows, ld] 16-bit          its rows of W_hh rounded, zero-padded to a
//                                                  multiple of 16 rows and K = H padded to 16
//              hbuf [chunk_rows, ld] 16-bit        rows of h_{t-1} rounded (chunk_rows % 16 == 0)
//              part [kPersistentWarps, 16*16] f32  the warps' partial tensor-core tiles
// backward (a block owns `units` columns of W_hh, every gate row G = gates*H):
//   w    [units, G] f32 or 16-bit                  its columns of W_hh, transposed (rounded)
//   dbuf [chunk_rows, G] f32 or 16-bit             rows of dgates_t staged per chunk (rounded)
// ld = round_up(H, 16) + 8: a multiple of 8 (the tensor cores' 16-byte rows) that is not a
// multiple of 16, so consecutive rows start in different shared-memory banks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "core/host_device.h"
#include "core/precision.h"
#include "kernels/cell.h"

namespace recur {

inline constexpr int kPersistentThreads = 256;
inline constexpr int kPersistentWarps = kPersistentThreads / 32;
// The tensor-core tile of the 16-bit forward (nvcuda::wmma m16n16k16): 16 rows of W_hh x 16 batch
// rows, 16 deep. (m32n8k16 would fit batch 8 exactly but pads W_hh's rows to 32: a gru block's
// 36 rows would take 64, and the largest H would shrink below f32's.)
inline constexpr int kMmaRows = 16, kMmaCols = 16, kMmaDepth = 16;

RECUR_HOST_DEVICE int64_t round_up(int64_t n, int64_t to) {
  return (n + to - 1) / to * to;
}
// The row stride (elements) of the 16-bit forward's shared W_hh rows and staged h rows.
RECUR_HOST_DEVICE int64_t persistent_mma_ld(int64_t H) {
  return round_up(H, kMmaDepth) + 8;
}
// The rows of W_hh a block keeps in the 16-bit forward: gates*units padded to whole tiles.
RECUR_HOST_DEVICE int64_t persistent_mma_rows(int64_t gates, int64_t units) {
  return round_up(gates * units, kMmaRows);
}
// Bytes of the 16-bit forward's partial tile sums, one f32 tile per warp.
RECUR_HOST_DEVICE int64_t persistent_mma_part_bytes() {
  return int64_t{kPersistentWarps} * kMmaRows * kMmaCols * 4;
}
// Bytes of the backward's W_hh columns (units x G operands of `elem` bytes), rounded up to 16 so
// the staged rows after them stay aligned.
RECUR_HOST_DEVICE int64_t persistent_bwd_w_bytes(int64_t units, int64_t G, int64_t elem) {
  return round_up(units * G * elem, 16);
}

// What a card offers the persistent kernels.
struct PersistentLimits {
  int sms = 0;                   // streaming multiprocessors: one block each at most
  int64_t shared_per_block = 0;  // bytes of dynamic shared memory a block may opt in to
};

// How a call is laid out, or why it cannot run.
struct PersistentPlan {
  std::string why_not;      // empty when the call fits
  int blocks = 0;           // grid size: one block per SM at most, every block co-resident
  int units = 0;            // hidden units per block (the last block may own fewer)
  int chunk_rows = 0;       // batch rows of h_{t-1} (dgates backward) staged at a time
  size_t shared_bytes = 0;  // dynamic shared memory per block
  Precision precision = Precision::f32;  // of the GEMM operands it was laid out for
  bool backward = false;                 // the backward kernel's layout
};

// The layout of lstm or gru (else why_not says so), hidden size H, batch B, GEMM operands at
// `precision`, forward or backward, on a card with `limits`. Pure arithmetic: the occupancy check
// of the real kernel is persistent_plan's (kernels/cuda/persistent_rnn.h).
PersistentPlan persistent_layout(CellKind cell, int64_t H, int64_t B, Precision precision,
                                 bool backward, const PersistentLimits& limits);

// The largest H whose layout fits at batch 1 (the batch only changes how many rows are staged at
// a time), 0 when none does.
int64_t persistent_max_hidden(CellKind cell, Precision precision, bool backward,
                              const PersistentLimits& limits);
// The largest H for which `fits(H)` holds, given that the H that fit form one range [1, max]
// (a block's bytes never shrink as H grows); 0 when H = 1 does not fit.
int64_t largest_fitting_hidden(const std::function<bool(int64_t)>& fits);

}  // namespace recur
