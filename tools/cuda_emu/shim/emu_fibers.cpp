// CUDA-on-the-CPU emulation (README.md): kernel execution. Every CUDA thread is a fiber (its own
// 128 KiB stack over a guard page; the x86-64 context switch emu_switch and emu_tramp are at the
// end of this file) on one OS thread, run by a scheduler until each has exited or waits.
// __syncthreads, grid.sync(), cluster.sync(), warp collectives and shuffles are rendezvous points;
// a deadlock or a divergent barrier is reported and fails the launch. execute() runs a grid:
// cooperative and cluster launches every block at once, the others block after block.
#include <sys/mman.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "emu_core.h"

extern "C" void emu_switch(void** save_sp, void* new_sp);
extern "C" void emu_tramp();

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;
namespace emu {
#define g_block_dim ::blockDim
#define g_grid_dim ::gridDim

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
// A shuffle with a partial mask: the lanes of `mask` that have arrived.
struct ShflGroup {
  unsigned mask = 0, arrived = 0;
  int line = 0;
  std::vector<Fiber*> waiters;
  void* slots[32] = {};
};
struct Warp {
  int arrived = 0, kind = -1, line = 0;
  std::vector<Fiber*> waiters;
  void* slots[32] = {};
  std::vector<ShflGroup> shfl_groups;
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
  for (const ShflGroup& g : b.warps[w].shfl_groups)
    if (g.mask >> (f->tid % 32) & 1)
      report("lane %d exited while lanes of its mask %#x wait at a shuffle (line %d) in %s",
             f->tid % 32, g.mask, g.line, r.name);
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

// ---------------------------------------------------------------- prefetch
// A hint on a GPU; here its address must lie in a live device allocation, else the launch fails.
void prefetch(const void* p, int line) {
  cur();
  char what[160];
  snprintf(what, sizeof what, "prefetch at line %d in %s", line, g_run->name);
  if (!check_range(p, 1, /*want_device=*/true, what)) g_run->failed = true;
}

// ---------------------------------------------------------------- shuffles
struct ShflSlot {
  uint64_t in, out;
  int mode, arg, width;
};
// A shuffle's undefined behaviour: fails the launch; reported once per kernel and line.
static void shfl_misuse(int line, const char* fmt, ...) {
  cur();
  g_run->failed = true;
  static std::set<std::string> said;
  if (!said.insert(std::string(g_run->name) + ":" + std::to_string(line)).second) return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  report("shuffle at line %d in %s: %s (undefined on a GPU)", line, g_run->name, buf);
}
// The lane whose value `lane` receives, as the PTX ISA's shfl.sync computes it for CUDA's
// __shfl*_sync with `width`: segments of width lanes; a source past the segment's end (below its
// start for up) gives the lane its own value. xor may reach earlier segments, as documented.
static int shfl_source(int lane, int mode, int arg, int width) {
  const int b = arg & 31, first = lane & ~(width - 1), last = first | (width - 1);
  switch (mode) {
    case 0:
      return (lane ^ b) <= last ? lane ^ b : lane;
    case 1:
      return first | (arg & (width - 1));
    case 2:
      return lane + b <= last ? lane + b : lane;
    default:
      return lane - b >= first ? lane - b : lane;
  }
}
// Every lane in `present` has arrived (slots[l]): each gets its source's value. A source outside
// `present` (not in the mask, or beyond a partial warp's threads) is undefined: reported.
static void shfl_exchange(void** slots, unsigned mask, unsigned present, int line) {
  auto S = [&](int l) { return static_cast<ShflSlot*>(slots[l]); };
  if (present == 0xffffffffu) {  // the common case: every source exists
    for (int l = 0; l < 32; ++l)
      S(l)->out = S(shfl_source(l, S(l)->mode, S(l)->arg, S(l)->width))->in;
    return;
  }
  for (int l = 0; l < 32; ++l) {
    if (!(present >> l & 1)) continue;
    int src = shfl_source(l, S(l)->mode, S(l)->arg, S(l)->width);
    if (!(present >> src & 1)) {
      if (mask >> src & 1)
        shfl_misuse(line, "lane %d reads lane %d, which does not exist (a warp of %d threads)", l,
                    src, __builtin_popcount(present));
      else
        shfl_misuse(line, "lane %d reads lane %d, which is not in the mask %#x", l, src, mask);
      src = l;
    }
    S(l)->out = S(src)->in;
  }
}
uint64_t warp_shfl(uint64_t v, int mode, int arg, unsigned mask, int width, int line) {
  if (width < 1 || width > 32 || (width & (width - 1))) {
    shfl_misuse(line, "width %d is not a power of two from 1 to 32", width);
    width = 32;
  }
  ShflSlot s{v, v, mode, arg, width};
  if (mask == 0xffffffffu) {  // the common case: the whole warp
    warp_collective(
        1, line, &s,
        [](void** slots, int n, void* ctx) {
          shfl_exchange(slots, 0xffffffffu, n == 32 ? 0xffffffffu : (1u << n) - 1,
                        *static_cast<int*>(ctx));
        },
        &line);
    return s.out;
  }
  Fiber* f = cur();
  const int lane = f->tid % 32;
  if (!(mask >> lane & 1)) {
    shfl_misuse(line, "lane %d calls it with the mask %#x, which leaves it out", lane, mask);
    return v;
  }
  // Only the lanes named in the mask meet: a rendezvous of their own (lanes beyond a partial
  // warp's threads take no part).
  Block& b = g_run->blocks[f->blk];
  Warp& w = b.warps[f->tid / 32];
  const int n = std::min(32, b.nthreads - (f->tid / 32) * 32);
  const unsigned present = mask & (n == 32 ? 0xffffffffu : (1u << n) - 1);
  // Lanes that pass different masks to one shuffle leave a group waiting: a reported deadlock.
  // (Overlapping masks are no error in themselves: lanes may be at different shuffles.)
  ShflGroup* g = nullptr;
  for (ShflGroup& o : w.shfl_groups)
    if (o.mask == mask) g = &o;
  if (!g) {
    w.shfl_groups.push_back(ShflGroup{mask, 0, line});
    g = &w.shfl_groups.back();
  } else if (g->line != line) {
    shfl_misuse(line, "lanes of the mask %#x meet at lines %d and %d", mask, g->line, line);
  }
  g->slots[lane] = &s;
  g->arrived |= 1u << lane;
  if (g->arrived == present) {
    shfl_exchange(g->slots, mask, present, line);
    for (Fiber* o : g->waiters) wake(o);
    w.shfl_groups.erase(w.shfl_groups.begin() + (g - w.shfl_groups.data()));
    return s.out;
  }
  g->waiters.push_back(f);
  wait_here("warp shuffle", line);
  return s.out;
}
// The current CUDA thread's lane in its warp (reports and aborts outside a kernel).
int cur_lane() {
  return cur()->tid % 32;
}
// The running kernel's name; nullptr on the host.
const char* running_kernel() {
  return g_run ? g_run->name : nullptr;
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

// Runs a grid: cooperative (every block live at once) or block after block.
void execute(const char* name, dim3 grid, dim3 block, size_t smem,
             const std::function<void()>& body, bool cooperative, int cluster_size) {
  std::lock_guard<std::recursive_mutex> lock(g_mutex);
  if (g_run) {
    report("kernel launch from inside a kernel (%s)", name);
    abort();
  }
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
    set_pending(cudaErrorLaunchFailure);
  }
}
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
