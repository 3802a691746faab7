// Embedding gather and gradient scatter-add on a GPU (kernels/embedding.h), launched on `stream`
// (a cudaStream_t). Pointers are device memory. I (id type) is int32_t or int64_t; T is float or
// double. Kernels (embedding_cuda.cu): embedding_check_kernel (ids against [0, V), records the
// first bad position), embedding_gather_kernel (one thread per output element),
// embedding_scatter_kernel (one block per run of equal ids after a stable radix sort).
//
// Bad ids: `first_bad` (one uint64 of device memory) is set to UINT64_MAX, then to the smallest
// position n whose id is outside [0, V) (an integer atomicMin, so the result does not depend on
// scheduling). When one is found the gather and the scatter write nothing, as on the CPU, and the
// caller (kernels/embedding.cpp) reads the flag back to throw.
#pragma once

#include <cstddef>
#include <cstdint>

namespace recur {

// out [N,E] = table [V,E] rows ids [N].
template <class I, class T>
void launch_embedding_fwd(const I* ids, int64_t N, const T* table, int64_t V, int64_t E, T* out,
                          uint64_t* first_bad, void* stream);

// Bytes of device scratch launch_embedding_bwd needs for N ids and vocabulary V.
// ASSUMPTION (checked by the caller): N and V are at most INT32_MAX.
size_t embedding_bwd_scratch_bytes(int64_t N, int64_t V);

// dtable [V,E] += dout [N,E] scattered by ids [N]. Deterministic and in the CPU's order: the
// (id, position) pairs are sorted by id with CUB's stable radix sort, then each run of one id adds
// its rows into the table row in ascending position, so the result is bit-identical to
// embedding_bwd_ref. `scratch` holds embedding_bwd_scratch_bytes(N, V) bytes of device memory.
template <class I, class T>
void launch_embedding_bwd(const I* ids, int64_t N, const T* dout, int64_t V, int64_t E, T* dtable,
                          uint64_t* first_bad, void* scratch, size_t scratch_bytes, void* stream);

}  // namespace recur
