// One thread block's matrix product from operands already in shared memory, the inner step of the
// persistent kernels (kernels/cuda/persistent_rnn.cu):
//   out[m, n] = sum_k A[m, k] * Bt[n, k]     m < M, n < N, k < K
// A [M, lda] and Bt [N, ldb] are row-major (Bt is B transposed: both run along k), in f32 or in
// recur's 16-bit storage types (core/half.h); products and sums are f32. `store(m, n, value)`
// receives every element once. Every thread of the block calls it (it synchronises the block);
// `part` is shared scratch of kWarps tiles of f32.
//
// The output is cut into tiles, and the tiles into K parts where there are fewer tiles than warps,
// one (tile, part) per warp at a time; each tile's parts are then summed in part order. Nothing
// depends on timing, so two runs give the same bits. Two ways to form a tile:
//   block_product_simt  8 x 8 tiles (8 x 1 where N is 1) on CUDA cores: each lane multiplies 4
//                       consecutive k of 8 rows of A by the same k of 8 rows of Bt (64 FMAs per
//                       16 vector loads), then the warp sums its lanes (a reduce-scatter).
//                       K a multiple of 4 (zero-padded), lda and ldb multiples of 4, A and Bt
//                       16-byte aligned; M and N any (the last tile's extra rows read a real row
//                       and are not stored). part: kWarps * 64 floats.
//   block_product_mma   16 x 16 tiles on tensor cores (nvcuda::wmma m16n16k16), 16-bit operands
//                       only: M, N and K multiples of 16 (zero-padded), lda and ldb multiples of
//                       8, A, Bt and part 32-byte aligned. part: kWarps * 256 floats. sm_80+.
//   block_product_mma_16x8  16 x 8 tiles on tensor cores (PTX mma.sync m16n8k16), 16-bit
//                       operands only, for an N of 8 (the backward's units per block, where a
//                       16-row Bt would not fit): M a multiple of 16, N of 8, K of 16 (rows past
//                       the real ones readable, their sums not stored; columns past the real K
//                       zero), lda and ldb even, A and Bt 4-byte aligned. part: kWarps * 128
//                       floats. sm_80+.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>

#include <cstdint>
#include <type_traits>

#include "core/half.h"
#include "kernels/persistent_layout.h"

