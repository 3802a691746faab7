// RAII owners of cuDNN descriptors: each creates its descriptor on construction (checked) and
// destroys it on destruction; movable, not copyable. Setting them is left to the user
// (cudnnSet*Descriptor*), since that is where the meaning lives.
//   RnnDescriptor      cudnnRNNDescriptor_t
//   RnnDataDescriptor  cudnnRNNDataDescriptor_t
//   TensorDescriptor   cudnnTensorDescriptor_t
//   DropoutDescriptor  cudnnDropoutDescriptor_t
#pragma once

#include <cudnn.h>

#include <utility>

#include "kernels/cudnn/cudnn_check.h"

namespace recur {

template <class Desc, cudnnStatus_t (*Create)(Desc*), cudnnStatus_t (*Destroy)(Desc)>
class CudnnDescriptor {
 public:
  CudnnDescriptor() { RECUR_CUDNN_CHECK(Create(&desc_)); }
  ~CudnnDescriptor() {
    if (desc_) Destroy(desc_);  // a destructor must not throw: a failed destroy leaks it
  }
  CudnnDescriptor(const CudnnDescriptor&) = delete;
  CudnnDescriptor& operator=(const CudnnDescriptor&) = delete;
  CudnnDescriptor(CudnnDescriptor&& other) noexcept : desc_(std::exchange(other.desc_, nullptr)) {}
  CudnnDescriptor& operator=(CudnnDescriptor&& other) noexcept {
    std::swap(desc_, other.desc_);
    return *this;
  }

  Desc get() const { return desc_; }

 private:
  Desc desc_ = nullptr;
};

using RnnDescriptor =
    CudnnDescriptor<cudnnRNNDescriptor_t, cudnnCreateRNNDescriptor, cudnnDestroyRNNDescriptor>;
using RnnDataDescriptor = CudnnDescriptor<cudnnRNNDataDescriptor_t, cudnnCreateRNNDataDescriptor,
                                          cudnnDestroyRNNDataDescriptor>;
using TensorDescriptor = CudnnDescriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor,
                                         cudnnDestroyTensorDescriptor>;
using DropoutDescriptor = CudnnDescriptor<cudnnDropoutDescriptor_t, cudnnCreateDropoutDescriptor,
                                          cudnnDestroyDropoutDescriptor>;

}  // namespace recur
