// One thread block's matrix product on tensor cores, from operands already in shared memory:
//   out[m, n] = sum_k A[m, k] * Bt[n, k]     m < Mp, n < Np, k < Kp
// A [Mp, lda] and Bt [Np, ldb] hold 16-bit operands (recur's bf16 or f16, core/half.h), row-major;
// Mp and Np are multiples of 16 (kMmaRows, kMmaCols), Kp of 16, and the columns Kp.. of each row
// are not read. lda and ldb are multiples of 8, and A, Bt 32-byte aligned. Each product is exact
// and the sums run in f32 (nvcuda::wmma m16n16k16: A row-major, Bt as a column-major K x N
// matrix).
// The 16x16 output tiles are spread over the block's warps; where there are fewer tiles than
// warps, each tile's K range is split among several warps and their partial tiles are summed in
// a fixed order, so the result never depends on timing. `store(m, n, value)` receives every
// element once. Every thread of the block must call it (it synchronises the block); `part` is
// shared scratch of kWarps * 16 * 16 floats (32-byte aligned). Needs sm_80 or later.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>

#include <cstdint>

#include "core/half.h"
#include "kernels/persistent_layout.h"

namespace recur {

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
__device__ void block_product_mma(const Half* A, int64_t lda, int64_t Mp, const Half* Bt,
                                  int64_t ldb, int64_t Np, int64_t Kp, float* part, Store store) {
  using namespace nvcuda;
  using W = typename CudaHalf<Half>::type;
  constexpr int kTile = kMmaRows * kMmaCols;
  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int64_t row_tiles = Mp / kMmaRows, tiles = row_tiles * (Np / kMmaCols);
  const int64_t split = tiles >= kWarps ? 1 : kWarps / tiles;  // warps per tile
  const int64_t depth = Kp / kMmaDepth, per_part = (depth + split - 1) / split;
  const int64_t tasks = tiles * split;  // task = part * tiles + tile
  // With split > 1 every task fits in one round; else a round takes up to kWarps tiles.
  for (int64_t round0 = 0; round0 < tasks; round0 += kWarps) {
    const int64_t task = round0 + warp;
    if (task < tasks) {
      const int64_t tile = task % tiles, part_no = task / tiles;
      const int64_t m0 = tile % row_tiles * kMmaRows, n0 = tile / row_tiles * kMmaCols;
      wmma::fragment<wmma::accumulator, kMmaRows, kMmaCols, kMmaDepth, float> acc;
      wmma::fragment<wmma::matrix_a, kMmaRows, kMmaCols, kMmaDepth, W, wmma::row_major> fa;
      wmma::fragment<wmma::matrix_b, kMmaRows, kMmaCols, kMmaDepth, W, wmma::col_major> fb;
      wmma::fill_fragment(acc, 0.f);
      const int64_t k_end = min(depth, (part_no + 1) * per_part);
      for (int64_t ks = part_no * per_part; ks < k_end; ++ks) {
        wmma::load_matrix_sync(fa, reinterpret_cast<const W*>(A + m0 * lda + ks * kMmaDepth),
                               static_cast<unsigned>(lda));
        wmma::load_matrix_sync(fb, reinterpret_cast<const W*>(Bt + n0 * ldb + ks * kMmaDepth),
                               static_cast<unsigned>(ldb));
        wmma::mma_sync(acc, fa, fb, acc);
      }
      wmma::store_matrix_sync(part + (task - round0) * kTile, acc, kMmaCols, wmma::mem_row_major);
    }
    __syncthreads();
    // This round's tiles: all of them (split > 1), or tiles round0 .. round0 + kWarps - 1.
    const int64_t first = split > 1 ? 0 : round0;
    const int64_t count = split > 1 ? tiles : min(int64_t{kWarps}, tiles - round0);
    for (int64_t e = threadIdx.x; e < count * kTile; e += blockDim.x) {
      const int64_t local = e / kTile, i = e % kTile, tile = first + local;
      float sum = 0.f;
      for (int64_t p = 0; p < split; ++p) sum += part[(p * tiles + local) * kTile + i];
      store(tile % row_tiles * kMmaRows + i / kMmaCols, tile / row_tiles * kMmaCols + i % kMmaCols,
            sum);
    }
    __syncthreads();  // part is refilled by the next round; stores are seen block-wide
  }
}

}  // namespace recur
