#include "layers/graph.h"

#include <algorithm>
#include <functional>

#include "kernels/gemm.h"

namespace recur {

void Graph::add_input(const std::string& name) {
  RECUR_CHECK(!name.empty() && name.find(':') == std::string::npos,
              "graph input name '{}': expected a non-empty name without ':'", name);
  RECUR_CHECK(std::find(graph_inputs_.begin(), graph_inputs_.end(), name) == graph_inputs_.end() &&
                  !index_.count(name),
              "graph: the name '{}' is already taken", name);
  graph_inputs_.push_back(name);
  built_ = false;
}

Layer& Graph::add(const std::string& name, std::unique_ptr<Layer> layer,
                  const std::vector<std::string>& inputs) {
  RECUR_CHECK(
      !name.empty() && name.find(':') == std::string::npos && name.find('.') == std::string::npos,
      "graph node name '{}': expected a non-empty name without ':' or '.'", name);
  RECUR_CHECK(!index_.count(name) && std::find(graph_inputs_.begin(), graph_inputs_.end(), name) ==
                                         graph_inputs_.end(),
              "graph: the name '{}' is already taken", name);
  RECUR_CHECK(layer != nullptr, "graph node '{}': null layer", name);
  index_[name] = static_cast<int>(nodes_.size());
  Node n;
  n.name = name;
  n.layer = std::move(layer);
  n.input_names = inputs;
  nodes_.push_back(std::move(n));
  built_ = false;
  return *nodes_.back().layer;
}

void Graph::set_outputs(const std::vector<std::string>& outputs) {
  RECUR_CHECK(!outputs.empty(), "graph: expected at least one output");
  output_names_ = outputs;
  built_ = false;
}

Graph::Ref Graph::resolve(const std::string& ref, const std::string& user) const {
  Ref r;
  std::string name = ref;
  size_t colon = ref.find(':');
  if (colon != std::string::npos) {
    name = ref.substr(0, colon);
    const std::string port = ref.substr(colon + 1);
    RECUR_CHECK(!port.empty() && port.find_first_not_of("0123456789") == std::string::npos,
                "graph {}: '{}' has a bad output index (expected 'node:k')", user, ref);
    r.port = std::stoi(port);
  }
  auto it = index_.find(name);
  if (it != index_.end()) {
    r.node = it->second;
    return r;
  }
  RECUR_CHECK(colon == std::string::npos && std::find(graph_inputs_.begin(), graph_inputs_.end(),
                                                      name) != graph_inputs_.end(),
              "graph {}: '{}' is neither a node nor a graph input", user, ref);
  r.input = name;
  return r;
}

void Graph::build() {
  if (built_) return;
  RECUR_CHECK(!output_names_.empty(), "graph: no outputs set (call set_outputs)");
  for (Node& n : nodes_) {
    n.inputs.clear();
    for (const std::string& in : n.input_names)
      n.inputs.push_back(resolve(in, "node '" + n.name + "'"));
  }
  outputs_.clear();
  for (const std::string& o : output_names_) outputs_.push_back(resolve(o, "output"));
  // Kahn's algorithm; ties keep insertion order so the order is deterministic.
  std::vector<int> pending(nodes_.size(), 0);
  std::vector<std::vector<int>> users(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (const Ref& r : nodes_[i].inputs)
      if (r.node >= 0) {
        ++pending[i];
        users[r.node].push_back(static_cast<int>(i));
      }
  order_.clear();
  std::vector<bool> done(nodes_.size(), false);
  while (order_.size() < nodes_.size()) {
    bool progressed = false;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (done[i] || pending[i] > 0) continue;
      done[i] = true;
      progressed = true;
      order_.push_back(static_cast<int>(i));
      for (int u : users[i]) --pending[u];
      break;
    }
    if (!progressed) {
      std::string cycle;
      for (size_t i = 0; i < nodes_.size(); ++i)
        if (!done[i]) cycle += (cycle.empty() ? "" : ", ") + nodes_[i].name;
      RECUR_FAIL("graph: the nodes {} form a cycle", cycle);
    }
  }
  built_ = true;
}

std::vector<Tensor> Graph::forward(const std::map<std::string, Tensor>& inputs,
                                   const ForwardOptions& options) {
  build();
  for (const std::string& name : graph_inputs_)
    RECUR_CHECK(inputs.count(name), "graph forward: missing input '{}'", name);
  for (const auto& kv : inputs)
    RECUR_CHECK(
        std::find(graph_inputs_.begin(), graph_inputs_.end(), kv.first) != graph_inputs_.end(),
        "graph forward: '{}' is not a graph input", kv.first);
  auto value = [&](const Ref& r, const std::string& user) -> Tensor {
    if (r.node < 0) return inputs.at(r.input);
    const Node& p = nodes_[r.node];
    RECUR_CHECK(r.port < static_cast<int>(p.outputs.size()),
                "graph {}: node '{}' has {} outputs, no output {}", user, p.name, p.outputs.size(),
                r.port);
    return p.outputs[r.port];
  };
  for (int i : order_) {
    Node& n = nodes_[i];
    std::vector<Tensor> in;
    for (const Ref& r : n.inputs) in.push_back(value(r, "node '" + n.name + "'"));
    try {
      n.outputs = n.layer->forward(in, options);
    } catch (const Error& e) {
      throw Error("node '" + n.name + "': " + e.what(), e.file(), e.line());
    }
  }
  std::vector<Tensor> out;
  for (const Ref& r : outputs_) out.push_back(value(r, "output"));
  have_forward_ = options.keep_for_backward;
  return out;
}

std::map<std::string, Tensor> Graph::backward(const std::vector<Tensor>& grad_outputs) {
  RECUR_CHECK(have_forward_,
              "graph backward: no saved forward (run forward with keep_for_backward)");
  RECUR_CHECK(grad_outputs.size() == outputs_.size(),
              "graph backward: expected {} output gradients, got {}", outputs_.size(),
              grad_outputs.size());
  // Gradients waiting for each node output and each graph input, summed over their users.
  std::vector<std::vector<Tensor>> pending(nodes_.size());
  std::map<std::string, Tensor> input_grads;
  auto accumulate = [](Tensor& slot, const Tensor& g) {
    if (!g.defined()) return;
    if (!slot.defined()) {
      slot = g.contiguous().clone();
      return;
    }
    RECUR_CHECK(slot.shape() == g.shape(), "graph backward: gradients of shapes {} and {} meet",
                slot.shape_str(), g.shape_str());
    axpy(1.0, g.contiguous(), slot);
  };
  auto deliver = [&](const Ref& r, const Tensor& g) {
    if (r.node < 0) {
      accumulate(input_grads[r.input], g);
      return;
    }
    std::vector<Tensor>& slots = pending[r.node];
    if (slots.size() <= static_cast<size_t>(r.port)) slots.resize(r.port + 1);
    accumulate(slots[r.port], g);
  };
  for (size_t i = 0; i < outputs_.size(); ++i) deliver(outputs_[i], grad_outputs[i]);
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    Node& n = nodes_[*it];
    std::vector<Tensor>& g = pending[*it];
    g.resize(n.outputs.size());
    std::vector<Tensor> din;
    try {
      din = n.layer->backward(g);
    } catch (const Error& e) {
      throw Error("node '" + n.name + "': " + e.what(), e.file(), e.line());
    }
    for (size_t k = 0; k < n.inputs.size() && k < din.size(); ++k) deliver(n.inputs[k], din[k]);
    g.clear();
  }
  have_forward_ = false;
  for (auto it = input_grads.begin(); it != input_grads.end();)
    it = it->second.defined() ? std::next(it) : input_grads.erase(it);
  return input_grads;
}

