// CUDA-on-the-CPU emulation (README.md): kernel launches, checked as CUDA checks them (block and
// grid limits, dynamic shared memory against the kernel's attribute, cooperative grid size against
// occupancy, cluster size): <<<>>> launches (launch(), which pp.py's rewrite calls), the registry
// of kernels whose address is taken, cudaFuncSetAttribute, the occupancy calls and
// cudaLaunchKernel, cudaLaunchCooperativeKernel, cudaLaunchKernelExC. emu_fibers.cpp runs the grid.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "emu_core.h"

namespace emu {

// ---------------------------------------------------------------- kernels and launch checks
struct KernelInfo {
  Invoker inv;
  std::string name;
  int max_dyn_smem = static_cast<int>(kSmemDefault);
  bool nonportable_cluster = false;
};
static std::map<const void*, KernelInfo>& kernels() {
  static std::map<const void*, KernelInfo> k;
  return k;
}
bool kernel_registered(const void* f) {
  return kernels().count(f) != 0;
}
void register_kernel(const void* f, Invoker inv, const char* name) {
  auto& k = kernels()[f];
  k.inv = std::move(inv);
  k.name = name;
}

static cudaError_t check_shape(dim3 grid, dim3 block) {
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64)
    return cudaErrorInvalidConfiguration;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > 2147483647u || grid.y > 65535 ||
      grid.z > 65535)
    return cudaErrorInvalidConfiguration;
  return cudaSuccess;
}

void launch(const LaunchCfg& c, const std::function<void()>& body, const char* file, int line) {
  cudaError_t e = check_shape(c.grid, c.block);
  if (e == cudaSuccess && c.smem > kSmemDefault) e = cudaErrorInvalidValue;
  if (e == cudaSuccess && !stream_ok(c.stream, "<<<>>> launch")) e = cudaErrorInvalidResourceHandle;
  if (e != cudaSuccess) {
    report("launch at %s:%d rejected: grid (%u,%u,%u) block (%u,%u,%u) smem %zu -> error %d", file,
           line, c.grid.x, c.grid.y, c.grid.z, c.block.x, c.block.y, c.block.z, c.smem,
           static_cast<int>(e));
    set_error(e);
    return;
  }
  static std::map<std::pair<const char*, int>, std::string> names;
  auto& n = names[{file, line}];
  if (n.empty()) n = std::string(file) + ":" + std::to_string(line);
  execute(n.c_str(), c.grid, c.block, c.smem, body, false, 0);
}

static int occupancy(int block_threads, size_t smem) {
  if (block_threads <= 0 || block_threads > 1024) return 0;
  int by_threads = 2048 / block_threads;
  int by_regs = 65536 / (128 * block_threads);  // 128 registers a thread assumed
  int by_smem = static_cast<int>(kSmemPerSm / (smem + kSmemReserved));
  return std::max(0, std::min({by_threads, by_regs, by_smem, 32}));
}

}  // namespace emu

using namespace emu;

