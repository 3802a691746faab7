#include "layers/merge_directions.h"

#include "core/error.h"
#include "kernels/embedding.h"

namespace recur {

namespace {

// Row (l*B + b)*2 + d of merged, seen as [L*B*2, H] rows, is row (l*2 + d)*B + b of h_n [L*2*B,
// H]: the source of each merged row, on `device`, for a row gather (embedding_fwd) and its
// scatter-add (embedding_bwd).
Tensor merged_row_sources(const Shape& shape, Device device) {
  const int64_t layers = shape[0] / 2, B = shape[1];
  std::vector<int64_t> ids;
  ids.reserve(static_cast<size_t>(layers * B * 2));
  for (int64_t l = 0; l < layers; ++l)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t d = 0; d < 2; ++d) ids.push_back((l * 2 + d) * B + b);
  Tensor t = Tensor::from_vector(ids, {static_cast<int64_t>(ids.size())});
  return device.is_cpu() ? t : t.to(device);
}

}  // namespace

std::vector<Tensor> MergeDirections::forward(const std::vector<Tensor>& inputs,
                                             const ForwardOptions& /*options*/) {
  const Tensor h_n = input_or_none(inputs, 0), c_n = input_or_none(inputs, 1);
  RECUR_CHECK(h_n.defined(),
              "MergeDirections: expected the final state h_n [L*2,B,H] of a bidirectional RNN");
  check_shape(h_n, {"L*2", "B", "H"}, "MergeDirections h_n");
  RECUR_CHECK(
      h_n.size(0) % 2 == 0,
      "MergeDirections h_n: expected two directions per layer (an even dimension 0), got {}",
      h_n.shape_str());
  if (c_n.defined())
    check_shape(c_n, {h_n.size(0), h_n.size(1), h_n.size(2)}, "MergeDirections c_n");
  saved_shape_ = h_n.shape();
  saved_dtype_ = h_n.dtype();
  saved_c_ = c_n.defined();
  const Tensor sources = merged_row_sources(saved_shape_, h_n.device());
  const int64_t rows = h_n.size(0) * h_n.size(1), H = h_n.size(2);
  const Shape merged{h_n.size(0) / 2, h_n.size(1), 2 * H};
  auto merge = [&](const Tensor& state) {
    if (!state.defined()) return Tensor();
    Tensor out = Tensor::empty({rows, H}, state.dtype(), state.device());
    embedding_fwd(sources, state.contiguous().reshape({rows, H}), out);
    return out.reshape(merged);
  };
  return {merge(h_n), merge(c_n)};
}

std::vector<Tensor> MergeDirections::backward(const std::vector<Tensor>& grad_outputs) {
  RECUR_CHECK(!saved_shape_.empty(), "MergeDirections::backward: no forward to differentiate");
  const int64_t rows = saved_shape_[0] * saved_shape_[1], H = saved_shape_[2];
  const Shape merged{saved_shape_[0] / 2, saved_shape_[1], 2 * H};
  Tensor sources;
  auto split = [&](const Tensor& d_merged, bool wanted, const char* what) {
    if (!wanted) return Tensor();
    Device device = d_merged.defined() ? d_merged.device() : this->device();
    Tensor d_state = Tensor::zeros(saved_shape_, saved_dtype_, device);
    if (!d_merged.defined()) return d_state;
    check_shape(d_merged, {merged[0], merged[1], merged[2]}, what);
    if (!sources.defined()) sources = merged_row_sources(saved_shape_, device);
    Tensor flat = d_state.reshape({rows, H});
    embedding_bwd(sources, d_merged.contiguous().reshape({rows, H}), flat);
    return d_state;
  };
  return {split(input_or_none(grad_outputs, 0), true, "MergeDirections dh"),
          split(input_or_none(grad_outputs, 1), saved_c_, "MergeDirections dc")};
}

}  // namespace recur
