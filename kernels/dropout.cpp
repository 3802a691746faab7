// kernels/dropout.h's dispatch point: the CPU reference or the CUDA kernel, by device.
#include "kernels/dropout.h"

#include "core/cuda_runtime.h"
#if RECUR_WITH_CUDA
#include "kernels/cuda/dropout_cuda.h"
#endif

namespace recur {

void dropout(const Tensor& in, double p, const DropoutKey& key, Tensor& out) {
  if (in.device().is_cpu()) return dropout_ref(in, p, key, out);
  check_dropout_args(in, p, out);
#if RECUR_WITH_CUDA
  void* stream = cuda_stream(in.device().index);
  if (in.dtype() == DType::f64)
    launch_dropout(in.data<double>(), in.numel(), p, key, out.data<double>(), stream);
  else
    launch_dropout(in.data<float>(), in.numel(), p, key, out.data<float>(), stream);
#else
  cuda_stream(in.device().index);  // throws: this build has no CUDA
#endif
}

}  // namespace recur
