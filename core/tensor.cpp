#include "core/tensor.h"

#include <cstring>

#include "core/allocator.h"
#include "core/cuda_runtime.h"

namespace recur {

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    RECUR_CHECK(!__builtin_mul_overflow(n, d, &n), "shape {} has more elements than int64 counts",
                shape_str(shape));
  return n;
}

namespace {

std::vector<int64_t> contiguous_strides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

void check_shape_valid(const Shape& shape) {
  for (int64_t d : shape)
    RECUR_CHECK(d >= 0, "tensor shape {} has a negative dimension", shape_str(shape));
}

void check_cpu(const Tensor& t, const char* what) {
  RECUR_CHECK(t.device().is_cpu(),
              "{}: expected a CPU tensor, got one on {} (copy it explicitly with "
              "to(Device::cpu()) first)",
              what, t.device().name());
}

// Calls f(element offset) for every element of (shape, strides) in row-major order.
template <class F>
void for_each_offset(const Shape& shape, const std::vector<int64_t>& strides, int64_t base, F f) {
  int64_t n = shape_numel(shape);
  if (n == 0) return;
  std::vector<int64_t> index(shape.size(), 0);
  int64_t offset = base;
  for (int64_t i = 0; i < n; ++i) {
    f(offset);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++index[d] < shape[d]) {
        offset += strides[d];
        break;
      }
      offset -= strides[d] * (shape[d] - 1);
      index[d] = 0;
    }
  }
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  check_shape_valid(shape);
  size_t bytes = 0;
  RECUR_CHECK(
      !__builtin_mul_overflow(static_cast<size_t>(shape_numel(shape)), dtype_size(dtype), &bytes),
      "Tensor::empty: shape {} of {} does not fit in memory", recur::shape_str(shape),
      dtype_name(dtype));
  Tensor t;
  t.storage_ = device.is_cuda() ? allocate_cuda(bytes, device.index) : allocate_cpu(bytes);
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  t.device_ = device;
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  zero_bytes(t.raw_data(), device, t.nbytes());
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill(value);
  return t;
}

Tensor Tensor::from_blob(std::shared_ptr<std::byte> owner, const Shape& shape, DType dtype,
                         Device device) {
  check_shape_valid(shape);
  RECUR_CHECK(owner != nullptr || shape_numel(shape) == 0, "Tensor::from_blob: null memory");
  Tensor t;
  t.storage_ = owner ? std::move(owner) : allocate_cpu(0);
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  t.device_ = device;
  return t;
}

int64_t Tensor::size(int64_t d) const {
  int64_t r = dim();
  RECUR_CHECK(d >= -r && d < r, "dimension {} out of range for a tensor of shape {}", d,
              shape_str());
  return shape_[d < 0 ? d + r : d];
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] != 1 && strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  RECUR_CHECK(defined(), "access to the data of an undefined tensor");
  return storage_.get() + offset_ * static_cast<int64_t>(dtype_size(dtype_));
}

void Tensor::check_dtype(DType expected, const char* what) const {
  RECUR_CHECK(defined(), "{}: expected a {} tensor, got an undefined tensor", what,
              dtype_name(expected));
  RECUR_CHECK(dtype_ == expected, "{}: expected dtype {}, got {}", what, dtype_name(expected),
              dtype_name(dtype_));
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  int64_t r = dim();
  RECUR_CHECK(d >= 0 && d < r, "narrow: dimension {} out of range for shape {}", d, shape_str());
  RECUR_CHECK(start >= 0 && length >= 0 && start + length <= shape_[d],
              "narrow: range [{}, {}) out of bounds for dimension {} of shape {}", start,
              start + length, d, shape_str());
  Tensor t = *this;
  t.offset_ += start * strides_[d];
  t.shape_[d] = length;
  return t;
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  int64_t r = dim();
  RECUR_CHECK(d >= 0 && d < r, "select: dimension {} out of range for shape {}", d, shape_str());
  RECUR_CHECK(index >= 0 && index < shape_[d],
              "select: index {} out of bounds for dimension {} of shape {}", index, d, shape_str());
  Tensor t = *this;
  t.offset_ += index * strides_[d];
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  return t;
}

Tensor Tensor::reshape(const Shape& shape) const {
  check_shape_valid(shape);
  RECUR_CHECK(shape_numel(shape) == numel(), "reshape: cannot view shape {} as {}", shape_str(),
              recur::shape_str(shape));
  RECUR_CHECK(is_contiguous(), "reshape: the tensor of shape {} is not contiguous", shape_str());
  Tensor t = *this;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  return t;
}

Tensor Tensor::unsqueeze(int64_t d) const {
  RECUR_CHECK(d >= 0 && d <= dim(), "unsqueeze: dimension {} out of range for shape {}", d,
              shape_str());
  Shape s = shape_;
  s.insert(s.begin() + d, 1);
  Tensor t = *this;
  t.shape_ = s;
  t.strides_.insert(t.strides_.begin() + d, d < dim() ? strides_[d] * shape_[d] : 1);
  return t;
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_, device_);
  t.copy_from(*this);
  return t;
}

