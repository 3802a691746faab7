// The persistent recurrent kernel of kernels/cuda/persistent_rnn.h: one cooperative launch runs
// every time step of one lstm or gru direction. Variants: persistent_rnn_fwd_kernel<Cell,
// Barrier, Operand> and persistent_rnn_bwd_kernel<...> for Cell in {lstm, gru}, the three barriers,
// and the GEMM operand type (float at f32 math; recur's bf16 or f16 at mixed math, where every
// operand of W_hh h and dgates W_hh is rounded as kernels/mixed_gemm.h rounds it and the sums,
// states and gate math stay f32); training (cache kept) and inference (no cache) share one.
//
// Per block (256 threads, one block per SM at most, every block co-resident; shared memory as
// kernels/persistent_layout.h lays it out, rows ld apart):
//   shared memory  w    [gates*units, ld]      its rows of W_hh, loaded once (rounded)
//                  hbuf [chunk_rows, ld]       rows of h_{t-1} staged per chunk (rounded)
//                  part                        the warps' partial product tiles
//   per step s     0. ask L1 for the step's inputs that do not wait on h_{t-1} (xp_t and c_{t-1}
//                     of the block's units: prefetch_step_inputs)
//                  1. stage h_{t-1} rows from L2 (__ldcg: never a stale L1 line of another
//                     block's units), then the block's product W_hh_slice h^T
//                     (kernels/cuda/block_product.cuh: 8x8 tiles on CUDA cores at f32, 16x16
//                     tiles on tensor cores at bf16/f16) into hp [B,G] (global scratch: only this
//                     block's entries)
//                  2. cell_unit_fwd<Cell> of kernels/cell_step_unit.h for (b, own unit j): the
//                     same per-unit code as the reference, reading hp as [B,G]
//                  3. the grid barrier (grid.sync(), or the arrival counter: PersistentBarrier):
//                     every slice of h_t is written before anyone reads it
// The backward, persistent_rnn_bwd_kernel<Cell, ...>, per block:
//   shared memory  w    [units, ld]            its COLUMNS of W_hh, transposed: w[jj*ld + g] is
//                                              W_hh[g, j0 + jj], loaded once (rounded)
//                  dbuf [chunk_rows, ld]       rows of dgates_t staged per chunk (rounded)
//                  part                        the warps' partial product tiles
//   per step s (T-1 down to 0)
//                  1. for (b, own unit j): dh_total = dh + dy (valid rows), then
//                     cell_unit_bwd<Cell> of kernels/cell_step_unit.h writes unit j's entries of
//                     dxp and dhp[s], the direct part of dh_{t-1} (dh_other) and dc_{t-1}
//                  2. the grid barrier: every unit's entries of dhp[s] are written
//                  3. dh_other[b, j] += dhp[s][b, :] . W_hh[:, j] for own j (the block's product
//                     on CUDA cores at f32, on tensor cores in 16x8 tiles at bf16/f16; dhp
//                     staged from L2), then dh/dh_other and dc/dc_other swap
//                     roles, the same in every block. Only the block's own entries of dh and dc
//                     are ever read by it, so one barrier per step suffices.
// Every sum runs in a fixed order, so two runs are bit-identical.
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <type_traits>
#include <utility>

#include "core/cuda/context.h"
#include "core/cuda/cuda_check.h"
#include "core/half.h"
#include "kernels/cell_step_unit.h"
#include "kernels/cuda/block_product.cuh"
#include "kernels/cuda/persistent_rnn.h"

