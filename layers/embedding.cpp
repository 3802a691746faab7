#include "layers/embedding.h"

#include "core/random.h"
#include "kernels/embedding.h"

namespace recur {

Embedding::Embedding(int64_t num_embeddings, int64_t dim, DType dtype, uint64_t seed)
    : num_(num_embeddings), dim_(dim), dtype_(dtype) {
  RECUR_CHECK(num_embeddings >= 1 && dim >= 1,
              "embedding: expected positive num_embeddings and dim, got {} and {}", num_embeddings,
              dim);
  weight_ = {"weight", Tensor::empty({num_, dim_}, dtype), Tensor::zeros({num_, dim_}, dtype),
             true};
  fill_normal(weight_.value, 0.0, 1.0, seed, 0);
}

void Embedding::to(Device device) {
  Parameter w = weight_;
  move_to(w, device);
  weight_ = w;
  saved_ids_ = Tensor();
  Layer::to(device);
}

nlohmann::json Embedding::config() const {
  return {{"num_embeddings", num_}, {"embedding_dim", dim_}};
}

std::vector<Tensor> Embedding::forward(const std::vector<Tensor>& inputs,
                                       const ForwardOptions& options) {
  RECUR_CHECK(inputs.size() == 1, "embedding: expected 1 input (ids), got {}", inputs.size());
  const Tensor& ids = inputs[0];
  RECUR_CHECK(ids.defined() && ids.device() == device(),
              "embedding ids: expected a tensor on {}, got {}", device().name(),
              ids.defined() ? "one on " + ids.device().name() : "an undefined tensor");
  Tensor flat = ids.contiguous().reshape({ids.numel()});
  Tensor y = Tensor::empty({ids.numel(), dim_}, dtype_, device());
  embedding_fwd(flat, weight_.value, y);
  if (options.keep_for_backward) saved_ids_ = flat;
  Shape out_shape = ids.shape();
  out_shape.push_back(dim_);
  return {y.reshape(out_shape)};
}

std::vector<Tensor> Embedding::backward(const std::vector<Tensor>& grad_outputs) {
  RECUR_CHECK(saved_ids_.defined(), "embedding backward: no saved forward");
  Tensor dy = input_or_none(grad_outputs, 0);
  if (dy.defined()) {
    check_device_dtype(dy, device(), dtype_, "embedding output gradient");
    embedding_bwd(saved_ids_, dy.contiguous().reshape({saved_ids_.numel(), dim_}), weight_.grad);
  }
  saved_ids_ = Tensor();
  return {Tensor()};
}

}  // namespace recur
