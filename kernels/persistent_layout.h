// How the persistent kernels (kernels/cuda/persistent_rnn.h) lay one call out on a GPU, as plain
// arithmetic on the card's SM count and shared memory per block, so the fit of every (cell, H, B,
// math precision, direction) is known, and testable, without a GPU; and the largest H each
// precision fits on a card.
//
// Shared memory per block (PersistentSmem below: one definition for the host's plan and the
// kernels' pointers), in this order:
//   w     the block's part of W_hh, loaded once (rounded to 16 bits at bf16/f16 math)
//           forward: its gates*units rows of W_hh [., H]; backward: its units columns, transposed
//           [., G] (G = gates*H)
//   stage rows of h_{t-1} [., H] (forward) or of dgates_t [., G] (backward), chunk_rows at a time
//   part  the warps' partial product tiles (kernels/cuda/block_product.cuh)
// Rows are ld elements apart, zero-padded past H (G). The f32 forward and backward multiply on
// CUDA cores (8x8 tiles, ld a multiple of 4). At bf16/f16 both run on tensor cores: the forward in
// 16x16x16 tiles (w padded to a multiple of 16 rows, chunk_rows a multiple of 16), the backward
// in 16x8x16 tiles (16 staged dgates rows by 8 of its columns: w padded to a multiple of 8 rows,
// chunk_rows a multiple of 16); there ld = round_up(H or G, 16) + 8, a multiple of 8 that is not
// one of 16, so consecutive rows start in different banks.
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
// The CUDA-core tile (block_product_simt): 8 rows of A x 8 rows of Bt.
inline constexpr int kSimtTile = 8 * 8;
// The tensor-core tile of the 16-bit forward (nvcuda::wmma m16n16k16): 16 rows of W_hh x 16 batch
// rows, 16 deep. (m32n8k16 would fit batch 8 exactly but pads W_hh's rows to 32: a gru block's
// 36 rows would take 64, and the largest H would shrink below f32's.)
inline constexpr int kMmaRows = 16, kMmaCols = 16, kMmaDepth = 16;

RECUR_HOST_DEVICE int64_t round_up(int64_t n, int64_t to) {
  return (n + to - 1) / to * to;
}

// Where a block's shared memory goes (bytes; w at offset 0, the staged rows at w_bytes, part at
// w_bytes + chunk_rows * row_bytes).
struct PersistentSmem {
  int64_t ld = 0;            // elements between consecutive rows of w and of the staged rows
  int64_t w_rows = 0;        // rows of w (padding rows included)
  int64_t w_bytes = 0;       // a multiple of 16
  int64_t row_bytes = 0;     // one staged row
  int64_t part_bytes = 0;    // the partial tiles
  int64_t row_multiple = 1;  // chunk_rows is a multiple of it
};

// gates: of the cell; units: hidden units per block; elem: bytes of an operand (4 at f32 math, 2
// at bf16/f16: the forward then runs on tensor cores).
RECUR_HOST_DEVICE PersistentSmem persistent_smem(int64_t gates, int64_t H, int64_t units,
                                                 int64_t elem, bool backward) {
  PersistentSmem m;
  if (!backward && elem == 2) {  // tensor cores: whole 16x16x16 tiles
    m.ld = round_up(H, kMmaDepth) + 8;
    m.w_rows = round_up(gates * units, kMmaRows);
    m.part_bytes = int64_t{kPersistentWarps} * kMmaRows * kMmaCols * 4;
    m.row_multiple = kMmaCols;
  } else if (elem == 2) {  // tensor cores: 16 rows of dgates x 8 columns of W_hh, 16 deep
    m.ld = round_up(gates * H, 16) + 8;
    m.w_rows = round_up(units, 8);
    m.part_bytes = int64_t{kPersistentWarps} * 16 * 8 * 4;
    m.row_multiple = 16;
  } else {  // CUDA cores: rows of 4-element groups
    m.ld = round_up(backward ? gates * H : H, 4);
    m.w_rows = backward ? units : gates * units;
    m.part_bytes = int64_t{kPersistentWarps} * kSimtTile * 4;
  }
  m.w_bytes = round_up(m.w_rows * m.ld * elem, 16);
  m.row_bytes = m.ld * elem;
  return m;
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
  bool cluster = false;                  // one thread-block cluster (else one block per SM)
};

// The most blocks of one thread-block cluster the persistent kernels use (Hopper's non-portable
// maximum; portable clusters stop at 8).
inline constexpr int kPersistentMaxCluster = 16;

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
