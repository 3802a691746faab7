// Embedding gather and deterministic scatter-add on a GPU (embedding_cuda.h).
//
// Backward without float atomics: embedding_check_kernel writes the sort keys (the id, or V for a
// bad id) and the positions 0..N-1; cub::DeviceRadixSort::SortPairs sorts them by key, stably, so
// equal ids keep ascending positions; embedding_scatter_kernel runs one block per sorted entry,
// and only the block at the start of a run of equal keys works: its threads take the table row's
// columns and add the run's dout rows in order, exactly as the CPU loop does. No host sync.
#include <cuda_runtime.h>
#include <cub/device/device_radix_sort.cuh>

#include <climits>

#include "core/cuda/cuda_check.h"
#include "kernels/cuda/embedding_cuda.h"
#include "kernels/cuda/launch.cuh"

namespace recur {

namespace {

using cuda_launch::blocks_for;
using cuda_launch::kThreads;
constexpr unsigned long long kNoBadId = ULLONG_MAX;

// Threads per block for E columns: a multiple of 32, at most kThreads.
unsigned threads_for_columns(int64_t E) {
  return static_cast<unsigned>(E >= kThreads ? kThreads : (E + 31) / 32 * 32);
}

// Bits of the sort keys: keys run 0..V (V marks a bad id).
int key_bits(int64_t V) {
  int bits = 1;
  while (bits < 32 && (int64_t{1} << bits) <= V) ++bits;
  return bits;
}

size_t align256(size_t bytes) {
  return (bytes + 255) / 256 * 256;
}

// Records the first bad position; with keys, also writes the sort keys and positions.
template <class I>
__global__ void embedding_check_kernel(const I* ids, int64_t N, int64_t V,
                                       unsigned long long* first_bad, uint32_t* keys,
                                       int32_t* positions) {
  const int64_t n = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (n >= N) return;
  const int64_t id = static_cast<int64_t>(ids[n]);
  const bool ok = id >= 0 && id < V;
  if (!ok) atomicMin(first_bad, static_cast<unsigned long long>(n));
  if (keys) {
    keys[n] = static_cast<uint32_t>(ok ? id : V);
    positions[n] = static_cast<int32_t>(n);
  }
}

template <class I, class T>
__global__ void embedding_gather_kernel(const I* ids, int64_t N, const T* table, int64_t E, T* out,
                                        const unsigned long long* first_bad) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N * E || *first_bad != kNoBadId) return;
  const int64_t n = i / E, e = i % E;
  out[i] = table[static_cast<int64_t>(ids[n]) * E + e];
}

// Block i: when sorted entry i starts a run of key k (k < V), table row k += the dout rows of the
// run's positions, in ascending position.
template <class T>
__global__ void embedding_scatter_kernel(const uint32_t* keys, const int32_t* positions, int64_t N,
                                         int64_t V, const T* dout, int64_t E, T* dtable,
                                         const unsigned long long* first_bad) {
  const int64_t i = blockIdx.x;
  if (*first_bad != kNoBadId) return;
  const uint32_t key = keys[i];
  if (key >= V || (i > 0 && keys[i - 1] == key)) return;
  int64_t end = i + 1;
  while (end < N && keys[end] == key) ++end;
  T* row = dtable + static_cast<int64_t>(key) * E;
  for (int64_t e = threadIdx.x; e < E; e += blockDim.x) {
    T acc = row[e];
    for (int64_t j = i; j < end; ++j) acc += dout[static_cast<int64_t>(positions[j]) * E + e];
    row[e] = acc;
  }
}

// CUB's temporary storage for sorting N pairs.
size_t sort_temp_bytes(int64_t N, int64_t V) {
  size_t bytes = 0;
  RECUR_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
      nullptr, bytes, static_cast<const uint32_t*>(nullptr), static_cast<uint32_t*>(nullptr),
      static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr), static_cast<int>(N), 0,
      key_bits(V)));
  return bytes;
}

}  // namespace

