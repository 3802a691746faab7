// CUDA-on-the-CPU emulation: runtime API, device memory, kernel execution (every CUDA thread a
// fiber on one OS thread), warp collectives, cuBLAS (column-major, as NVIDIA documents it), CUB's
// radix sort. Environment:
//   EMU_SMS=n        SMs of the emulated H100-like GPU (default 8)
//   EMU_PROTECT=0|1|2  1 (default): device memory is PROT_NONE while host code runs (a host
//                    dereference of a device pointer faults, reported); 2: guard pages after every
//                    allocation stay PROT_NONE (kernel overruns fault); 0: neither
//   EMU_FILL=byte    fill of fresh cudaMalloc memory and dynamic shared memory (default 0xFF: NaN)
//   EMU_VERBOSE=1    log every launch
#include <cblas.h>
#include <execinfo.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cerrno>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cub/device/device_radix_sort.cuh"
#include "cublas_v2.h"
#include "cuda_runtime.h"
#include "mma.h"

extern "C" void emu_switch(void** save_sp, void* new_sp);
extern "C" void emu_tramp();

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;
namespace emu {
#define g_block_dim ::blockDim
#define g_grid_dim ::gridDim

// ---------------------------------------------------------------- configuration
static int env_int(const char* name, int dflt) {
  const char* v = getenv(name);
  return v && *v ? static_cast<int>(strtol(v, nullptr, 0)) : dflt;
}
static const int kSms = env_int("EMU_SMS", 8);
static const int kProtect = env_int("EMU_PROTECT", 1);
static const int kFill = env_int("EMU_FILL", 0xFF);
static const int kVerbose = env_int("EMU_VERBOSE", 0);
static const int kOrder = env_int("EMU_ORDER", 0);  // 1: threads and blocks start in reverse order
constexpr size_t kSmemOptin = 232448;               // 227 KiB per block (opt-in)
constexpr size_t kSmemPerSm = 233472;               // 228 KiB per SM
constexpr size_t kSmemReserved = 1024;              // per block, by the system
constexpr size_t kSmemDefault = 49152;              // without the opt-in attribute
constexpr size_t kTotalMem = size_t{80} << 30;
constexpr int kL2 = 50 << 20;

static std::atomic<long> g_reports{0};
void report(const char* fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  ++g_reports;
  fprintf(stderr, "[emu] %s\n", buf);
  fflush(stderr);
}

// ---------------------------------------------------------------- errors
static cudaError_t g_last_error = cudaSuccess;
static cudaError_t g_pending = cudaSuccess;  // a kernel fault, returned by the next sync point
static cudaError_t set_error(cudaError_t e) {
  if (e != cudaSuccess) g_last_error = e;
  return e;
}
static cudaError_t take_pending() {
  cudaError_t e = g_pending;
  g_pending = cudaSuccess;
  return e;
}

// ---------------------------------------------------------------- device memory
constexpr size_t kPage = 4096;
constexpr size_t kArenaBytes = size_t{1} << 40;  // address space reserved (1 TiB, no backing)
static unsigned char* g_arena = nullptr;
static size_t g_high = 0;  // bytes of the arena ever handed out (page multiple)
static std::map<size_t, size_t> g_free_ranges;                   // offset -> bytes
static std::map<uintptr_t, std::pair<size_t, size_t>> g_allocs;  // ptr -> (bytes asked, span)
static size_t g_in_use = 0;
static int g_access_depth = 0;
static std::recursive_mutex g_mutex;

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

// Device memory readable/writable while a device operation runs (EMU_PROTECT=1).
struct DeviceAccess {
  DeviceAccess() {
    if (kProtect == 1 && g_access_depth++ == 0 && g_high &&
        mprotect(g_arena, g_high, PROT_READ | PROT_WRITE) != 0) {
      report("mprotect failed: %s", strerror(errno));
      abort();
    }
  }
  ~DeviceAccess() {
    if (kProtect == 1 && --g_access_depth == 0 && g_high &&
        mprotect(g_arena, g_high, PROT_NONE) != 0) {
      report("mprotect failed: %s", strerror(errno));
      abort();
    }
  }
};

static void protect_span(size_t off, size_t span, bool live) {
  // span = data pages + one guard page
  if (!live) {
    mprotect(g_arena + off, span, PROT_NONE);
    madvise(g_arena + off, span, MADV_DONTNEED);
    return;
  }
  if (kProtect == 1) {
    mprotect(g_arena + off, span, g_access_depth ? PROT_READ | PROT_WRITE : PROT_NONE);
  } else {
    mprotect(g_arena + off, span - kPage, PROT_READ | PROT_WRITE);
    mprotect(g_arena + off + span - kPage, kPage, PROT_NONE);
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

// ---------------------------------------------------------------- fibers
enum State { RUNNABLE, WAITING, DONE };
struct Fiber : FiberPublic {
  void* sp = nullptr;
  char* stack = nullptr;
  int blk = 0;  // index into the launch's blocks
  int tid = 0;  // linear thread index in the block
  State state = RUNNABLE;
  const char* wait_what = "";
  int wait_line = 0;
};
struct Warp {
  int arrived = 0, kind = -1, line = 0;
  std::vector<Fiber*> waiters;
  void* slots[32] = {};
};
struct Block {
  uint3 idx;
  unsigned char* smem = nullptr;
  size_t smem_bytes = 0;
  int nthreads = 0, live = 0, arrived = 0, line = 0;
  std::vector<Fiber*> waiters;
  std::vector<Warp> warps;
  int cluster = 0;
};
struct Barrier {
  int arrived = 0, line = -1;
  std::vector<Fiber*> waiters;
};
struct Run {
  std::vector<Fiber> fibers;
  std::vector<Block> blocks;
  std::deque<Fiber*> queue;
  const std::function<void()>* body = nullptr;
  bool cooperative = false;
  int cluster_size = 0;  // 0: no clusters
  Barrier grid;
  std::map<int, Barrier> clusters;
  Fiber* cur = nullptr;
  void* sched_sp = nullptr;
  bool failed = false;
  const char* name = "";
};
static Run* g_run = nullptr;
static FiberPublic g_host_fiber;  // threadIdx outside kernels (never meaningful)

FiberPublic* cur_fiber() {
  return g_run && g_run->cur ? g_run->cur : &g_host_fiber;
}
static Fiber* cur() {
  if (!g_run || !g_run->cur) {
    report("device function called outside a kernel");
    abort();
  }
  return g_run->cur;
}

constexpr size_t kStack = 128 * 1024;
constexpr size_t kMaxFibers = 40000;
static char* stack_of(size_t i) {
  static char* pool = nullptr;
  static size_t guarded = 0;
  if (!pool) {
    void* m = mmap(nullptr, kMaxFibers * kStack, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) abort();
    pool = static_cast<char*>(m);
  }
  if (i >= kMaxFibers) {
    report("too many fibers");
    abort();
  }
  // a guard page at the bottom of every stack in use (set once)
  for (; guarded <= i && guarded < 8192; ++guarded)  // (VMA count: max_map_count)
    if (mprotect(pool + guarded * kStack, kPage, PROT_NONE) != 0) {
      report("mprotect of a stack guard failed");
      abort();
    }
  return pool + i * kStack;
}

static void to_scheduler() {
  Run& r = *g_run;
  emu_switch(&r.cur->sp, r.sched_sp);
}
static void wake(Fiber* f) {
  f->state = RUNNABLE;
  g_run->queue.push_back(f);
}
static void wait_here(const char* what, int line) {
  Fiber* f = g_run->cur;
  f->state = WAITING;
  f->wait_what = what;
  f->wait_line = line;
  to_scheduler();
}

static void release_block(Block& b) {
  for (Fiber* f : b.waiters)
    if (f != g_run->cur) wake(f);
  b.waiters.clear();
  b.arrived = 0;
}
static void release_barrier(Barrier& br) {
  for (Fiber* f : br.waiters)
    if (f != g_run->cur) wake(f);
  br.waiters.clear();
  br.arrived = 0;
  br.line = -1;
}
static void warp_release(Block& b, Warp& w, void (*fn)(void**, int, void*), void* ctx);

static int warp_live(const Block& b, int w) {
  int n = 0;
  for (int t = w * 32; t < std::min(b.nthreads, w * 32 + 32); ++t) {
    // fibers of block b are contiguous in r.fibers
    (void)t;
  }
  return n;
}

// After a fiber exits: barriers that waited only for it complete.
static void on_exit(Fiber* f) {
  Run& r = *g_run;
  Block& b = r.blocks[f->blk];
  b.live--;
  if (b.arrived > 0 && b.arrived == b.live) {
    static std::set<std::string> said;
    std::string key = std::string(r.name) + std::to_string(b.line);
    if (said.insert(key).second)
      report("note: __syncthreads (line %d) completed with exited threads in %s", b.line, r.name);
    release_block(b);
  }
  const int w = f->tid / 32;
  if (b.warps[w].arrived > 0)
    report("a lane exited while its warp waits at a warp collective (line %d) in %s",
           b.warps[w].line, r.name);
  (void)warp_live;
}

static void fiber_main(void*) {
  Run& r = *g_run;
  (*r.body)();
  Fiber* f = r.cur;
  f->state = DONE;
  on_exit(f);
  emu_switch(&f->sp, r.sched_sp);
  abort();
}

void syncthreads(int line) {
  Fiber* f = cur();
  Block& b = g_run->blocks[f->blk];
  if (b.arrived == 0)
    b.line = line;
  else if (b.line != line && line && b.line) {
    static int said = 0;
    if (said++ < 5)
      report("divergent __syncthreads: lines %d and %d meet in one barrier (%s)", b.line, line,
             g_run->name);
  }
  b.arrived++;
  if (b.arrived == b.live) {
    release_block(b);
    return;
  }
  b.waiters.push_back(f);
  wait_here("__syncthreads", line);
}

static void group_sync(Barrier& br, int members_live, int line, const char* what) {
  Fiber* f = cur();
  br.arrived++;
  if (br.arrived == members_live) {
    release_barrier(br);
    return;
  }
  br.waiters.push_back(f);
  wait_here(what, line);
}

void grid_sync(int line) {
  Run& r = *g_run;
  cur();
  if (!r.cooperative) {
    report("grid.sync() in %s, which was not launched cooperatively: undefined on a GPU", r.name);
    r.failed = true;
  }
  int live = 0;
  for (auto& b : r.blocks) live += b.live;
  group_sync(r.grid, live, line, "grid.sync");
}

void cluster_sync(int line) {
  Run& r = *g_run;
  Fiber* f = cur();
  if (r.cluster_size == 0) {
    // without a cluster launch, a block is a cluster of one
    syncthreads(line);
    return;
  }
  const int c = r.blocks[f->blk].cluster;
  int live = 0;
  for (auto& b : r.blocks)
    if (b.cluster == c) live += b.live;
  group_sync(r.clusters[c], live, line, "cluster.sync");
}

void spin_yield() {
  static long spins = 0;
  if (++spins % 100000000L == 0) report("a spin loop has yielded %ld times", spins);
  Fiber* f = cur();
  f->state = RUNNABLE;
  f->wait_what = "spin";
  g_run->queue.push_back(f);
  to_scheduler();
}

void syncwarp(int line) {
  warp_collective(
      99, line, nullptr, [](void**, int, void*) {}, nullptr);
}

unsigned char* dyn_smem() {
  Fiber* f = cur();
  return g_run->blocks[f->blk].smem;
}

void warp_collective(int kind, int line, void* my_slot, void (*fn)(void**, int, void*), void* ctx) {
  Fiber* f = cur();
  Block& b = g_run->blocks[f->blk];
  Warp& w = b.warps[f->tid / 32];
  const int lane = f->tid % 32;
  const int width = std::min(32, b.nthreads - (f->tid / 32) * 32);
  if (w.arrived == 0) {
    w.kind = kind;
    w.line = line;
  } else if (w.kind != kind || w.line != line) {
    report("warp collective mismatch in %s: lanes at kind %d line %d and kind %d line %d",
           g_run->name, w.kind, w.line, kind, line);
  }
  w.slots[lane] = my_slot;
  w.arrived++;
  if (w.arrived == width) {
    fn(w.slots, width, ctx);
    for (Fiber* g : w.waiters) wake(g);
    w.waiters.clear();
    w.arrived = 0;
    return;
  }
  w.waiters.push_back(f);
  wait_here("warp collective", line);
}

struct ShflSlot {
  uint64_t in, out;
  int mode, arg;
  unsigned mask;
};
uint64_t warp_shfl(uint64_t v, int mode, int arg, unsigned mask, int width, int line) {
  ShflSlot s{v, 0, mode, arg, mask};
  warp_collective(
      1, line, &s,
      [](void** slots, int n, void*) {
        auto S = [&](int l) { return static_cast<ShflSlot*>(slots[l]); };
        if (n != 32) report("shuffle in a warp of %d threads", n);
        for (int l = 0; l < n; ++l) {
          if (S(l)->mask != 0xffffffffu) report("shuffle with mask %x", S(l)->mask);
          int src = l;
          switch (S(l)->mode) {
            case 0:
              src = l ^ S(l)->arg;
              break;
            case 1:
              src = S(l)->arg & 31;
              break;
            case 2:
              src = l + S(l)->arg < 32 ? l + S(l)->arg : l;
              break;
            case 3:
              src = l - S(l)->arg >= 0 ? l - S(l)->arg : l;
              break;
          }
          if (src >= n) src = l;
          S(l)->out = S(src)->in;
        }
      },
      nullptr);
  (void)width;
  return s.out;
}

// ---------------------------------------------------------------- 16-bit floats
float half_bits_to_float(unsigned short h, bool bf) {
  uint32_t u;
  if (bf) {
    u = static_cast<uint32_t>(h) << 16;
  } else {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1f) {
      u = sign | 0x7f800000u | (m << 13);
    } else if (e == 0) {
      float f = static_cast<float>(m) * 5.9604644775390625e-08f;  // 2^-24
      memcpy(&u, &f, 4);
      u |= sign;
    } else {
      u = sign | ((e + 112u) << 23) | (m << 13);
    }
  }
  float f;
  memcpy(&f, &u, 4);
  return f;
}

// ---------------------------------------------------------------- tensor cores
void wmma_load(float* dst, const void* p, unsigned ldm, bool col_major, int, bool bf, int) {
  const auto* h = static_cast<const unsigned short*>(p);
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c)
      dst[r * 16 + c] = half_bits_to_float(col_major ? h[r + c * ldm] : h[r * ldm + c], bf);
}
struct WmmaSlot {
  float* d;
  const float *a, *b, *c;
};
void wmma_mma(float* d, const float* a, const float* b, const float* c, int line) {
  WmmaSlot s{d, a, b, c};
  warp_collective(
      2, line, &s,
      [](void** slots, int n, void*) {
        auto* s0 = static_cast<WmmaSlot*>(slots[0]);
        float out[256];
        for (int i = 0; i < 16; ++i)
          for (int j = 0; j < 16; ++j) {
            double acc = 0;
            for (int k = 0; k < 16; ++k)
              acc += static_cast<double>(s0->a[i * 16 + k]) * s0->b[k * 16 + j];
            out[i * 16 + j] = static_cast<float>(acc + s0->c[i * 16 + j]);
          }
        for (int l = 0; l < n; ++l) memcpy(static_cast<WmmaSlot*>(slots[l])->d, out, sizeof out);
      },
      nullptr);
}
void wmma_store(float* p, const float* src, unsigned ldm, bool col_major, int) {
  // every lane holds the whole tile; lane 0 stores it
  if (cur()->tid % 32 != 0) return;
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) (col_major ? p[r + c * ldm] : p[r * ldm + c]) = src[r * 16 + c];
}

