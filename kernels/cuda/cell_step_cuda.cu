// CUDA kernels of one cell time step, forward and backward, for every cell kind: one thread per
// (row b, unit j), specialised on the cell at compile time. The gate math is kernels/cell_math.h,
// shared with the CPU reference through kernels/cell_step_unit.h.
#include <cuda_runtime.h>

#include "core/cuda/cuda_check.h"
#include "kernels/cell_step_unit.h"
#include "kernels/cuda/cell_step_cuda.h"
#include "kernels/cuda/launch.cuh"

namespace recur {

namespace {

using cuda_launch::blocks_for;
using cuda_launch::kThreads;

template <CellKind Cell, class T>
__global__ void cell_step_fwd_kernel(const CellStepFwd<T> a) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= a.B * a.H) return;
  const int64_t b = idx / a.H, j = idx % a.H;
  const bool valid = step_valid(a.lengths, b, a.t);
  cell_unit_fwd<Cell>(a, b, j, valid);
  // Both read back the h this thread wrote.
  if (a.y) cell_unit_output(a, b, j, valid);
  if (a.h_rounded.data) cell_unit_h_rounded(a, b, j);
}

template <CellKind Cell, class T>
__global__ void cell_step_bwd_kernel(const CellStepBwd<T> a) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= a.B * a.H) return;
  const int64_t b = idx / a.H, j = idx % a.H;
  cell_unit_bwd<Cell>(a, b, j, step_valid(a.lengths, b, a.t));
  if (a.dhp_rounded.data) cell_unit_dhp_rounded<Cell>(a, b, j);  // the dhp this thread wrote
}

template <CellKind Cell, class T>
void fwd(const CellStepFwd<T>& a, cudaStream_t s) {
  if (a.B * a.H == 0) return;
  cell_step_fwd_kernel<Cell, T><<<blocks_for(a.B * a.H), kThreads, 0, s>>>(a);
  RECUR_CUDA_CHECK_LAUNCH();
}

template <CellKind Cell, class T>
void bwd(const CellStepBwd<T>& a, cudaStream_t s) {
  if (a.B * a.H == 0) return;
  cell_step_bwd_kernel<Cell, T><<<blocks_for(a.B * a.H), kThreads, 0, s>>>(a);
  RECUR_CUDA_CHECK_LAUNCH();
}

}  // namespace

// The one switch from the runtime cell to the compiled specialisations.
template <class T>
void launch_cell_step_fwd(CellKind cell, const CellStepFwd<T>& a, void* stream) {
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  switch (cell) {
    case CellKind::rnn_tanh:
      return fwd<CellKind::rnn_tanh>(a, s);
    case CellKind::rnn_relu:
      return fwd<CellKind::rnn_relu>(a, s);
    case CellKind::leaky:
      return fwd<CellKind::leaky>(a, s);
    case CellKind::gru:
      return fwd<CellKind::gru>(a, s);
    case CellKind::lstm:
      return fwd<CellKind::lstm>(a, s);
  }
}

template <class T>
void launch_cell_step_bwd(CellKind cell, const CellStepBwd<T>& a, void* stream) {
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  switch (cell) {
    case CellKind::rnn_tanh:
      return bwd<CellKind::rnn_tanh>(a, s);
    case CellKind::rnn_relu:
      return bwd<CellKind::rnn_relu>(a, s);
    case CellKind::leaky:
      return bwd<CellKind::leaky>(a, s);
    case CellKind::gru:
      return bwd<CellKind::gru>(a, s);
    case CellKind::lstm:
      return bwd<CellKind::lstm>(a, s);
  }
}

template void launch_cell_step_fwd<float>(CellKind, const CellStepFwd<float>&, void*);
template void launch_cell_step_fwd<double>(CellKind, const CellStepFwd<double>&, void*);
template void launch_cell_step_bwd<float>(CellKind, const CellStepBwd<float>&, void*);
template void launch_cell_step_bwd<double>(CellKind, const CellStepBwd<double>&, void*);

}  // namespace recur
