// Softmax cross-entropy over the last dimension, fused: one pass computes the loss of each row
// and keeps the softmax for backward (dlogits = (softmax - onehot) * scale).
#pragma once

#include "core/tensor.h"

namespace recur {

// logits [N,C] f32/f64, targets [N] i64; rows whose target == ignore_index are skipped.
// Writes probs [N,C] (softmax) and returns the SUM of -log p[target] over counted rows, setting
// *counted. Throws naming the first target outside [0, C) that is not ignore_index.
double softmax_xent_fwd_ref(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                            Tensor& probs, int64_t* counted);
// dlogits [N,C] = (probs - onehot(target)) * scale for counted rows, 0 for ignored rows.
void softmax_xent_bwd_ref(const Tensor& probs, const Tensor& targets, int64_t ignore_index,
                          double scale, Tensor& dlogits);

}  // namespace recur
