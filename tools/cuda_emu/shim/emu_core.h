// The CPU emulation of CUDA (README.md): what its files share. Each object is defined once, in the
// file named beside its declaration:
//   emu_memory.cpp   the settings (EMU_* environment), device memory (arena, guard pages,
//                    protection), dynamic shared memory, cudaMalloc/cudaFree/cudaMemcpy*/
//                    cudaMemset*, the fault handler
//   emu_fibers.cpp   every CUDA thread a fiber on one OS thread: the scheduler, barriers, warp
//                    collectives and shuffles, running a grid, the context switch
//   emu_tensor.cpp   16-bit floats; wmma and mma.sync as warp collectives
//   emu_launch.cpp   the kernel registry, launch checks, occupancy, <<<>>> and cudaLaunch*
//   emu_runtime.cpp  the runtime's errors, devices, streams, events, device properties
//   emu_cublas.cpp   cuBLAS and CUB's radix sort
// What kernels and recur see is shim/include (emu_device.h: the device side); what the fake cuDNN
// uses, emu_internal.h.
#pragma once
#include <cstddef>
#include <functional>
#include <mutex>

#include "cuda_runtime.h"
#include "emu_internal.h"

namespace emu {

// The emulated H100-like device.
constexpr size_t kSmemOptin = 232448;   // 227 KiB per block (opt-in)
constexpr size_t kSmemPerSm = 233472;   // 228 KiB per SM
constexpr size_t kSmemReserved = 1024;  // per block, by the system
constexpr size_t kSmemDefault = 49152;  // without the opt-in attribute
constexpr size_t kTotalMem = size_t{80} << 30;
constexpr int kL2 = 50 << 20;
constexpr size_t kPage = 4096;

// emu_memory.cpp: settings read from the environment at start-up.
extern const int kSms;      // EMU_SMS
extern const int kVerbose;  // EMU_VERBOSE
extern const int kOrder;    // EMU_ORDER: 1, threads and blocks start in reverse order

// emu_memory.cpp: device memory. Every device operation (launch, copy, cuBLAS call) holds g_mutex
// and, while it touches device memory, a DeviceAccess (EMU_PROTECT=1 opens the arena for it).
extern std::recursive_mutex g_mutex;
struct DeviceAccess {
  DeviceAccess();
  ~DeviceAccess();
};
// Block `block`'s dynamic shared memory of `bytes`, filled with EMU_FILL, ending at a guard page.
unsigned char* smem_buffer(size_t block, size_t bytes);

// emu_runtime.cpp: the error state.
cudaError_t set_error(cudaError_t e);  // e, kept for cudaGetLastError unless cudaSuccess
cudaError_t take_pending();            // the pending kernel fault, cleared
void set_pending(cudaError_t e);       // a kernel fault, returned by the next synchronising call

// emu_fibers.cpp: runs a grid (cooperative: every block live at once; else block after block);
// a failure is reported and left pending.
void execute(const char* name, dim3 grid, dim3 block, size_t smem,
             const std::function<void()>& body, bool cooperative, int cluster_size);
int cur_lane();                // the calling CUDA thread's lane (aborts outside a kernel)
const char* running_kernel();  // the running kernel's name; nullptr on the host

}  // namespace emu
