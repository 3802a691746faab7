// Philox4x32-10, the counter-based RNG (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC'11): a pure function of (key, counter), so the CPU and a CUDA kernel draw the same
// numbers for the same index with no state to carry. Dropout masks are keyed by
// (seed, stream = layer, step, element index).
#pragma once

#include <cstdint>

#include "core/host_device.h"

namespace recur {

struct Philox4 {
  uint32_t v[4];
};

RECUR_HOST_DEVICE void philox_mulhilo(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
  uint64_t product = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(product >> 32);
  *lo = static_cast<uint32_t>(product);
}

// The ten-round Philox4x32 bijection of `counter` under `key` (key0, key1).
RECUR_HOST_DEVICE Philox4 philox4x32_10(Philox4 counter, uint32_t key0, uint32_t key1) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(0xD2511F53u, counter.v[0], &hi0, &lo0);
    philox_mulhilo(0xCD9E8D57u, counter.v[2], &hi1, &lo1);
    counter = {{hi1 ^ counter.v[1] ^ key0, lo1, hi0 ^ counter.v[3] ^ key1, lo0}};
    key0 += 0x9E3779B9u;
    key1 += 0xBB67AE85u;
  }
  return counter;
}

// Maps 32 random bits to a float in [0, 1) (24 bits of mantissa, exactly representable).
RECUR_HOST_DEVICE float uint_to_unit_float(uint32_t bits) {
  return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f);
}

// Four uniform floats in [0, 1) for block `block` of stream `stream` at `step`, under `seed`.
// Element i of a tensor uses block i / 4, lane i % 4.
RECUR_HOST_DEVICE void philox_uniform4(uint64_t seed, uint32_t stream, uint32_t step,
                                       uint64_t block, float out[4]) {
  Philox4 counter = {
      {static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), stream, step}};
  Philox4 r =
      philox4x32_10(counter, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  for (int i = 0; i < 4; ++i) out[i] = uint_to_unit_float(r.v[i]);
}

// The uniform in [0, 1) for element `index` of (seed, stream, step).
RECUR_HOST_DEVICE float philox_uniform(uint64_t seed, uint32_t stream, uint32_t step,
                                       uint64_t index) {
  float four[4];
  philox_uniform4(seed, stream, step, index / 4, four);
  return four[index % 4];
}

}  // namespace recur
