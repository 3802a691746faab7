// Tensor: a shape, strides, a dtype and a device over shared storage. Copies of a Tensor share
// memory (like PyTorch); clone() copies data. Views (narrow, select, reshape of contiguous data)
// share storage too, which is how batch and time slices are taken without copying.
//
// Kernels take contiguous tensors; contiguous() returns the tensor itself when it already is one.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"

namespace recur {

using Shape = std::vector<int64_t>;

// "[8,100,256]"
std::string shape_str(const Shape& shape);
int64_t shape_numel(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false

  static Tensor empty(const Shape& shape, DType dtype, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype);
  // A CPU tensor holding a copy of `values`, shaped `shape` (numel must match).
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);
  // Wraps memory owned by `owner` (a mapped file, a user buffer) without copying. The memory
  // must hold shape_numel(shape) contiguous elements of dtype.
  static Tensor from_blob(std::shared_ptr<std::byte> owner, const Shape& shape, DType dtype,
                          Device device = Device::cpu());

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const std::vector<int64_t>& strides() const { return strides_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  // Size along dimension d; negative d counts from the end.
  int64_t size(int64_t d) const;
  int64_t numel() const { return shape_numel(shape_); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;
  std::string shape_str() const { return recur::shape_str(shape_); }

  // Typed pointer to the first element; throws when T does not match dtype().
  template <class T>
  T* data() const {
    check_dtype(dtype_of<T>, "data<T>()");
    return reinterpret_cast<T*>(raw_data());
  }
  void* raw_data() const;

  // Views sharing storage.
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t dim, int64_t index) const;  // drops `dim`
  Tensor reshape(const Shape& shape) const;         // requires contiguous data
  Tensor unsqueeze(int64_t dim) const;

  // Copies.
  Tensor contiguous() const;  // *this when already contiguous
  Tensor clone() const;
  Tensor to(DType dtype) const;  // converts elements (a copy, even for the same dtype)
  // A contiguous copy on `device` (host <-> GPU, or GPU <-> GPU): the only way data moves between
  // devices. A copy to the host is complete when this returns. A strided view of GPU memory
  // cannot be copied (there is no gather on the GPU yet): that is an error naming the view.
  Tensor to(Device device) const;
  void copy_from(const Tensor& src);  // same shape; converts dtype on the CPU; across devices
                                      // both contiguous and of one dtype
  void fill(double value);
  void zero() { fill(0.0); }

  // Element access for tests and small host code (contiguous or not); converts to/from double.
  double item(std::initializer_list<int64_t> index) const;
  double item() const;  // a one-element tensor
  std::vector<double> to_vector() const;

  // Throws recur::Error naming `what` unless dtype() == expected.
  void check_dtype(DType expected, const char* what) const;

 private:
  int64_t offset_of(const int64_t* index) const;

  std::shared_ptr<std::byte> storage_;
  int64_t offset_ = 0;  // in elements
  Shape shape_;
  std::vector<int64_t> strides_;  // in elements
  DType dtype_ = DType::f32;
  Device device_;
};

// Tensors by name, as in a PyTorch state_dict or a safetensors file.
using TensorMap = std::map<std::string, Tensor>;

// One expected dimension for check_shape: a fixed size, or any size given a name ("B").
struct Dim {
  Dim(int64_t size) : size(size) {}  // NOLINT: implicit so {B, 512} reads naturally
  Dim(const char* name) : size(-1), name(name) {}
  int64_t size;
  const char* name = nullptr;
};

// Throws recur::Error "`what`: expected [B,T,512], got [8,100,256]" unless t has the expected
// rank and every fixed dimension matches.
void check_shape(const Tensor& t, std::initializer_list<Dim> expected, const std::string& what);
// Throws unless t is defined, on the CPU and of dtype `dtype` (message names `what`).
void check_cpu_dtype(const Tensor& t, DType dtype, const std::string& what);
// Throws unless t is defined, on `device` and of dtype `dtype` (message names `what`).
void check_device_dtype(const Tensor& t, Device device, DType dtype, const std::string& what);

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  RECUR_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape),
              "Tensor::from_vector: {} values do not fill shape {}", values.size(),
              recur::shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>);
  T* out = t.data<T>();
  for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
  return t;
}

}  // namespace recur
