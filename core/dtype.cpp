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

}  // namespace recur
