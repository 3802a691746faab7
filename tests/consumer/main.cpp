// The consumer: a program outside recur that includes only <recur/recur.h> from the installed
// package. It builds a tensor, checks that recur::check_shape throws recur::Error for a bad shape,
// and prints "recur consumer: OK"; any failure returns non-zero.
#include <recur/recur.h>

#include <cstdio>
#include <exception>
#include <string>

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "recur consumer: FAILED: %s\n", what.c_str());
    ++failures;
  }
}

void run() {
  recur::Tensor t = recur::Tensor::zeros({2, 3, 4}, recur::DType::f32);
  expect(t.defined(), "Tensor::zeros gives a defined tensor");
  expect(t.numel() == 24, "numel of [2,3,4] is 24");
  expect(t.shape_str() == "[2,3,4]", "shape_str is [2,3,4], got " + t.shape_str());
  t.data<float>()[5] = 1.5f;
  expect(t.item({0, 1, 1}) == 1.5, "element [0,1,1] reads back 1.5");

  recur::check_shape(t, {"B", 3, 4}, "consumer input");  // matches: must not throw

  bool threw = false;
  try {
    recur::check_shape(t, {"B", "T", 5}, "consumer input");
  } catch (const recur::Error& e) {
    threw = true;
    const std::string message = e.what();
    expect(message.find("consumer input") != std::string::npos,
           "the message names what was checked: " + message);
    expect(message.find("[2,3,4]") != std::string::npos,
           "the message names the shape given: " + message);
  }
  expect(threw, "check_shape throws recur::Error for [2,3,4] against [B,T,5]");
}

}  // namespace

int main() {
  try {
    run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recur consumer: FAILED: unexpected exception: %s\n", e.what());
    return 1;
  }
  if (failures != 0) return 1;
  std::printf("recur consumer: OK\n");
  return 0;
}
