// recur::Error, the one exception type library code throws, and the checks that raise it.
// Messages name what was expected and what was given; the source location is kept apart so
// user-facing messages stay clean.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace recur {

class Error : public std::runtime_error {
 public:
  Error(const std::string& message, const char* file = "", int line = 0)
      : std::runtime_error(message), file_(file), line_(line) {}
  // Where in recur's sources the error was raised ("" when unknown).
  const char* file() const { return file_; }
  int line() const { return line_; }

 private:
  const char* file_;
  int line_;
};

[[noreturn]] void throw_error(const char* file, int line, const std::string& message);

}  // namespace recur

// RECUR_CHECK(cond, "fmt", args...): throws recur::Error with the formatted message when cond is
// false. The message is only formatted on failure.
#define RECUR_CHECK(cond, ...)                                                       \
  do {                                                                               \
    if (!(cond)) ::recur::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)

#define RECUR_FAIL(...) ::recur::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__))
