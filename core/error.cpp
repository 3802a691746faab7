#include "core/error.h"

namespace recur {

void throw_error(const char* file, int line, const std::string& message) {
  throw Error(message, file, line);
}

}  // namespace recur
