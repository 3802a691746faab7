// Embedding lookup: rows of a table gathered by token id, and the scatter-add of their gradient.
#pragma once

#include "core/tensor.h"

namespace recur {

// ids [N] i64 (or i32), table [V,E] -> out [N,E]. Throws naming the first id outside [0, V).
void embedding_fwd_ref(const Tensor& ids, const Tensor& table, Tensor& out);
// dtable[ids[n]] += dout[n] for every n; dout [N,E], dtable [V,E].
void embedding_bwd_ref(const Tensor& ids, const Tensor& dout, Tensor& dtable);

}  // namespace recur
