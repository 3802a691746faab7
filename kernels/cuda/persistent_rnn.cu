// The persistent recurrent kernel of kernels/cuda/persistent_rnn.h: one cooperative launch runs
// every time step of one lstm or gru direction in f32. Variants: persistent_rnn_fwd_kernel<Cell>
// for Cell in {lstm, gru}; training (cache kept) and inference (no cache) share it.
//
// Per block (256 threads, one block per SM at most, every block co-resident):
//   shared memory  w    [gates*units, H]       its rows of W_hh, loaded once
//                  hbuf [chunk_rows, H]        rows of h_{t-1} staged per chunk
//   per step s     1. stage h_{t-1} rows from L2 (__ldcg: never a stale L1 line of another
//                     block's units), one warp per (gate row, batch row) dot product, lane 0
//                     writes hp [B,G] (global scratch: only this block's entries)
//                  2. cell_unit_fwd<Cell> of kernels/cell_step_unit.h for (b, own unit j): the
//                     same per-unit code as the reference, reading hp as [B,G]
//                  3. the grid barrier (grid.sync(), or the arrival counter: PersistentBarrier):
//                     every slice of h_t is written before anyone reads it
// The backward, persistent_rnn_bwd_kernel<Cell>, per block:
//   shared memory  w    [units, G]             its COLUMNS of W_hh, transposed: w[jj*G + g] is
//                                              W_hh[g, j0 + jj], loaded once
//                  dbuf [chunk_rows, G]        rows of dgates_t staged per chunk
//   per step s (T-1 down to 0)
//                  1. for (b, own unit j): dh_total = dh + dy (valid rows), then
//                     cell_unit_bwd<Cell> of kernels/cell_step_unit.h writes unit j's entries of
//                     dxp and dhp[s], the direct part of dh_{t-1} (dh_other) and dc_{t-1}
//                  2. the grid barrier: every unit's entries of dhp[s] are written
//                  3. dh_other[b, j] += dhp[s][b, :] . W_hh[:, j] for own j (one warp per (j, b),
//                     dhp staged from L2), then dh/dh_other and dc/dc_other swap roles, the same
//                     in every block. Only the block's own entries of dh and dc are ever read by
//                     it, so one barrier per step suffices.
// Every sum runs in a fixed order, so two runs are bit-identical.
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <algorithm>

#include "core/cuda/context.h"
#include "core/cuda/cuda_check.h"
#include "kernels/cell_step_unit.h"
#include "kernels/cuda/persistent_rnn.h"

