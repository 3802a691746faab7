// CPU reference of the embedding gather and its gradient scatter-add (kernels/embedding.h).
#include <cstring>

#include "kernels/embedding.h"

namespace recur {

namespace {

int64_t id_at(const Tensor& ids, int64_t n) {
  return ids.dtype() == DType::i64 ? ids.data<int64_t>()[n] : ids.data<int32_t>()[n];
}

void check_ids(const Tensor& ids, int64_t vocab) {
  check_embedding_ids(ids);
  for (int64_t n = 0; n < ids.numel(); ++n) {
    const int64_t id = id_at(ids, n);
    if (id < 0 || id >= vocab) throw_bad_embedding_id(id, n, vocab);
  }
}

template <class T>
void gather(const Tensor& ids, const Tensor& table, Tensor& out) {
  const int64_t E = table.size(1);
  const T* w = table.data<T>();
  T* o = out.data<T>();
  for (int64_t n = 0; n < ids.numel(); ++n)
    std::memcpy(o + n * E, w + id_at(ids, n) * E, E * sizeof(T));
}

template <class T>
void scatter_add(const Tensor& ids, const Tensor& dout, Tensor& dtable) {
  const int64_t E = dtable.size(1);
  const T* d = dout.data<T>();
  T* g = dtable.data<T>();
  for (int64_t n = 0; n < ids.numel(); ++n) {
    T* row = g + id_at(ids, n) * E;
    for (int64_t e = 0; e < E; ++e) row[e] += d[n * E + e];
  }
}

}  // namespace

void check_embedding_ids(const Tensor& ids) {
  RECUR_CHECK(ids.defined(), "embedding ids: expected [N] contiguous, got an undefined tensor");
  RECUR_CHECK(ids.dtype() == DType::i64 || ids.dtype() == DType::i32,
              "embedding ids: expected dtype i64 or i32, got {}", dtype_name(ids.dtype()));
  RECUR_CHECK(ids.dim() == 1 && ids.is_contiguous(),
              "embedding ids: expected [N] contiguous, got {}", ids.shape_str());
}

void throw_bad_embedding_id(int64_t id, int64_t position, int64_t vocab) {
  RECUR_FAIL("embedding: id {} at position {} is outside [0, {})", id, position, vocab);
}

void embedding_fwd_ref(const Tensor& ids, const Tensor& table, Tensor& out) {
  check_ids(ids, table.size(0));
  check_shape(out, {ids.numel(), table.size(1)}, "embedding output");
  if (table.dtype() == DType::f64)
    gather<double>(ids, table, out);
  else
    gather<float>(ids, table, out);
}

void embedding_bwd_ref(const Tensor& ids, const Tensor& dout, Tensor& dtable) {
  check_ids(ids, dtable.size(0));
  check_shape(dout, {ids.numel(), dtable.size(1)}, "embedding output gradient");
  if (dtable.dtype() == DType::f64)
    scatter_add<double>(ids, dout, dtable);
  else
    scatter_add<float>(ids, dout, dtable);
}

}  // namespace recur