struct MmaSlot {
  float* d;
  uint32_t a[4], b[2];
  float c[4];
  bool bf;
};
void mma16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], bool bf, int line) {
  MmaSlot s;
  s.d = d;
  memcpy(s.a, a, sizeof s.a);
  memcpy(s.b, b, sizeof s.b);
  memcpy(s.c, d, sizeof s.c);
  s.bf = bf;
  warp_collective(
      3, line, &s,
      [](void** slots, int n, void*) {
        if (n != 32) report("mma.sync in a warp of %d threads", n);
        float A[16][16], B[16][8], C[16][8];
        const bool bf = static_cast<MmaSlot*>(slots[0])->bf;
        auto lo = [&](uint32_t r) {
          return half_bits_to_float(static_cast<unsigned short>(r & 0xffffu), bf);
        };
        auto hi = [&](uint32_t r) {
          return half_bits_to_float(static_cast<unsigned short>(r >> 16), bf);
        };
        for (int l = 0; l < 32; ++l) {
          auto* s = static_cast<MmaSlot*>(slots[l]);
          const int g = l / 4, t = l % 4;
          A[g][2 * t] = lo(s->a[0]);
          A[g][2 * t + 1] = hi(s->a[0]);
          A[g + 8][2 * t] = lo(s->a[1]);
          A[g + 8][2 * t + 1] = hi(s->a[1]);
          A[g][2 * t + 8] = lo(s->a[2]);
          A[g][2 * t + 9] = hi(s->a[2]);
          A[g + 8][2 * t + 8] = lo(s->a[3]);
          A[g + 8][2 * t + 9] = hi(s->a[3]);
          B[2 * t][g] = lo(s->b[0]);
          B[2 * t + 1][g] = hi(s->b[0]);
          B[2 * t + 8][g] = lo(s->b[1]);
          B[2 * t + 9][g] = hi(s->b[1]);
          C[g][2 * t] = s->c[0];
          C[g][2 * t + 1] = s->c[1];
          C[g + 8][2 * t] = s->c[2];
          C[g + 8][2 * t + 1] = s->c[3];
        }
        for (int l = 0; l < 32; ++l) {
          auto* s = static_cast<MmaSlot*>(slots[l]);
          const int g = l / 4, t = l % 4;
          const int rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
          for (int q = 0; q < 4; ++q) {
            double acc = 0;
            for (int k = 0; k < 16; ++k) acc += static_cast<double>(A[rows[q]][k]) * B[k][cols[q]];
            s->d[q] = static_cast<float>(acc + C[rows[q]][cols[q]]);
          }
        }
      },
      nullptr);
}

