// Embedding lookup: rows of a table gathered by token id, and the scatter-add of their gradient.
// embedding_fwd / embedding_bwd are the dispatch points (kernels/embedding.cpp): the CPU reference
// (kernels/cpu/embedding_ref.cpp) or the CUDA kernels (kernels/cuda/embedding_cuda.h) for tensors
// on a GPU, with the same arguments, the same results and the same errors.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recur {

// ids [N] i64 or i32 contiguous, table [V,E] f32/f64 contiguous -> out [N,E] (table's dtype,
// contiguous); all three on one device; out aliases neither. Throws naming the first id outside
// [0, V), leaving out unchanged.
// GPU: the ids are checked on the device and the host reads back one 8-byte flag, which waits
// for the device's stream to get there: one synchronisation per call (plus one 4- or 8-byte read
// of the bad id when there is one).
void embedding_fwd(const Tensor& ids, const Tensor& table, Tensor& out);
// dtable[ids[n]] += dout[n] for every n, each row adding its dout rows in ascending n (so the
// result is deterministic, and the GPU's is bit-identical to the CPU's); dout [N,E], dtable [V,E]
// contiguous, of one dtype, on ids' device. Throws as embedding_fwd, leaving dtable unchanged;
// on a GPU with the same one synchronisation.
void embedding_bwd(const Tensor& ids, const Tensor& dout, Tensor& dtable);

// The CPU reference of each.
void embedding_fwd_ref(const Tensor& ids, const Tensor& table, Tensor& out);
void embedding_bwd_ref(const Tensor& ids, const Tensor& dout, Tensor& dtable);

// Shared by both devices' paths. Throws unless ids is a defined [N] contiguous i64 or i32 tensor.
void check_embedding_ids(const Tensor& ids);
// Throws the error for id `id` at `position`, outside [0, vocab).
[[noreturn]] void throw_bad_embedding_id(int64_t id, int64_t position, int64_t vocab);

}  // namespace recur
