#include "models/char_lm_inference.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/philox.h"
#include "layers/loss.h"

namespace recur {

namespace {

// ids as a [1, len] i64 tensor on the model's device.
Tensor on_model_device(const CharLM& model, const std::vector<int64_t>& ids, int64_t len) {
  Tensor t = Tensor::from_vector<int64_t>(ids, {1, len});
  return model.device().is_cpu() ? t : t.to(model.device());
}

}  // namespace

double bits_per_symbol(CharLM& model, const std::vector<int64_t>& ids, int64_t chunk) {
  const int64_t n = static_cast<int64_t>(ids.size());
  RECUR_CHECK(n >= 2, "scoring: expected at least two symbols, got {}", n);
  RECUR_CHECK(chunk >= 1, "scoring: chunk must be >= 1, got {}", chunk);
  SoftmaxCrossEntropy xent;
  RecurrentState state;
  double nats = 0;
  for (int64_t begin = 0; begin + 1 < n; begin += chunk) {
    const int64_t len = std::min(chunk, n - 1 - begin);
    std::vector<int64_t> in(ids.begin() + begin, ids.begin() + begin + len);
    std::vector<int64_t> target(ids.begin() + begin + 1, ids.begin() + begin + len + 1);
    CharLM::Output out = model.forward(on_model_device(model, in, len), state);
    nats +=
        xent.forward(out.logits, on_model_device(model, target, len)) * static_cast<double>(len);
    state = out.state;
  }
  return nats / static_cast<double>(n - 1) / std::log(2.0);
}

int64_t sample_symbol(const float* logits, int64_t V, const SamplingOptions& o, double u) {
  if (o.temperature <= 0) return std::max_element(logits, logits + V) - logits;
  const int64_t k = o.top_k > 0 && o.top_k < V ? o.top_k : V;
  std::vector<int64_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  const double top = logits[order[0]];
  std::vector<double> weight(k);
  double sum = 0;
  for (int64_t i = 0; i < k; ++i)
    sum += weight[i] = std::exp((logits[order[i]] - top) / o.temperature);
  double remaining = u * sum;
  for (int64_t i = 0; i < k; ++i) {
    remaining -= weight[i];
    if (remaining < 0) return order[i];
  }
  return order[k - 1];
}

void generate(CharLM& model, const std::vector<int64_t>& prime, int64_t length,
              const SamplingOptions& options, int64_t stop_id,
              const std::function<void(int64_t)>& on_symbol) {
  RECUR_CHECK(!prime.empty(), "generate: expected a prime of at least one symbol");
  RECUR_CHECK(length >= 0, "generate: length must be >= 0, got {}", length);
  const int64_t V = model.config().vocab;
  model.set_training(false);
  CharLM::Output out =
      model.forward(on_model_device(model, prime, static_cast<int64_t>(prime.size())));
  for (int64_t i = 0; i < length; ++i) {
    // The last step's logits, on the host where the sampling runs (one V-float copy per symbol
    // on a GPU).
    Tensor last_row = out.logits.select(1, out.logits.size(1) - 1);
    if (!last_row.device().is_cpu()) last_row = last_row.to(Device::cpu());
    const float* last = last_row.data<float>();
    const double u = philox_uniform(options.seed, 0, 0, static_cast<uint64_t>(i));
    const int64_t next = sample_symbol(last, V, options, u);
    if (next == stop_id) return;
    on_symbol(next);
    out = model.forward(on_model_device(model, {next}, 1), out.state);
  }
}

}  // namespace recur
