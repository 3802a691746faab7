// The pointwise parts of attention on a GPU (kernels/attention.h), launched on `stream` (a
// cudaStream_t). Pointers are device memory; T is float or double. Kernels (attention_cuda.cu):
// softmax_fwd_kernel and softmax_bwd_kernel (one thread per row of S keys, through
// kernels/attention_math.h as the CPU does), concat_kernel, split_kernel, tanh_fwd_kernel and
// tanh_bwd_kernel (one thread per element).
#pragma once

#include <cstdint>

namespace recur {

// scores, weights [B,T,S]; lengths [B] (device memory) or nullptr (all S valid).
template <class T>
void launch_attention_softmax_fwd(const T* scores, const int64_t* lengths, int64_t B, int64_t Tq,
                                  int64_t S, T* weights, void* stream);
// weights, dweights, dscores [rows, S].
template <class T>
void launch_attention_softmax_bwd(const T* weights, const T* dweights, int64_t rows, int64_t S,
                                  T* dscores, void* stream);
// out [N,A+C] = [left [N,A] | right [N,C]]; split is its inverse.
template <class T>
void launch_concat_columns(const T* left, const T* right, int64_t N, int64_t A, int64_t C, T* out,
                           void* stream);
template <class T>
void launch_split_columns(const T* in, int64_t N, int64_t A, int64_t C, T* left, T* right,
                          void* stream);
// y[i] = tanh(x[i]); dx[i] = dy[i] * (1 - y[i]^2), i < n.
template <class T>
void launch_tanh_fwd(const T* x, int64_t n, T* y, void* stream);
template <class T>
void launch_tanh_bwd(const T* y, const T* dy, int64_t n, T* dx, void* stream);

}  // namespace recur
