// CUDA launchers of one cell time step (kernels/cell_step.h): one thread per (row, unit), running
// the same per-unit body as the CPU reference (kernels/cell_step_unit.h). Every pointer in the
// arguments is device memory. `stream` is a cudaStream_t (null: the default stream). T is float
// or double. Kernels: cell_step_fwd_kernel<Cell, T>, cell_step_bwd_kernel<Cell, T>.
#pragma once

#include "kernels/cell_step.h"

namespace recur {

template <class T>
void launch_cell_step_fwd(CellKind cell, const CellStepFwd<T>& args, void* stream);
template <class T>
void launch_cell_step_bwd(CellKind cell, const CellStepBwd<T>& args, void* stream);

}  // namespace recur
