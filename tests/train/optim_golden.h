// Test helpers for tests/data/optim_golden.json (written by python_tools/make_optim_golden.py):
// the golden file, parameters built from it in f32 or f64, and value comparisons.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "layers/parameter.h"
#include "support/expect_error.h"

namespace recur::test {

inline const nlohmann::json& optim_golden() {
  static const nlohmann::json golden = [] {
    const std::string path = std::string(RECUR_TEST_DATA_DIR) + "/optim_golden.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    return nlohmann::json::parse(in);
  }();
  return golden;
}

// The golden optimizer case called `name` ({name, config, lrs?, trajectory}).
inline const nlohmann::json& golden_optimizer(const std::string& name) {
  for (const nlohmann::json& c : optim_golden()["optimizers"])
    if (c["name"] == name) return c;
  throw std::runtime_error("optim_golden.json has no optimizer case " + name);
}

// The comparison tolerance of each dtype: |a - b| <= tol * max(|b|, 1).
template <class T>
constexpr double golden_tolerance() {
  return sizeof(T) == sizeof(double) ? 1e-12 : 1e-5;
}

// A tensor of dtype T holding `values` (golden float64s, rounded to T).
template <class T>
Tensor tensor_of(const std::vector<double>& values, const Shape& shape) {
  return Tensor::from_vector(std::vector<T>(values.begin(), values.end()), shape);
}

// The golden parameters in dtype T, with zero grads, sorted by name: [0] "bias" [5],
// [1] "weight" [3,4].
template <class T>
ParameterList golden_parameters() {
  ParameterList params;
  const nlohmann::json& golden = optim_golden()["params"];
  for (auto it = golden.begin(); it != golden.end(); ++it) {
    const nlohmann::json& p = it.value();
    const Shape shape = p.at("shape").get<Shape>();
    Tensor value = tensor_of<T>(p.at("values").get<std::vector<double>>(), shape);
    params.push_back({it.key(), value, Tensor::zeros(shape, dtype_of<T>), true});
  }
  return params;
}

// Copies golden gradients ({name: flat values}) into the params' grads.
inline void set_grads(const ParameterList& params, const nlohmann::json& grads) {
  for (const Parameter& p : params) {
    const std::vector<double> g = grads.at(p.name).get<std::vector<double>>();
    Tensor grad = p.grad;  // shares storage
    grad.copy_from(Tensor::from_vector(g, grad.shape()));
  }
}

inline void expect_values_near(const Tensor& actual, const std::vector<double>& expected,
                               double tol, const std::string& what) {
  const std::vector<double> a = actual.to_vector();
  ASSERT_EQ(a.size(), expected.size()) << what;
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_LE(std::abs(a[i] - expected[i]), tol * std::max(std::abs(expected[i]), 1.0))
        << what << " [" << i << "]: got " << a[i] << ", PyTorch " << expected[i];
}

inline void expect_bitwise_equal(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  ASSERT_EQ(a.dtype(), b.dtype()) << what;
  EXPECT_EQ(a.to_vector(), b.to_vector()) << what;
}

using ::recur::testing::expect_error;

}  // namespace recur::test
