// The pointwise parts of Luong attention (layers/attention.h): the softmax over each query's
// valid keys, the tanh of the attended state, and the column concatenation of the context with
// the query. Each is one dispatch point (kernels/attention.cpp): the CPU reference
// (kernels/cpu/attention_ref.cpp) or the CUDA kernels (kernels/cuda/attention_cuda.h) for tensors
// on a GPU, with the same arguments and the same results (every sum in the same order, so the
// GPU's are bit-identical to the CPU's up to the rounding of exp and tanh). Tensors are
// contiguous, f32 or f64, of one dtype and on one device; outputs alias no input.
#pragma once

#include "core/tensor.h"

namespace recur {

// weights[b,t,s] = exp(scores[b,t,s] - m) / sum_{s' < len_b} exp(scores[b,t,s'] - m) for s <
// len_b, and 0 for s >= len_b, where m is the row's largest valid score and len_b = lengths[b]
// (S when lengths is undefined).
//   scores [B,T,S], lengths [B] i64 in [1,S] on scores' device (or undefined), weights [B,T,S]
void attention_softmax_fwd(const Tensor& scores, const Tensor& lengths, Tensor& weights);
// dscores = weights * (dweights - sum_s weights * dweights), per row: the softmax's backward
// (masked entries have weight 0, so their gradient is 0).
//   weights, dweights, dscores [B,T,S]
void attention_softmax_bwd(const Tensor& weights, const Tensor& dweights, Tensor& dscores);

// out = [left | right] along the columns: left [N,A], right [N,C] -> out [N,A+C].
void concat_columns(const Tensor& left, const Tensor& right, Tensor& out);
// The inverse: in [N,A+C] -> left [N,A], right [N,C].
void split_columns(const Tensor& in, Tensor& left, Tensor& right);

// y = tanh(x); dx = dy * (1 - y^2). Any shape, all of one shape.
void tanh_fwd(const Tensor& x, Tensor& y);
void tanh_bwd(const Tensor& y, const Tensor& dy, Tensor& dx);

// The CPU reference of each.
void attention_softmax_fwd_ref(const Tensor& scores, const Tensor& lengths, Tensor& weights);
void attention_softmax_bwd_ref(const Tensor& weights, const Tensor& dweights, Tensor& dscores);
void concat_columns_ref(const Tensor& left, const Tensor& right, Tensor& out);
void split_columns_ref(const Tensor& in, Tensor& left, Tensor& right);
void tanh_fwd_ref(const Tensor& x, Tensor& y);
void tanh_bwd_ref(const Tensor& y, const Tensor& dy, Tensor& dx);

// Shared by both devices' paths: throws unless every tensor is defined, contiguous, of one dtype
// (f32 or f64) and on one device (`what` names the op).
void check_attention_operands(std::initializer_list<const Tensor*> tensors, const char* what);

}  // namespace recur