// ---------------------------------------------------------------- running a grid
// Runs blocks [first, last) of the current run's grid together (all their fibers live at once).
static void run_blocks(Run& r, const std::vector<int>& which, int nthreads) {
  r.fibers.assign(which.size() * nthreads, Fiber{});
  r.queue.clear();
  size_t i = 0;
  for (int bi : which) {
    Block& b = r.blocks[bi];
    b.live = nthreads;
    b.arrived = 0;
    b.waiters.clear();
    b.warps.assign((nthreads + 31) / 32, Warp{});
    for (int t = 0; t < nthreads; ++t, ++i) {
      Fiber& f = r.fibers[i];
      f.blk = bi;
      f.tid = t;
      f.tidx.x = t % g_block_dim.x;
      f.tidx.y = t / g_block_dim.x % g_block_dim.y;
      f.tidx.z = t / (g_block_dim.x * g_block_dim.y);
      f.bidx = b.idx;
      f.stack = stack_of(i);
      uintptr_t top = reinterpret_cast<uintptr_t>(f.stack + kStack) & ~uintptr_t{15};
      uint64_t* s = reinterpret_cast<uint64_t*>(top - 16 - 64);
      uint32_t csr[2] = {0x1F80u, 0x037Fu};
      memcpy(&s[0], csr, 8);
      s[1] = 0;
      s[2] = 0;
      s[3] = reinterpret_cast<uint64_t>(&fiber_main);
      s[4] = 0;
      s[5] = 0;
      s[6] = 0;
      s[7] = reinterpret_cast<uint64_t>(&emu_tramp);
      s[8] = 0;
      f.sp = s;
      f.state = RUNNABLE;
      if (kOrder)
        r.queue.push_front(&f);
      else
        r.queue.push_back(&f);
    }
  }
  while (!r.queue.empty()) {
    Fiber* f = r.queue.front();
    r.queue.pop_front();
    if (f->state != RUNNABLE) continue;
    r.cur = f;
    ::threadIdx = f->tidx;
    ::blockIdx = f->bidx;
    emu_switch(&r.sched_sp, f->sp);
    r.cur = nullptr;
  }
  size_t done = 0;
  std::map<std::string, int> states;
  for (auto& f : r.fibers) {
    if (f.state == DONE)
      ++done;
    else
      states[std::string(f.wait_what) + " line " + std::to_string(f.wait_line)]++;
  }
  if (done != r.fibers.size()) {
    std::string s;
    for (auto& [k, v] : states) s += " [" + std::to_string(v) + " threads at " + k + "]";
    report("DEADLOCK in %s (blocks %d..%d of %u):%s", r.name, which.front(), which.back(),
           g_grid_dim.x * g_grid_dim.y * g_grid_dim.z, s.c_str());
    r.failed = true;
  }
}