// ---------------------------------------------------------------- launch API
extern "C++" {

cudaError_t cudaFuncSetAttribute(const void* f, cudaFuncAttribute attr, int value) {
  auto it = kernels().find(f);
  if (it == kernels().end()) {
    report("cudaFuncSetAttribute on an unregistered function %p", f);
    return set_error(cudaErrorInvalidValue);
  }
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || static_cast<size_t>(value) > kSmemOptin)
      return set_error(cudaErrorInvalidValue);
    it->second.max_dyn_smem = value;
  } else if (attr == cudaFuncAttributeNonPortableClusterSizeAllowed) {
    it->second.nonportable_cluster = value != 0;
  }
  return cudaSuccess;
}
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* n, const void* f, int block,
                                                          size_t smem) {
  auto it = kernels().find(f);
  if (it == kernels().end()) return set_error(cudaErrorInvalidValue);
  *n = smem > static_cast<size_t>(it->second.max_dyn_smem) ? 0 : occupancy(block, smem);
  return cudaSuccess;
}
cudaError_t cudaOccupancyMaxActiveClusters(int* n, const void* f, const cudaLaunchConfig_t* c) {
  auto it = kernels().find(f);
  if (it == kernels().end()) return set_error(cudaErrorInvalidValue);
  unsigned cluster = 1;
  for (unsigned a = 0; a < c->numAttrs; ++a)
    if (c->attrs[a].id == cudaLaunchAttributeClusterDimension)
      cluster = c->attrs[a].val.clusterDim.x * c->attrs[a].val.clusterDim.y *
                c->attrs[a].val.clusterDim.z;
  if (cluster > 16 || (cluster > 8 && !it->second.nonportable_cluster))
    return set_error(cudaErrorInvalidClusterSize);
  const int threads = static_cast<int>(c->blockDim.x * c->blockDim.y * c->blockDim.z);
  const int per_sm = c->dynamicSmemBytes > static_cast<size_t>(it->second.max_dyn_smem)
                         ? 0
                         : occupancy(threads, c->dynamicSmemBytes);
  // one GPC holding every SM of the emulated GPU
  *n = static_cast<int>(per_sm * kSms / cluster);
  return cudaSuccess;
}
static cudaError_t launch_registered(const char* api, const void* f, dim3 grid, dim3 block,
                                     void** args, size_t smem, cudaStream_t s, bool coop,
                                     int cluster) {
  auto it = kernels().find(f);
  if (it == kernels().end()) {
    report("%s: unregistered kernel %p", api, f);
    return set_error(cudaErrorInvalidValue);
  }
  cudaError_t e = check_shape(grid, block);
  if (e != cudaSuccess) return set_error(e);
  if (!stream_ok(s, api)) return set_error(cudaErrorInvalidResourceHandle);
  if (smem > static_cast<size_t>(it->second.max_dyn_smem)) {
    report("%s: %zu bytes of dynamic shared memory, the kernel allows %d", api, smem,
           it->second.max_dyn_smem);
    return set_error(cudaErrorInvalidValue);
  }
  const int threads = static_cast<int>(block.x * block.y * block.z);
  const uint64_t blocks = uint64_t{grid.x} * grid.y * grid.z;
  if (coop && blocks > static_cast<uint64_t>(occupancy(threads, smem)) * kSms) {
    report("%s: %llu blocks, only %d resident", api, static_cast<unsigned long long>(blocks),
           occupancy(threads, smem) * kSms);
    return set_error(cudaErrorCooperativeLaunchTooLarge);
  }
  if (cluster) {
    if (cluster > 16 || (cluster > 8 && !it->second.nonportable_cluster) || grid.x % cluster)
      return set_error(cudaErrorInvalidClusterSize);
    if (static_cast<uint64_t>(cluster) > static_cast<uint64_t>(occupancy(threads, smem)) * kSms)
      return set_error(cudaErrorInvalidClusterSize);
  }
  Invoker& inv = it->second.inv;
  std::function<void()> body = [&inv, args] { inv(args); };
  execute(it->second.name.c_str(), grid, block, smem, body, coop || cluster, cluster);
  return cudaSuccess;
}
cudaError_t cudaLaunchCooperativeKernel(const void* f, dim3 grid, dim3 block, void** args,
                                        size_t smem, cudaStream_t s) {
  return launch_registered("cudaLaunchCooperativeKernel", f, grid, block, args, smem, s, true, 0);
}
cudaError_t cudaLaunchKernel(const void* f, dim3 grid, dim3 block, void** args, size_t smem,
                             cudaStream_t s) {
  return launch_registered("cudaLaunchKernel", f, grid, block, args, smem, s, false, 0);
}
cudaError_t cudaLaunchKernelExC(const cudaLaunchConfig_t* c, const void* f, void** args) {
  int cluster = 0;
  bool coop = false;
  for (unsigned a = 0; a < c->numAttrs; ++a) {
    if (c->attrs[a].id == cudaLaunchAttributeClusterDimension)
      cluster = static_cast<int>(c->attrs[a].val.clusterDim.x * c->attrs[a].val.clusterDim.y *
                                 c->attrs[a].val.clusterDim.z);
    if (c->attrs[a].id == cudaLaunchAttributeCooperative) coop = c->attrs[a].val.cooperative != 0;
  }
  return launch_registered("cudaLaunchKernelExC", f, c->gridDim, c->blockDim, args,
                           c->dynamicSmemBytes, c->stream, coop, cluster);
}

}  // extern "C++"