ParameterList Graph::parameters() {
  ParameterList all;
  for (Node& n : nodes_)
    for (Parameter& p : prefixed(n.layer->parameters(), n.name)) all.push_back(p);
  return all;
}

TensorMap Graph::state_dict() {
  TensorMap m;
  for (const Parameter& p : parameters()) m[p.name] = p.value;
  return m;
}

void Graph::set_training(bool training) {
  for (Node& n : nodes_) n.layer->set_training(training);
}

void Graph::zero_grad() {
  for (Node& n : nodes_) n.layer->zero_grad();
}

void Graph::to(Device device) {
  for (Node& n : nodes_) n.layer->to(device);
  for (Node& n : nodes_) n.outputs.clear();
  have_forward_ = false;
}

void Graph::set_precision(Precision precision) {
  for (Node& n : nodes_) n.layer->set_precision(precision);
  for (Node& n : nodes_) n.outputs.clear();
  have_forward_ = false;
}

Layer& Graph::layer(const std::string& name) {
  auto it = index_.find(name);
  RECUR_CHECK(it != index_.end(), "graph: no node named '{}'", name);
  return *nodes_[it->second].layer;
}

std::vector<std::string> Graph::order() {
  build();
  std::vector<std::string> names;
  for (int i : order_) names.push_back(nodes_[i].name);
  return names;
}

nlohmann::json Graph::describe() {
  nlohmann::json nodes = nlohmann::json::array();
  for (Node& n : nodes_)
    nodes.push_back({{"name", n.name},
                     {"kind", n.layer->kind()},
                     {"inputs", n.input_names},
                     {"config", n.layer->config()}});
  return {{"inputs", graph_inputs_}, {"outputs", output_names_}, {"nodes", nodes}};
}

}  // namespace recur
