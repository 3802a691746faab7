// kernels/embedding.h's dispatch points: the CPU reference or the CUDA kernels, by device. On a
// GPU the ids are checked on the device, and the host reads back the kernel's first-bad-position
// flag (one small synchronising copy) to throw the CPU's error.
#include "kernels/embedding.h"

#include <cstdint>
#include <type_traits>

#include "core/cuda_runtime.h"
#if RECUR_WITH_CUDA
#include "kernels/cuda/embedding_cuda.h"
#endif

namespace recur {

namespace {

// ASSUMPTION: ids, the table (or its gradient) and the rows (out or dout) are on one device.
void check_devices(const Tensor& ids, const Tensor& table, const Tensor& rows,
                   const char* table_name, const char* rows_name) {
  RECUR_CHECK(ids.device() == table.device() && rows.device() == table.device(),
              "embedding: expected ids, {} and {} on one device, got {}, {} and {}", table_name,
              rows_name, ids.device().name(), table.device().name(), rows.device().name());
}

// ASSUMPTION (GPU): table [V,E] and rows [N,E] are contiguous, of one dtype, f32 or f64; N and V
// fit the kernels' 32-bit sort keys and positions.
void check_gpu_args(const Tensor& ids, const Tensor& table, const Tensor& rows,
                    const char* table_name, const char* rows_name) {
  check_embedding_ids(ids);
  RECUR_CHECK(table.dim() == 2 && table.is_contiguous(),
              "embedding {}: expected [V,E] contiguous, got {}", table_name, table.shape_str());
  RECUR_CHECK(table.dtype() == DType::f32 || table.dtype() == DType::f64,
              "embedding {}: expected dtype f32 or f64, got {}", table_name,
              dtype_name(table.dtype()));
  check_shape(rows, {ids.numel(), table.size(1)}, std::string("embedding ") + rows_name);
  RECUR_CHECK(rows.dtype() == table.dtype() && rows.is_contiguous(),
              "embedding {}: expected a contiguous {} tensor, got {} {}", rows_name,
              dtype_name(table.dtype()), rows.is_contiguous() ? "contiguous" : "strided",
              dtype_name(rows.dtype()));
  RECUR_CHECK(ids.numel() <= INT32_MAX && table.size(0) <= INT32_MAX,
              "embedding on {}: expected at most {} ids and rows, got {} ids and {} rows",
              table.device().name(), INT32_MAX, ids.numel(), table.size(0));
}

#if RECUR_WITH_CUDA
// Reads the kernel's flag back (waiting for the stream) and throws the CPU's error for a bad id.
void throw_if_bad_id(const Tensor& flag, const Tensor& ids, int64_t vocab) {
  uint64_t first_bad = 0;
  copy_bytes(&first_bad, Device::cpu(), flag.raw_data(), flag.device(), sizeof(first_bad));
  if (first_bad == UINT64_MAX) return;
  const int64_t position = static_cast<int64_t>(first_bad);
  const Tensor id = ids.narrow(0, position, 1).to(Device::cpu());
  throw_bad_embedding_id(
      ids.dtype() == DType::i64 ? id.data<int64_t>()[0] : int64_t{id.data<int32_t>()[0]}, position,
      vocab);
}

// The one switch point for the id type and the element type (4 instantiations in
// embedding_cuda.cu).
template <class F>
void with_types(const Tensor& ids, const Tensor& table, F f) {
  const bool i64 = ids.dtype() == DType::i64, f64 = table.dtype() == DType::f64;
  if (i64 && f64)
    f(ids.data<int64_t>(), table.data<double>());
  else if (i64)
    f(ids.data<int64_t>(), table.data<float>());
  else if (f64)
    f(ids.data<int32_t>(), table.data<double>());
  else
    f(ids.data<int32_t>(), table.data<float>());
}
#endif

}  // namespace

void embedding_fwd(const Tensor& ids, const Tensor& table, Tensor& out) {
  RECUR_CHECK(ids.defined() && table.defined() && out.defined(),
              "embedding: expected defined ids, table and output");
  check_devices(ids, table, out, "table", "output");
  if (table.device().is_cpu()) return embedding_fwd_ref(ids, table, out);
  check_gpu_args(ids, table, out, "table", "output");
#if RECUR_WITH_CUDA
  const Device device = table.device();
  const Tensor flag = Tensor::empty({1}, DType::i64, device);
  auto* first_bad = static_cast<uint64_t*>(flag.raw_data());
  void* stream = cuda_stream(device.index);
  const int64_t N = ids.numel(), V = table.size(0), E = table.size(1);
  with_types(ids, table, [&](const auto* id, const auto* w) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(w)>>;
    launch_embedding_fwd(id, N, w, V, E, out.data<T>(), first_bad, stream);
  });
  throw_if_bad_id(flag, ids, V);
#else
  cuda_stream(table.device().index);   // throws: this build has no CUDA
#endif
}

void embedding_bwd(const Tensor& ids, const Tensor& dout, Tensor& dtable) {
  RECUR_CHECK(ids.defined() && dout.defined() && dtable.defined(),
              "embedding: expected defined ids, output gradient and table gradient");
  check_devices(ids, dtable, dout, "table gradient", "output gradient");
  if (dtable.device().is_cpu()) return embedding_bwd_ref(ids, dout, dtable);
  check_gpu_args(ids, dtable, dout, "table gradient", "output gradient");
#if RECUR_WITH_CUDA
  const Device device = dtable.device();
  const int64_t N = ids.numel(), V = dtable.size(0), E = dtable.size(1);
  const Tensor flag = Tensor::empty({1}, DType::i64, device);
  auto* first_bad = static_cast<uint64_t*>(flag.raw_data());
  const size_t scratch_bytes = embedding_bwd_scratch_bytes(N, V);
  const Tensor scratch = Tensor::empty({static_cast<int64_t>(scratch_bytes)}, DType::u8, device);
  void* stream = cuda_stream(device.index);
  with_types(ids, dtable, [&](const auto* id, const auto* g) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(g)>>;
    launch_embedding_bwd(id, N, dout.data<T>(), V, E, dtable.data<T>(), first_bad,
                         scratch.raw_data(), scratch_bytes, stream);
  });
  throw_if_bad_id(flag, ids, V);
#else
  cuda_stream(dtable.device().index);  // throws: this build has no CUDA
#endif
}

}  // namespace recur
