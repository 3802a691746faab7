// CUDA-on-the-CPU emulation: the device side (what a kernel body sees) and the launch entry points
// that the preprocessed .cu files call. Every CUDA thread is a fiber; see emu_fibers.cpp.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <type_traits>
#include <utility>

// ---------------------------------------------------------------- qualifiers
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __constant__ static
#define __managed__
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __grid_constant__
#ifndef __restrict__
#define __restrict__ __restrict
#endif

// ---------------------------------------------------------------- vector types
struct uint3 {
  unsigned x = 0, y = 0, z = 0;
};
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) float2 {
  float x, y;
};
struct alignas(8) uint2 {
  unsigned x, y;
};
struct alignas(16) uint4 {
  unsigned x, y, z, w;
};
struct alignas(8) int2 {
  int x, y;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
struct alignas(16) double2 {
  double x, y;
};

typedef struct CUstream_st* cudaStream_t;
typedef struct CUevent_st* cudaEvent_t;

namespace emu {

struct Fiber;
struct Launch;

struct FiberPublic {
  uint3 tidx, bidx;
};

// The current fiber (CUDA thread) and the current launch's shape.
FiberPublic* cur_fiber();

void syncthreads(int line);
void grid_sync(int line);
void cluster_sync(int line);
void spin_yield();
void syncwarp(int line);
unsigned char* dyn_smem();
// A warp shuffle (mode 0 xor, 1 idx, 2 down, 3 up) among the lanes in `mask`, in segments of
// `width` lanes: lane l receives the value of its source lane; 8 bytes at most.
uint64_t warp_shfl(uint64_t v, int mode, int arg, unsigned mask, int width, int line);
// wmma / mma.sync collectives (the last arriving lane runs `fn` with every lane's slot).
void warp_collective(int kind, int line, void* my_slot, void (*fn)(void** slots, int n, void* ctx),
                     void* ctx);
void report(const char* fmt, ...);
// PTX prefetch.global.L1/L2 [p]: a hint, so nothing happens; p must lie in a live device
// allocation (a kernel fault otherwise, so that a wrong address is caught here).
void prefetch(const void* p, int line);
// PTX mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}.{bf16,f16}.f32 as a warp collective.
void mma16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], bool bf, int line);

struct LaunchCfg {
  dim3 grid, block;
  size_t smem = 0;
  cudaStream_t stream = nullptr;
};
template <class G, class B>
LaunchCfg cfg(G g, B b, size_t smem = 0, cudaStream_t s = nullptr) {
  LaunchCfg c;
  c.grid = dim3(g);
  c.block = dim3(b);
  c.smem = smem;
  c.stream = s;
  return c;
}
template <class G, class B>
LaunchCfg cfg(G g, B b, size_t smem, int s) {
  return cfg(g, b, smem, reinterpret_cast<cudaStream_t>(static_cast<intptr_t>(s)));
}
// <<<...>>> launches; returns nothing (errors go to cudaGetLastError).
void launch(const LaunchCfg& c, const std::function<void()>& body, const char* file, int line);

// cudaLaunchCooperativeKernel / cudaLaunchKernelExC take the kernel as a pointer and its arguments
// as void**: kernels whose address is taken are registered with an invoker.
using Invoker = std::function<void(void**)>;
void register_kernel(const void* f, Invoker inv, const char* name);
bool kernel_registered(const void* f);
template <class... A>
const void* kernel_ptr(void (*f)(A...), const char* name = "kernel") {
  if (!kernel_registered(reinterpret_cast<const void*>(f))) {
    register_kernel(
        reinterpret_cast<const void*>(f),
        [f](void** p) {
          size_t i = 0;
          // brace-init evaluates left to right
          std::tuple<std::decay_t<A>...> args{*static_cast<std::decay_t<A>*>(p[i++])...};
          std::apply(f, args);
        },
        name);
  }
  return reinterpret_cast<const void*>(f);
}

}  // namespace emu

#include <tuple>

// The running fiber's indices: the scheduler writes them before switching to a fiber.
extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;
constexpr int warpSize = 32;
#define __syncthreads() ::emu::syncthreads(__LINE__)
#define __syncwarp(...) ::emu::syncwarp(__LINE__)

