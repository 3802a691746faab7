// CPU reference of inverted dropout (kernels/dropout.h), threaded over elements.
#include "core/parallel.h"
#include "core/philox.h"
#include "kernels/dropout.h"

namespace recur {

namespace {

template <class T>
void apply(const T* in, int64_t n, double p, const DropoutKey& key, T* out) {
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  const float threshold = static_cast<float>(p);
  // Chunks start on multiples of 4 so each thread draws whole Philox blocks.
  parallel_for((n + 3) / 4, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t block = begin; block < end; ++block) {
      float u[4];
      philox_uniform4(key.seed, key.stream, key.step, static_cast<uint64_t>(block), u);
      for (int64_t lane = 0; lane < 4 && block * 4 + lane < n; ++lane) {
        int64_t i = block * 4 + lane;
        out[i] = u[lane] >= threshold ? in[i] * scale : T(0);
      }
    }
  });
}

}  // namespace

void check_dropout_args(const Tensor& in, double p, const Tensor& out) {
  RECUR_CHECK(p >= 0.0 && p < 1.0, "dropout: expected a probability in [0, 1), got {}", p);
  RECUR_CHECK(in.shape() == out.shape(), "dropout: output shape {} differs from input shape {}",
              out.shape_str(), in.shape_str());
  RECUR_CHECK(in.is_contiguous() && out.is_contiguous(), "dropout: expected contiguous tensors");
  RECUR_CHECK(in.dtype() == out.dtype(), "dropout: output dtype {} differs from input dtype {}",
              dtype_name(out.dtype()), dtype_name(in.dtype()));
  RECUR_CHECK(in.device() == out.device(), "dropout: output on {}, input on {}",
              out.device().name(), in.device().name());
  RECUR_CHECK(in.dtype() == DType::f32 || in.dtype() == DType::f64,
              "dropout: expected an f32 or f64 tensor, got {}", dtype_name(in.dtype()));
}

void dropout_ref(const Tensor& in, double p, const DropoutKey& key, Tensor& out) {
  check_dropout_args(in, p, out);
  RECUR_CHECK(in.device().is_cpu(), "dropout_ref: expected CPU tensors, got them on {}",
              in.device().name());
  if (in.dtype() == DType::f64)
    apply(in.data<double>(), in.numel(), p, key, out.data<double>());
  else
    apply(in.data<float>(), in.numel(), p, key, out.data<float>());
}

}  // namespace recur
