// The PyTorch fixtures of the models (tests/data/<name>.safetensors, written by
// python_tools/make_*_fixture.py): reading one with its model config, and taking its parameters
// apart from its "input.*", "output.*" and "grad.*" tensors.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string>

#include "core/safetensors.h"
#include "datasets/series_columns.h"

namespace recur::testing {

// $RECUR_TEST_DATA where set (benchmarks/gpu_check.sh runs binaries built on another machine),
// else the source tree's tests/data.
inline SafetensorsFile read_fixture(const std::string& name) {
  const char* dir = std::getenv("RECUR_TEST_DATA");
  return read_safetensors(std::string(dir ? dir : RECUR_TEST_DATA_DIR) + "/" + name +
                          ".safetensors");
}

// The model's parameters, under their PyTorch state_dict names.
inline TensorMap fixture_weights(const SafetensorsFile& file) {
  TensorMap weights;
  for (const auto& [name, value] : file.tensors)
    if (name.rfind("input.", 0) != 0 && name.rfind("output.", 0) != 0 &&
        name.rfind("grad.", 0) != 0)
      weights[name] = value;
  return weights;
}

// A model's fixture: the file, and the model config in its "config" metadata (Config::from_json).
template <class Config>
struct ModelFixture {
  SafetensorsFile file;
  Config config;
  const Tensor& at(const std::string& name) const { return file.tensors.at(name); }
};

template <class Config>
ModelFixture<Config> load_model_fixture(const std::string& name) {
  ModelFixture<Config> f{read_fixture(name), {}};
  f.config = Config::from_json(nlohmann::json::parse(f.file.metadata.at("config")));
  return f;
}

// A fixture's series as columns: [N] is one, [F,N] is F.
inline SeriesColumns fixture_columns(const Tensor& series) {
  const std::vector<double> values = series.to_vector();
  if (series.dim() == 1) return {values};
  const int64_t F = series.size(0), N = series.size(1);
  SeriesColumns columns;
  for (int64_t c = 0; c < F; ++c)
    columns.emplace_back(values.begin() + c * N, values.begin() + (c + 1) * N);
  return columns;
}

}  // namespace recur::testing
