// A float matrix transposed into another: the packing of transposed weights into panels
// (kernels/cpu/packed_step_gemm.cpp).
#pragma once

#include <cstdint>

namespace recur {

// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols: src [rows, cols] (row stride lds)
// into dst [cols, rows] (row stride ldd), in 8 x 8 tiles transposed in registers where the build
// has AVX (element by element a pack ran at ~17 GB/s, slower than the product it serves at 64
// rows), the edges element by element. One thread.
void transpose(const float* src, int64_t lds, int64_t rows, int64_t cols, float* dst, int64_t ldd);

}  // namespace recur