namespace recur {

namespace {

constexpr int kThreads = kPersistentThreads;
constexpr int kWarps = kPersistentWarps;

// Every kernel's dynamic shared memory, carved up as kernels/persistent_layout.h says.
extern __shared__ __align__(128) unsigned char smem_bytes[];

// A GEMM operand as it is kept on-chip (rounded to nearest even at bf16/f16, as
// kernels/mixed_gemm.h rounds).
template <class Operand>
__device__ __forceinline__ Operand to_operand(float v) {
  if constexpr (std::is_same_v<Operand, bf16>)
    return to_bf16(v);
  else if constexpr (std::is_same_v<Operand, f16>)
    return to_f16(v);
  else
    return v;
}
// The wait at the end of step number `epoch` (1, 2, ...) until every block has arrived
// (PersistentBarrier, kernels/recurrent_engine.h), ordering memory across the blocks:
//   grid_sync  cooperative groups' grid.sync() (a cooperative launch)
//   counter    one monotonic arrival counter (zeroed before the launch): thread 0 of each block
//              publishes the block's writes (__threadfence), adds 1, and polls until the count
//              reaches epoch * blocks; nothing is reset, so there is no second phase. Needs every
//              block resident, which the cooperative launch guarantees.
//   cluster    the grid is one thread-block cluster: cluster.sync() (arrive with release, wait
//              with acquire semantics at cluster scope, so global writes before it are seen by
//              the whole cluster after it)
template <PersistentBarrier kBarrier>
__device__ __forceinline__ void grid_barrier(unsigned* counter, unsigned epoch) {
  if constexpr (kBarrier == PersistentBarrier::grid_sync) {
    cooperative_groups::this_grid().sync();
  } else if constexpr (kBarrier == PersistentBarrier::cluster) {
    cooperative_groups::this_cluster().sync();
  } else {
    __syncthreads();  // the whole block's writes happen before thread 0 arrives
    if (threadIdx.x == 0) {
      __threadfence();
      atomicAdd(counter, 1u);
      const unsigned target = epoch * gridDim.x;  // launch() checks T * blocks < 2^31
      while (static_cast<int>(*static_cast<volatile unsigned*>(counter) - target) < 0) {
      }
      __threadfence();  // what the other blocks wrote is seen after the count
    }
    __syncthreads();
  }
}

// Asks L1 for the lines of step t's inputs that do not depend on h_{t-1}, before the block's
// product: its units' entries of xp_t and (lstm) of c_{t-1} (written by this block a step ago),
// which the cell step reads after the product. A hint only: no value changes (the CPU emulation
// checks each address). Each thread asks for a few lines (per row and stream, one every 32 units
// and the last unit's).
template <CellKind Cell>
__device__ __forceinline__ void prefetch_step_inputs(const PersistentRnnFwd& a, int64_t t,
                                                     int64_t j0, int nu, const float* c_prev) {
  constexpr int gates = static_cast<int>(cell_gates(Cell));
  constexpr int streams = gates + (Cell == CellKind::lstm ? 1 : 0);
  const int chunks = (nu + 31) / 32 + 1;  // 128-byte lines of 32 floats; +1: the last unit's
  // 32-bit indices (B * streams * chunks is small): the step's registers are spoken for.
  const int n = static_cast<int>(a.B) * streams * chunks;
  const float* xp_t = a.xp + t * gates * a.H + j0;  // row b at b * T * G
  for (int i = static_cast<int>(threadIdx.x); i < n; i += kThreads) {
    const int chunk = i % chunks, row = i / chunks, stream = row % streams, b = row / streams;
    const int jj = chunk + 1 < chunks ? 32 * chunk : nu - 1;
    const float* p = stream < gates ? xp_t + b * a.T * gates * a.H + stream * a.H + jj
                                    : c_prev + b * a.H + j0 + jj;
    asm volatile("prefetch.global.L1 [%0];" ::"l"(p));
  }
}

// How many hidden units the block starting at unit j0 owns: `units`, fewer in the last block.
__device__ __forceinline__ int owned_units(int64_t H, int64_t j0, int units) {
  const int64_t left = H - j0;
  return left <= 0 ? 0 : left < units ? static_cast<int>(left) : units;
}

template <CellKind Cell, PersistentBarrier kBarrier, class Operand>
__global__ void __launch_bounds__(kThreads)
    persistent_rnn_fwd_kernel(const PersistentRnnFwd a, int units, int chunk_rows) {
  constexpr bool kMma = !std::is_same_v<Operand, float>;  // tensor cores at bf16/f16
  constexpr int gates = static_cast<int>(cell_gates(Cell));
  const int64_t H = a.H, B = a.B, T = a.T, G = gates * H;
  const int64_t j0 = static_cast<int64_t>(blockIdx.x) * units;
  const int nu = owned_units(H, j0, units);
  const int64_t rows = static_cast<int64_t>(gates) * nu;
  const PersistentSmem m = persistent_smem(gates, H, units, sizeof(Operand), /*backward=*/false);
  const int64_t ld = m.ld;
  Operand* w = reinterpret_cast<Operand*>(smem_bytes);  // row g*nu + jj: W_hh row g*H+j0+jj
  Operand* hbuf = reinterpret_cast<Operand*>(smem_bytes + m.w_bytes);  // [chunk_rows, ld]
  float* part = reinterpret_cast<float*>(smem_bytes + m.w_bytes + chunk_rows * m.row_bytes);

  for (int64_t i = threadIdx.x; i < m.w_rows * ld; i += kThreads) {
    const int64_t r = i / ld, k = i % ld;
    w[i] =
        to_operand<Operand>(r < rows && k < H ? a.w_hh[(r / nu * H + j0 + r % nu) * H + k] : 0.f);
  }
  __syncthreads();

  const bool training = a.cache != nullptr;
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = a.reverse ? T - 1 - s : s;
    const int64_t in = training ? s : s % 2, out = training ? s + 1 : (s + 1) % 2;
    const float* h_prev = a.hs + in * B * H;
    float* h_next = a.hs + out * B * H;
    if (nu > 0) {  // uniform across the block: the __syncthreads below are reached by all
      prefetch_step_inputs<Cell>(a, t, j0, nu, a.cs != nullptr ? a.cs + in * B * H : nullptr);
      // 1. hp[b, g*H + j] = W_hh[g*H + j, :] . h_{t-1}[b, :] for this block's units j.
      for (int64_t b0 = 0; b0 < B; b0 += chunk_rows) {
        const int64_t nb = B - b0 < chunk_rows ? B - b0 : chunk_rows;
        // Whole 16-row tiles on tensor cores, the padding rows and columns zero.
        const int64_t staged = round_up(nb, m.row_multiple);
        // ASSUMPTION: h_{t-1} of other blocks is read only after the grid barrier that follows
        // its write, and through L2 (__ldcg), never through this SM's L1.
        // Row by row: no division on this per-step path.
        for (int64_t bb = 0; bb < staged; ++bb)
          for (int64_t k = threadIdx.x; k < ld; k += kThreads)
            hbuf[bb * ld + k] =
                to_operand<Operand>(bb < nb && k < H ? __ldcg(h_prev + (b0 + bb) * H + k) : 0.f);
        __syncthreads();
        auto store = [&](int64_t r, int64_t bb, float sum) {
          const int row = static_cast<int>(r);  // < gates * units: 32-bit division
          if (r < rows && bb < nb) a.hp[(b0 + bb) * G + row / nu * H + j0 + row % nu] = sum;
        };
        if constexpr (kMma)
          block_product_mma<kWarps>(w, ld, m.w_rows, hbuf, ld, staged, ld - 8, part, store);
        else if (nb == 1)
          block_product_simt<kWarps, 1>(w, ld, rows, hbuf, ld, nb, ld, part, store);
        else
          block_product_simt<kWarps, 8>(w, ld, rows, hbuf, ld, nb, ld, part, store);
        // Both end with __syncthreads: hbuf may be refilled, hp is read below by other threads.
      }

      // 2. The cell step of the driver (kernels/recurrent_seq_driver.h) for this block's units.
      CellStepFwd<float> st;
      st.B = B;
      st.H = H;
      st.t = t;
      st.lengths = a.lengths;
      st.xp = a.xp + t * G;
      st.ld_xp = T * G;
      st.hp = a.hp;
      st.b_ih = a.b_ih;
      st.b_hh = a.b_hh;
      st.h_prev = h_prev;
      st.ld_h = H;
      st.h = h_next;
      if constexpr (Cell == CellKind::lstm) {
        st.c_prev = a.cs + in * B * H;
        st.c = a.cs + out * B * H;
        st.m_prev = h_prev;
      }
      st.cache = training ? a.cache + s * B * cell_cache_blocks(Cell) * H : nullptr;
      for (int64_t i = threadIdx.x; i < B * nu; i += kThreads) {
        const int64_t b = i / nu, j = j0 + i % nu;
        const bool valid = step_valid(a.lengths, b, t);
        cell_unit_fwd<Cell>(st, b, j, valid);
        a.y[b * T * a.ld_y_step + t * a.ld_y_step + j] = valid ? h_next[b * H + j] : 0.f;
      }
    }
    // 3. h_t complete everywhere (the barrier orders memory grid-wide) before step s+1 reads it;
    // in inference, also every read of slot `in` is done before step s+1 overwrites it.
    grid_barrier<kBarrier>(a.counter, static_cast<unsigned>(s + 1));
  }
}

template <CellKind Cell, PersistentBarrier kBarrier, class Operand>
__global__ void __launch_bounds__(kThreads)
    persistent_rnn_bwd_kernel(const PersistentRnnBwd a, int units, int chunk_rows) {
  constexpr int gates = static_cast<int>(cell_gates(Cell));
  constexpr bool lstm = Cell == CellKind::lstm;
  const int64_t H = a.H, B = a.B, T = a.T, G = gates * H, W = cell_cache_blocks(Cell) * H;
  const int64_t j0 = static_cast<int64_t>(blockIdx.x) * units;
  const int nu = owned_units(H, j0, units);
  const PersistentSmem m = persistent_smem(gates, H, units, sizeof(Operand), /*backward=*/true);
  const int64_t ld = m.ld;
  constexpr bool kMma = !std::is_same_v<Operand, float>;               // tensor cores at bf16/f16
  Operand* w = reinterpret_cast<Operand*>(smem_bytes);                 // [w_rows, ld]
  Operand* dbuf = reinterpret_cast<Operand*>(smem_bytes + m.w_bytes);  // [chunk_rows, ld]
  float* part = reinterpret_cast<float*>(smem_bytes + m.w_bytes + chunk_rows * m.row_bytes);

  // Rows past nu and columns past G are zero (whole tensor-core tiles read them).
  for (int64_t i = threadIdx.x; i < m.w_rows * ld; i += kThreads) {
    const int64_t g = i / m.w_rows, jj = i % m.w_rows;  // consecutive threads: consecutive columns
    w[jj * ld + g] = to_operand<Operand>(g < G && jj < nu ? a.w_hh[g * H + j0 + jj] : 0.f);
  }
  __syncthreads();

  float* dh = a.dh;
  float* dh_other = a.dh_other;
  float* dc = a.dc;
  float* dc_other = a.dc_other;
  for (int64_t s = T - 1; s >= 0; --s) {
    const int64_t t = a.reverse ? T - 1 - s : s;
    float* dhp_s = a.dhp + s * B * G;
    if (nu > 0) {  // uniform across the block
      // 1. The cell's backward of the driver (kernels/recurrent_seq_driver.h) for own units.
      CellStepBwd<float> st;
      st.B = B;
      st.H = H;
      st.t = t;
      st.lengths = a.lengths;
      st.dh = a.dh_total;
      st.cache = a.cache + s * B * W;
      st.h_prev = a.hs + s * B * H;
      st.dxp = a.dxp + t * G;
      st.ld_dxp = T * G;
      st.dhp = dhp_s;
      st.dh_prev = dh_other;
      if constexpr (lstm) {
        st.dc_next = dc;
        st.c_prev = a.cs + s * B * H;
        st.c = a.cs + (s + 1) * B * H;
        st.dc_prev = dc_other;
      }
      for (int64_t i = threadIdx.x; i < B * nu; i += kThreads) {
        const int64_t b = i / nu, j = j0 + i % nu, u = b * H + j;
        const bool valid = step_valid(a.lengths, b, t);
        const float dy = a.dy != nullptr && valid ? a.dy[(b * T + t) * a.ld_dy_step + j] : 0.f;
        a.dh_total[u] = dh[u] + dy;  // read back by this same thread in cell_unit_bwd
        cell_unit_bwd<Cell>(st, b, j, valid);
      }
    }
    // 2. Every unit's dgates of this step are written before any block multiplies them.
    grid_barrier<kBarrier>(a.counter, static_cast<unsigned>(T - s));
    if (nu > 0) {
      // 3. dh_{t-1}[b, j] += dgates_t[b, :] . W_hh[:, j] for this block's units j.
      for (int64_t b0 = 0; b0 < B; b0 += chunk_rows) {
        const int64_t nb = B - b0 < chunk_rows ? B - b0 : chunk_rows;
        // Whole 16-row tiles on tensor cores, the padding rows and columns zero.
        const int64_t staged = round_up(nb, m.row_multiple);
        for (int64_t bb = 0; bb < staged; ++bb)  // row by row: no division per element
          for (int64_t g = threadIdx.x; g < ld; g += kThreads)
            dbuf[bb * ld + g] =
                to_operand<Operand>(bb < nb && g < G ? __ldcg(dhp_s + (b0 + bb) * G + g) : 0.f);
        __syncthreads();
        // Each (unit, row) sum is stored by one thread; dh_other's entries of this block's units
        // are read by other threads only after the __syncthreads the product ends with.
        auto add = [&](int64_t jj, int64_t bb, float sum) {
          if (jj < nu && bb < nb) dh_other[(b0 + bb) * H + j0 + jj] += sum;
        };
        if constexpr (kMma)  // out[bb, jj]: 16 staged rows x 8 columns per tile
          block_product_mma_16x8<kWarps>(
              dbuf, ld, staged, w, ld, m.w_rows, ld - 8, part,
              [&](int64_t bb, int64_t jj, float sum) { add(jj, bb, sum); });
        else if (nb == 1)
          block_product_simt<kWarps, 1>(w, ld, nu, dbuf, ld, nb, ld, part, add);
        else
          block_product_simt<kWarps, 8>(w, ld, nu, dbuf, ld, nb, ld, part, add);
      }
    }
    float* swap = dh;
    dh = dh_other;
    dh_other = swap;
    if constexpr (lstm) {
      swap = dc;
      dc = dc_other;
      dc_other = swap;
    }
  }
  // After an odd number of steps the gradients of h0 and c0 sit in the other buffers.
  if (dh != a.dh)
    for (int64_t i = threadIdx.x; i < B * nu; i += kThreads) {
      const int64_t u = (i / nu) * H + j0 + i % nu;
      a.dh[u] = dh[u];
      if constexpr (lstm) a.dc[u] = dc[u];
    }
}

template <CellKind Cell, PersistentBarrier kBarrier, class Operand>
const void* kernel_of(bool backward) {
  return backward
             ? reinterpret_cast<const void*>(&persistent_rnn_bwd_kernel<Cell, kBarrier, Operand>)
             : reinterpret_cast<const void*>(&persistent_rnn_fwd_kernel<Cell, kBarrier, Operand>);
}

template <CellKind Cell, PersistentBarrier kBarrier>
const void* kernel_of(bool backward, Precision precision) {
  switch (precision) {
    case Precision::bf16:
      return kernel_of<Cell, kBarrier, bf16>(backward);
    case Precision::f16:
      return kernel_of<Cell, kBarrier, f16>(backward);
    default:
      return kernel_of<Cell, kBarrier, float>(backward);
  }
}

template <CellKind Cell>
const void* kernel_of(bool backward, PersistentBarrier barrier, Precision precision) {
  switch (barrier) {
    case PersistentBarrier::counter:
      return kernel_of<Cell, PersistentBarrier::counter>(backward, precision);
    case PersistentBarrier::cluster:
      return kernel_of<Cell, PersistentBarrier::cluster>(backward, precision);
    default:
      return kernel_of<Cell, PersistentBarrier::grid_sync>(backward, precision);
  }
}

const void* kernel_for(CellKind cell, bool backward, PersistentBarrier barrier,
                       Precision precision) {
  return cell == CellKind::lstm ? kernel_of<CellKind::lstm>(backward, barrier, precision)
                                : kernel_of<CellKind::gru>(backward, barrier, precision);
}

// What a card offers, queried once per device.
struct DeviceFacts {
  PersistentLimits limits;   // SMs and opt-in shared memory per block
  bool cooperative = false;  // cooperative launches (grid_sync, counter)
  bool clusters = false;     // thread-block cluster launches (cluster)
};

DeviceFacts device_facts(int device) {
  static std::mutex mutex;
  static std::map<int, DeviceFacts> known;
  std::lock_guard<std::mutex> lock(mutex);
  auto found = known.find(device);
  if (found != known.end()) return found->second;
  DeviceGuard guard(device);
  int sms = 0, optin = 0, coop = 0, clusters = 0;
  RECUR_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  RECUR_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  RECUR_CUDA_CHECK(cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, device));
  RECUR_CUDA_CHECK(cudaDeviceGetAttribute(&clusters, cudaDevAttrClusterLaunch, device));
  DeviceFacts facts{{sms, optin}, coop != 0, clusters != 0};
  known.emplace(device, facts);
  return facts;
}

