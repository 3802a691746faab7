// CPU reference of one cell time step, forward and backward (kernels/cell_step.h): loops over
// rows (threaded when the step is large) and units, running the per-unit body that the CUDA
// kernels share (kernels/cell_step_unit.h).
#include <algorithm>

#include "core/parallel.h"
#include "kernels/cell_step.h"
#include "kernels/cell_step_unit.h"
#include "kernels/cpu/avx512_clone.h"

namespace recur {

namespace {

// Rows per parallel chunk: at least 4K gate values (units x gates: an LSTM row of H = 256 is
// 1024, ~2-4 us of cell math), so a step splits where handing half to the pool (about 1 us,
// core/parallel.h) pays; smaller steps stay serial. Measured at B = 8 (A/B in alternation):
// splitting LSTM steps of H = 256 and 512 ran the layer 1.12x-1.14x faster, splitting rnn_tanh
// steps of H = 256 (1K values per chunk) 0.86x.
int64_t row_grain(CellKind cell, int64_t H) {
  const int64_t values_per_row = static_cast<int64_t>(cell_gates(cell)) * H;
  return std::max<int64_t>(1, 4096 / std::max<int64_t>(values_per_row, 1));
}

// Rows [begin, end) of the forward step.
template <CellKind Cell, class T>
RECUR_AVX512_CLONE void fwd_row_range(const CellStepFwd<T>& a, int64_t begin, int64_t end) {
  for (int64_t b = begin; b < end; ++b) {
    if (!step_valid(a.lengths, b, a.t)) {
      for (int64_t j = 0; j < a.H; ++j) cell_unit_fwd_padding<Cell>(a, b, j);
    } else if (a.cache) {
#pragma omp simd
      for (int64_t j = 0; j < a.H; ++j) cell_unit_fwd_valid<Cell, true>(a, b, j);
    } else {
#pragma omp simd
      for (int64_t j = 0; j < a.H; ++j) cell_unit_fwd_valid<Cell, false>(a, b, j);
    }
    if (a.y) {
      const bool valid = step_valid(a.lengths, b, a.t);
#pragma omp simd
      for (int64_t j = 0; j < a.H; ++j) cell_unit_output(a, b, j, valid);
    }
    if (a.h_rounded.data)
      for (int64_t j = 0; j < a.H; ++j) cell_unit_h_rounded(a, b, j);
  }
}

template <CellKind Cell, class T>
void fwd_rows(const CellStepFwd<T>& a) {
  parallel_for(a.B, row_grain(Cell, a.H),
               [&](int64_t begin, int64_t end) { fwd_row_range<Cell>(a, begin, end); });
}

// Rows [begin, end) of the backward step.
template <CellKind Cell, class T>
RECUR_AVX512_CLONE void bwd_row_range(const CellStepBwd<T>& a, int64_t begin, int64_t end) {
  for (int64_t b = begin; b < end; ++b) {
    if (!step_valid(a.lengths, b, a.t)) {
      for (int64_t j = 0; j < a.H; ++j) cell_unit_bwd_padding<Cell>(a, b, j);
    } else if (a.dy) {
#pragma omp simd
      for (int64_t j = 0; j < a.H; ++j) cell_unit_bwd_valid<Cell, true>(a, b, j);
    } else {
#pragma omp simd
      for (int64_t j = 0; j < a.H; ++j) cell_unit_bwd_valid<Cell, false>(a, b, j);
    }
    if (a.dhp_rounded.data)
      for (int64_t j = 0; j < a.H; ++j) cell_unit_dhp_rounded<Cell>(a, b, j);
  }
}

template <CellKind Cell, class T>
void bwd_rows(const CellStepBwd<T>& a) {
  parallel_for(a.B, row_grain(Cell, a.H),
               [&](int64_t begin, int64_t end) { bwd_row_range<Cell>(a, begin, end); });
}

}  // namespace

// The one switch from the runtime cell to the compile-time specialisation.
template <class T>
void cell_step_fwd_ref(CellKind cell, const CellStepFwd<T>& a) {
  switch (cell) {
    case CellKind::rnn_tanh:
      return fwd_rows<CellKind::rnn_tanh>(a);
    case CellKind::rnn_relu:
      return fwd_rows<CellKind::rnn_relu>(a);
    case CellKind::leaky:
      return fwd_rows<CellKind::leaky>(a);
    case CellKind::gru:
      return fwd_rows<CellKind::gru>(a);
    case CellKind::lstm:
      return fwd_rows<CellKind::lstm>(a);
  }
}

template <class T>
void cell_step_bwd_ref(CellKind cell, const CellStepBwd<T>& a) {
  switch (cell) {
    case CellKind::rnn_tanh:
      return bwd_rows<CellKind::rnn_tanh>(a);
    case CellKind::rnn_relu:
      return bwd_rows<CellKind::rnn_relu>(a);
    case CellKind::leaky:
      return bwd_rows<CellKind::leaky>(a);
    case CellKind::gru:
      return bwd_rows<CellKind::gru>(a);
    case CellKind::lstm:
      return bwd_rows<CellKind::lstm>(a);
  }
}

template void cell_step_fwd_ref<float>(CellKind, const CellStepFwd<float>&);
template void cell_step_fwd_ref<double>(CellKind, const CellStepFwd<double>&);
template void cell_step_bwd_ref<float>(CellKind, const CellStepBwd<float>&);
template void cell_step_bwd_ref<double>(CellKind, const CellStepBwd<double>&);

}  // namespace recur
