// The CPU reference of kernels/attention.h: plain loops over rows, each row through
// kernels/attention_math.h.
#include <cstdint>

#include "kernels/attention.h"
#include "kernels/attention_math.h"

namespace recur {

namespace {

// The one switch point for the element type.
template <class F>
void with_dtype(const Tensor& t, F f) {
  if (t.dtype() == DType::f64)
    f(double{});
  else
    f(float{});
}

}  // namespace

void attention_softmax_fwd_ref(const Tensor& scores, const Tensor& lengths, Tensor& weights) {
  const int64_t B = scores.size(0), T = scores.size(1), S = scores.size(2);
  const int64_t* len = lengths.defined() ? lengths.data<int64_t>() : nullptr;
  with_dtype(scores, [&](auto zero) {
    using V = decltype(zero);
    const V* in = scores.data<V>();
    V* out = weights.data<V>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        const int64_t row = (b * T + t) * S;
        attention_math::softmax_row_fwd(in + row, len ? len[b] : S, S, out + row);
      }
  });
}

void attention_softmax_bwd_ref(const Tensor& weights, const Tensor& dweights, Tensor& dscores) {
  const int64_t S = weights.size(-1), rows = weights.numel() / S;
  with_dtype(weights, [&](auto zero) {
    using V = decltype(zero);
    for (int64_t r = 0; r < rows; ++r)
      attention_math::softmax_row_bwd(weights.data<V>() + r * S, dweights.data<V>() + r * S, S,
                                      dscores.data<V>() + r * S);
  });
}

void concat_columns_ref(const Tensor& left, const Tensor& right, Tensor& out) {
  const int64_t N = left.size(0), A = left.size(1), C = right.size(1);
  with_dtype(left, [&](auto zero) {
    using V = decltype(zero);
    const V *l = left.data<V>(), *r = right.data<V>();
    V* o = out.data<V>();
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t a = 0; a < A; ++a) o[n * (A + C) + a] = l[n * A + a];
      for (int64_t c = 0; c < C; ++c) o[n * (A + C) + A + c] = r[n * C + c];
    }
  });
}

void split_columns_ref(const Tensor& in, Tensor& left, Tensor& right) {
  const int64_t N = left.size(0), A = left.size(1), C = right.size(1);
  with_dtype(in, [&](auto zero) {
    using V = decltype(zero);
    const V* i = in.data<V>();
    V *l = left.data<V>(), *r = right.data<V>();
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t a = 0; a < A; ++a) l[n * A + a] = i[n * (A + C) + a];
      for (int64_t c = 0; c < C; ++c) r[n * C + c] = i[n * (A + C) + A + c];
    }
  });
}

void tanh_fwd_ref(const Tensor& x, Tensor& y) {
  with_dtype(x, [&](auto zero) {
    using V = decltype(zero);
    const V* in = x.data<V>();
    V* out = y.data<V>();
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = cell_math::tanh_(in[i]);
  });
}

void tanh_bwd_ref(const Tensor& y, const Tensor& dy, Tensor& dx) {
  with_dtype(y, [&](auto zero) {
    using V = decltype(zero);
    const V *out = y.data<V>(), *dout = dy.data<V>();
    V* din = dx.data<V>();
    for (int64_t i = 0; i < y.numel(); ++i) din[i] = attention_math::tanh_bwd(out[i], dout[i]);
  });
}

}  // namespace recur