namespace recur {

namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

// The wait at the end of step number `epoch` (1, 2, ...) until every block has arrived
// (PersistentBarrier, kernels/recurrent_engine.h): cooperative groups' grid.sync(), or, with
// kCounter, one monotonic arrival counter (zeroed before the launch): thread 0 of each block
// publishes the block's writes (__threadfence), adds 1, and polls until the count reaches
// epoch * blocks; nothing is reset, so there is no second phase. Both need every block resident,
// which the cooperative launch guarantees.
template <bool kCounter>
__device__ __forceinline__ void grid_barrier(cooperative_groups::grid_group& grid,
                                             unsigned* counter, unsigned epoch) {
  if constexpr (!kCounter) {
    grid.sync();
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

// How many hidden units the block starting at unit j0 owns: `units`, fewer in the last block.
__device__ __forceinline__ int owned_units(int64_t H, int64_t j0, int units) {
  const int64_t left = H - j0;
  return left <= 0 ? 0 : left < units ? static_cast<int>(left) : units;
}

template <CellKind Cell, bool kCounter>
__global__ void __launch_bounds__(kThreads)
    persistent_rnn_fwd_kernel(const PersistentRnnFwd a, int units, int chunk_rows) {
  extern __shared__ float smem[];
  cooperative_groups::grid_group grid = cooperative_groups::this_grid();
  constexpr int gates = static_cast<int>(cell_gates(Cell));
  const int64_t H = a.H, B = a.B, T = a.T, G = gates * H;
  const int64_t j0 = static_cast<int64_t>(blockIdx.x) * units;
  const int nu = owned_units(H, j0, units);
  const int64_t rows = static_cast<int64_t>(gates) * nu;
  float* w = smem;  // row g*nu + jj: W_hh row g*H+j0+jj
  float* hbuf = smem + static_cast<int64_t>(gates) * units * H;  // [chunk_rows, H]
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;

  for (int64_t i = threadIdx.x; i < rows * H; i += kThreads) {
    const int64_t r = i / H, k = i % H;
    w[i] = a.w_hh[(r / nu * H + j0 + r % nu) * H + k];
  }
  __syncthreads();

  const bool training = a.cache != nullptr;
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = a.reverse ? T - 1 - s : s;
    const int64_t in = training ? s : s % 2, out = training ? s + 1 : (s + 1) % 2;
    const float* h_prev = a.hs + in * B * H;
    float* h_next = a.hs + out * B * H;
    if (nu > 0) {  // uniform across the block: the __syncthreads below are reached by all
      // 1. hp[b, g*H + j] = W_hh[g*H + j, :] . h_{t-1}[b, :] for this block's units j.
      for (int64_t b0 = 0; b0 < B; b0 += chunk_rows) {
        const int64_t nb = B - b0 < chunk_rows ? B - b0 : chunk_rows;
        // ASSUMPTION: h_{t-1} of other blocks is read only after the grid barrier that follows
        // its write, and through L2 (__ldcg), never through this SM's L1.
        for (int64_t i = threadIdx.x; i < nb * H; i += kThreads)
          hbuf[i] = __ldcg(h_prev + b0 * H + i);
        __syncthreads();
        for (int64_t p = warp; p < rows * nb; p += kWarps) {
          const int64_t r = p % rows, bb = p / rows;
          const float* wr = w + r * H;
          const float* hr = hbuf + bb * H;
          float sum = 0.f;
          for (int64_t k = lane; k < H; k += 32) sum = fmaf(wr[k], hr[k], sum);
          for (int off = 16; off > 0; off /= 2) sum += __shfl_down_sync(0xffffffffu, sum, off);
          if (lane == 0) a.hp[(b0 + bb) * G + r / nu * H + j0 + r % nu] = sum;
        }
        __syncthreads();  // hbuf is refilled next; hp is read below by other threads
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
    grid_barrier<kCounter>(grid, a.counter, static_cast<unsigned>(s + 1));
  }
}

template <CellKind Cell, bool kCounter>
__global__ void __launch_bounds__(kThreads)
    persistent_rnn_bwd_kernel(const PersistentRnnBwd a, int units, int chunk_rows) {
  extern __shared__ float smem[];
  cooperative_groups::grid_group grid = cooperative_groups::this_grid();
  constexpr int gates = static_cast<int>(cell_gates(Cell));
  constexpr bool lstm = Cell == CellKind::lstm;
  const int64_t H = a.H, B = a.B, T = a.T, G = gates * H, W = cell_cache_blocks(Cell) * H;
  const int64_t j0 = static_cast<int64_t>(blockIdx.x) * units;
  const int nu = owned_units(H, j0, units);
  float* w = smem;                                       // [nu, G]
  float* dbuf = smem + static_cast<int64_t>(units) * G;  // [chunk_rows, G]
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;

  for (int64_t i = threadIdx.x; i < nu * G; i += kThreads) {
    const int64_t jj = i / G, g = i % G;
    w[i] = a.w_hh[g * H + j0 + jj];
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
    grid_barrier<kCounter>(grid, a.counter, static_cast<unsigned>(T - s));
    if (nu > 0) {
      // 3. dh_{t-1}[b, j] += dgates_t[b, :] . W_hh[:, j] for this block's units j.
      for (int64_t b0 = 0; b0 < B; b0 += chunk_rows) {
        const int64_t nb = B - b0 < chunk_rows ? B - b0 : chunk_rows;
        for (int64_t i = threadIdx.x; i < nb * G; i += kThreads)
          dbuf[i] = __ldcg(dhp_s + b0 * G + i);
        __syncthreads();
        for (int64_t p = warp; p < static_cast<int64_t>(nu) * nb; p += kWarps) {
          const int64_t jj = p % nu, bb = p / nu;
          const float* wr = w + jj * G;
          const float* dr = dbuf + bb * G;
          float sum = 0.f;
          for (int64_t k = lane; k < G; k += 32) sum = fmaf(wr[k], dr[k], sum);
          for (int off = 16; off > 0; off /= 2) sum += __shfl_down_sync(0xffffffffu, sum, off);
          if (lane == 0) dh_other[(b0 + bb) * H + j0 + jj] += sum;
        }
        __syncthreads();  // dbuf is refilled next; dh_other is read by other threads next step
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

template <CellKind Cell, bool kCounter>
const void* kernel_of(bool backward) {
  return backward ? reinterpret_cast<const void*>(&persistent_rnn_bwd_kernel<Cell, kCounter>)
                  : reinterpret_cast<const void*>(&persistent_rnn_fwd_kernel<Cell, kCounter>);
}

template <CellKind Cell>
const void* kernel_of(bool backward, PersistentBarrier barrier) {
  return barrier == PersistentBarrier::counter ? kernel_of<Cell, true>(backward)
                                               : kernel_of<Cell, false>(backward);
}

const void* kernel_for(CellKind cell, bool backward, PersistentBarrier barrier) {
  return cell == CellKind::lstm ? kernel_of<CellKind::lstm>(backward, barrier)
                                : kernel_of<CellKind::gru>(backward, barrier);
}

}  // namespace

PersistentPlan persistent_plan(CellKind cell, int64_t H, int64_t B, int device, bool backward,
                               PersistentBarrier barrier) {
  PersistentPlan plan;
  if (cell != CellKind::lstm && cell != CellKind::gru) {
    plan.why_not = "the persistent kernel runs lstm and gru only";
    return plan;
  }
  DeviceGuard guard(device);
  int sms = 0, optin = 0, coop = 0;
  RECUR_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  RECUR_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  RECUR_CUDA_CHECK(cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, device));
  if (!coop) {
    plan.why_not = fmt::format("GPU {} cannot launch cooperative kernels", device);
    return plan;
  }
  if (H < 1 || B < 1) {
    plan.why_not = fmt::format("needs H >= 1 and B >= 1, got H={} B={}", H, B);
    return plan;
  }
  // One block per SM at most, each owning ceil(H / blocks) units; no block is left empty.
  const int64_t gates = cell_gates(cell);
  const int64_t want = std::min<int64_t>(sms, H);
  const int64_t units = (H + want - 1) / want;
  const int64_t blocks = (H + units - 1) / units;
  // The same W_hh slice size both ways (forward: gates*units rows of H; backward: units columns
  // of G = gates*H); the staged row is h [H] forward, dgates [G] backward.
  const int64_t w_bytes = gates * units * H * static_cast<int64_t>(sizeof(float));
  const int64_t row_bytes = (backward ? gates * H : H) * static_cast<int64_t>(sizeof(float));
  if (w_bytes + row_bytes > optin) {
    plan.why_not = fmt::format(
        "the W_hh slice of a block ({} gate rows x H={} in f32 = {} bytes, with {} blocks on {} "
        "SMs) plus one row of {} ({} bytes) exceeds the {} bytes of shared memory a block can have",
        gates * units, H, w_bytes, blocks, sms, backward ? "dgates" : "h", row_bytes, optin);
    return plan;
  }
  // ASSUMPTION: no limit on B besides memory: h_{t-1} is staged chunk_rows rows at a time and
  // each (gate row, batch row) sum is one warp's register, so every B that fits in int64 runs.
  const int64_t chunk = std::min<int64_t>(B, (optin - w_bytes) / row_bytes);
  plan.blocks = static_cast<int>(blocks);
  plan.units = static_cast<int>(units);
  plan.chunk_rows = static_cast<int>(chunk);
  plan.shared_bytes = static_cast<size_t>(w_bytes + chunk * row_bytes);

  const void* kernel = kernel_for(cell, backward, barrier);
  RECUR_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(plan.shared_bytes)));
  int per_sm = 0;
  RECUR_CUDA_CHECK(
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, plan.shared_bytes));
  if (static_cast<int64_t>(per_sm) * sms < blocks)
    plan.why_not = fmt::format(
        "GPU {} can keep {} blocks of {} threads with {} bytes of shared memory resident per SM "
        "({} SMs), fewer than the {} blocks the cooperative launch needs",
        device, per_sm, kThreads, plan.shared_bytes, sms, blocks);
  return plan;
}

namespace {

// One cooperative launch of the forward or backward kernel for `cell` with `args` (a
// PersistentRnnFwd or PersistentRnnBwd), laid out as `plan` says.
template <class Args>
void launch(const char* what, CellKind cell, const Args& args, const PersistentPlan& plan,
            int device, void* stream, bool backward, PersistentBarrier barrier) {
  RECUR_CHECK(plan.why_not.empty() && plan.blocks > 0, "{}: the plan cannot run ({})", what,
              plan.why_not);
  RECUR_CHECK(cell == CellKind::lstm || cell == CellKind::gru, "{}: lstm and gru only, got {}",
              what, cell_name(cell));
  RECUR_CHECK(barrier == PersistentBarrier::grid_sync || args.counter != nullptr,
              "{}: the counter barrier needs a zeroed counter", what);
  // The counter counts T * blocks arrivals; its wrap-safe comparison needs fewer than 2^31.
  RECUR_CHECK(barrier == PersistentBarrier::grid_sync ||
                  args.T * static_cast<int64_t>(plan.blocks) < (int64_t{1} << 31),
              "{}: the counter barrier counts {} steps x {} blocks, more than 2^31 (use grid_sync)",
              what, args.T, plan.blocks);
  DeviceGuard guard(device);
  const void* kernel = kernel_for(cell, backward, barrier);
  RECUR_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(plan.shared_bytes)));
  Args a = args;
  int units = plan.units, chunk_rows = plan.chunk_rows;
  void* params[] = {&a, &units, &chunk_rows};
  RECUR_CUDA_CHECK(cudaLaunchCooperativeKernel(kernel, dim3(static_cast<unsigned>(plan.blocks)),
                                               dim3(kThreads), params, plan.shared_bytes,
                                               static_cast<cudaStream_t>(stream)));
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
