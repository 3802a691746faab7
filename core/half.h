// Storage types for the two 16-bit floats, bf16 and f16, with round-to-nearest-even conversion
// from float. They hold bits only; arithmetic happens in float. Host and device share them.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/host_device.h"

namespace recur {

RECUR_HOST_DEVICE uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

RECUR_HOST_DEVICE float bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

struct bf16 {
  uint16_t bits = 0;
};

struct f16 {
  uint16_t bits = 0;
};

RECUR_HOST_DEVICE bf16 to_bf16(float f) {
  uint32_t u = float_bits(f);
  bf16 out;
  if ((u & 0x7fffffffu) > 0x7f800000u) {  // NaN: keep it quiet and a NaN
    out.bits = static_cast<uint16_t>((u >> 16) | 0x40u);
    return out;
  }
  uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  out.bits = static_cast<uint16_t>((u + rounding) >> 16);
  return out;
}

RECUR_HOST_DEVICE float to_float(bf16 h) {
  return bits_float(static_cast<uint32_t>(h.bits) << 16);
}

RECUR_HOST_DEVICE f16 to_f16(float f) {
  uint32_t u = float_bits(f);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t abs = u & 0x7fffffffu;
  f16 out;
  if (abs > 0x7f800000u) {  // NaN
    out.bits = static_cast<uint16_t>(sign | 0x7e00u);
  } else if (abs >= 0x477ff000u) {  // rounds to or beyond 65520: infinity
    out.bits = static_cast<uint16_t>(sign | 0x7c00u);
  } else if (abs < 0x38800000u) {  // below the smallest normal f16 (2^-14): subnormal or zero
    // Adding 0.5 makes the FPU do the round-to-nearest-even shift into the subnormal grid.
    float magnitude = bits_float(abs) + 0.5f;
    out.bits = static_cast<uint16_t>(sign | (float_bits(magnitude) - 0x3f000000u));
  } else {
    uint32_t mantissa_odd = (abs >> 13) & 1u;
    abs += 0xc8000fffu + mantissa_odd;  // rebias exponent (-112 << 23) and round
    out.bits = static_cast<uint16_t>(sign | (abs >> 13));
  }
  return out;
}

RECUR_HOST_DEVICE float to_float(f16 h) {
  uint32_t sign = static_cast<uint32_t>(h.bits & 0x8000u) << 16;
  uint32_t exponent = (h.bits >> 10) & 0x1fu;
  uint32_t mantissa = h.bits & 0x3ffu;
  if (exponent == 0x1f) return bits_float(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {  // subnormal or zero: mantissa * 2^-24
    float magnitude = static_cast<float>(mantissa) * bits_float(0x33800000u);
    return bits_float(sign | float_bits(magnitude));
  }
  return bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

}  // namespace recur
