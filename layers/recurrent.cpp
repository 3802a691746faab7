// The Recurrent layer: stacking, directions, dropout between layers, input checks and
// parameters. The per-direction sequence math lives in kernels/ (recurrent_seq.h).
#include "layers/recurrent.h"

#include <cmath>

#include "core/random.h"
#include "kernels/dropout.h"

namespace recur {

// ---------------------------------------------------------------- config

void RecurrentConfig::validate() const {
  RECUR_CHECK(input_size >= 1, "recurrent: input_size must be at least 1, got {}", input_size);
  RECUR_CHECK(hidden_size >= 1, "recurrent: hidden_size must be at least 1, got {}", hidden_size);
  RECUR_CHECK(num_layers >= 1, "recurrent: num_layers must be at least 1, got {}", num_layers);
  RECUR_CHECK(dropout >= 0.0 && dropout < 1.0,
              "recurrent: dropout must be a probability in [0, 1), got {}", dropout);
  RECUR_CHECK(proj_size >= 0, "recurrent: proj_size must be >= 0, got {}", proj_size);
  RECUR_CHECK(proj_size == 0 || cell == CellKind::lstm,
              "recurrent: proj_size is only for lstm, got it with {}", cell_name(cell));
  RECUR_CHECK(proj_size < hidden_size,
              "recurrent: proj_size must be smaller than hidden_size ({}), got {}", hidden_size,
              proj_size);
  RECUR_CHECK(cell != CellKind::leaky || (leak > 0.0 && leak <= 1.0),
              "recurrent: leak must be in (0, 1], got {}", leak);
}

nlohmann::json RecurrentConfig::to_json() const {
  nlohmann::json j = {
      {"cell", cell_name(cell)},  {"input_size", input_size},       {"hidden_size", hidden_size},
      {"num_layers", num_layers}, {"bidirectional", bidirectional}, {"bias", bias},
      {"dropout", dropout},       {"proj_size", proj_size}};
  if (cell == CellKind::leaky) {
    j["leak"] = leak;
    j["learn_leak"] = learn_leak;
  }
  return j;
}

RecurrentConfig RecurrentConfig::from_json(const nlohmann::json& j) {
  RECUR_CHECK(j.is_object(), "recurrent config: expected a JSON object, got {}", j.dump());
  RecurrentConfig c;
  try {
    c.cell = cell_from_name(j.at("cell").get<std::string>());
    c.input_size = j.at("input_size").get<int64_t>();
    c.hidden_size = j.at("hidden_size").get<int64_t>();
    c.num_layers = j.value("num_layers", int64_t{1});
    c.bidirectional = j.value("bidirectional", false);
    c.bias = j.value("bias", true);
    c.dropout = j.value("dropout", 0.0);
    c.proj_size = j.value("proj_size", int64_t{0});
    c.leak = j.value("leak", 0.5);
    c.learn_leak = j.value("learn_leak", false);
  } catch (const nlohmann::json::exception& e) {
    RECUR_FAIL("recurrent config {}: {}", j.dump(), e.what());
  }
  c.validate();
  return c;
}

// ---------------------------------------------------------------- construction

Recurrent::Recurrent(const RecurrentConfig& config, DType dtype, uint64_t seed)
    : config_(config), dtype_(dtype), dropout_seed_(seed ^ 0x5eedd509u) {
  config_.validate();
  RECUR_CHECK(dtype == DType::f32 || dtype == DType::f64,
              "recurrent: the CPU engine computes in f32 or f64, got {}", dtype_name(dtype));
  const int64_t D = config_.directions(), H = config_.hidden_size, S = config_.state_size();
  const int64_t G = cell_gates(config_.cell) * H;
  const double bound = 1.0 / std::sqrt(static_cast<double>(H));
  uint32_t stream = 0;
  auto make = [&](const std::string& name, const Shape& shape, bool learned, bool random) {
    Parameter p;
    p.name = name;
    p.value = Tensor::empty(shape, dtype);
    if (random)
      fill_uniform(p.value, -bound, bound, seed, stream);
    else
      p.value.fill(config_.leak);
    ++stream;
    p.requires_grad = learned;
    if (learned) p.grad = Tensor::zeros(shape, dtype);
    return p;
  };
  for (int64_t k = 0; k < config_.num_layers; ++k) {
    const int64_t in = k == 0 ? config_.input_size : D * S;
    for (int64_t d = 0; d < D; ++d) {
      const std::string sfx = "_l" + std::to_string(k) + (d == 1 ? "_reverse" : "");
      DirectionParams p;
      p.w_ih = make("weight_ih" + sfx, {G, in}, true, true);
      p.w_hh = make("weight_hh" + sfx, {G, S}, true, true);
      if (config_.bias) {
        p.b_ih = make("bias_ih" + sfx, {G}, true, true);
        p.b_hh = make("bias_hh" + sfx, {G}, true, true);
      }
      if (config_.proj_size > 0) p.w_hr = make("weight_hr" + sfx, {S, H}, true, true);
      if (config_.cell == CellKind::leaky)
        p.leak = make("leak" + sfx, {H}, config_.learn_leak, false);
      dirs_.push_back(std::move(p));
    }
  }
}

ParameterList Recurrent::parameters() {
  ParameterList out;
  for (DirectionParams& d : dirs_)
    for (Parameter* p : {&d.w_ih, &d.w_hh, &d.b_ih, &d.b_hh, &d.w_hr, &d.leak})
      if (p->value.defined()) out.push_back(*p);
  return out;
}

void Recurrent::to(Device device) {
  // Copies first, then swaps: a failed copy (no such GPU, out of memory) leaves the layer whole.
  std::vector<DirectionParams> moved = dirs_;
  for (DirectionParams& d : moved)
    for (Parameter* p : {&d.w_ih, &d.w_hh, &d.b_ih, &d.b_hh, &d.w_hr, &d.leak}) move_to(*p, device);
  dirs_ = std::move(moved);
  Layer::to(device);
  saved_.reset();
}

SeqConfig Recurrent::seq_config(int64_t layer, int64_t direction) const {
  SeqConfig c;
  c.cell = config_.cell;
  c.input_size = layer == 0 ? config_.input_size : config_.output_size();
  c.hidden_size = config_.hidden_size;
  c.proj_size = config_.proj_size;
  c.reverse = direction == 1;
  c.precision = precision_;
  return c;
}

void Recurrent::set_precision(Precision precision) {
  RECUR_CHECK(precision == Precision::f32 || dtype_ == DType::f32,
              "recurrent: {} math precision needs f32 parameters, the layer's are {}",
              precision_name(precision), dtype_name(dtype_));
  precision_ = precision;
  saved_.reset();  // a kept forward ran at the old precision
}

SeqParams Recurrent::seq_params(const DirectionParams& d) {
  return {d.w_ih.value, d.w_hh.value, d.b_ih.value, d.b_hh.value, d.w_hr.value, d.leak.value};
}

// ---------------------------------------------------------------- forward

Recurrent::Output Recurrent::run(const Tensor& x_in, const RecurrentState& initial,
                                 const Tensor& lengths, const ForwardOptions& options) {
  const int64_t L = config_.num_layers, D = config_.directions(), H = config_.hidden_size;
  const int64_t S = config_.state_size();
  const std::string name = cell_name(config_.cell);
  check_device_dtype(x_in, device(), dtype_, name + " input");
  check_shape(x_in, {"B", "T", config_.input_size}, name + " input");
  const int64_t B = x_in.size(0), T = x_in.size(1);
  RECUR_CHECK(B >= 1 && T >= 1, "{} input: expected at least one sequence and one step, got {}",
              name, x_in.shape_str());
  if (initial.h.defined()) {
    check_device_dtype(initial.h, device(), dtype_, name + " initial h");
    check_shape(initial.h, {L * D, B, S}, name + " initial h");
  }
  if (initial.c.defined()) {
    RECUR_CHECK(config_.cell == CellKind::lstm, "{}: an initial c is only for lstm", name);
    check_device_dtype(initial.c, device(), dtype_, name + " initial c");
    check_shape(initial.c, {L * D, B, H}, name + " initial c");
  }
  bool varying_lengths = false;  // some sequence shorter than T
  if (lengths.defined()) {
    check_cpu_dtype(lengths, DType::i64, name + " lengths");
    check_shape(lengths, {B}, name + " lengths");
    for (int64_t b = 0; b < B; ++b) {
      int64_t len = static_cast<int64_t>(lengths.item({b}));
      RECUR_CHECK(len >= 1 && len <= T, "{} lengths[{}] = {}: expected a length in [1, T={}]", name,
                  b, len, T);
      varying_lengths |= len != T;
    }
  }
  // The kernels read the lengths where they run.
  const Tensor lens = !lengths.defined()  ? Tensor()
                      : device().is_cpu() ? lengths.contiguous()
                                          : lengths.to(device());
  const bool keep = options.keep_for_backward;
  const bool dropout_on = training() && config_.dropout > 0.0 && L > 1;
  const uint32_t step = static_cast<uint32_t>(options.step);

  const Engine engine =
      choose_engine(engine_, seq_config(0, 0), device(), dtype_, {B, T, keep, varying_lengths});
  last_engine_ = engine;

  Output out;
  out.final_state.h = Tensor::empty({L * D, B, S}, dtype_, device());
  if (config_.cell == CellKind::lstm)
    out.final_state.c = Tensor::empty({L * D, B, H}, dtype_, device());
  std::shared_ptr<Saved> saved;
  if (keep) {
    saved = std::make_shared<Saved>();
    saved->seq.resize(L * D);
    saved->lengths = lens;
    saved->engine = engine;
    saved->had_h0 = initial.h.defined();
    saved->had_c0 = initial.c.defined();
    saved->dropout_on = dropout_on;
    saved->step = step;
  }

  Tensor layer_in = x_in.contiguous();
  for (int64_t k = 0; k < L; ++k) {
    Tensor y = Tensor::empty({B, T, D * S}, dtype_, device());
    for (int64_t d = 0; d < D; ++d) {
      const int64_t idx = k * D + d;
      SeqForward a;
      a.x = &layer_in;
      if (initial.h.defined()) a.h0 = initial.h.select(0, idx).contiguous();
      if (initial.c.defined()) a.c0 = initial.c.select(0, idx).contiguous();
      a.lengths = lens;
      if (lengths.defined()) a.lengths_host = lengths.contiguous();  // checked on the CPU above
      a.y = y;
      a.y_col = d * S;
      a.h_n = out.final_state.h.select(0, idx);
      if (config_.cell == CellKind::lstm) a.c_n = out.final_state.c.select(0, idx);
      a.saved = keep ? &saved->seq[idx] : nullptr;
      recurrent_seq_fwd(engine, seq_config(k, d), seq_params(dir(k, d)), a);
    }
    if (keep) saved->layer_inputs.push_back(layer_in);
    if (k + 1 < L && dropout_on)
      dropout(y, config_.dropout, {dropout_seed_, static_cast<uint32_t>(k), step}, y);
    layer_in = y;
  }
  out.y = layer_in;
  saved_ = std::move(saved);
  return out;
}

// ---------------------------------------------------------------- backward

Recurrent::InputGrads Recurrent::run_backward(const Tensor& dy, const RecurrentState& d_final) {
  const std::string name = cell_name(config_.cell);
  RECUR_CHECK(saved_ != nullptr,
              "{} backward: no saved forward (call forward with keep_for_backward first)", name);
  const Saved& sv = *saved_;
  const int64_t L = config_.num_layers, D = config_.directions(), H = config_.hidden_size;
  const int64_t S = config_.state_size();
  const int64_t B = sv.layer_inputs[0].size(0), T = sv.layer_inputs[0].size(1);
  if (dy.defined()) {
    check_device_dtype(dy, device(), dtype_, name + " output gradient");
    check_shape(dy, {B, T, D * S}, name + " output gradient");
  }
  if (d_final.h.defined()) {
    check_device_dtype(d_final.h, device(), dtype_, name + " final h gradient");
    check_shape(d_final.h, {L * D, B, S}, name + " final h gradient");
  }
  if (d_final.c.defined()) {
    check_device_dtype(d_final.c, device(), dtype_, name + " final c gradient");
    check_shape(d_final.c, {L * D, B, H}, name + " final c gradient");
  }

  InputGrads out;
  if (sv.had_h0) out.d_initial.h = Tensor::empty({L * D, B, S}, dtype_, device());
  if (sv.had_c0) out.d_initial.c = Tensor::empty({L * D, B, H}, dtype_, device());
  Tensor d_out = dy.defined() ? dy.contiguous() : Tensor();
  for (int64_t k = L - 1; k >= 0; --k) {
    const Tensor& x = sv.layer_inputs[k];
    Tensor dx = Tensor::zeros(x.shape(), dtype_, device());
    for (int64_t d = 0; d < D; ++d) {
      const int64_t idx = k * D + d;
      DirectionParams& p = dir(k, d);
      SeqBackward a;
      a.x = &x;
      a.lengths = sv.lengths;
      a.saved = &sv.seq[idx];
      a.dy = d_out;
      a.dy_col = d * S;
      if (d_final.h.defined()) a.dh_n = d_final.h.select(0, idx).contiguous();
      if (d_final.c.defined()) a.dc_n = d_final.c.select(0, idx).contiguous();
      a.dx = dx;
      if (sv.had_h0) a.dh0 = out.d_initial.h.select(0, idx);
      if (sv.had_c0) a.dc0 = out.d_initial.c.select(0, idx);
      a.grads = {p.w_ih.grad, p.w_hh.grad, p.b_ih.grad, p.b_hh.grad, p.w_hr.grad, p.leak.grad};
      recurrent_seq_bwd(sv.engine, seq_config(k, d), seq_params(p), a);
    }
    if (k > 0 && sv.dropout_on)
      dropout(dx, config_.dropout, {dropout_seed_, static_cast<uint32_t>(k - 1), sv.step}, dx);
    d_out = dx;
  }
  out.dx = d_out;
  saved_.reset();
  return out;
}

// ---------------------------------------------------------------- Layer interface

std::vector<Tensor> Recurrent::forward(const std::vector<Tensor>& inputs,
                                       const ForwardOptions& options) {
  RECUR_CHECK(!inputs.empty() && inputs.size() <= 4,
              "recurrent: expected inputs {{x, h0, c0, lengths}} (1 to 4), got {}", inputs.size());
  Output o = run(inputs[0], {input_or_none(inputs, 1), input_or_none(inputs, 2)},
                 input_or_none(inputs, 3), options);
  return {o.y, o.final_state.h, o.final_state.c};
}

std::vector<Tensor> Recurrent::backward(const std::vector<Tensor>& grad_outputs) {
  InputGrads g = run_backward(input_or_none(grad_outputs, 0),
                              {input_or_none(grad_outputs, 1), input_or_none(grad_outputs, 2)});
  return {g.dx, g.d_initial.h, g.d_initial.c, Tensor()};
}

}  // namespace recur