static unsigned char* smem_buffer(size_t block, size_t bytes) {
  // Each block's dynamic shared memory ends at a page boundary followed by a PROT_NONE page.
  constexpr size_t kSlot = 512 * 1024;
  static unsigned char* area = nullptr;
  constexpr size_t kSlots = 1024;
  if (!area) {
    void* m = mmap(nullptr, kSlots * kSlot, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) abort();
    area = static_cast<unsigned char*>(m);
  }
  static size_t guarded = 0;
  for (; guarded <= block && guarded < kSlots; ++guarded)
    mprotect(area + guarded * kSlot + kSlot - kPage, kPage, PROT_NONE);
  if (block >= kSlots || bytes > kSlot - kPage) {
    report("shared memory request out of the emulator's range");
    abort();
  }
  unsigned char* end = area + block * kSlot + kSlot - kPage;
  unsigned char* p = end - ((bytes + 127) / 128 * 128);
  memset(p, kFill, end - p);
  return p;
}
bool in_smem_guard(const void* p) {
  (void)p;
  return false;
}

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

static std::set<cudaStream_t>& streams() {
  static std::set<cudaStream_t> s;
  return s;
}
bool stream_ok(cudaStream_t s) {
  if (s == nullptr || streams().count(s)) return true;
  report("launch or copy on stream %p, which is not a live stream", static_cast<void*>(s));
  return false;
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

static long g_launches = 0;

// Runs a grid: cooperative (every block live at once) or block after block.
static void execute(const char* name, dim3 grid, dim3 block, size_t smem,
                    const std::function<void()>& body, bool cooperative, int cluster_size) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  if (g_run) {
    report("kernel launch from inside a kernel (%s)", name);
    abort();
  }
  ++g_launches;
  if (kVerbose)
    report("launch %s grid (%u,%u,%u) block (%u,%u,%u) smem %zu%s", name, grid.x, grid.y, grid.z,
           block.x, block.y, block.z, smem, cooperative ? " cooperative" : "");
  DeviceAccess acc;
  Run r;
  r.body = &body;
  r.cooperative = cooperative;
  r.cluster_size = cluster_size;
  r.name = name;
  const dim3 saved_grid = g_grid_dim, saved_block = g_block_dim;
  g_grid_dim = grid;
  g_block_dim = block;
  const int nthreads = static_cast<int>(block.x * block.y * block.z);
  const uint64_t nblocks = uint64_t{grid.x} * grid.y * grid.z;
  r.blocks.resize(cooperative ? nblocks : 1);
  g_run = &r;
  if (cooperative) {
    std::vector<int> all;
    for (uint64_t b = 0; b < nblocks; ++b) {
      Block& bl = r.blocks[b];
      bl.idx = {static_cast<unsigned>(b % grid.x), static_cast<unsigned>(b / grid.x % grid.y),
                static_cast<unsigned>(b / (uint64_t{grid.x} * grid.y))};
      bl.smem = smem_buffer(b, smem);
      bl.smem_bytes = smem;
      bl.nthreads = nthreads;
      bl.cluster = cluster_size ? static_cast<int>(b / cluster_size) : 0;
      all.push_back(static_cast<int>(b));
    }
    run_blocks(r, all, nthreads);
  } else {
    for (uint64_t bb = 0; bb < nblocks && !r.failed; ++bb) {
      const uint64_t b = kOrder ? nblocks - 1 - bb : bb;
      Block& bl = r.blocks[0];
      bl = Block{};
      bl.idx = {static_cast<unsigned>(b % grid.x), static_cast<unsigned>(b / grid.x % grid.y),
                static_cast<unsigned>(b / (uint64_t{grid.x} * grid.y))};
      bl.smem = smem ? smem_buffer(0, smem) : nullptr;
      bl.smem_bytes = smem;
      bl.nthreads = nthreads;
      run_blocks(r, {0}, nthreads);
    }
  }
  g_run = nullptr;
  g_grid_dim = saved_grid;
  g_block_dim = saved_block;
  if (r.failed) {
    report(
        "kernel %s FAILED (reported above); the next synchronising call returns "
        "cudaErrorLaunchFailure",
        name);
    g_pending = cudaErrorLaunchFailure;
  }
}

