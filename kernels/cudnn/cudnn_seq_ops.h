// Moving one direction's sequences between recur's batch-first tensors and the time-major buffers
// cuDNN runs on (CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED), reversing each sequence within its
// own length for a reverse direction, so cuDNN always runs forwards. Launched on `stream` (a
// cudaStream_t); every pointer is device memory; T is float or double.
//
// With len_b = lengths ? lengths[b] : Tn and s(t) = reverse ? len_b - 1 - t : t (its own inverse):
//   to_time_major    dst[t,b,j] = t < len_b ? src[b*Tn*ld + s(t)*ld + j] : 0
//   from_time_major  dst[b*Tn*ld + t*ld + j] = src[s(t),b,j]   (accumulate: +=)   for t < len_b;
//                    at padded steps dst = 0 (accumulate: left as it is)
// for j < W. `ld` is the batch-first side's row length (a column block starts at the pointer).
// Kernels: to_time_major_kernel, from_time_major_kernel, seq_lengths_i32_kernel (.cu).
#pragma once

#include <cstdint>

namespace recur {

// src [B,Tn,ld] batch-first (W columns read), dst [Tn,B,W] time-major.
template <class T>
void launch_to_time_major(const T* src, int64_t ld, int64_t B, int64_t Tn, int64_t W,
                          const int64_t* lengths, bool reverse, T* dst, void* stream);

// src [Tn,B,W] time-major, dst [B,Tn,ld] batch-first (W columns written); dst may not alias src.
template <class T>
void launch_from_time_major(const T* src, int64_t B, int64_t Tn, int64_t W, const int64_t* lengths,
                            bool reverse, bool accumulate, T* dst, int64_t ld, void* stream);

// out[b] = lengths ? lengths[b] : Tn, as the int32 cuDNN's devSeqLengths takes. out [B].
void launch_seq_lengths_i32(const int64_t* lengths, int64_t B, int64_t Tn, int32_t* out,
                            void* stream);

}  // namespace recur
