// Softmax cross-entropy over the last dimension, fused: one pass computes the loss of each row
// and keeps the softmax for backward (dlogits = (softmax - onehot) * scale).
// softmax_xent_fwd / softmax_xent_bwd are the dispatch points (kernels/softmax_xent.cpp): the CPU
// reference (kernels/cpu/softmax_xent_ref.cpp) or the CUDA kernels
// (kernels/cuda/softmax_xent_cuda.h) for tensors on a GPU, with the same arguments, results and
// errors.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recur {

// logits [N,C] f32/f64 contiguous, targets [N] i64; rows whose target == ignore_index are skipped.
// Writes probs [N,C] (softmax; logits' dtype, contiguous, may not alias logits) and returns the
// SUM of -log p[target] over counted rows, setting *counted. Throws naming the first target
// outside [0, C) that is not ignore_index, leaving probs unchanged. All tensors on one device.
// GPU: the total is summed on the device in a fixed order (deterministic) and the host reads it
// back with the count and the bad-target flag in one 24-byte copy, which waits for the device's
// stream: one synchronisation per call (plus one 8-byte read of the bad target when there is one).
double softmax_xent_fwd(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                        Tensor& probs, int64_t* counted);
// dlogits [N,C] = (probs - onehot(target)) * scale for counted rows, 0 for ignored rows; probs and
// targets as softmax_xent_fwd left them (targets are not checked again). No synchronisation.
void softmax_xent_bwd(const Tensor& probs, const Tensor& targets, int64_t ignore_index,
                      double scale, Tensor& dlogits);

// The CPU reference of each.
double softmax_xent_fwd_ref(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                            Tensor& probs, int64_t* counted);
void softmax_xent_bwd_ref(const Tensor& probs, const Tensor& targets, int64_t ignore_index,
                          double scale, Tensor& dlogits);

// Shared by both devices' paths: the error for `target` at `row`, outside [0, classes).
[[noreturn]] void throw_bad_xent_target(int64_t target, int64_t row, int64_t classes,
                                        int64_t ignore_index);

}  // namespace recur
