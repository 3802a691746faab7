// Graph: a DAG of named layer nodes. Each node names its inputs as "node" (output 0 of a node),
// "node:k" (output k) or the name of a graph input; nodes may be added in any order and run in
// topological order. forward keeps what backward needs (per node, when asked); backward walks the
// nodes in reverse, summing the gradients that reach each output and accumulating parameter
// gradients. Parameter names are "<node>.<local name>", so a graph with nodes "embed", "rnn" and
// "head" has PyTorch's state_dict names for the equivalent module.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "layers/layer.h"

namespace recur {

class Graph {
 public:
  // Declares a named graph input (token ids, features, initial state, lengths...).
  void add_input(const std::string& name);
  // Adds a node; throws on a duplicate name. Inputs are checked when the graph first runs.
  Layer& add(const std::string& name, std::unique_ptr<Layer> layer,
             const std::vector<std::string>& inputs);
  template <class L, class = std::enable_if_t<std::is_base_of_v<Layer, L>>>
  L& add(const std::string& name, L layer, const std::vector<std::string>& inputs) {
    auto owned = std::make_unique<L>(std::move(layer));
    L& ref = *owned;
    add(name, std::unique_ptr<Layer>(std::move(owned)), inputs);
    return ref;
  }
  // The values forward returns, as node references ("head", "rnn:1").
  void set_outputs(const std::vector<std::string>& outputs);

  // Runs every node in topological order. `inputs` must hold every declared graph input (an
  // undefined Tensor for an absent optional one).
  std::vector<Tensor> forward(const std::map<std::string, Tensor>& inputs,
                              const ForwardOptions& options = {});
  // Gradients of the outputs (undefined = zero) -> gradients of the graph inputs that have one.
  std::map<std::string, Tensor> backward(const std::vector<Tensor>& grad_outputs);

  ParameterList parameters();
  TensorMap state_dict();
  void set_training(bool training);
  void zero_grad();
  // Moves every layer to `device` (Layer::to); the graph's inputs must then live there.
  void to(Device device);
  // Sets every layer's math precision (Layer::set_precision); drops a kept forward.
  void set_precision(Precision precision);
  Layer& layer(const std::string& name);
  // The nodes' names in topological order.
  std::vector<std::string> order();
  // {"inputs": [...], "outputs": [...], "nodes": [{"name", "kind", "inputs", "config"}]}
  nlohmann::json describe();

 private:
  struct Ref {
    int node = -1;  // -1: a graph input
    std::string input;
    int port = 0;
  };
  struct Node {
    std::string name;
    std::unique_ptr<Layer> layer;
    std::vector<std::string> input_names;
    std::vector<Ref> inputs;
    std::vector<Tensor> outputs;
  };
  Ref resolve(const std::string& ref, const std::string& user) const;
  void build();

  std::vector<std::string> graph_inputs_;
  std::vector<std::string> output_names_;
  std::vector<Ref> outputs_;
  std::vector<Node> nodes_;
  std::map<std::string, int> index_;
  std::vector<int> order_;
  bool built_ = false;
  bool have_forward_ = false;
  std::map<std::string, Tensor> saved_inputs_;
};

}  // namespace recur
