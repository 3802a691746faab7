#include "layers/attention.h"

#include "kernels/attention.h"
#include "kernels/gemm.h"

namespace recur {

Attention::Attention(int64_t hidden, DType dtype, uint64_t seed)
    : hidden_(hidden), dtype_(dtype), combine_(2 * hidden, hidden, /*bias=*/false, dtype, seed) {}

void Attention::to(Device device) {
  combine_.to(device);
  saved_queries_ = saved_keys_ = saved_weights_ = saved_attended_ = Tensor();
  Layer::to(device);
}

namespace {

// The lengths checked on the CPU, then on `device`.
Tensor key_lengths_on(const Tensor& lengths, int64_t B, int64_t S, Device device) {
  if (!lengths.defined()) return lengths;
  check_cpu_dtype(lengths, DType::i64, "attention key lengths");
  check_shape(lengths, {B}, "attention key lengths");
  const Tensor host = lengths.contiguous();
  for (int64_t b = 0; b < B; ++b) {
    const int64_t length = host.data<int64_t>()[b];
    RECUR_CHECK(length >= 1 && length <= S,
                "attention key lengths: expected each in [1,{}] (the keys' steps), got {} at {}", S,
                length, b);
  }
  return device.is_cpu() ? host : host.to(device);
}

}  // namespace

std::vector<Tensor> Attention::forward(const std::vector<Tensor>& inputs,
                                       const ForwardOptions& options) {
  RECUR_CHECK(inputs.size() >= 2 && inputs.size() <= 3,
              "attention: expected inputs {{queries, keys, key_lengths}}, got {}", inputs.size());
  const Tensor queries = inputs[0].contiguous(), keys = inputs[1].contiguous();
  check_device_dtype(queries, device(), dtype_, "attention queries");
  check_device_dtype(keys, device(), dtype_, "attention keys");
  check_shape(queries, {"B", "T", hidden_}, "attention queries");
  const int64_t B = queries.size(0), T = queries.size(1);
  check_shape(keys, {B, "S", hidden_}, "attention keys");
  const int64_t S = keys.size(1), N = B * T;
  const Tensor lengths = key_lengths_on(input_or_none(inputs, 2), B, S, device());

  Tensor scores = Tensor::empty({B, T, S}, dtype_, device());
  Tensor weights = Tensor::empty({B, T, S}, dtype_, device());
  Tensor context = Tensor::empty({B, T, hidden_}, dtype_, device());
  batched_gemm(queries, false, keys, true, scores);  // per sequence: [T,H] x [H,S]
  attention_softmax_fwd(scores, lengths, weights);
  batched_gemm(weights, false, keys, false, context);  // per sequence: [T,S] x [S,H]
  Tensor both = Tensor::empty({N, 2 * hidden_}, dtype_, device());
  concat_columns(context.reshape({N, hidden_}), queries.reshape({N, hidden_}), both);
  const Tensor pre = combine_.forward({both}, options)[0];
  Tensor attended = Tensor::empty({B, T, hidden_}, dtype_, device());
  tanh_fwd(pre.reshape({B, T, hidden_}), attended);
  if (options.keep_for_backward) {
    saved_queries_ = queries;
    saved_keys_ = keys;
    saved_weights_ = weights;
    saved_attended_ = attended;
  }
  return {attended, weights};
}

std::vector<Tensor> Attention::backward(const std::vector<Tensor>& grad_outputs) {
  RECUR_CHECK(saved_attended_.defined(), "attention backward: no saved forward");
  const int64_t B = saved_queries_.size(0), T = saved_queries_.size(1), S = saved_keys_.size(1);
  const int64_t N = B * T, H = hidden_;
  Tensor dqueries = Tensor::zeros({B, T, H}, dtype_, device());
  Tensor dkeys = Tensor::zeros({B, S, H}, dtype_, device());
  Tensor dweights = Tensor::zeros({B, T, S}, dtype_, device());
  const Tensor d_given_weights = input_or_none(grad_outputs, 1);
  if (d_given_weights.defined()) {
    check_device_dtype(d_given_weights, device(), dtype_, "attention weights gradient");
    check_shape(d_given_weights, {B, T, S}, "attention weights gradient");
    dweights.copy_from(d_given_weights);
  }
  const Tensor dattended = input_or_none(grad_outputs, 0);
  Tensor dcontext = Tensor::zeros({B, T, H}, dtype_, device());
  if (dattended.defined()) {
    check_device_dtype(dattended, device(), dtype_, "attention output gradient");
    check_shape(dattended, {B, T, H}, "attention output gradient");
    Tensor dpre = Tensor::empty({N, H}, dtype_, device());
    tanh_bwd(saved_attended_.reshape({N, H}), dattended.contiguous().reshape({N, H}), dpre);
    const Tensor dboth = combine_.backward({dpre})[0];  // [N, 2H]; adds the weight's gradient
    Tensor dcontext_rows = dcontext.reshape({N, H}), dqueries_rows = dqueries.reshape({N, H});
    split_columns(dboth, dcontext_rows, dqueries_rows);
  }
  batched_gemm(dcontext, false, saved_keys_, true, dweights, 1.0, 1.0);  // [T,S] per sequence
  batched_gemm(saved_weights_, true, dcontext, false, dkeys, 1.0,
               1.0);  // the keys' share in context
  Tensor dscores = Tensor::empty({B, T, S}, dtype_, device());
  attention_softmax_bwd(saved_weights_, dweights, dscores);
  batched_gemm(dscores, false, saved_keys_, false, dqueries, 1.0, 1.0);
  batched_gemm(dscores, true, saved_queries_, false, dkeys, 1.0, 1.0);
  saved_queries_ = saved_keys_ = saved_weights_ = saved_attended_ = Tensor();
  return {dqueries, dkeys, Tensor()};
}

}  // namespace recur
