#pragma once
#include <cstdint>
#include "cuda_runtime.h"
struct __half {
  unsigned short __x;
};
struct __half2 {
  __half x, y;
};