// The launch configuration of a cluster plan: one cluster of plan.blocks blocks.
struct ClusterLaunch {
  cudaLaunchAttribute attribute{};
  cudaLaunchConfig_t config{};
  ClusterLaunch(const PersistentPlan& plan, void* stream) {
    attribute.id = cudaLaunchAttributeClusterDimension;
    attribute.val.clusterDim.x = static_cast<unsigned>(plan.blocks);
    attribute.val.clusterDim.y = 1;
    attribute.val.clusterDim.z = 1;
    config.gridDim = dim3(static_cast<unsigned>(plan.blocks));
    config.blockDim = dim3(kThreads);
    config.dynamicSmemBytes = plan.shared_bytes;
    config.stream = static_cast<cudaStream_t>(stream);
    config.attrs = &attribute;
    config.numAttrs = 1;
  }
  ClusterLaunch(const ClusterLaunch&) = delete;  // config points at attribute
  ClusterLaunch& operator=(const ClusterLaunch&) = delete;
};

// Lets `kernel` have all the shared memory a block may opt in to on the current device (each
// launch asks for its plan's bytes), and clusters over 8 blocks where `cluster`: once per kernel
// and device, not on every launch.
void prepare_kernel(const void* kernel, int device, const DeviceFacts& facts, bool cluster) {
  static std::mutex mutex;
  static std::set<std::pair<const void*, int>> prepared;
  std::lock_guard<std::mutex> lock(mutex);
  if (prepared.count({kernel, device})) return;
  RECUR_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(facts.limits.shared_per_block)));
  if (cluster)
    RECUR_CUDA_CHECK(
        cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
  prepared.insert({kernel, device});
}

