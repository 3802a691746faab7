// expect_error(f, {"fragment", ...}): runs f and expects a recur::Error whose message contains
// every fragment (gtest failures name the message and the missing fragment).
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "core/error.h"

namespace recur::testing {

template <class F>
void expect_error(F f, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "expected recur::Error mentioning '" << *fragments.begin() << "'";
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const std::string& fragment : fragments)
      EXPECT_NE(message.find(fragment), std::string::npos)
          << "message '" << message << "' does not mention '" << fragment << "'";
  }
}

template <class F>
void expect_error(F f, const std::string& fragment) {
  expect_error(f, {fragment});
}

}  // namespace recur::testing
