// CUDA-on-the-CPU emulation (README.md): the runtime's error state (cudaGetLastError; a kernel's
// fault is returned by the next synchronising call), its device, stream and event calls, and the
// attributes and properties of the emulated H100-like device (EMU_SMS SMs). The memory calls are
// in emu_memory.cpp, the launch calls in emu_launch.cpp.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>

#include "emu_core.h"

namespace emu {

// ---------------------------------------------------------------- errors
static cudaError_t g_last_error = cudaSuccess;
static cudaError_t g_pending = cudaSuccess;  // a kernel fault, returned by the next sync point
cudaError_t set_error(cudaError_t e) {
  if (e != cudaSuccess) g_last_error = e;
  return e;
}
cudaError_t take_pending() {
  cudaError_t e = g_pending;
  g_pending = cudaSuccess;
  return e;
}
void set_pending(cudaError_t e) {
  g_pending = e;
}

// ---------------------------------------------------------------- streams
static std::set<cudaStream_t>& streams() {
  static std::set<cudaStream_t> s;
  return s;
}
bool stream_ok(cudaStream_t s, const char* what) {
  if (s == nullptr || streams().count(s)) return true;
  report("%s on stream %p, which is not a live stream", what, static_cast<void*>(s));
  return false;
}

}  // namespace emu

using namespace emu;

// ---------------------------------------------------------------- runtime API
extern "C++" {

cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
static thread_local int t_device = 0;
cudaError_t cudaGetDevice(int* d) {
  *d = t_device;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) {
  if (d != 0) return set_error(cudaErrorInvalidDevice);
  t_device = d;
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() {
  return set_error(take_pending());
}
cudaError_t cudaDeviceReset() {
  return cudaSuccess;
}
cudaError_t cudaGetLastError() {
  cudaError_t p = take_pending();
  cudaError_t e = p != cudaSuccess ? p : g_last_error;
  g_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() {
  return g_pending != cudaSuccess ? g_pending : g_last_error;
}
const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice:
      return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle:
      return "cudaErrorInvalidResourceHandle";
    case cudaErrorLaunchFailure:
      return "cudaErrorLaunchFailure";
    case cudaErrorCooperativeLaunchTooLarge:
      return "cudaErrorCooperativeLaunchTooLarge";
    case cudaErrorInvalidClusterSize:
      return "cudaErrorInvalidClusterSize";
    case cudaErrorIllegalAddress:
      return "cudaErrorIllegalAddress";
    case cudaErrorInvalidMemcpyDirection:
      return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorNotSupported:
      return "cudaErrorNotSupported";
    default:
      return "cudaErrorUnknown";
  }
}
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "no error";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorLaunchFailure:
      return "unspecified launch failure (emulator)";
    default:
      return cudaGetErrorName(e);
  }
}
cudaError_t cudaStreamCreate(cudaStream_t* s) {
  return cudaStreamCreateWithFlags(s, 0);
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  static int counter = 0;
  *s = reinterpret_cast<cudaStream_t>(new int(++counter));
  streams().insert(*s);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  if (streams().erase(s) == 0) return set_error(cudaErrorInvalidResourceHandle);
  delete reinterpret_cast<int*>(s);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  if (!stream_ok(s, "cudaStreamSynchronize")) return set_error(cudaErrorInvalidResourceHandle);
  return set_error(take_pending());
}
struct EmuEvent {
  std::chrono::steady_clock::time_point t;
  bool recorded = false;
};
cudaError_t cudaEventCreate(cudaEvent_t* e) {
  *e = reinterpret_cast<cudaEvent_t>(new EmuEvent);
  return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  return cudaEventCreate(e);
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete reinterpret_cast<EmuEvent*>(e);
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
  if (!stream_ok(s, "cudaEventRecord")) return set_error(cudaErrorInvalidResourceHandle);
  auto* ev = reinterpret_cast<EmuEvent*>(e);
  ev->t = std::chrono::steady_clock::now();
  ev->recorded = true;
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t) {
  return set_error(take_pending());
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) {
  auto *x = reinterpret_cast<EmuEvent*>(a), *y = reinterpret_cast<EmuEvent*>(b);
  if (!x->recorded || !y->recorded) return set_error(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(y->t - x->t).count();
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr attr, int device) {
  if (device != 0) return set_error(cudaErrorInvalidDevice);
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock:
      *v = 1024;
      break;
    case cudaDevAttrMaxSharedMemoryPerBlock:
      *v = static_cast<int>(kSmemDefault);
      break;
    case cudaDevAttrWarpSize:
      *v = 32;
      break;
    case cudaDevAttrMultiProcessorCount:
      *v = kSms;
      break;
    case cudaDevAttrL2CacheSize:
      *v = kL2;
      break;
    case cudaDevAttrMaxThreadsPerMultiProcessor:
      *v = 2048;
      break;
    case cudaDevAttrComputeCapabilityMajor:
      *v = 9;
      break;
    case cudaDevAttrComputeCapabilityMinor:
      *v = 0;
      break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor:
      *v = static_cast<int>(kSmemPerSm);
      break;
    case cudaDevAttrCooperativeLaunch:
      *v = 1;
      break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin:
      *v = static_cast<int>(kSmemOptin);
      break;
    case cudaDevAttrClusterLaunch:
      *v = 1;
      break;
    default:
      report("cudaDeviceGetAttribute: attribute %d not emulated", static_cast<int>(attr));
      return set_error(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (device != 0) return set_error(cudaErrorInvalidDevice);
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "Emulated H100 (CPU fibers, %d SMs)", kSms);
  p->totalGlobalMem = kTotalMem;
  p->sharedMemPerBlock = kSmemDefault;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = kSms;
  p->l2CacheSize = kL2;
  p->maxThreadsPerMultiProcessor = 2048;
  p->sharedMemPerMultiprocessor = kSmemPerSm;
  p->sharedMemPerBlockOptin = kSmemOptin;
  p->cooperativeLaunch = 1;
  p->clusterLaunch = 1;
  p->regsPerMultiprocessor = 65536;
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}

}  // extern "C++"