// Why the card cannot keep every block of `plan` resident at once ("" when it can).
std::string residency_problem(const void* kernel, const PersistentPlan& plan,
                              const DeviceFacts& facts, int device) {
  if (plan.cluster) {
    ClusterLaunch launch(plan, nullptr);
    int clusters = 0;
    RECUR_CUDA_CHECK(cudaOccupancyMaxActiveClusters(&clusters, kernel, &launch.config));
    if (clusters >= 1) return "";
    return fmt::format(
        "GPU {} cannot schedule a cluster of {} blocks of {} threads with {} bytes of shared "
        "memory each",
        device, plan.blocks, kThreads, plan.shared_bytes);
  }
  int per_sm = 0;
  RECUR_CUDA_CHECK(
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, plan.shared_bytes));
  if (static_cast<int64_t>(per_sm) * facts.limits.sms >= plan.blocks) return "";
  return fmt::format(
      "GPU {} can keep {} blocks of {} threads with {} bytes of shared memory resident per SM "
      "({} SMs), fewer than the {} blocks the cooperative launch needs",
      device, per_sm, kThreads, plan.shared_bytes, facts.limits.sms, plan.blocks);
}

}  // namespace

PersistentPlan persistent_plan(CellKind cell, int64_t H, int64_t B, int device, bool backward,
                               PersistentBarrier barrier, Precision precision) {
  RECUR_CHECK(barrier != PersistentBarrier::auto_,
              "persistent_plan: the barrier auto is a choice; pass the one chosen "
              "(persistent_barrier_for)");
  using Key = std::tuple<int, CellKind, int64_t, int64_t, bool, PersistentBarrier, Precision>;
  static std::mutex mutex;
  static std::map<Key, PersistentPlan> known;  // the occupancy query costs a driver call
  const Key key{device, cell, H, B, backward, barrier, precision};
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto found = known.find(key);
    if (found != known.end()) return found->second;
  }
  const DeviceFacts facts = device_facts(device);
  const bool cluster = barrier == PersistentBarrier::cluster;
  PersistentPlan plan;
  if (cluster ? !facts.clusters : !facts.cooperative) {
    plan.why_not = fmt::format("GPU {} cannot launch {}", device,
                               cluster ? "thread-block clusters" : "cooperative kernels");
    return plan;
  }
  PersistentLimits limits = facts.limits;
  if (cluster) limits.sms = std::min(limits.sms, kPersistentMaxCluster);  // one cluster's blocks
  plan = persistent_layout(cell, H, B, precision, backward, limits);
  plan.cluster = cluster;
  if (plan.why_not.empty()) {
    DeviceGuard guard(device);
    const void* kernel = kernel_for(cell, backward, barrier, precision);
    prepare_kernel(kernel, device, facts, cluster);
    plan.why_not = residency_problem(kernel, plan, facts, device);
  }
  std::lock_guard<std::mutex> lock(mutex);
  known.emplace(key, plan);
  return plan;
}

