#include "kernels/persistent_layout.h"

#include <algorithm>

#include "core/error.h"

namespace recur {

PersistentPlan persistent_layout(CellKind cell, int64_t H, int64_t B, Precision precision,
                                 bool backward, const PersistentLimits& limits) {
  PersistentPlan plan;
  plan.precision = precision;
  plan.backward = backward;
  if (cell != CellKind::lstm && cell != CellKind::gru) {
    plan.why_not = "the persistent kernel runs lstm and gru only";
    return plan;
  }
  if (H < 1 || B < 1) {
    plan.why_not = fmt::format("needs H >= 1 and B >= 1, got H={} B={}", H, B);
    return plan;
  }
  if (limits.sms < 1 || limits.shared_per_block < 1) {
    plan.why_not = fmt::format("the GPU reports {} SMs and {} bytes of shared memory per block",
                               limits.sms, limits.shared_per_block);
    return plan;
  }
  // One block per SM at most, each owning ceil(H / blocks) units; no block is left empty.
  const int64_t gates = cell_gates(cell);
  const int64_t want = std::min<int64_t>(limits.sms, H);
  const int64_t units = (H + want - 1) / want;
  const int64_t blocks = (H + units - 1) / units;
  const bool mixed = precision != Precision::f32;
  const int64_t elem = mixed ? 2 : 4;  // bytes of one operand in shared memory

  const PersistentSmem m = persistent_smem(gates, H, units, elem, backward);
  const int64_t w_bytes = m.w_bytes, row_bytes = m.row_bytes, fixed_bytes = m.part_bytes;
  const int64_t row_multiple = m.row_multiple;
  const int64_t room = limits.shared_per_block - w_bytes - fixed_bytes;
  if (room < row_multiple * row_bytes) {
    plan.why_not = fmt::format(
        "the W_hh slice of a block ({} x {} of H={} at {} math = {} bytes, with {} blocks on {} "
        "SMs) plus {} row(s) of {} ({} bytes each) and {} bytes of tile sums exceeds the {} bytes "
        "of shared memory a block can have",
        backward ? units : gates * units, backward ? "columns" : "gate rows", H,
        precision_name(precision), w_bytes, blocks, limits.sms, row_multiple,
        backward ? "dgates" : "h", row_bytes, fixed_bytes, limits.shared_per_block);
    return plan;
  }
  // ASSUMPTION: no limit on B besides memory: rows are staged chunk_rows at a time and each sum
  // is one warp's (or one tile's) registers, so every B that fits in int64 runs.
  const int64_t chunk =
      std::min(round_up(B, row_multiple), room / row_bytes / row_multiple * row_multiple);
  plan.blocks = static_cast<int>(blocks);
  plan.units = static_cast<int>(units);
  plan.chunk_rows = static_cast<int>(chunk);
  plan.shared_bytes = static_cast<size_t>(w_bytes + fixed_bytes + chunk * row_bytes);
  return plan;
}

int64_t persistent_max_hidden(CellKind cell, Precision precision, bool backward,
                              const PersistentLimits& limits) {
  return largest_fitting_hidden([&](int64_t H) {
    return persistent_layout(cell, H, 1, precision, backward, limits).why_not.empty();
  });
}

int64_t largest_fitting_hidden(const std::function<bool(int64_t)>& fits) {
  if (!fits(1)) return 0;
  int64_t lo = 1, hi = int64_t{1} << 24;  // fits(lo), !fits(hi): 2^24 units never fit
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo;
}

}  // namespace recur
