// CUDA-on-the-CPU emulation (README.md): its settings, device memory and the fault handler. Device
// memory comes from a reserved arena (1 TiB of address space, no backing), each allocation 256-byte
// aligned, ending at a guard page and filled with EMU_FILL; the runtime's memory calls (cudaMalloc,
// cudaFree, cudaMemGetInfo, cudaMemcpy*, cudaMemset*) check their pointers against the live
// allocations; each block's dynamic shared memory is a slot ending at a PROT_NONE page. A fault
// in device memory or a host dereference of it is reported with a backtrace. Environment:
//   EMU_SMS=n        SMs of the emulated H100-like GPU (default 8)
//   EMU_PROTECT=0|1|2  1 (default): device memory is PROT_NONE while host code runs (a host
//                    dereference of a device pointer faults, reported); 2: guard pages after every
//                    allocation stay PROT_NONE (kernel overruns fault); 0: neither
//   EMU_FILL=byte    fill of fresh cudaMalloc memory and dynamic shared memory (default 0xFF: NaN)
//   EMU_VERBOSE=1    log every launch
//   EMU_ORDER=1      threads and blocks start in reverse order
#include <execinfo.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cerrno>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>

#include "emu_core.h"

namespace emu {

// ---------------------------------------------------------------- configuration
static int env_int(const char* name, int dflt) {
  const char* v = getenv(name);
  return v && *v ? static_cast<int>(strtol(v, nullptr, 0)) : dflt;
}
const int kSms = env_int("EMU_SMS", 8);
static const int kProtect = env_int("EMU_PROTECT", 1);
static const int kFill = env_int("EMU_FILL", 0xFF);
const int kVerbose = env_int("EMU_VERBOSE", 0);
const int kOrder = env_int("EMU_ORDER", 0);  // 1: threads and blocks start in reverse order

void report(const char* fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(stderr, "[emu] %s\n", buf);
  fflush(stderr);
}

// ---------------------------------------------------------------- device memory
constexpr size_t kArenaBytes = size_t{1} << 40;  // address space reserved (1 TiB, no backing)
static unsigned char* g_arena = nullptr;
static size_t g_high = 0;  // bytes of the arena ever handed out (page multiple)
static std::map<size_t, size_t> g_free_ranges;                   // offset -> bytes
static std::map<uintptr_t, std::pair<size_t, size_t>> g_allocs;  // ptr -> (bytes asked, span)
static size_t g_in_use = 0;
static int g_access_depth = 0;
std::recursive_mutex g_mutex;

static void arena_init() {
  if (g_arena) return;
  void* m =
      mmap(nullptr, kArenaBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) {
    perror("emu arena mmap");
    abort();
  }
  g_arena = static_cast<unsigned char*>(m);
}
bool in_arena(const void* p) {
  auto a = reinterpret_cast<uintptr_t>(p), b = reinterpret_cast<uintptr_t>(g_arena);
  return g_arena && a >= b && a < b + kArenaBytes;
}
// The allocation holding p (nullptr when none).
static const std::pair<const uintptr_t, std::pair<size_t, size_t>>* alloc_of(const void* p) {
  auto a = reinterpret_cast<uintptr_t>(p);
  auto it = g_allocs.upper_bound(a);
  if (it == g_allocs.begin()) return nullptr;
  --it;
  if (a < it->first + it->second.first) return &*it;
  return nullptr;
}

// mprotect that cannot fail quietly: a protection left as it was would hide the faults this
// emulator exists to raise (ENOMEM once the arena's differently protected pieces pass
// vm.max_map_count, say).
static void protect(size_t off, size_t len, int prot) {
  if (mprotect(g_arena + off, len, prot) != 0) {
    report("mprotect of %zu bytes at arena offset %zu failed: %s", len, off, strerror(errno));
    abort();
  }
}

// Device memory readable/writable while a device operation runs (EMU_PROTECT=1).
DeviceAccess::DeviceAccess() {
  if (kProtect == 1 && g_access_depth++ == 0 && g_high) protect(0, g_high, PROT_READ | PROT_WRITE);
}
DeviceAccess::~DeviceAccess() {
  if (kProtect == 1 && --g_access_depth == 0 && g_high) protect(0, g_high, PROT_NONE);
}

static void protect_span(size_t off, size_t span, bool live) {
  // span = data pages + one guard page
  if (!live) {
    protect(off, span, PROT_NONE);
    madvise(g_arena + off, span, MADV_DONTNEED);
    return;
  }
  if (kProtect == 1) {
    protect(off, span, g_access_depth ? PROT_READ | PROT_WRITE : PROT_NONE);
  } else {
    protect(off, span - kPage, PROT_READ | PROT_WRITE);
    protect(off + span - kPage, kPage, PROT_NONE);
  }
}

static void* device_alloc(size_t bytes) {
  arena_init();
  const size_t data_pages = std::max<size_t>(1, (bytes + kPage - 1) / kPage);
  const size_t span = (data_pages + 1) * kPage;
  size_t off = SIZE_MAX;
  for (auto it = g_free_ranges.begin(); it != g_free_ranges.end(); ++it)
    if (it->second >= span) {
      off = it->first;
      const size_t left = it->second - span;
      g_free_ranges.erase(it);
      if (left) g_free_ranges[off + span] = left;
      break;
    }
  if (off == SIZE_MAX) {
    if (g_high + span > kArenaBytes) return nullptr;
    off = g_high;
    g_high += span;
  }
  protect_span(off, span, true);
  // The data ends where the guard page starts (bytes rounded up to 256, cudaMalloc's alignment).
  const size_t rounded = (bytes + 255) / 256 * 256;
  unsigned char* p = g_arena + off + data_pages * kPage - rounded;
  if (rounded == 0) p = g_arena + off;
  {
    DeviceAccess acc;
    memset(g_arena + off, kFill, data_pages * kPage);
  }
  g_allocs[reinterpret_cast<uintptr_t>(p)] = {bytes, span};
  g_in_use += bytes;
  return p;
}

static bool device_free(void* p) {
  auto it = g_allocs.find(reinterpret_cast<uintptr_t>(p));
  if (it == g_allocs.end()) return false;
  const size_t span = it->second.second;
  const size_t data_pages = span / kPage - 1;
  const size_t rounded = (it->second.first + 255) / 256 * 256;
  size_t off = static_cast<size_t>(static_cast<unsigned char*>(p) - g_arena);
  if (rounded) off = off + rounded - data_pages * kPage;
  g_in_use -= it->second.first;
  g_allocs.erase(it);
  protect_span(off, span, false);
  // coalesce
  auto next = g_free_ranges.lower_bound(off);
  size_t o = off, n = span;
  if (next != g_free_ranges.end() && next->first == o + n) {
    n += next->second;
    g_free_ranges.erase(next);
  }
  auto prev = g_free_ranges.lower_bound(o);
  if (prev != g_free_ranges.begin()) {
    --prev;
    if (prev->first + prev->second == o) {
      o = prev->first;
      n += prev->second;
      g_free_ranges.erase(prev);
    }
  }
  g_free_ranges[o] = n;
  return true;
}

// Checks that [p, p+bytes) lies in one live allocation (device) or outside the arena (host).
bool check_range(const void* p, size_t bytes, bool want_device, const char* what) {
  if (bytes == 0) return true;
  if (!want_device) {
    if (in_arena(p)) {
      report("%s: expected a host pointer, got device pointer %p", what, p);
      return false;
    }
    return true;
  }
  auto* a = alloc_of(p);
  if (!a) {
    report("%s: %p is not in any live device allocation%s", what, p,
           in_arena(p) ? " (freed or out of bounds)" : " (a HOST pointer)");
    return false;
  }
  const uintptr_t end = reinterpret_cast<uintptr_t>(p) + bytes;
  if (end > a->first + a->second.first) {
    report("%s: %zu bytes at %p run %zu bytes past the end of a %zu-byte allocation", what, bytes,
           p, static_cast<size_t>(end - (a->first + a->second.first)), a->second.first);
    return false;
  }
  return true;
}

// ---------------------------------------------------------------- shared memory
unsigned char* smem_buffer(size_t block, size_t bytes) {
  // Each block's dynamic shared memory ends at a page boundary followed by a PROT_NONE page.
  constexpr size_t kSlot = 512 * 1024;
  static unsigned char* area = nullptr;
  constexpr size_t kSlots = 1024;
  if (!area) {
    void* m = mmap(nullptr, kSlots * kSlot, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
      report("mmap of shared memory failed: %s", strerror(errno));
      abort();
    }
    area = static_cast<unsigned char*>(m);
  }
  static size_t guarded = 0;
  for (; guarded <= block && guarded < kSlots; ++guarded)
    if (mprotect(area + guarded * kSlot + kSlot - kPage, kPage, PROT_NONE) != 0) {
      report("mprotect of a shared memory guard page failed: %s", strerror(errno));
      abort();
    }
  if (block >= kSlots || bytes > kSlot - kPage) {
    report("shared memory request out of the emulator's range");
    abort();
  }
  unsigned char* end = area + block * kSlot + kSlot - kPage;
  unsigned char* p = end - ((bytes + 127) / 128 * 128);
  memset(p, kFill, end - p);
  return p;
}

// ---------------------------------------------------------------- faults
static void on_segv(int sig, siginfo_t* si, void*) {
  const void* a = si->si_addr;
  const char* kernel = running_kernel();
  char buf[512];
  int n;
  if (in_arena(a)) {
    if (g_access_depth == 0 && kProtect == 1)
      n = snprintf(buf, sizeof buf,
                   "\n[emu] FAULT: HOST code dereferenced DEVICE memory at %p (%s)\n", a,
                   alloc_of(a) ? "inside a live allocation" : "outside any live allocation");
    else
      n = snprintf(buf, sizeof buf,
                   "\n[emu] FAULT: device access at %p outside every live allocation "
                   "(out of bounds or freed)%s\n",
                   a, kernel ? " inside a kernel" : "");
  } else {
    n = snprintf(buf, sizeof buf, "\n[emu] FAULT: signal %d at address %p%s%s\n", sig, a,
                 kernel ? " inside kernel " : "", kernel ? kernel : "");
  }
  if (write(2, buf, n) < 0) {
  }
  void* frames[64];
  int k = backtrace(frames, 64);
  backtrace_symbols_fd(frames, k, 2);
  signal(sig, SIG_DFL);
  raise(sig);
}
struct InstallHandler {
  InstallHandler() {
    static char altstack[1 << 16];
    stack_t ss{};
    ss.ss_sp = altstack;
    ss.ss_size = sizeof altstack;
    sigaltstack(&ss, nullptr);
    struct sigaction sa {};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, nullptr);
    sigaction(SIGBUS, &sa, nullptr);
  }
};
static InstallHandler g_install;
}  // namespace emu

