#pragma once
#include <cstdint>
#include "cuda_runtime.h"
struct __nv_bfloat16 {
  unsigned short __x;
};
struct __nv_bfloat162 {
  __nv_bfloat16 x, y;
};
