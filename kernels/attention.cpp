// kernels/attention.h's dispatch points: the CPU reference or the CUDA kernels, by device.
#include "kernels/attention.h"

#include <string>

#include "core/cuda_runtime.h"
#if RECUR_WITH_CUDA
#include "kernels/cuda/attention_cuda.h"
#endif

namespace recur {

void check_attention_operands(std::initializer_list<const Tensor*> tensors, const char* what) {
  const Tensor& first = **tensors.begin();
  for (const Tensor* t : tensors) {
    RECUR_CHECK(t->defined(), "{}: expected defined tensors", what);
    RECUR_CHECK(t->dtype() == DType::f32 || t->dtype() == DType::f64,
                "{}: expected f32 or f64 tensors, got {}", what, dtype_name(t->dtype()));
    RECUR_CHECK(t->dtype() == first.dtype() && t->device() == first.device(),
                "{}: expected tensors of one dtype on one device, got {} on {} and {} on {}", what,
                dtype_name(first.dtype()), first.device().name(), dtype_name(t->dtype()),
                t->device().name());
    RECUR_CHECK(t->is_contiguous(), "{}: expected contiguous tensors, got a strided {}", what,
                t->shape_str());
  }
}

namespace {

#if RECUR_WITH_CUDA
// The one switch point for the element type of the CUDA launches.
template <class F>
void with_type(const Tensor& t, F f) {
  if (t.dtype() == DType::f64)
    f(double{});
  else
    f(float{});
}
#endif

// The GPU's stream for t's device (in a build without CUDA this throws, naming the device).
void* stream_of(const Tensor& t) {
  return cuda_stream(t.device().index);
}

}  // namespace

void attention_softmax_fwd(const Tensor& scores, const Tensor& lengths, Tensor& weights) {
  check_attention_operands({&scores, &weights}, "attention softmax");
  check_shape(scores, {"B", "T", "S"}, "attention scores");
  check_shape(weights, {scores.size(0), scores.size(1), scores.size(2)}, "attention weights");
  if (lengths.defined()) {
    check_shape(lengths, {scores.size(0)}, "attention key lengths");
    RECUR_CHECK(lengths.dtype() == DType::i64 && lengths.device() == scores.device() &&
                    lengths.is_contiguous(),
                "attention key lengths: expected contiguous i64 on {}, got {} on {}",
                scores.device().name(), dtype_name(lengths.dtype()), lengths.device().name());
    if (lengths.device().is_cpu())  // (a GPU caller checks them before moving them there)
      for (int64_t b = 0; b < lengths.numel(); ++b) {
        const int64_t length = lengths.data<int64_t>()[b];
        RECUR_CHECK(length >= 1 && length <= scores.size(2),
                    "attention key lengths: expected each in [1,{}], got {} at {}", scores.size(2),
                    length, b);
      }
  }
  if (scores.device().is_cpu()) return attention_softmax_fwd_ref(scores, lengths, weights);
#if RECUR_WITH_CUDA
  with_type(scores, [&](auto zero) {
    using T = decltype(zero);
    launch_attention_softmax_fwd(
        scores.data<T>(), lengths.defined() ? lengths.data<int64_t>() : nullptr, scores.size(0),
        scores.size(1), scores.size(2), weights.data<T>(), stream_of(scores));
  });
#else
  stream_of(scores);
#endif
}

void attention_softmax_bwd(const Tensor& weights, const Tensor& dweights, Tensor& dscores) {
  check_attention_operands({&weights, &dweights, &dscores}, "attention softmax backward");
  RECUR_CHECK(weights.dim() >= 1 && dweights.shape() == weights.shape() &&
                  dscores.shape() == weights.shape(),
              "attention softmax backward: expected one shape, got {}, {} and {}",
              weights.shape_str(), dweights.shape_str(), dscores.shape_str());
  if (weights.device().is_cpu()) return attention_softmax_bwd_ref(weights, dweights, dscores);
#if RECUR_WITH_CUDA
  with_type(weights, [&](auto zero) {
    using T = decltype(zero);
    const int64_t S = weights.size(-1);
    launch_attention_softmax_bwd(weights.data<T>(), dweights.data<T>(), S ? weights.numel() / S : 0,
                                 S, dscores.data<T>(), stream_of(weights));
  });
#else
  stream_of(weights);
#endif
}

namespace {

void check_columns(const Tensor& left, const Tensor& right, const Tensor& wide, const char* what) {
  check_attention_operands({&left, &right, &wide}, what);
  check_shape(left, {"N", "A"}, std::string(what) + " left");
  check_shape(right, {left.size(0), "C"}, std::string(what) + " right");
  check_shape(wide, {left.size(0), left.size(1) + right.size(1)}, std::string(what) + " wide");
}

}  // namespace

void concat_columns(const Tensor& left, const Tensor& right, Tensor& out) {
  check_columns(left, right, out, "concat_columns");
  if (out.device().is_cpu()) return concat_columns_ref(left, right, out);
#if RECUR_WITH_CUDA
  with_type(out, [&](auto zero) {
    using T = decltype(zero);
    launch_concat_columns(left.data<T>(), right.data<T>(), left.size(0), left.size(1),
                          right.size(1), out.data<T>(), stream_of(out));
  });
#else
  stream_of(out);
#endif
}

void split_columns(const Tensor& in, Tensor& left, Tensor& right) {
  check_columns(left, right, in, "split_columns");
  if (in.device().is_cpu()) return split_columns_ref(in, left, right);
#if RECUR_WITH_CUDA
  with_type(in, [&](auto zero) {
    using T = decltype(zero);
    launch_split_columns(in.data<T>(), left.size(0), left.size(1), right.size(1), left.data<T>(),
                         right.data<T>(), stream_of(in));
  });
#else
  stream_of(in);
#endif
}

void tanh_fwd(const Tensor& x, Tensor& y) {
  check_attention_operands({&x, &y}, "tanh");
  RECUR_CHECK(x.shape() == y.shape(), "tanh: expected one shape, got {} and {}", x.shape_str(),
              y.shape_str());
  if (x.device().is_cpu()) return tanh_fwd_ref(x, y);
#if RECUR_WITH_CUDA
  with_type(x, [&](auto zero) {
    using T = decltype(zero);
    launch_tanh_fwd(x.data<T>(), x.numel(), y.data<T>(), stream_of(x));
  });
#else
  stream_of(x);
#endif
}

void tanh_bwd(const Tensor& y, const Tensor& dy, Tensor& dx) {
  check_attention_operands({&y, &dy, &dx}, "tanh backward");
  RECUR_CHECK(y.shape() == dy.shape() && y.shape() == dx.shape(),
              "tanh backward: expected one shape, got {}, {} and {}", y.shape_str(), dy.shape_str(),
              dx.shape_str());
  if (y.device().is_cpu()) return tanh_bwd_ref(y, dy, dx);
#if RECUR_WITH_CUDA
  with_type(y, [&](auto zero) {
    using T = decltype(zero);
    launch_tanh_bwd(y.data<T>(), dy.data<T>(), y.numel(), dx.data<T>(), stream_of(y));
  });
#else
  stream_of(y);
#endif
}

}  // namespace recur
