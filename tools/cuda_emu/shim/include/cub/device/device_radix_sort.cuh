#pragma once
#include <cstdint>
#include "cuda_runtime.h"
namespace emu {
cudaError_t radix_sort_pairs_u32_i32(void* temp, size_t& temp_bytes, const uint32_t* kin,
                                     uint32_t* kout, const int32_t* vin, int32_t* vout, int n,
                                     int begin_bit, int end_bit, cudaStream_t s);
}
namespace cub {
struct DeviceRadixSort {
  static cudaError_t SortPairs(void* temp, size_t& temp_bytes, const uint32_t* kin, uint32_t* kout,
                               const int32_t* vin, int32_t* vout, int n, int begin_bit = 0,
                               int end_bit = 32, cudaStream_t s = nullptr) {
    return ::emu::radix_sort_pairs_u32_i32(temp, temp_bytes, kin, kout, vin, vout, n, begin_bit,
                                           end_bit, s);
  }
};
}  // namespace cub