void launch(const LaunchCfg& c, const std::function<void()>& body, const char* file, int line) {
  cudaError_t e = check_shape(c.grid, c.block);
  if (e == cudaSuccess && c.smem > kSmemDefault) e = cudaErrorInvalidValue;
  if (e == cudaSuccess && !stream_ok(c.stream)) e = cudaErrorInvalidResourceHandle;
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
  *t = kTotalMem;
  *f = kTotalMem - g_in_use;
  return cudaSuccess;
}
static cudaError_t do_copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                           cudaStream_t s) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  if (bytes == 0) return cudaSuccess;
  if (!stream_ok(s)) return set_error(cudaErrorInvalidResourceHandle);
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
  return do_copy(dst, src, bytes, kind, nullptr);
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t s) {
  return do_copy(dst, src, bytes, kind, s);
}
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t s) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  if (bytes == 0) return cudaSuccess;
  if (!stream_ok(s)) return set_error(cudaErrorInvalidResourceHandle);
  if (!check_range(dst, bytes, true, "cudaMemset")) return set_error(cudaErrorInvalidValue);
  DeviceAccess acc;
  memset(dst, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
  return cudaMemsetAsync(dst, value, bytes, nullptr);
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
  streams().erase(s);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  if (!stream_ok(s)) return set_error(cudaErrorInvalidResourceHandle);
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
  if (!stream_ok(s)) return set_error(cudaErrorInvalidResourceHandle);
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
  if (!stream_ok(s)) return set_error(cudaErrorInvalidResourceHandle);
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

// ---------------------------------------------------------------- cuBLAS
struct cublasContext {
  cudaStream_t stream = nullptr;
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
};
namespace emu {
static std::set<cublasHandle_t>& handles() {
  static std::set<cublasHandle_t> h;
  return h;
}
static float tf32(float x) {  // round to nearest even on the 13 dropped bits
  uint32_t u;
  memcpy(&u, &x, 4);
  if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0xfffu + ((u >> 13) & 1u)) & ~0x1fffu;
  memcpy(&x, &u, 4);
  return x;
}
static float to_f(const void* p, cudaDataType_t t, size_t i) {
  switch (t) {
    case CUDA_R_32F:
      return static_cast<const float*>(p)[i];
    case CUDA_R_64F:
      return static_cast<float>(static_cast<const double*>(p)[i]);
    case CUDA_R_16BF:
      return half_bits_to_float(static_cast<const unsigned short*>(p)[i], true);
    case CUDA_R_16F:
      return half_bits_to_float(static_cast<const unsigned short*>(p)[i], false);
    default:
      return 0;
  }
}
static unsigned short f_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<unsigned short>((u >> 16) | 0x40u);
  return static_cast<unsigned short>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static unsigned short f_to_f16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000u, abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<unsigned short>(sign | 0x7e00u);
  if (abs >= 0x477ff000u) return static_cast<unsigned short>(sign | 0x7c00u);
  if (abs < 0x38800000u) {
    float mag;
    memcpy(&mag, &abs, 4);
    mag += 0.5f;
    uint32_t mb;
    memcpy(&mb, &mag, 4);
    return static_cast<unsigned short>(sign | (mb - 0x3f000000u));
  }
  abs += 0xc8000fffu + ((abs >> 13) & 1u);
  return static_cast<unsigned short>(sign | (abs >> 13));
}
static void store_f(void* p, cudaDataType_t t, size_t i, float v) {
  switch (t) {
    case CUDA_R_32F:
      static_cast<float*>(p)[i] = v;
      break;
    case CUDA_R_64F:
      static_cast<double*>(p)[i] = v;
      break;
    case CUDA_R_16BF:
      static_cast<unsigned short*>(p)[i] = f_to_bf16(v);
      break;
    case CUDA_R_16F:
      static_cast<unsigned short*>(p)[i] = f_to_f16(v);
      break;
    default:
      break;
  }
}
// cuBLAS's argument checks for gemm (column-major): returns false (and reports) when cuBLAS would
// answer CUBLAS_STATUS_INVALID_VALUE.
static bool gemm_args_ok(const char* api, cublasHandle_t h, cublasOperation_t ta,
                         cublasOperation_t tb, int m, int n, int k, int lda, int ldb, int ldc) {
  if (!handles().count(h)) {
    report("%s: invalid handle", api);
    return false;
  }
  const int arows = ta == CUBLAS_OP_N ? m : k, brows = tb == CUBLAS_OP_N ? k : n;
  bool ok = m >= 0 && n >= 0 && k >= 0 && lda >= std::max(1, arows) && ldb >= std::max(1, brows) &&
            ldc >= std::max(1, m) &&
            (ta == CUBLAS_OP_N || ta == CUBLAS_OP_T || ta == CUBLAS_OP_C) &&
            (tb == CUBLAS_OP_N || tb == CUBLAS_OP_T || tb == CUBLAS_OP_C);
  if (!ok)
    report("%s: INVALID_VALUE (transa %d transb %d m %d n %d k %d lda %d ldb %d ldc %d)", api, ta,
           tb, m, n, k, lda, ldb, ldc);
  return ok;
}
// Bytes spanned by a column-major [rows, cols] operand with leading dimension ld.
static size_t span(int rows, int cols, int ld, size_t elem) {
  if (rows == 0 || cols == 0) return 0;
  return (static_cast<size_t>(cols - 1) * ld + rows) * elem;
}
static size_t elem_size(cudaDataType_t t) {
  return t == CUDA_R_64F ? 8 : t == CUDA_R_32F ? 4 : 2;
}
template <class T>
static cublasStatus_t gemm_generic(const char* api, cublasHandle_t h, cublasOperation_t ta,
                                   cublasOperation_t tb, int m, int n, int k, const void* alpha_p,
                                   const void* A, cudaDataType_t at, int lda, const void* B,
                                   cudaDataType_t bt, int ldb, const void* beta_p, void* C,
                                   cudaDataType_t ct, int ldc, bool use_tf32) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  if (!gemm_args_ok(api, h, ta, tb, m, n, k, lda, ldb, ldc)) return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  if (h->pointer_mode != CUBLAS_POINTER_MODE_HOST || in_arena(alpha_p) || in_arena(beta_p)) {
    report("%s: alpha/beta are device pointers or pointer mode is device", api);
    return CUBLAS_STATUS_EXECUTION_FAILED;
  }
  if (!stream_ok(h->stream)) return CUBLAS_STATUS_EXECUTION_FAILED;
  const T alpha = *static_cast<const T*>(alpha_p), beta = *static_cast<const T*>(beta_p);
  const int ar = ta == CUBLAS_OP_N ? m : k, ac = ta == CUBLAS_OP_N ? k : m;
  const int br = tb == CUBLAS_OP_N ? k : n, bc = tb == CUBLAS_OP_N ? n : k;
  bool ok = true;
  if (k > 0 && alpha != T(0)) {
    ok &= check_range(A, span(ar, ac, lda, elem_size(at)), true, (std::string(api) + " A").c_str());
    ok &= check_range(B, span(br, bc, ldb, elem_size(bt)), true, (std::string(api) + " B").c_str());
  }
  ok &= check_range(C, span(m, n, ldc, elem_size(ct)), true, (std::string(api) + " C").c_str());
  if (!ok) return CUBLAS_STATUS_EXECUTION_FAILED;
  DeviceAccess acc;
  // op(A) [m, k], op(B) [k, n], column-major: element (i, j) of a matrix X with ld is X[i + j*ld].
  std::vector<T> opa(static_cast<size_t>(m) * k), opb(static_cast<size_t>(k) * n);
  auto get = [&](const void* p, cudaDataType_t t, size_t idx) -> T {
    if constexpr (std::is_same_v<T, double>)
      return static_cast<const double*>(p)[idx];
    else {
      float v = to_f(p, t, idx);
      return use_tf32 ? tf32(v) : v;
    }
  };
  for (int i = 0; i < m; ++i)
    for (int l = 0; l < k; ++l)
      opa[static_cast<size_t>(i) * k + l] = get(
          A, at,
          ta == CUBLAS_OP_N ? i + static_cast<size_t>(l) * lda : l + static_cast<size_t>(i) * lda);
  for (int l = 0; l < k; ++l)
    for (int j = 0; j < n; ++j)
      opb[static_cast<size_t>(l) * n + j] = get(
          B, bt,
          tb == CUBLAS_OP_N ? l + static_cast<size_t>(j) * ldb : j + static_cast<size_t>(l) * ldb);
  // P [m, n] row-major = opa opb (OpenBLAS, one thread)
  std::vector<T> P(static_cast<size_t>(m) * n, T(0));
  if (k > 0) {
    if constexpr (std::is_same_v<T, double>)
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, opa.data(), k,
                  opb.data(), n, 0.0, P.data(), n);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.f, opa.data(), k,
                  opb.data(), n, 0.f, P.data(), n);
  }
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      const size_t ci = i + static_cast<size_t>(j) * ldc;
      T v = alpha * P[static_cast<size_t>(i) * n + j];
      if (beta != T(0)) {  // beta == 0: C is not read (may hold NaN)
        if constexpr (std::is_same_v<T, double>)
          v += beta * static_cast<double*>(C)[ci];
        else
          v += beta * to_f(C, ct, ci);
      }
      if constexpr (std::is_same_v<T, double>)
        static_cast<double*>(C)[ci] = v;
      else
        store_f(C, ct, ci, v);
    }
  return CUBLAS_STATUS_SUCCESS;
}
}  // namespace emu

