// Fused softmax cross-entropy on a GPU (kernels/softmax_xent.h), launched on `stream` (a
// cudaStream_t). Pointers are device memory; T is float or double; targets are int64.
// Kernels (softmax_xent_cuda.cu): xent_check_kernel (targets against [0, C), records the first
// bad row), xent_rows_kernel (one block per row: max, sum of exp, probs, the row's loss),
// xent_total_kernel (one block: the loss and the count of counted rows, summed in a fixed order),
// xent_bwd_kernel (one thread per element).
#pragma once

#include <cstdint>

namespace recur {

// What the forward leaves in device memory for the host to read back in one copy.
struct SoftmaxXentResult {
  double loss;         // the sum of -log p[target] over counted rows
  uint64_t counted;    // rows whose target is not ignore_index
  uint64_t first_bad;  // the first row whose target is outside [0, C) and not ignore_index;
                       // UINT64_MAX when there is none (then probs are not written, as on the CPU)
};

// logits [N,C], targets [N] -> probs [N,C] (softmax) and *result. row_loss [N] is scratch.
// Deterministic: every sum runs in a fixed order that depends on N and C only.
template <class T>
void launch_softmax_xent_fwd(const T* logits, const int64_t* targets, int64_t N, int64_t C,
                             int64_t ignore_index, T* probs, double* row_loss,
                             SoftmaxXentResult* result, void* stream);

// dlogits [N,C] = (probs - onehot(target)) * scale for counted rows, 0 for ignored rows.
template <class T>
void launch_softmax_xent_bwd(const T* probs, const int64_t* targets, int64_t N, int64_t C,
                             int64_t ignore_index, double scale, T* dlogits, void* stream);

}  // namespace recur