using namespace emu;

// ---------------------------------------------------------------- memory API
extern "C++" {

cudaError_t cudaMalloc(void** p, size_t bytes) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  *p = nullptr;
  if (bytes > kTotalMem - g_in_use) return set_error(cudaErrorMemoryAllocation);
  void* q = device_alloc(bytes);
  if (!q) return set_error(cudaErrorMemoryAllocation);
  *p = q;
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  if (!p) return cudaSuccess;
  if (!device_free(p)) {
    report("cudaFree(%p): not a live allocation", p);
    return set_error(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* f, size_t* t) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  *t = kTotalMem;
  *f = kTotalMem - g_in_use;
  return cudaSuccess;
}
static cudaError_t do_copy(const char* api, void* dst, const void* src, size_t bytes,
                           cudaMemcpyKind kind, cudaStream_t s) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  if (bytes == 0) return cudaSuccess;
  if (!stream_ok(s, api)) return set_error(cudaErrorInvalidResourceHandle);
  bool ok = true;
  switch (kind) {
    case cudaMemcpyHostToDevice:
      ok = check_range(dst, bytes, true, "cudaMemcpy H2D dst") &&
           check_range(src, bytes, false, "cudaMemcpy H2D src");
      break;
    case cudaMemcpyDeviceToHost:
      ok = check_range(dst, bytes, false, "cudaMemcpy D2H dst") &&
           check_range(src, bytes, true, "cudaMemcpy D2H src");
      break;
    case cudaMemcpyDeviceToDevice:
      ok = check_range(dst, bytes, true, "cudaMemcpy D2D dst") &&
           check_range(src, bytes, true, "cudaMemcpy D2D src");
      break;
    case cudaMemcpyHostToHost:
      ok = check_range(dst, bytes, false, "cudaMemcpy H2H dst") &&
           check_range(src, bytes, false, "cudaMemcpy H2H src");
      break;
    default:
      break;
  }
  if (!ok) return set_error(cudaErrorInvalidValue);
  DeviceAccess acc;
  memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  cudaError_t p = take_pending();
  if (p != cudaSuccess) return set_error(p);
  return do_copy("cudaMemcpy", dst, src, bytes, kind, nullptr);
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t s) {
  return do_copy("cudaMemcpyAsync", dst, src, bytes, kind, s);
}
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t s) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  if (bytes == 0) return cudaSuccess;
  if (!stream_ok(s, "cudaMemsetAsync")) return set_error(cudaErrorInvalidResourceHandle);
  if (!check_range(dst, bytes, true, "cudaMemset")) return set_error(cudaErrorInvalidValue);
  DeviceAccess acc;
  memset(dst, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
  return cudaMemsetAsync(dst, value, bytes, nullptr);
}

}  // extern "C++"