cublasStatus_t cublasCreate(cublasHandle_t* h) {
  *h = new cublasContext;
  handles().insert(*h);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t h) {
  handles().erase(h);
  delete h;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
  if (!handles().count(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->stream = s;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetPointerMode(cublasHandle_t h, cublasPointerMode_t m) {
  if (!handles().count(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->pointer_mode = m;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) {
  if (!handles().count(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->math = m;
  return CUBLAS_STATUS_SUCCESS;
}
const char* cublasGetStatusName(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    default:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
  }
}
const char* cublasGetStatusString(cublasStatus_t s) {
  return cublasGetStatusName(s);
}
cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                           int n, int k, const float* alpha, const float* A, int lda,
                           const float* B, int ldb, const float* beta, float* C, int ldc) {
  const bool tf = handles().count(h) && h->math == CUBLAS_TF32_TENSOR_OP_MATH;
  return gemm_generic<float>("cublasSgemm", h, ta, tb, m, n, k, alpha, A, CUDA_R_32F, lda, B,
                             CUDA_R_32F, ldb, beta, C, CUDA_R_32F, ldc, tf);
}
cublasStatus_t cublasDgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                           int n, int k, const double* alpha, const double* A, int lda,
                           const double* B, int ldb, const double* beta, double* C, int ldc) {
  return gemm_generic<double>("cublasDgemm", h, ta, tb, m, n, k, alpha, A, CUDA_R_64F, lda, B,
                              CUDA_R_64F, ldb, beta, C, CUDA_R_64F, ldc, false);
}
cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                            int n, int k, const void* alpha, const void* A, cudaDataType_t at,
                            int lda, const void* B, cudaDataType_t bt, int ldb, const void* beta,
                            void* C, cudaDataType_t ct, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t) {
  const bool half_in = (at == CUDA_R_16BF || at == CUDA_R_16F);
  bool supported =
      at == bt && compute == CUBLAS_COMPUTE_32F &&
      ((half_in && (ct == at || ct == CUDA_R_32F)) || (at == CUDA_R_32F && ct == CUDA_R_32F));
  if (!supported) {
    report("cublasGemmEx: type combination A %d B %d C %d compute %d not supported", at, bt, ct,
           compute);
    return CUBLAS_STATUS_NOT_SUPPORTED;
  }
  const bool tf = at == CUDA_R_32F && handles().count(h) && h->math == CUBLAS_TF32_TENSOR_OP_MATH;
  return gemm_generic<float>("cublasGemmEx", h, ta, tb, m, n, k, alpha, A, at, lda, B, bt, ldb,
                             beta, C, ct, ldc, tf);
}
template <class T>
static cublasStatus_t axpy(const char* api, cublasHandle_t h, int n, const T* alpha, const T* x,
                           int incx, T* y, int incy) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  if (!handles().count(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (n <= 0) return CUBLAS_STATUS_SUCCESS;
  if (incx <= 0 || incy <= 0) {
    report("%s: non-positive increments not emulated", api);
    return CUBLAS_STATUS_NOT_SUPPORTED;
  }
  bool ok = check_range(x, (static_cast<size_t>(n - 1) * incx + 1) * sizeof(T), true, api) &&
            check_range(y, (static_cast<size_t>(n - 1) * incy + 1) * sizeof(T), true, api);
  if (!ok) return CUBLAS_STATUS_EXECUTION_FAILED;
  DeviceAccess acc;
  for (int i = 0; i < n; ++i)
    y[static_cast<size_t>(i) * incy] += *alpha * x[static_cast<size_t>(i) * incx];
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSaxpy(cublasHandle_t h, int n, const float* alpha, const float* x, int incx,
                           float* y, int incy) {
  return axpy("cublasSaxpy", h, n, alpha, x, incx, y, incy);
}
cublasStatus_t cublasDaxpy(cublasHandle_t h, int n, const double* alpha, const double* x, int incx,
                           double* y, int incy) {
  return axpy("cublasDaxpy", h, n, alpha, x, incx, y, incy);
}

// ---------------------------------------------------------------- CUB
namespace emu {
cudaError_t radix_sort_pairs_u32_i32(void* temp, size_t& temp_bytes, const uint32_t* kin,
                                     uint32_t* kout, const int32_t* vin, int32_t* vout, int n,
                                     int begin_bit, int end_bit, cudaStream_t s) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  const size_t need = static_cast<size_t>(std::max(n, 0)) * 8 + 1024;  // some non-zero amount
  if (temp == nullptr) {
    temp_bytes = need;
    return cudaSuccess;
  }
  if (temp_bytes < need) {
    report("cub::DeviceRadixSort::SortPairs: %zu bytes of temporary storage, %zu needed",
           temp_bytes, need);
    return set_error(cudaErrorInvalidValue);
  }
  if (n <= 0) return cudaSuccess;
  if (!stream_ok(s)) return set_error(cudaErrorInvalidResourceHandle);
  const size_t kb = static_cast<size_t>(n) * 4;
  bool ok = check_range(temp, temp_bytes, true, "SortPairs temp") &&
            check_range(kin, kb, true, "SortPairs keys_in") &&
            check_range(kout, kb, true, "SortPairs keys_out") &&
            check_range(vin, kb, true, "SortPairs values_in") &&
            check_range(vout, kb, true, "SortPairs values_out");
  if (!ok) return set_error(cudaErrorInvalidValue);
  if (begin_bit < 0 || end_bit > 32 || begin_bit >= end_bit)
    return set_error(cudaErrorInvalidValue);
  DeviceAccess acc;
  const uint64_t mask = ((uint64_t{1} << (end_bit - begin_bit)) - 1) << begin_bit;
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return (kin[a] & mask) < (kin[b] & mask); });
  std::vector<uint32_t> k2(n);
  std::vector<int32_t> v2(n);
  for (int i = 0; i < n; ++i) {
    k2[i] = kin[order[i]];
    v2[i] = vin[order[i]];
  }
  memcpy(kout, k2.data(), kb);
  memcpy(vout, v2.data(), kb);
  memset(temp, 0xEE, std::min(temp_bytes, need));  // CUB scribbles over its temporary storage
  return cudaSuccess;
}

// ---------------------------------------------------------------- faults
static void on_segv(int sig, siginfo_t* si, void*) {
  const void* a = si->si_addr;
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
                   a, g_run ? " inside a kernel" : "");
  } else {
    n = snprintf(buf, sizeof buf, "\n[emu] FAULT: signal %d at address %p%s%s\n", sig, a,
                 g_run ? " inside kernel " : "", g_run ? g_run->name : "");
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
    openblas_set_num_threads(1);
  }
};
static InstallHandler g_install;
}  // namespace emu

asm(R"(
.text
.globl emu_switch
.type emu_switch,@function
emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.globl emu_tramp
.type emu_tramp,@function
emu_tramp:
  movq %r12, %rdi
  callq *%r13
  ud2
)");