Tensor Tensor::to(DType dtype) const {
  Tensor t = empty(shape_, dtype, device_);
  t.copy_from(*this);
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  RECUR_CHECK(src.shape_ == shape_, "copy_from: expected a source of shape {}, got {}", shape_str(),
              src.shape_str());
  if (device_.is_cuda() || src.device_.is_cuda()) {
    // Between devices only whole contiguous tensors of one dtype move, as one explicit copy.
    RECUR_CHECK(src.dtype_ == dtype_ && is_contiguous() && src.is_contiguous(),
                "copy_from {} to {}: expected contiguous tensors of one dtype, got {} {} to {} {}",
                src.device_.name(), device_.name(), dtype_name(src.dtype_),
                src.is_contiguous() ? "contiguous" : "strided", dtype_name(dtype_),
                is_contiguous() ? "contiguous" : "strided");
    copy_bytes(raw_data(), device_, src.raw_data(), src.device_, nbytes());
    return;
  }
  check_cpu(*this, "copy_from");
  check_cpu(src, "copy_from");
  size_t es = dtype_size(dtype_);
  if (src.dtype_ == dtype_ && is_contiguous() && src.is_contiguous()) {
    std::memmove(raw_data(), src.raw_data(), nbytes());
    return;
  }
  size_t ses = dtype_size(src.dtype_);
  if (is_contiguous() && src.is_contiguous()) {  // a conversion: element by element, no index list
    const std::byte* from = src.storage_.get() + src.offset_ * ses;
    std::byte* to = storage_.get() + offset_ * es;
    for (int64_t i = 0; i < numel(); ++i)
      store_element(to + i * es, dtype_, load_element(from + i * ses, src.dtype_));
    return;
  }
  std::vector<int64_t> src_offsets;
  src_offsets.reserve(numel());
  for_each_offset(src.shape_, src.strides_, src.offset_,
                  [&](int64_t o) { src_offsets.push_back(o); });
  size_t i = 0;
  for_each_offset(shape_, strides_, offset_, [&](int64_t o) {
    const std::byte* from = src.storage_.get() + src_offsets[i++] * ses;
    std::byte* to = storage_.get() + o * es;
    if (src.dtype_ == dtype_)
      std::memcpy(to, from, es);
    else
      store_element(to, dtype_, load_element(from, src.dtype_));
  });
}

Tensor Tensor::to(Device device) const {
  Tensor src = contiguous();
  Tensor t = empty(shape_, dtype_, device);
  t.copy_from(src);
  return t;
}

void Tensor::fill(double value) {
  if (device_.is_cuda() && value == 0.0 && is_contiguous()) {  // zero_grad, state resets: a memset
    zero_bytes(raw_data(), device_, nbytes());
    return;
  }
  if (device_.is_cuda()) {  // through a host copy: a non-zero fill is rare and explicit
    Tensor host = empty(shape_, dtype_);
    host.fill(value);
    RECUR_CHECK(is_contiguous(), "fill on {}: expected a contiguous tensor, got strides of {}",
                device_.name(), shape_str());
    copy_from(host);
    return;
  }
  size_t es = dtype_size(dtype_);
  for_each_offset(shape_, strides_, offset_,
                  [&](int64_t o) { store_element(storage_.get() + o * es, dtype_, value); });
}

int64_t Tensor::offset_of(const int64_t* index) const {
  int64_t o = offset_;
  for (size_t d = 0; d < shape_.size(); ++d) {
    RECUR_CHECK(index[d] >= 0 && index[d] < shape_[d],
                "index {} out of bounds for dimension {} of {}", index[d], d, shape_str());
    o += index[d] * strides_[d];
  }
  return o;
}

double Tensor::item(std::initializer_list<int64_t> index) const {
  check_cpu(*this, "item");
  RECUR_CHECK(static_cast<int64_t>(index.size()) == dim(),
              "item: expected {} indices for shape {}, got {}", dim(), shape_str(), index.size());
  return load_element(storage_.get() + offset_of(index.begin()) * dtype_size(dtype_), dtype_);
}

double Tensor::item() const {
  RECUR_CHECK(numel() == 1, "item: expected a one-element tensor, got shape {}", shape_str());
  std::vector<int64_t> zero(shape_.size(), 0);
  check_cpu(*this, "item");
  return load_element(storage_.get() + offset_of(zero.data()) * dtype_size(dtype_), dtype_);
}

std::vector<double> Tensor::to_vector() const {
  check_cpu(*this, "to_vector");
  std::vector<double> out;
  out.reserve(numel());
  size_t es = dtype_size(dtype_);
  for_each_offset(shape_, strides_, offset_,
                  [&](int64_t o) { out.push_back(load_element(storage_.get() + o * es, dtype_)); });
  return out;
}

void check_shape(const Tensor& t, std::initializer_list<Dim> expected, const std::string& what) {
  auto expected_str = [&] {
    std::string s = "[";
    size_t i = 0;
    for (const Dim& d : expected) {
      if (i++) s += ",";
      s += d.name ? std::string(d.name) : std::to_string(d.size);
    }
    return s + "]";
  };
  RECUR_CHECK(t.defined(), "{}: expected a tensor of shape {}, got an undefined tensor", what,
              expected_str());
  bool ok = t.dim() == static_cast<int64_t>(expected.size());
  size_t i = 0;
  for (const Dim& d : expected) {
    if (ok && d.size >= 0 && t.shape()[i] != d.size) ok = false;
    ++i;
  }
  RECUR_CHECK(ok, "{}: expected {}, got {}", what, expected_str(), t.shape_str());
}

void check_device_dtype(const Tensor& t, Device device, DType dtype, const std::string& what) {
  RECUR_CHECK(t.defined(), "{}: expected a {} tensor, got an undefined tensor", what,
              dtype_name(dtype));
  RECUR_CHECK(t.device() == device, "{}: expected a tensor on {}, got one on {}", what,
              device.name(), t.device().name());
  RECUR_CHECK(t.dtype() == dtype, "{}: expected dtype {}, got {}", what, dtype_name(dtype),
              dtype_name(t.dtype()));
}

void check_cpu_dtype(const Tensor& t, DType dtype, const std::string& what) {
  check_device_dtype(t, Device::cpu(), dtype, what);
}

}  // namespace recur
