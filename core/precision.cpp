#include "core/precision.h"

#include "core/error.h"

namespace recur {

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::f32:
      return "f32";
    case Precision::bf16:
      return "bf16";
    case Precision::f16:
      return "f16";
  }
  return "?";
}

Precision precision_from_name(const std::string& name) {
  for (Precision p : {Precision::f32, Precision::bf16, Precision::f16})
    if (name == precision_name(p)) return p;
  RECUR_FAIL("unknown precision '{}': expected f32, bf16 or f16", name);
}

DType operand_dtype(Precision precision) {
  switch (precision) {
    case Precision::bf16:
      return DType::bf16;
    case Precision::f16:
      return DType::f16;
    case Precision::f32:
      break;
  }
  return DType::f32;
}

}  // namespace recur
