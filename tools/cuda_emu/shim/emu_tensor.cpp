// CUDA-on-the-CPU emulation (README.md): 16-bit floats (half and bfloat16 bits to float, also
// used by emu_cublas.cpp) and the tensor cores as warp collectives: nvcuda::wmma's 16x16x16 tiles
// (mma.h) and PTX mma.sync m16n8k16 with the PTX ISA's fragment layouts (pp.py rewrites the inline
// PTX into mma16816). Products are summed in double.
#include <cstdint>
#include <cstring>

#include "emu_core.h"
#include "mma.h"

namespace emu {

// ---------------------------------------------------------------- 16-bit floats
float half_bits_to_float(unsigned short h, bool bf) {
  uint32_t u;
  if (bf) {
    u = static_cast<uint32_t>(h) << 16;
  } else {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1f) {
      u = sign | 0x7f800000u | (m << 13);
    } else if (e == 0) {
      float f = static_cast<float>(m) * 5.9604644775390625e-08f;  // 2^-24
      memcpy(&u, &f, 4);
      u |= sign;
    } else {
      u = sign | ((e + 112u) << 23) | (m << 13);
    }
  }
  float f;
  memcpy(&f, &u, 4);
  return f;
}

// ---------------------------------------------------------------- tensor cores
void wmma_load(float* dst, const void* p, unsigned ldm, bool col_major, int, bool bf, int) {
  const auto* h = static_cast<const unsigned short*>(p);
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c)
      dst[r * 16 + c] = half_bits_to_float(col_major ? h[r + c * ldm] : h[r * ldm + c], bf);
}
struct WmmaSlot {
  float* d;
  const float *a, *b, *c;
};
void wmma_mma(float* d, const float* a, const float* b, const float* c, int line) {
  WmmaSlot s{d, a, b, c};
  warp_collective(
      2, line, &s,
      [](void** slots, int n, void*) {
        auto* s0 = static_cast<WmmaSlot*>(slots[0]);
        float out[256];
        for (int i = 0; i < 16; ++i)
          for (int j = 0; j < 16; ++j) {
            double acc = 0;
            for (int k = 0; k < 16; ++k)
              acc += static_cast<double>(s0->a[i * 16 + k]) * s0->b[k * 16 + j];
            out[i * 16 + j] = static_cast<float>(acc + s0->c[i * 16 + j]);
          }
        for (int l = 0; l < n; ++l) memcpy(static_cast<WmmaSlot*>(slots[l])->d, out, sizeof out);
      },
      nullptr);
}
void wmma_store(float* p, const float* src, unsigned ldm, bool col_major, int) {
  // every lane holds the whole tile; lane 0 stores it
  if (cur_lane() != 0) return;
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) (col_major ? p[r + c * ldm] : p[r * ldm + c]) = src[r * 16 + c];
}

struct MmaSlot {
  float* d;
  uint32_t a[4], b[2];
  float c[4];
  bool bf;
};
void mma16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], bool bf, int line) {
  MmaSlot s;
  s.d = d;
  memcpy(s.a, a, sizeof s.a);
  memcpy(s.b, b, sizeof s.b);
  memcpy(s.c, d, sizeof s.c);
  s.bf = bf;
  warp_collective(
      3, line, &s,
      [](void** slots, int n, void*) {
        if (n != 32) report("mma.sync in a warp of %d threads", n);
        float A[16][16], B[16][8], C[16][8];
        const bool bf = static_cast<MmaSlot*>(slots[0])->bf;
        auto lo = [&](uint32_t r) {
          return half_bits_to_float(static_cast<unsigned short>(r & 0xffffu), bf);
        };
        auto hi = [&](uint32_t r) {
          return half_bits_to_float(static_cast<unsigned short>(r >> 16), bf);
        };
        for (int l = 0; l < 32; ++l) {
          auto* s = static_cast<MmaSlot*>(slots[l]);
          const int g = l / 4, t = l % 4;
          A[g][2 * t] = lo(s->a[0]);
          A[g][2 * t + 1] = hi(s->a[0]);
          A[g + 8][2 * t] = lo(s->a[1]);
          A[g + 8][2 * t + 1] = hi(s->a[1]);
          A[g][2 * t + 8] = lo(s->a[2]);
          A[g][2 * t + 9] = hi(s->a[2]);
          A[g + 8][2 * t + 8] = lo(s->a[3]);
          A[g + 8][2 * t + 9] = hi(s->a[3]);
          B[2 * t][g] = lo(s->b[0]);
          B[2 * t + 1][g] = hi(s->b[0]);
          B[2 * t + 8][g] = lo(s->b[1]);
          B[2 * t + 9][g] = hi(s->b[1]);
          C[g][2 * t] = s->c[0];
          C[g][2 * t + 1] = s->c[1];
          C[g + 8][2 * t] = s->c[2];
          C[g + 8][2 * t + 1] = s->c[3];
        }
        for (int l = 0; l < 32; ++l) {
          auto* s = static_cast<MmaSlot*>(slots[l]);
          const int g = l / 4, t = l % 4;
          const int rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
          for (int q = 0; q < 4; ++q) {
            double acc = 0;
            for (int k = 0; k < 16; ++k) acc += static_cast<double>(A[rows[q]][k]) * B[k][cols[q]];
            s->d[q] = static_cast<float>(acc + C[rows[q]][cols[q]]);
          }
        }
      },
      nullptr);
}
}  // namespace emu
