#include "layers/final_hidden.h"

#include "core/error.h"

namespace recur {

namespace {

// Copies between features [B, D*H] and the last layer's rows of h_n [L*D, B, H], one row of H
// values at a time: plain contiguous copies, so the same code runs on any device.
void copy_last_layer(const Tensor& h_n, const Tensor& features, int64_t directions,
                     bool to_features) {
  const int64_t first = h_n.size(0) - directions, H = h_n.size(2);
  for (int64_t b = 0; b < h_n.size(1); ++b)
    for (int64_t d = 0; d < directions; ++d) {
      Tensor h_row = h_n.select(0, first + d).select(0, b);
      Tensor f_row = features.select(0, b).narrow(0, d * H, H);
      if (to_features)
        f_row.copy_from(h_row);
      else
        h_row.copy_from(f_row);
    }
}

}  // namespace

FinalHidden::FinalHidden(int64_t directions) : directions_(directions) {
  RECUR_CHECK(directions == 1 || directions == 2, "FinalHidden: expected 1 or 2 directions, got {}",
              directions);
}

std::vector<Tensor> FinalHidden::forward(const std::vector<Tensor>& inputs,
                                         const ForwardOptions& /*options*/) {
  RECUR_CHECK(inputs.size() == 1 && inputs[0].defined(),
              "FinalHidden: expected one input, the final hidden state h_n [L*D,B,H]");
  const Tensor h_n = inputs[0].contiguous();
  check_shape(h_n, {"L*D", "B", "H"}, "FinalHidden h_n");
  RECUR_CHECK(h_n.size(0) % directions_ == 0,
              "FinalHidden h_n: expected a multiple of {} directions in dimension 0, got {}",
              directions_, h_n.shape_str());
  saved_shape_ = h_n.shape();
  saved_dtype_ = h_n.dtype();
  if (directions_ == 1) return {h_n.select(0, h_n.size(0) - 1)};  // already [B, H]: a view
  Tensor features =
      Tensor::empty({h_n.size(1), directions_ * h_n.size(2)}, h_n.dtype(), h_n.device());
  copy_last_layer(h_n, features, directions_, /*to_features=*/true);
  return {features};
}

std::vector<Tensor> FinalHidden::backward(const std::vector<Tensor>& grad_outputs) {
  RECUR_CHECK(!saved_shape_.empty(), "FinalHidden::backward: no forward to differentiate");
  const Tensor d_features = input_or_none(grad_outputs, 0);
  if (!d_features.defined()) return {Tensor()};
  check_shape(d_features, {saved_shape_[1], directions_ * saved_shape_[2]},
              "FinalHidden dfeatures");
  Tensor d_h_n = Tensor::zeros(saved_shape_, saved_dtype_, d_features.device());
  copy_last_layer(d_h_n, d_features.contiguous(), directions_, /*to_features=*/false);
  return {d_h_n};
}

}  // namespace recur