namespace recur {

// Runs tile(m0, n0, k_begin, k_end, slot) once per (tile, K part): a warp-collective call that
// writes the tile's partial sums over [k_begin, k_end) into slot [kRows * kCols] row-major; then
// sums each tile's parts and stores the elements inside M x N. K is a multiple of kQuantum, and
// every part's range is too.
template <int kWarps, int kRows, int kCols, int kQuantum, class Tile, class Store>
__device__ __forceinline__ void block_tiles(int64_t M, int64_t N, int64_t K, float* part, Tile tile,
                                            Store store) {
  constexpr int kTile = kRows * kCols;
  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int64_t row_tiles = (M + kRows - 1) / kRows;
  const int64_t tiles = row_tiles * ((N + kCols - 1) / kCols);
  const int64_t split = tiles >= kWarps ? 1 : kWarps / tiles;  // warps per tile
  const int64_t quanta = K / kQuantum, per_part = (quanta + split - 1) / split;
  const int64_t tasks = tiles * split;  // task = part * tiles + tile
  // With split > 1 every task fits in one round; else a round takes up to kWarps tiles.
  for (int64_t round0 = 0; round0 < tasks; round0 += kWarps) {
    const int64_t task = round0 + warp;
    if (task < tasks) {
      const int64_t t = task % tiles, part_no = task / tiles;
      const int64_t k_end = min(quanta, (part_no + 1) * per_part) * kQuantum;
      tile(t % row_tiles * kRows, t / row_tiles * kCols, min(part_no * per_part * kQuantum, k_end),
           k_end, part + (task - round0) * kTile);
    }
    __syncthreads();
    // This round's tiles: all of them (split > 1), or tiles round0 .. round0 + kWarps - 1.
    const int64_t first = split > 1 ? 0 : round0;
    const int64_t count = split > 1 ? tiles : min(int64_t{kWarps}, tiles - round0);
    for (int64_t e = threadIdx.x; e < count * kTile; e += blockDim.x) {
      const int64_t local = e / kTile, i = e % kTile, t = first + local;
      const int64_t m = t % row_tiles * kRows + i / kCols, n = t / row_tiles * kCols + i % kCols;
      if (m >= M || n >= N) continue;
      float sum = 0.f;
      for (int64_t p = 0; p < split; ++p) sum += part[(p * tiles + local) * kTile + i];
      store(m, n, sum);
    }
    __syncthreads();  // part is refilled by the next round; stores are seen block-wide
  }
}

// Four consecutive operands from p (16-byte aligned for f32, 8-byte for 16-bit), as floats.
__device__ __forceinline__ void load4(const float* p, float (&out)[4]) {
  const float4 v = *reinterpret_cast<const float4*>(p);
  out[0] = v.x;
  out[1] = v.y;
  out[2] = v.z;
  out[3] = v.w;
}
template <class Half>
__device__ __forceinline__ void load4(const Half* p, float (&out)[4]) {
  const uint2 v = *reinterpret_cast<const uint2*>(p);
  const uint32_t words[2] = {v.x, v.y};
#pragma unroll
  for (int q = 0; q < 4; ++q) {
    Half h;
    h.bits = static_cast<uint16_t>(words[q / 2] >> (16 * (q % 2)));  // little-endian pairs
    out[q] = to_float(h);
  }
}

inline constexpr int kSimtRows = 8;

// One step of a warp's reduce-scatter (block_product_simt): lanes that differ in bit kMask swap
// halves of their first 2*kHalf values and add, each keeping the upper half where its bit is set
// (base grows by kHalf there); with kHalf 0 a plain butterfly add of acc[0]. Template arguments
// keep every index a constant, so acc stays in registers.
template <int kHalf, int kMask, int kN>
__device__ __forceinline__ void reduce_scatter_step(float (&acc)[kN], int lane, int& base) {
  if constexpr (kHalf >= 1) {
    const bool upper = (lane & kMask) != 0;
#pragma unroll
    for (int j = 0; j < kHalf; ++j) {
      const float send = upper ? acc[j] : acc[j + kHalf];
      const float keep = upper ? acc[j + kHalf] : acc[j];
      acc[j] = keep + __shfl_xor_sync(0xffffffffu, send, kMask);
    }
    base += upper ? kHalf : 0;
  } else {
    acc[0] += __shfl_xor_sync(0xffffffffu, acc[0], kMask);
  }
}

// kCols: 8, or 1 where Bt has one row (batch 1: the latency case, no wasted products).
template <int kWarps, int kCols, class Operand, class Store>
__device__ void block_product_simt(const Operand* A, int64_t lda, int64_t M, const Operand* Bt,
                                   int64_t ldb, int64_t N, int64_t K, float* part, Store store) {
  static_assert(kCols == 1 || kCols == 8, "8x8 or 8x1 tiles");
  constexpr int kValues = kSimtRows * kCols;  // a lane's partial sums: 64 or 8
  const int lane = static_cast<int>(threadIdx.x) % 32;
  auto tile = [&](int64_t m0, int64_t n0, int64_t k_begin, int64_t k_end, float* slot) {
    float acc[kValues];
#pragma unroll
    for (int i = 0; i < kValues; ++i) acc[i] = 0.f;
    // Rows past M (N) read the last real row: their sums are never stored.
    const Operand* a_rows[kSimtRows];
    const Operand* b_rows[kCols];
#pragma unroll
    for (int r = 0; r < kSimtRows; ++r) a_rows[r] = A + min(m0 + r, M - 1) * lda;
#pragma unroll
    for (int c = 0; c < kCols; ++c) b_rows[c] = Bt + min(n0 + c, N - 1) * ldb;
    for (int64_t k = k_begin + 4 * lane; k < k_end; k += 4 * 32) {
      float b[kCols][4];
#pragma unroll
      for (int c = 0; c < kCols; ++c) load4(b_rows[c] + k, b[c]);
#pragma unroll
      for (int r = 0; r < kSimtRows; ++r) {
        float a[4];
        load4(a_rows[r] + k, a);
#pragma unroll
        for (int c = 0; c < kCols; ++c)
#pragma unroll
          for (int q = 0; q < 4; ++q) acc[r * kCols + c] = fmaf(a[q], b[c][q], acc[r * kCols + c]);
      }
    }
    // Sum the values over the 32 lanes, a reduce-scatter: at each step a lane keeps one half of
    // its values (the upper half where its lane bit `mask` is set), sends the other half to the
    // lane that keeps it, and adds what it receives (62 shuffles for 64 values). With 64 values,
    // after 5 steps lane l holds the sums of elements base and base + 1, base = 32*b4 + 16*b3 +
    // 8*b2 + 4*b1 + 2*b0 (b_i: bit i of l). With 8, after 3 steps lane l holds element 4*b4 +
    // 2*b3 + b2 summed over 8 lanes, and two plain butterfly steps add the lanes that differ in
    // bits 1 and 0.
    int base = 0;
    reduce_scatter_step<kValues / 2, 16>(acc, lane, base);
    reduce_scatter_step<kValues / 4, 8>(acc, lane, base);
    reduce_scatter_step<kValues / 8, 4>(acc, lane, base);
    reduce_scatter_step<kValues / 16, 2>(acc, lane, base);
    reduce_scatter_step<kValues / 32, 1>(acc, lane, base);
    if constexpr (kValues == 64) {
      slot[base] = acc[0];
      slot[base + 1] = acc[1];
    } else if ((lane & 3) == 0) {  // lanes that differ in bits 1 and 0 hold the same sum
      slot[base] = acc[0];
    }
  };
  block_tiles<kWarps, kSimtRows, kCols, 4>(M, N, K, part, tile, store);
}

// The CUDA type with the same bits as recur's 16-bit storage type.
template <class Half>
struct CudaHalf;
template <>
struct CudaHalf<bf16> {
  using type = __nv_bfloat16;
};
template <>
struct CudaHalf<f16> {
  using type = __half;
};

template <int kWarps, class Half, class Store>
__device__ void block_product_mma(const Half* A, int64_t lda, int64_t M, const Half* Bt,
                                  int64_t ldb, int64_t N, int64_t K, float* part, Store store) {
  using namespace nvcuda;
  using W = typename CudaHalf<Half>::type;
  auto tile = [&](int64_t m0, int64_t n0, int64_t k_begin, int64_t k_end, float* slot) {
    wmma::fragment<wmma::accumulator, kMmaRows, kMmaCols, kMmaDepth, float> acc;
    wmma::fragment<wmma::matrix_a, kMmaRows, kMmaCols, kMmaDepth, W, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, kMmaRows, kMmaCols, kMmaDepth, W, wmma::col_major> fb;
    wmma::fill_fragment(acc, 0.f);
    for (int64_t k = k_begin; k < k_end; k += kMmaDepth) {
      wmma::load_matrix_sync(fa, reinterpret_cast<const W*>(A + m0 * lda + k),
                             static_cast<unsigned>(lda));
      wmma::load_matrix_sync(fb, reinterpret_cast<const W*>(Bt + n0 * ldb + k),
                             static_cast<unsigned>(ldb));
      wmma::mma_sync(acc, fa, fb, acc);
    }
    wmma::store_matrix_sync(slot, acc, kMmaCols, wmma::mem_row_major);
  };
  block_tiles<kWarps, kMmaRows, kMmaCols, kMmaDepth>(M, N, K, part, tile, store);
}

// One m16n8k16 tensor-core product, D = A B + D: A's four registers hold rows (g, g+8) x columns
// (2t, 2t+1) then (2t+8, 2t+9), B's two hold column g x rows (2t, 2t+1) then (2t+8, 2t+9), D's
// four rows (g, g+8) x columns (2t, 2t+1), for lane = 4g + t (the PTX ISA's fragment layouts);
// each register holds two 16-bit values, the lower column (row) in the low half.
template <class Half>
__device__ __forceinline__ void mma_16x8x16(float (&d)[4], const uint32_t (&a)[4],
                                            const uint32_t (&b)[2]) {
  if constexpr (std::is_same_v<Half, bf16>)
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  else
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

template <int kWarps, class Half, class Store>
__device__ void block_product_mma_16x8(const Half* A, int64_t lda, int64_t M, const Half* Bt,
                                       int64_t ldb, int64_t N, int64_t K, float* part,
                                       Store store) {
  const int lane = static_cast<int>(threadIdx.x) % 32, g = lane / 4, t = lane % 4;
  auto pair = [](const Half* p) { return *reinterpret_cast<const uint32_t*>(p); };
  auto tile = [&](int64_t m0, int64_t n0, int64_t k_begin, int64_t k_end, float* slot) {
    float d[4] = {0.f, 0.f, 0.f, 0.f};
    const Half* a_top = A + (m0 + g) * lda + 2 * t;  // rows g and g + 8 of the tile
    const Half* a_bottom = a_top + 8 * lda;
    const Half* b = Bt + (n0 + g) * ldb + 2 * t;  // column g of the tile
    for (int64_t k = k_begin; k < k_end; k += 16) {
      const uint32_t a_regs[4] = {pair(a_top + k), pair(a_bottom + k), pair(a_top + k + 8),
                                  pair(a_bottom + k + 8)};
      const uint32_t b_regs[2] = {pair(b + k), pair(b + k + 8)};
      mma_16x8x16<Half>(d, a_regs, b_regs);
    }
    slot[g * 8 + 2 * t] = d[0];
    slot[g * 8 + 2 * t + 1] = d[1];
    slot[(g + 8) * 8 + 2 * t] = d[2];
    slot[(g + 8) * 8 + 2 * t + 1] = d[3];
  };
  block_tiles<kWarps, 16, 8, 16>(M, N, K, part, tile, store);
}

}  // namespace recur
