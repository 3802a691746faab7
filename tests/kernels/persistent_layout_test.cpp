// The persistent kernels' layout arithmetic (kernels/persistent_layout.h), on the numbers an H100
// and an H200 report (132 SMs, 232448 bytes of opt-in shared memory per block): which shapes fit
// at f32 and at bf16/f16 math, how rows are staged, the errors for what does not fit, and the
// largest H of each cell, precision and direction. Runs without a GPU.
#include <gtest/gtest.h>

#include "kernels/persistent_layout.h"

namespace recur {
namespace {

constexpr PersistentLimits kHopper{132, 232448};

// The bytes the layout of the header comment needs, written out independently of the code.
// f32: rows of H rounded up to 4 floats; 8 warps' 8x8 f32 tiles.
int64_t forward_f32_bytes(int64_t gates, int64_t units, int64_t H, int64_t rows) {
  const int64_t ld = (H + 3) / 4 * 4;
  return gates * units * ld * 4 + rows * ld * 4 + 8 * 64 * 4;
}
int64_t forward_mma_bytes(int64_t gates, int64_t units, int64_t H, int64_t rows) {
  const int64_t ld = (H + 15) / 16 * 16 + 8;
  const int64_t w_rows = (gates * units + 15) / 16 * 16;
  return w_rows * ld * 2 + rows * ld * 2 + 8 * 16 * 16 * 4;
}
// Columns of G = gates*H: f32 on CUDA cores (rows of G rounded up to 4, 8x8 tiles), or 16-bit on
// tensor cores (rows of G rounded up to 16 plus 8, columns padded to 8, 16x8 tiles).
int64_t backward_bytes(int64_t G, int64_t units, int64_t elem, int64_t rows) {
  if (elem == 4) {
    const int64_t ld = (G + 3) / 4 * 4;
    return (units * ld * 4 + 15) / 16 * 16 + rows * ld * 4 + 8 * 64 * 4;
  }
  const int64_t ld = (G + 15) / 16 * 16 + 8, w_rows = (units + 7) / 8 * 8;
  return (w_rows * ld * 2 + 15) / 16 * 16 + rows * ld * 2 + 8 * 16 * 8 * 4;
}

// `plan` fits, stages `chunk` rows at a time and takes `bytes` of shared memory.
void expect_fits(const PersistentPlan& plan, int64_t chunk, int64_t bytes) {
  ASSERT_EQ(plan.why_not, "");
  EXPECT_EQ(plan.chunk_rows, chunk);
  EXPECT_EQ(static_cast<int64_t>(plan.shared_bytes), bytes);
}

TEST(PersistentLayout, LstmH1024F32KeepsEightUnitsPerBlockAndStagesWhatFits) {
  const PersistentPlan one =
      persistent_layout(CellKind::lstm, 1024, 1, Precision::f32, false, kHopper);
  ASSERT_EQ(one.why_not, "");
  EXPECT_EQ(one.units, 8);     // ceil(1024 / 132)
  EXPECT_EQ(one.blocks, 128);  // ceil(1024 / 8): no block is empty
  EXPECT_EQ(one.chunk_rows, 1);
  EXPECT_EQ(static_cast<int64_t>(one.shared_bytes), forward_f32_bytes(4, 8, 1024, 1));
  EXPECT_EQ(one.precision, Precision::f32);
  EXPECT_FALSE(one.backward);

  // B = 64 does not fit in one chunk: as many rows as the room after W_hh's slice holds.
  const PersistentPlan many =
      persistent_layout(CellKind::lstm, 1024, 64, Precision::f32, false, kHopper);
  ASSERT_EQ(many.why_not, "");
  EXPECT_EQ(many.chunk_rows, (232448 - 4 * 8 * 1024 * 4 - 8 * 64 * 4) / (1024 * 4));
  EXPECT_LT(many.chunk_rows, 64);
  EXPECT_LE(static_cast<int64_t>(many.shared_bytes), kHopper.shared_per_block);
  EXPECT_EQ(static_cast<int64_t>(many.shared_bytes),
            forward_f32_bytes(4, 8, 1024, many.chunk_rows));
}

TEST(PersistentLayout, SixteenBitForwardStagesWholeTensorCoreTiles) {
  for (Precision precision : {Precision::bf16, Precision::f16})
    for (CellKind cell : {CellKind::lstm, CellKind::gru}) {
      SCOPED_TRACE(std::string(cell_name(cell)) + " " + precision_name(precision));
      const int64_t gates = cell_gates(cell);
      // Batch 3: one tile of 16 rows, the padding rows zero.
      const PersistentPlan small = persistent_layout(cell, 1024, 3, precision, false, kHopper);
      ASSERT_EQ(small.why_not, "");
      EXPECT_EQ(small.chunk_rows, 16);
      EXPECT_EQ(static_cast<int64_t>(small.shared_bytes), forward_mma_bytes(gates, 8, 1024, 16));
      EXPECT_EQ(small.precision, precision);
      // Batch 64 fits in one chunk at 16 bits (half the bytes of f32 per row).
      const PersistentPlan b64 = persistent_layout(cell, 1024, 64, precision, false, kHopper);
      ASSERT_EQ(b64.why_not, "");
      EXPECT_EQ(b64.chunk_rows, 64);
      // Batch 300 does not: chunks of a multiple of 16 rows, as many as fit.
      const PersistentPlan big = persistent_layout(cell, 1024, 300, precision, false, kHopper);
      ASSERT_EQ(big.why_not, "");
      EXPECT_EQ(big.chunk_rows % 16, 0);
      EXPECT_LT(big.chunk_rows, 300);
      EXPECT_LE(static_cast<int64_t>(big.shared_bytes), kHopper.shared_per_block);
      EXPECT_GT(forward_mma_bytes(gates, 8, 1024, big.chunk_rows + 16), kHopper.shared_per_block);
    }
  // An odd H pads K to 16 and the rows to whole 16-row tiles: gru H=37 keeps 3 rows, padded to 16.
  const PersistentPlan odd =
      persistent_layout(CellKind::gru, 37, 5, Precision::bf16, false, kHopper);
  expect_fits(odd, 16, forward_mma_bytes(3, 1, 37, 16));
  EXPECT_EQ(odd.units, 1);
  EXPECT_EQ(odd.blocks, 37);
  const PersistentSmem mma = persistent_smem(3, 37, 1, 2, false);
  EXPECT_EQ(mma.ld, 56);
  EXPECT_EQ(mma.w_rows, 16);
  // The f32 forward of the same shape: rows of 40 floats, no padding rows, any batch.
  expect_fits(persistent_layout(CellKind::gru, 37, 5, Precision::f32, false, kHopper), 5,
              forward_f32_bytes(3, 1, 37, 5));
}

TEST(PersistentLayout, BackwardKeepsColumnsAndStagesDgatesRows) {
  const PersistentPlan f32 =
      persistent_layout(CellKind::lstm, 1024, 8, Precision::f32, true, kHopper);
  ASSERT_EQ(f32.why_not, "");
  EXPECT_TRUE(f32.backward);
  EXPECT_EQ(f32.units, 8);
  const int64_t G = 4 * 1024;
  EXPECT_EQ(f32.chunk_rows, (232448 - 8 * G * 4 - 8 * 64 * 4) / (G * 4));
  EXPECT_EQ(static_cast<int64_t>(f32.shared_bytes), backward_bytes(G, 8, 4, f32.chunk_rows));
  // bf16: the 8 rows in one 16-row tensor-core tile.
  expect_fits(persistent_layout(CellKind::lstm, 1024, 8, Precision::bf16, true, kHopper), 16,
              backward_bytes(G, 8, 2, 16));
  // gru H=37: G = 111; f16 rows of 112 + 8, one unit padded to 8 columns; f32 rows of 112.
  expect_fits(persistent_layout(CellKind::gru, 37, 3, Precision::f16, true, kHopper), 16,
              backward_bytes(111, 1, 2, 16));
  expect_fits(persistent_layout(CellKind::gru, 37, 3, Precision::f32, true, kHopper), 3,
              backward_bytes(111, 1, 4, 3));
}

TEST(PersistentLayout, WhatDoesNotFitSaysWhy) {
  const PersistentPlan big =
      persistent_layout(CellKind::lstm, 4096, 8, Precision::f32, false, kHopper);
  EXPECT_NE(big.why_not.find("shared memory"), std::string::npos) << big.why_not;
  EXPECT_NE(big.why_not.find("H=4096"), std::string::npos) << big.why_not;
  EXPECT_NE(big.why_not.find("f32"), std::string::npos) << big.why_not;
  const PersistentPlan tanh =
      persistent_layout(CellKind::rnn_tanh, 64, 8, Precision::f32, false, kHopper);
  EXPECT_NE(tanh.why_not.find("lstm and gru"), std::string::npos) << tanh.why_not;
  EXPECT_FALSE(
      persistent_layout(CellKind::gru, 0, 8, Precision::f32, false, kHopper).why_not.empty());
  EXPECT_FALSE(
      persistent_layout(CellKind::gru, 64, 0, Precision::f32, false, kHopper).why_not.empty());
  EXPECT_FALSE(persistent_layout(CellKind::gru, 64, 8, Precision::f32, false, PersistentLimits{})
                   .why_not.empty());
}

// The largest H fits and the next does not; 16-bit operands fit larger H than f32 forward (the
// 16-bit backward stages whole 16-row tiles of dgates [G], so it stops below f32's, and larger H
// there run the fused backward); a card with more shared memory fits more.
TEST(PersistentLayout, LargestHiddenSizePerPrecisionAndDirection) {
  for (CellKind cell : {CellKind::lstm, CellKind::gru})
    for (bool backward : {false, true}) {
      int64_t f32_max = 0;
      for (Precision precision : {Precision::f32, Precision::bf16, Precision::f16}) {
        SCOPED_TRACE(std::string(cell_name(cell)) + (backward ? " backward " : " forward ") +
                     precision_name(precision));
        const int64_t most = persistent_max_hidden(cell, precision, backward, kHopper);
        ASSERT_GT(most, 1024);  // the H = 1024 fits every variant on these cards
        EXPECT_EQ(persistent_layout(cell, most, 1, precision, backward, kHopper).why_not, "");
        EXPECT_NE(persistent_layout(cell, most + 1, 1, precision, backward, kHopper).why_not, "");
        if (precision == Precision::f32) {
          f32_max = most;
        } else if (!backward) {
          EXPECT_GT(most, f32_max);
        }
        const PersistentLimits roomier{132, 2 * kHopper.shared_per_block};
        EXPECT_GT(persistent_max_hidden(cell, precision, backward, roomier), most);
      }
    }
  EXPECT_EQ(persistent_max_hidden(CellKind::rnn_tanh, Precision::f32, false, kHopper), 0);
}

// One thread-block cluster (the cluster barrier): at most 16 blocks, so each owns 1/16 of the
// units and only small layers fit: lstm H = 256 in f32, not H = 1024.
TEST(PersistentLayout, OneClusterHoldsOnlySmallLayers) {
  const PersistentLimits cluster{kPersistentMaxCluster, kHopper.shared_per_block};
  const PersistentPlan small =
      persistent_layout(CellKind::lstm, 256, 8, Precision::f32, false, cluster);
  expect_fits(small, 8, forward_f32_bytes(4, 16, 256, 8));
  EXPECT_EQ(small.blocks, 16);
  EXPECT_EQ(small.units, 16);
  EXPECT_NE(persistent_layout(CellKind::lstm, 1024, 8, Precision::f32, false, cluster).why_not, "");
  for (CellKind cell : {CellKind::lstm, CellKind::gru})
    for (bool backward : {false, true})
      for (Precision precision : {Precision::f32, Precision::bf16}) {
        const int64_t most = persistent_max_hidden(cell, precision, backward, cluster);
        EXPECT_GE(most, 256);
        EXPECT_LT(most, persistent_max_hidden(cell, precision, backward, kHopper));
      }
}

}  // namespace
}  // namespace recur