template <class I, class T>
void launch_embedding_fwd(const I* ids, int64_t N, const T* table, int64_t V, int64_t E, T* out,
                          uint64_t* first_bad, void* stream) {
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  auto* flag = reinterpret_cast<unsigned long long*>(first_bad);
  RECUR_CUDA_CHECK(cudaMemsetAsync(flag, 0xFF, sizeof(*flag), s));
  if (N == 0) return;
  embedding_check_kernel<I><<<blocks_for(N), kThreads, 0, s>>>(ids, N, V, flag, nullptr, nullptr);
  RECUR_CUDA_CHECK_LAUNCH();
  if (E == 0) return;
  embedding_gather_kernel<I, T><<<blocks_for(N * E), kThreads, 0, s>>>(ids, N, table, E, out, flag);
  RECUR_CUDA_CHECK_LAUNCH();
}

size_t embedding_bwd_scratch_bytes(int64_t N, int64_t V) {
  if (N == 0) return 0;
  const size_t pairs = align256(static_cast<size_t>(N) * 4);
  return 4 * pairs + align256(sort_temp_bytes(N, V));
}

template <class I, class T>
void launch_embedding_bwd(const I* ids, int64_t N, const T* dout, int64_t V, int64_t E, T* dtable,
                          uint64_t* first_bad, void* scratch, size_t scratch_bytes, void* stream) {
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  auto* flag = reinterpret_cast<unsigned long long*>(first_bad);
  RECUR_CUDA_CHECK(cudaMemsetAsync(flag, 0xFF, sizeof(*flag), s));
  if (N == 0) return;
  // Scratch: keys in, keys out, positions in, positions out, CUB's temporary storage.
  const size_t pairs = align256(static_cast<size_t>(N) * 4);
  auto* base = static_cast<char*>(scratch);
  auto* keys_in = reinterpret_cast<uint32_t*>(base);
  auto* keys_out = reinterpret_cast<uint32_t*>(base + pairs);
  auto* positions_in = reinterpret_cast<int32_t*>(base + 2 * pairs);
  auto* positions_out = reinterpret_cast<int32_t*>(base + 3 * pairs);
  size_t temp_bytes = sort_temp_bytes(N, V);
  RECUR_CHECK(scratch_bytes >= 4 * pairs + temp_bytes,
              "launch_embedding_bwd: expected {} bytes of scratch, got {}", 4 * pairs + temp_bytes,
              scratch_bytes);
  embedding_check_kernel<I>
      <<<blocks_for(N), kThreads, 0, s>>>(ids, N, V, flag, keys_in, positions_in);
  RECUR_CUDA_CHECK_LAUNCH();
  RECUR_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(base + 4 * pairs, temp_bytes, keys_in, keys_out,
                                                   positions_in, positions_out, static_cast<int>(N),
                                                   0, key_bits(V), s));
  if (E == 0) return;
  embedding_scatter_kernel<T><<<static_cast<unsigned>(N), threads_for_columns(E), 0, s>>>(
      keys_out, positions_out, N, V, dout, E, dtable, flag);
  RECUR_CUDA_CHECK_LAUNCH();
}

#define RECUR_INSTANTIATE(I, T)                                                               \
  template void launch_embedding_fwd<I, T>(const I*, int64_t, const T*, int64_t, int64_t, T*, \
                                           uint64_t*, void*);                                 \
  template void launch_embedding_bwd<I, T>(const I*, int64_t, const T*, int64_t, int64_t, T*, \
                                           uint64_t*, void*, size_t, void*);
RECUR_INSTANTIATE(int32_t, float)
RECUR_INSTANTIATE(int32_t, double)
RECUR_INSTANTIATE(int64_t, float)
RECUR_INSTANTIATE(int64_t, double)
#undef RECUR_INSTANTIATE

}  // namespace recur