// ---------------------------------------------------------------- intrinsics
inline void __threadfence() {}
inline void __threadfence_block() {}
inline void __threadfence_system() {}
template <class T>
inline T __ldg(const T* p) {
  return *p;
}
template <class T>
inline T __ldcg(const T* p) {
  return *p;
}
template <class T>
inline T __ldca(const T* p) {
  return *p;
}
template <class T>
inline T __ldcs(const T* p) {
  return *p;
}
template <class T>
inline void __stcg(T* p, T v) {
  *p = v;
}
// Rounded products/sums that the compiler may not fuse (nvcc's __fmul_rn contract).
inline float __fmul_rn(float a, float b) {
  float r = a * b;
  asm("" : "+x"(r));
  return r;
}
inline double __dmul_rn(double a, double b) {
  double r = a * b;
  asm("" : "+x"(r));
  return r;
}
inline float __fadd_rn(float a, float b) {
  float r = a + b;
  asm("" : "+x"(r));
  return r;
}
inline double __dadd_rn(double a, double b) {
  double r = a + b;
  asm("" : "+x"(r));
  return r;
}
inline float __fdividef(float a, float b) {
  return a / b;
}
inline float __expf(float x) {
  return expf(x);
}
inline float __logf(float x) {
  return logf(x);
}
inline float __tanhf(float x) {
  return tanhf(x);
}
inline float __saturatef(float x) {
  return x < 0.f ? 0.f : x > 1.f ? 1.f : x;
}
inline float rsqrtf(float x) {
  return 1.f / sqrtf(x);
}
inline double rsqrt(double x) {
  return 1.0 / sqrt(x);
}
inline int __float_as_int(float f) {
  int i;
  memcpy(&i, &f, 4);
  return i;
}
inline float __int_as_float(int i) {
  float f;
  memcpy(&f, &i, 4);
  return f;
}
inline unsigned __float_as_uint(float f) {
  unsigned i;
  memcpy(&i, &f, 4);
  return i;
}
inline float __uint_as_float(unsigned i) {
  float f;
  memcpy(&f, &i, 4);
  return f;
}
inline int __popc(unsigned x) {
  return __builtin_popcount(x);
}
inline int __clz(int x) {
  return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x));
}

// min/max as CUDA's device overloads (same-type and mixed integer/floating forms).
template <class A, class B>
inline auto min(A a, B b) -> std::common_type_t<A, B> {
  using C = std::common_type_t<A, B>;
  return static_cast<C>(b) < static_cast<C>(a) ? static_cast<C>(b) : static_cast<C>(a);
}
template <class A, class B>
inline auto max(A a, B b) -> std::common_type_t<A, B> {
  using C = std::common_type_t<A, B>;
  return static_cast<C>(a) < static_cast<C>(b) ? static_cast<C>(b) : static_cast<C>(a);
}

// Atomics: every fiber runs on one OS thread and switches only at barriers, so plain
// read-modify-writes are atomic.
template <class T, class U>
inline T atomicAdd(T* p, U v) {
  T old = *p;
  *p = static_cast<T>(old + static_cast<T>(v));
  return old;
}
template <class T, class U>
inline T atomicSub(T* p, U v) {
  T old = *p;
  *p = static_cast<T>(old - static_cast<T>(v));
  return old;
}
template <class T, class U>
inline T atomicMin(T* p, U v) {
  T old = *p;
  if (static_cast<T>(v) < old) *p = static_cast<T>(v);
  return old;
}
template <class T, class U>
inline T atomicMax(T* p, U v) {
  T old = *p;
  if (old < static_cast<T>(v)) *p = static_cast<T>(v);
  return old;
}
template <class T, class U>
inline T atomicExch(T* p, U v) {
  T old = *p;
  *p = static_cast<T>(v);
  return old;
}
template <class T, class U, class V>
inline T atomicCAS(T* p, U cmp, V v) {
  T old = *p;
  if (old == static_cast<T>(cmp)) *p = static_cast<T>(v);
  return old;
}

// Warp shuffles with CUDA's mask and width (checked by the runtime: emu_fibers.cpp).
template <class T>
inline T emu_shfl(T v, int mode, int arg, unsigned mask, int width, int line) {
  static_assert(sizeof(T) <= 8, "shuffle of more than 8 bytes");
  uint64_t bits = 0;
  memcpy(&bits, &v, sizeof(T));
  bits = ::emu::warp_shfl(bits, mode, arg, mask, width, line);
  T out;
  memcpy(&out, &bits, sizeof(T));
  return out;
}
// The optional width argument (warpSize when absent).
inline int emu_shfl_width(int width = 32) {
  return width;
}
#define __shfl_xor_sync(mask, v, lm, ...) \
  emu_shfl((v), 0, (lm), (mask), emu_shfl_width(__VA_ARGS__), __LINE__)
#define __shfl_sync(mask, v, src, ...) \
  emu_shfl((v), 1, (src), (mask), emu_shfl_width(__VA_ARGS__), __LINE__)
#define __shfl_down_sync(mask, v, d, ...) \
  emu_shfl((v), 2, (d), (mask), emu_shfl_width(__VA_ARGS__), __LINE__)
#define __shfl_up_sync(mask, v, d, ...) \
  emu_shfl((v), 3, (d), (mask), emu_shfl_width(__VA_ARGS__), __LINE__)
