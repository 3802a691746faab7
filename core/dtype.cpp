#include "core/dtype.h"

#include "core/error.h"

namespace recur {

namespace {
struct DTypeInfo {
  DType dtype;
  size_t size;
  const char* name;
  const char* safetensors_name;
};
constexpr DTypeInfo kInfo[] = {
    {DType::f32, 4, "f32", "F32"}, {DType::f64, 8, "f64", "F64"}, {DType::bf16, 2, "bf16", "BF16"},
    {DType::f16, 2, "f16", "F16"}, {DType::i32, 4, "i32", "I32"}, {DType::i64, 8, "i64", "I64"},
    {DType::u8, 1, "u8", "U8"},
};
const DTypeInfo& info(DType dtype) {
  return kInfo[static_cast<int>(dtype)];
}
}  // namespace

size_t dtype_size(DType dtype) {
  return info(dtype).size;
}
const char* dtype_name(DType dtype) {
  return info(dtype).name;
}
const char* safetensors_dtype_name(DType dtype) {
  return info(dtype).safetensors_name;
}

DType dtype_from_safetensors_name(const std::string& name) {
  for (const DTypeInfo& i : kInfo)
    if (name == i.safetensors_name) return i.dtype;
  RECUR_FAIL("unknown dtype '{}': expected one of F32, F64, BF16, F16, I32, I64, U8", name);
}

DType dtype_from_name(const std::string& name) {
  for (const DTypeInfo& i : kInfo)
    if (name == i.name) return i.dtype;
  RECUR_FAIL("unknown dtype '{}': expected one of f32, f64, bf16, f16, i32, i64, u8", name);
}

bool is_floating(DType dtype) {
  return dtype == DType::f32 || dtype == DType::f64 || dtype == DType::bf16 || dtype == DType::f16;
}

double load_element(const std::byte* p, DType dtype) {
  switch (dtype) {
    case DType::f32:
      return *reinterpret_cast<const float*>(p);
    case DType::f64:
      return *reinterpret_cast<const double*>(p);
    case DType::bf16:
      return to_float(*reinterpret_cast<const bf16*>(p));
    case DType::f16:
      return to_float(*reinterpret_cast<const f16*>(p));
    case DType::i32:
      return *reinterpret_cast<const int32_t*>(p);
    case DType::i64:
      return static_cast<double>(*reinterpret_cast<const int64_t*>(p));
    case DType::u8:
      return *reinterpret_cast<const uint8_t*>(p);
  }
  return 0;
}

void store_element(std::byte* p, DType dtype, double v) {
  switch (dtype) {
    case DType::f32:
      *reinterpret_cast<float*>(p) = static_cast<float>(v);
      break;
    case DType::f64:
      *reinterpret_cast<double*>(p) = v;
      break;
    case DType::bf16:
      *reinterpret_cast<bf16*>(p) = to_bf16(static_cast<float>(v));
      break;
    case DType::f16:
      *reinterpret_cast<f16*>(p) = to_f16(static_cast<float>(v));
      break;
    case DType::i32:
      *reinterpret_cast<int32_t*>(p) = static_cast<int32_t>(v);
      break;
    case DType::i64:
      *reinterpret_cast<int64_t*>(p) = static_cast<int64_t>(v);
      break;
    case DType::u8:
      *reinterpret_cast<uint8_t*>(p) = static_cast<uint8_t>(v);
      break;
  }
}

}  // namespace recur
