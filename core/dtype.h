// Element types a Tensor can hold, their sizes and names (recur's and safetensors').
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "core/half.h"

namespace recur {

enum class DType { f32, f64, bf16, f16, i32, i64, u8 };

size_t dtype_size(DType dtype);
// "f32", "f64", "bf16", ...
const char* dtype_name(DType dtype);
// Parses recur's name ("f32", ...); throws recur::Error naming the accepted names otherwise.
DType dtype_from_name(const std::string& name);
// The safetensors spelling: "F32", "F64", "BF16", "F16", "I32", "I64", "U8".
const char* safetensors_dtype_name(DType dtype);
// Parses a safetensors dtype name; throws recur::Error naming the accepted names otherwise.
DType dtype_from_safetensors_name(const std::string& name);
bool is_floating(DType dtype);
// The element of `dtype` at p, as a double.
double load_element(const std::byte* p, DType dtype);
// `v` stored at p as `dtype`: bf16/f16 round to nearest even from the float nearest v, the others
// convert as C++ does.
void store_element(std::byte* p, DType dtype, double v);

// The DType of a C++ element type, for typed access to tensor data.
template <class T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::f32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::f64;
};
template <>
struct DTypeOf<bf16> {
  static constexpr DType value = DType::bf16;
};
template <>
struct DTypeOf<f16> {
  static constexpr DType value = DType::f16;
};
template <>
struct DTypeOf<int32_t> {
  static constexpr DType value = DType::i32;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::i64;
};
template <>
struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::u8;
};
template <class T>
inline constexpr DType dtype_of = DTypeOf<std::remove_cv_t<T>>::value;

}  // namespace recur
