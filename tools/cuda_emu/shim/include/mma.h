// nvcuda::wmma for 16x16x16 tiles of 16-bit inputs and f32 accumulators: every lane holds the whole
// tile (an opaque fragment); mma_sync and the loads/stores are warp collectives (all 32 lanes).
#pragma once
#include <cstring>
#include "cuda_bf16.h"
#include "cuda_fp16.h"
#include "cuda_runtime.h"
namespace emu {
float half_bits_to_float(unsigned short bits, bool bf);
void wmma_load(float* dst, const void* p, unsigned ldm, bool col_major, int elem, bool bf,
               int line);
void wmma_mma(float* d, const float* a, const float* b, const float* c, int line);
void wmma_store(float* p, const float* src, unsigned ldm, bool col_major, int line);
}  // namespace emu
namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
  static_assert(M == 16 && N == 16 && K == 16, "emulated: m16n16k16 only");
  float x[256];  // row-major [16][16]: A [m][k], B [k][n], C [m][n]
  static constexpr int num_elements = 256;
};
template <class Use, int M, int N, int K, class T, class L>
inline void fill_fragment(fragment<Use, M, N, K, T, L>& f, float v) {
  for (float& e : f.x) e = v;
}
template <int M, int N, int K, class T, class L>
inline void load_matrix_sync(fragment<matrix_a, M, N, K, T, L>& f, const T* p, unsigned ldm) {
  static_assert(std::is_same_v<L, row_major> || std::is_same_v<L, col_major>);
  ::emu::wmma_load(f.x, p, ldm, std::is_same_v<L, col_major>, 2, std::is_same_v<T, __nv_bfloat16>,
                   __LINE__);
}
template <int M, int N, int K, class T, class L>
inline void load_matrix_sync(fragment<matrix_b, M, N, K, T, L>& f, const T* p, unsigned ldm) {
  static_assert(std::is_same_v<L, row_major> || std::is_same_v<L, col_major>);
  ::emu::wmma_load(f.x, p, ldm, std::is_same_v<L, col_major>, 2, std::is_same_v<T, __nv_bfloat16>,
                   __LINE__);
}
template <int M, int N, int K, class TA, class LA, class TB, class LB>
inline void mma_sync(fragment<accumulator, M, N, K, float>& d,
                     const fragment<matrix_a, M, N, K, TA, LA>& a,
                     const fragment<matrix_b, M, N, K, TB, LB>& b,
                     const fragment<accumulator, M, N, K, float>& c) {
  static_assert(std::is_same_v<TA, TB>, "operand types");
  ::emu::wmma_mma(d.x, a.x, b.x, c.x, __LINE__);
}
template <int M, int N, int K>
inline void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f,
                              unsigned ldm, layout_t l) {
  ::emu::wmma_store(p, f.x, ldm, l == mem_col_major, __LINE__);
}
}  // namespace wmma
}  // namespace nvcuda
