// core/cuda_runtime.h for a build without CUDA (RECUR_CUDA=OFF, or no nvcc at configure time):
// no GPU is visible, and asking for GPU memory or a GPU copy is an error that says so.
#include <cstring>

#include "core/cuda_runtime.h"
#include "core/error.h"

namespace recur {

namespace {

[[noreturn]] void no_cuda(const char* what, int device) {
  RECUR_FAIL(
      "{} on cuda:{}: this build of recur has no CUDA (configure with nvcc present and "
      "RECUR_CUDA=AUTO or ON to use a GPU)",
      what, device);
}

}  // namespace

bool cuda_compiled() {
  return false;
}
int cuda_device_count() {
  return 0;
}

std::shared_ptr<std::byte> allocate_cuda(size_t, int device) {
  no_cuda("allocate_cuda", device);
}
DeviceMemoryStats cuda_memory_stats(int device) {
  no_cuda("cuda_memory_stats", device);
}
void reset_cuda_peak(int device) {
  no_cuda("reset_cuda_peak", device);
}
void release_cuda_cache(int device) {
  no_cuda("release_cuda_cache", device);
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (dst_device.is_cuda()) no_cuda("copy_bytes", dst_device.index);
  if (src_device.is_cuda()) no_cuda("copy_bytes", src_device.index);
  if (bytes) std::memmove(dst, src, bytes);
}

void zero_bytes(void* dst, Device device, size_t bytes) {
  if (device.is_cuda()) no_cuda("zero_bytes", device.index);
  if (bytes) std::memset(dst, 0, bytes);
}

double cuda_time_ms(int device, const std::function<void()>&, bool) {
  no_cuda("cuda_time_ms", device);
}
std::string cuda_device_description(int device) {
  no_cuda("cuda_device_description", device);
}
void* cuda_stream(int device) {
  no_cuda("cuda_stream", device);
}
void cuda_synchronize(int device) {
  no_cuda("cuda_synchronize", device);
}
void set_cuda_allow_tf32(int device, bool) {
  no_cuda("set_cuda_allow_tf32", device);
}
bool cuda_allow_tf32(int device) {
  no_cuda("cuda_allow_tf32", device);
}

}  // namespace recur