int64_t persistent_max_hidden_on(int device, CellKind cell, Precision precision, bool backward,
                                 PersistentBarrier barrier) {
  return largest_fitting_hidden([&](int64_t H) {
    return persistent_plan(cell, H, 1, device, backward, barrier, precision).why_not.empty();
  });
}

namespace {

// One launch (cooperative, or of one cluster) of the forward or backward kernel for `cell` with
// `args` (a PersistentRnnFwd or PersistentRnnBwd), laid out as `plan` says.
template <class Args>
void launch(const char* what, CellKind cell, const Args& args, const PersistentPlan& plan,
            int device, void* stream, bool backward, PersistentBarrier barrier) {
  RECUR_CHECK(plan.why_not.empty() && plan.blocks > 0, "{}: the plan cannot run ({})", what,
              plan.why_not);
  RECUR_CHECK(plan.backward == backward, "{}: given the plan of the {}", what,
              plan.backward ? "backward" : "forward");
  RECUR_CHECK(cell == CellKind::lstm || cell == CellKind::gru, "{}: lstm and gru only, got {}",
              what, cell_name(cell));
  RECUR_CHECK(plan.cluster == (barrier == PersistentBarrier::cluster),
              "{}: given the plan of {} for the {} barrier", what,
              plan.cluster ? "one cluster" : "one block per SM", persistent_barrier_name(barrier));
  RECUR_CHECK(barrier != PersistentBarrier::counter || args.counter != nullptr,
              "{}: the counter barrier needs a zeroed counter", what);
  // The counter counts T * blocks arrivals; its wrap-safe comparison needs fewer than 2^31.
  RECUR_CHECK(barrier != PersistentBarrier::counter ||
                  args.T * static_cast<int64_t>(plan.blocks) < (int64_t{1} << 31),
              "{}: the counter barrier counts {} steps x {} blocks, more than 2^31 (use grid_sync)",
              what, args.T, plan.blocks);
  DeviceGuard guard(device);
  const void* kernel = kernel_for(cell, backward, barrier, plan.precision);
  prepare_kernel(kernel, device, device_facts(device), plan.cluster);
  Args a = args;
  int units = plan.units, chunk_rows = plan.chunk_rows;
  void* params[] = {&a, &units, &chunk_rows};
  if (plan.cluster) {
    ClusterLaunch launch(plan, stream);
    RECUR_CUDA_CHECK(cudaLaunchKernelExC(&launch.config, kernel, params));
  } else {
    RECUR_CUDA_CHECK(cudaLaunchCooperativeKernel(kernel, dim3(static_cast<unsigned>(plan.blocks)),
                                                 dim3(kThreads), params, plan.shared_bytes,
                                                 static_cast<cudaStream_t>(stream)));
  }
}

}  // namespace

void launch_persistent_rnn_fwd(CellKind cell, const PersistentRnnFwd& args,
                               const PersistentPlan& plan, int device, void* stream,
                               PersistentBarrier barrier) {
  launch("launch_persistent_rnn_fwd", cell, args, plan, device, stream, /*backward=*/false,
         barrier);
}

void launch_persistent_rnn_bwd(CellKind cell, const PersistentRnnBwd& args,
                               const PersistentPlan& plan, int device, void* stream,
                               PersistentBarrier barrier) {
  launch("launch_persistent_rnn_bwd", cell, args, plan, device, stream, /*backward=*/true, barrier);
}

}  // namespace recur
