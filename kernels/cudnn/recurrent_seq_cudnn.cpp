// The cuDNN engine for one direction of a recurrent layer on a GPU (kernels/recurrent_seq.h), with
// the reference's semantics: one single-layer unidirectional cuDNN RNN per call (cudnnRNNForward,
// cudnnRNNBackwardData_v8, cudnnRNNBackwardWeights_v8); the Recurrent layer stacks layers and
// directions on top of it as it does for every engine.
//
// Layout. cuDNN runs time-major with padded I/O and each sequence's own length
// (CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, CUDNN_RNN_PADDED_IO_ENABLED), as PyTorch runs it.
// kernels/cudnn/cudnn_seq_ops.cu gathers x and dy into that layout and scatters y and dx back into
// the caller's batch-first columns, reversing each sequence within its length for a reverse
// direction: cuDNN always runs forwards, and its end state hy (taken at each sequence's last valid
// step) is the reference's h_n in both directions.
//
// Weights. PyTorch's tensors are copied (device to device, every call: the optimizer changes them)
// into cuDNN's weight space at the places cudnnGetRNNWeightParams reports. The gate orders agree
// (lstm i,f,g,o; gru r,z,n with n = tanh(W_n x + b_in + r (U_n h + b_hn)) in both), linear layers
// 0..gates-1 multiply the input and gates..2*gates-1 the state, each a row-major [H,cols] block
// like a PyTorch gate slice, and layer 8 of an LSTM is the projection W_hr (as PyTorch's
// aten/src/ATen/native/cudnn/RNN.cpp maps them). Two biases (CUDNN_RNN_DOUBLE_BIAS) or none.
// Gradients come back the same way: cuDNN adds into a zeroed gradient space
// (CUDNN_WGRAD_MODE_ADD, the mode cudnnRNNBackwardWeights_v8 accepts) and cuBLAS axpy adds that
// into the caller's gradients.
//
// Mixed precision (SeqConfig::precision bf16/f16, f32 tensors): cuDNN's own 16-bit RNN, with
// f32 math precision and tensor-core math. Its data is 16-bit throughout (x, y, the weight space,
// h and, unlike the fused engine, the cell state); recur's f32 tensors are rounded into it and
// its results widened back (kernels/cuda/elementwise_cuda.h), and the weight gradients leave
// cuDNN in 16 bits before they are added to the f32 master gradients.
//
// Variants: f32 (CUDNN_FMA_MATH: no TF32 tensor cores) and f64; cells rnn_tanh, rnn_relu, gru,
// lstm with or without projection (no leaky: cuDNN has none); algorithms standard,
// persist_static, persist_dynamic and persist_static_small_h (set_cudnn_algorithm), or by default
// (auto) the one the engine table measured fastest at the nearest shape. cuDNN's reference refuses
// persist_static and persist_dynamic for sequences of different lengths, and persist_static for
// f64 (BAD_PARAM): forced there they are a "not supported" error, and auto runs standard for
// such calls (cudnn_algorithm_limit). Descriptors and the weight-space map are cached per
// (device, cell, sizes, bias, dtype, algorithm, B, T) (kernels/cudnn/cudnn_rnn_plan.h).
// Everything is queued on the device's recur stream; with lengths, each call waits once to read
// them on the host (cuDNN's data descriptors hold them there).
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/cuda/context.h"
#include "core/cuda/cuda_check.h"
#include "core/cuda_runtime.h"
#include "core/log.h"
#include "kernels/cuda/elementwise_cuda.h"
#include "kernels/cuda/seq_arg_checks.h"
#include "kernels/cudnn/cudnn_check.h"
#include "kernels/cudnn/cudnn_handle.h"
#include "kernels/cudnn/cudnn_rnn_plan.h"
#include "kernels/cudnn/cudnn_seq_ops.h"
#include "kernels/recurrent_engine.h"
#include "kernels/recurrent_seq.h"

namespace recur {

namespace {

using namespace cudnn_rnn;

// ---------------------------------------------------------------- per-call pieces

// ASSUMPTION: every tensor of the call is contiguous, of the input's dtype, on the input's GPU;
// the Recurrent layer makes them so.
void check_tensor(const Tensor& t, Device device, DType dtype, std::initializer_list<Dim> shape,
                  const std::string& what) {
  check_device_dtype(t, device, dtype, "cuDNN engine " + what);
  check_shape(t, shape, "cuDNN engine " + what);
  RECUR_CHECK(t.is_contiguous(), "cuDNN engine {}: expected a contiguous tensor", what);
}

void check_params(const SeqConfig& cfg, const SeqParams& p, Device d, DType dt) {
  const int64_t G = cfg.gate_rows(), I = cfg.input_size, S = cfg.state_size();
  check_tensor(p.w_ih, d, dt, {G, I}, "weight_ih");
  check_tensor(p.w_hh, d, dt, {G, S}, "weight_hh");
  // ASSUMPTION: both biases or none, as in PyTorch (bias=True/False).
  RECUR_CHECK(p.b_ih.defined() == p.b_hh.defined(),
              "cuDNN engine: expected both biases or none, got only {}",
              p.b_ih.defined() ? "bias_ih" : "bias_hh");
  if (p.b_ih.defined()) {
    check_tensor(p.b_ih, d, dt, {G}, "bias_ih");
    check_tensor(p.b_hh, d, dt, {G}, "bias_hh");
  }
  RECUR_CHECK(cfg.proj_size == 0 || cfg.cell == CellKind::lstm,
              "cuDNN engine: a projection needs an lstm cell, got {}", cell_name(cfg.cell));
  if (cfg.proj_size > 0) check_tensor(p.w_hr, d, dt, {cfg.proj_size, cfg.hidden_size}, "weight_hr");
}

PlanKey plan_key(const SeqConfig& cfg, const SeqParams& p, const Tensor& x, CudnnAlgo algo) {
  const DType data = cfg.precision == Precision::f32 ? x.dtype() : operand_dtype(cfg.precision);
  return {x.device().index, cfg.cell, cfg.input_size, cfg.hidden_size, cfg.proj_size,
          p.b_ih.defined(), data,     algo,           x.size(0),       x.size(1)};
}

// ---------------------------------------------------------------- mixed precision

// `t` (f32) rounded into a new tensor of cuDNN's 16-bit data type `data`; `t` itself when cuDNN
// runs in the tensors' own dtype.
Tensor to_data(const Tensor& t, DType data, cudaStream_t stream) {
  if (t.dtype() == data) return t;
  Tensor out = Tensor::empty(t.shape(), data, t.device());
  launch_round_rows(t.data<float>(), 1, t.numel(), t.numel(), precision_of(data), out.raw_data(),
                    stream);
  return out;
}

// A tensor of cuDNN's data type for a result that goes to `dst` (f32 [n], or of that type):
// `dst` itself when the types agree, else a 16-bit scratch of the same shape for widen_into.
Tensor result_buffer(const Tensor& dst, const Shape& shape, DType data, Device d) {
  if (dst.defined() && dst.dtype() == data) return dst;
  return Tensor::empty(shape, data, d);
}

// Copies a 16-bit cuDNN result into f32 `dst`, exactly; nothing when they are one tensor.
void widen_into(const Tensor& result, Tensor& dst, cudaStream_t stream) {
  if (!dst.defined() || result.raw_data() == dst.raw_data()) return;
  launch_widen(result.raw_data(), precision_of(result.dtype()), result.numel(), dst.data<float>(),
               stream);
}

// The lengths on the host for cuDNN's descriptors ([B], each 1..T; all T without lengths).
// The lengths on the host: the caller's host copy when it gave one, else read back from the GPU
// (which waits for the stream).
std::vector<int> host_lengths(const Tensor& lengths, const Tensor& lengths_host, int64_t B,
                              int64_t Tn) {
  std::vector<int> out(static_cast<size_t>(B), static_cast<int>(Tn));
  if (!lengths.defined()) return out;
  RECUR_CHECK(lengths.dim() == 1 && lengths.numel() == B,
              "cuDNN engine lengths: expected [{}], got {}", B, lengths.shape_str());
  RECUR_CHECK(!lengths_host.defined() ||
                  (lengths_host.device().is_cpu() && lengths_host.dtype() == DType::i64 &&
                   lengths_host.numel() == B && lengths_host.is_contiguous()),
              "cuDNN engine: lengths_host must be a contiguous [{}] i64 CPU tensor", B);
  const Tensor host = lengths_host.defined() ? lengths_host : lengths.to(Device::cpu());
  const int64_t* len = host.data<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    // ASSUMPTION: 1 <= length <= T, as the layer checks; cuDNN takes no empty sequence.
    RECUR_CHECK(len[b] >= 1 && len[b] <= Tn, "cuDNN engine: lengths[{}] is {}, expected 1..{}", b,
                len[b], Tn);
    out[static_cast<size_t>(b)] = static_cast<int>(len[b]);
  }
  return out;
}

// cuDNN's devSeqLengths: [B] i32 on the GPU.
Tensor device_lengths(const Plan& plan, const Tensor& lengths, cudaStream_t stream) {
  if (!lengths.defined()) return plan.full_lengths;
  Tensor out = Tensor::empty({plan.key.B}, DType::i32, lengths.device());
  launch_seq_lengths_i32(lengths.data<int64_t>(), plan.key.B, plan.key.Tn, out.data<int32_t>(),
                         stream);
  return out;
}

// A fresh weight space holding `p` (the optimizer changes the weights between calls). With 16-bit
// data the f32 weights are laid out in an f32 staging space of the same element count first, then
// rounded into cuDNN's.
Tensor pack_weights(const Plan& plan, const SeqParams& p, cudaStream_t stream) {
  const Device device = Device::cuda(plan.key.device);
  const bool half = is_16bit(plan.key.dtype);
  const size_t es = half ? sizeof(float) : dtype_size(plan.key.dtype);
  const int64_t elements = static_cast<int64_t>(plan.weight_bytes / dtype_size(plan.key.dtype));
  Tensor space = Tensor::empty({static_cast<int64_t>(plan.weight_bytes)}, DType::u8, device);
  Tensor staging = half ? Tensor::empty({elements}, DType::f32, device) : space;
  auto* dst = static_cast<std::byte*>(staging.raw_data());
  if (!plan.weights_fill_space) RECUR_CUDA_CHECK(cudaMemsetAsync(dst, 0, staging.nbytes(), stream));
  const Tensor* src[kParamCount] = {&p.w_ih, &p.w_hh, &p.b_ih, &p.b_hh, &p.w_hr};
  for (const Segment& s : plan.segments) {
    const auto* from = static_cast<const std::byte*>(src[s.param]->raw_data());
    RECUR_CUDA_CHECK(cudaMemcpyAsync(dst + s.dst * es, from + s.src * es,
                                     static_cast<size_t>(s.n) * es, cudaMemcpyDeviceToDevice,
                                     stream));
  }
  if (half)
    launch_round_rows(staging.data<float>(), 1, elements, elements, precision_of(plan.key.dtype),
                      space.raw_data(), stream);
  return space;
}

void axpy(cublasHandle_t h, int n, const float* x, float* y) {
  const float one = 1.0f;
  RECUR_CUBLAS_CHECK(cublasSaxpy(h, n, &one, x, 1, y, 1));
}

void axpy(cublasHandle_t h, int n, const double* x, double* y) {
  const double one = 1.0;
  RECUR_CUBLAS_CHECK(cublasDaxpy(h, n, &one, x, 1, y, 1));
}

// grads += the gradient space `dw`, parameter by parameter (undefined gradients are skipped).
// With 16-bit data the gradient space is widened to f32 first.
template <class T>
void add_weight_grads(const Plan& plan, const Tensor& dw, SeqParamGrads& g, cublasHandle_t cublas,
                      cudaStream_t stream) {
  Tensor* dst[kParamCount] = {&g.w_ih, &g.w_hh, &g.b_ih, &g.b_hh, &g.w_hr};
  Tensor wide;
  if (is_16bit(plan.key.dtype)) {
    const int64_t n = static_cast<int64_t>(plan.weight_bytes / dtype_size(plan.key.dtype));
    wide = Tensor::empty({n}, DType::f32, dw.device());
    launch_widen(dw.raw_data(), precision_of(plan.key.dtype), n, wide.data<float>(), stream);
  }
  const T* from = static_cast<const T*>(wide.defined() ? wide.raw_data() : dw.raw_data());
  for (const Segment& s : plan.segments)
    if (dst[s.param]->defined())
      axpy(cublas, to_int(s.n, "a weight block"), from + s.dst, dst[s.param]->data<T>() + s.src);
}

// ---------------------------------------------------------------- forward and backward

// The forward with cuDNN's algorithm `algo`; `lengths` as host_lengths gives them.
template <class T>
void forward_with(const SeqConfig& cfg, const SeqParams& p, SeqForward& a, CudnnAlgo algo,
                  const std::vector<int>& lengths) {
  const Tensor& x = *a.x;
  const Device d = x.device();
  const DType dt = x.dtype();
  const bool lstm = cfg.cell == CellKind::lstm;
  const int64_t B = x.size(0), Tn = x.size(1), I = cfg.input_size, H = cfg.hidden_size;
  const int64_t S = cfg.state_size(), Y = a.y.defined() ? a.y.size(2) : 0;
  check_tensor(x, d, dt, {"B", "T", I}, "input");
  check_params(cfg, p, d, dt);
  if (a.h0.defined()) check_tensor(a.h0, d, dt, {B, S}, "h0");
  if (lstm && a.c0.defined()) check_tensor(a.c0, d, dt, {B, H}, "c0");
  if (a.lengths.defined()) check_device_dtype(a.lengths, d, DType::i64, "cuDNN engine lengths");
  check_tensor(a.y, d, dt, {B, Tn, "Y"}, "output");
  RECUR_CHECK(a.y_col >= 0 && a.y_col + S <= Y,
              "cuDNN engine output: columns [{}, {}) do not fit in its {}", a.y_col, a.y_col + S,
              Y);
  check_tensor(a.h_n, d, dt, {B, S}, "h_n");
  if (lstm && a.c_n.defined()) check_tensor(a.c_n, d, dt, {B, H}, "c_n");

  const int dev = d.index;
  DeviceGuard guard(dev);
  CudaContext& ctx = cuda_context(dev);
  cudaStream_t stream = ctx.stream();
  cudnnHandle_t handle = cudnn_handle(dev);
  const PlanKey key = plan_key(cfg, p, x, algo);
  const std::string limit = cudnn_algorithm_limit(algo, key.dtype, lengths, Tn);
  RECUR_CHECK(limit.empty(), "cuDNN engine, {} {} B={} T={}, algorithm {}: {} ({})",
              cell_name(cfg.cell), dtype_name(key.dtype), B, Tn, cudnn_algo_name(algo),
              kNotSupported, limit);
  const std::shared_ptr<Plan> plan = plan_for(key);
  std::lock_guard<std::mutex> lock(plan->mutex);
  plan->set_lengths(lengths);
  const Tensor seq_lengths = device_lengths(*plan, a.lengths, stream);
  const int64_t* len64 = a.lengths.defined() ? a.lengths.data<int64_t>() : nullptr;

  const bool training = a.saved != nullptr;
  // cuDNN's data type: dt, or bf16/f16 at a mixed precision (converted at every boundary).
  const DType data = plan->key.dtype;
  Tensor weights = pack_weights(*plan, p, stream);
  Tensor x_seq = Tensor::empty({Tn, B, I}, dt, d);
  launch_to_time_major(x.data<T>(), I, B, Tn, I, len64, cfg.reverse, x_seq.data<T>(), stream);
  const Tensor x_data = to_data(x_seq, data, stream);
  Tensor y_data = Tensor::empty({Tn, B, S}, data, d);
  // The backward needs the initial state as it was: training keeps a copy (a 16-bit one is).
  auto initial = [&](const Tensor& given, const Shape& shape) {
    if (!given.defined()) return Tensor::zeros(shape, data, d);
    if (data != dt) return to_data(given, data, stream);
    return training ? given.clone() : given;
  };
  Tensor h0 = initial(a.h0, {B, S});
  Tensor h_n = result_buffer(a.h_n, {B, S}, data, d);
  Tensor c0, c_n;
  if (lstm) {
    c0 = initial(a.c0, {B, H});
    c_n = result_buffer(a.c_n, {B, H}, data, d);
  }

  const cudnnForwardMode_t mode = training ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE;
  size_t work_bytes = 0, reserve_bytes = 0;
  RECUR_CUDNN_RNN_CHECK(cudnnGetRNNTempSpaceSizes(handle, plan->rnn.get(), mode, plan->x_desc.get(),
                                                  &work_bytes, &reserve_bytes),
                        plan->what);
  void* work = work_bytes > 0 ? ctx.workspace(work_bytes) : nullptr;
  Tensor reserve;
  if (training && reserve_bytes > 0)
    reserve = Tensor::empty({static_cast<int64_t>(reserve_bytes)}, DType::u8, d);
  RECUR_CUDNN_RNN_CHECK(
      cudnnRNNForward(
          handle, plan->rnn.get(), mode, seq_lengths.data<int32_t>(), plan->x_desc.get(),
          x_data.raw_data(), plan->y_desc.get(), y_data.raw_data(), plan->h_desc.get(),
          h0.raw_data(), h_n.raw_data(), plan->c_desc.get(), lstm ? c0.raw_data() : nullptr,
          lstm ? c_n.raw_data() : nullptr, plan->weight_bytes, weights.raw_data(), work_bytes, work,
          reserve.defined() ? reserve_bytes : 0, reserve.defined() ? reserve.raw_data() : nullptr),
      plan->what);
  widen_into(h_n, a.h_n, stream);
  if (lstm) widen_into(c_n, a.c_n, stream);
  Tensor y_seq = data == dt ? y_data : Tensor::empty({Tn, B, S}, dt, d);
  widen_into(y_data, y_seq, stream);
  launch_from_time_major(y_seq.data<T>(), B, Tn, S, len64, cfg.reverse, /*accumulate=*/false,
                         a.y.data<T>() + a.y_col, Y, stream);

  if (training) {
    SeqSaved::Cudnn& sv = a.saved->cudnn;
    sv.reserve = reserve;
    sv.weight_space = weights;
    sv.y = y_data;
    sv.h0 = h0;
    sv.c0 = c0;
    sv.lengths = Tensor::from_vector(std::vector<int32_t>(lengths.begin(), lengths.end()), {B});
    sv.algo = static_cast<int>(algo);
  }
}

// The shapes (plan keys, and whether the call's sequences had different lengths: cuDNN may refuse
// an algorithm for padded calls only) where an algorithm measured elsewhere answered
// NOT_SUPPORTED: auto runs standard there without asking again (a failed persist_dynamic build
// costs a compilation).
class UnsupportedShapes {
 public:
  bool contains(const PlanKey& key, bool padded) {
    std::lock_guard<std::mutex> lock(mutex_);
    return keys_.count({key, padded}) > 0;
  }
  void add(const PlanKey& key, bool padded) {
    std::lock_guard<std::mutex> lock(mutex_);
    keys_.insert({key, padded});
  }

 private:
  std::mutex mutex_;
  std::set<std::pair<PlanKey, bool>> keys_;
};

UnsupportedShapes& unsupported_shapes() {
  static UnsupportedShapes shapes;
  return shapes;
}

// The forward with the algorithm cudnn_algorithm_for picks. Under auto, one measured at another
// shape that cuDNN cannot run here gives way to standard: logged once, remembered per shape and
// per padded or full-length calls (per call where cuDNN's reference refuses it). Nothing of the
// call's outputs is written before cuDNN's forward succeeds, so the retry is clean.
template <class T>
void forward(const SeqConfig& cfg, const SeqParams& p, SeqForward& a) {
  const Tensor& x = *a.x;
  if (x.dim() != 3) return forward_with<T>(cfg, p, a, CudnnAlgo::standard, {});  // its shape error
  if (a.lengths.defined())
    check_device_dtype(a.lengths, x.device(), DType::i64, "cuDNN engine lengths");
  const int64_t B = x.size(0), Tn = x.size(1);
  const std::vector<int> lengths = host_lengths(a.lengths, a.lengths_host, B, Tn);
  const bool padded = std::any_of(lengths.begin(), lengths.end(), [&](int l) { return l != Tn; });
  const CudnnAlgo algo = cudnn_algorithm_for(cfg, x.dtype(), {B, Tn, a.saved != nullptr, padded});
  if (cudnn_algorithm() != CudnnAlgo::auto_ || algo == CudnnAlgo::standard)
    return forward_with<T>(cfg, p, a, algo, lengths);
  const PlanKey key = plan_key(cfg, p, x, algo);
  const std::string limit = cudnn_algorithm_limit(algo, key.dtype, lengths, Tn);
  if (!limit.empty()) {
    log_info_once(
        fmt::format("cuDNN engine (algorithm auto): {}; using standard for such calls", limit));
  } else if (!unsupported_shapes().contains(key, padded)) {
    try {
      return forward_with<T>(cfg, p, a, algo, lengths);
    } catch (const Error& e) {
      if (std::string(e.what()).find(kNotSupported) == std::string::npos) throw;
      unsupported_shapes().add(key, padded);
      log_info_once(fmt::format(
          "cuDNN engine (algorithm auto): the engine table's {} cannot run this shape ({}); "
          "using standard",
          cudnn_algo_name(algo), e.what()));
    }
  }
  forward_with<T>(cfg, p, a, CudnnAlgo::standard, lengths);
}

template <class T>
void backward(const SeqConfig& cfg, const SeqParams& p, SeqBackward& a) {
  const Tensor& x = *a.x;
  const Device d = x.device();
  const DType dt = x.dtype();
  const bool lstm = cfg.cell == CellKind::lstm;
  const int64_t B = x.size(0), Tn = x.size(1), I = cfg.input_size, H = cfg.hidden_size;
  const int64_t S = cfg.state_size(), Y = a.dy.defined() ? a.dy.size(2) : 0;
  RECUR_CHECK(a.saved != nullptr && a.saved->cudnn.algo >= 0,
              "cuDNN engine backward: expected the state of a cuDNN training forward "
              "(SeqForward::saved), got none");
  const SeqSaved::Cudnn& sv = a.saved->cudnn;
  check_tensor(x, d, dt, {"B", "T", I}, "input");
  check_params(cfg, p, d, dt);
  RECUR_CHECK(sv.y.defined() && sv.y.shape() == (Shape{Tn, B, S}) && sv.lengths.numel() == B,
              "cuDNN engine backward: the saved forward ran on another shape than [{},{},{}]", B,
              Tn, I);
  if (a.lengths.defined()) check_device_dtype(a.lengths, d, DType::i64, "cuDNN engine lengths");
  if (a.dy.defined()) {
    check_tensor(a.dy, d, dt, {B, Tn, "Y"}, "output gradient");
    RECUR_CHECK(a.dy_col >= 0 && a.dy_col + S <= Y,
                "cuDNN engine output gradient: columns [{}, {}) do not fit in its {}", a.dy_col,
                a.dy_col + S, Y);
  }
  if (a.dh_n.defined()) check_tensor(a.dh_n, d, dt, {B, S}, "h_n gradient");
  if (lstm && a.dc_n.defined()) check_tensor(a.dc_n, d, dt, {B, H}, "c_n gradient");
  if (a.dx.defined()) check_tensor(a.dx, d, dt, {B, Tn, I}, "input gradient");
  if (a.dh0.defined()) check_tensor(a.dh0, d, dt, {B, S}, "h0 gradient");
  if (lstm && a.dc0.defined()) check_tensor(a.dc0, d, dt, {B, H}, "c0 gradient");
  const SeqParamGrads& g = a.grads;
  const Tensor* grads[kParamCount] = {&g.w_ih, &g.w_hh, &g.b_ih, &g.b_hh, &g.w_hr};
  const Tensor* params[kParamCount] = {&p.w_ih, &p.w_hh, &p.b_ih, &p.b_hh, &p.w_hr};
  const char* names[kParamCount] = {"weight_ih gradient", "weight_hh gradient", "bias_ih gradient",
                                    "bias_hh gradient", "weight_hr gradient"};
  bool any_grad = false;
  for (int i = 0; i < kParamCount; ++i) {
    if (!grads[i]->defined()) continue;
    RECUR_CHECK(params[i]->defined(), "cuDNN engine: {} asked for, but the parameter is absent",
                names[i]);
    check_device_dtype(*grads[i], d, dt, std::string("cuDNN engine ") + names[i]);
    RECUR_CHECK(grads[i]->shape() == params[i]->shape() && grads[i]->is_contiguous(),
                "cuDNN engine {}: expected a contiguous {}, got {}", names[i],
                params[i]->shape_str(), grads[i]->shape_str());
    any_grad = true;
  }

  const int dev = d.index;
  DeviceGuard guard(dev);
  CudaContext& ctx = cuda_context(dev);
  cudaStream_t stream = ctx.stream();
  cudnnHandle_t handle = cudnn_handle(dev);
  const CudnnAlgo algo = static_cast<CudnnAlgo>(sv.algo);
  const int32_t* saved_len = sv.lengths.data<int32_t>();
  const std::vector<int> lengths(saved_len, saved_len + B);
  // The device lengths and the reversal below read a.lengths: they must be the forward's.
  const bool padded = std::any_of(lengths.begin(), lengths.end(), [&](int l) { return l < Tn; });
  RECUR_CHECK(!padded || a.lengths.defined(),
              "cuDNN engine backward: the forward ran with lengths; give the backward the same");
  const std::shared_ptr<Plan> plan = plan_for(plan_key(cfg, p, x, algo));
  // The saved buffers are cuDNN's data of the forward's precision: the backward must run with it.
  RECUR_CHECK(sv.y.dtype() == plan->key.dtype && sv.weight_space.nbytes() == plan->weight_bytes,
              "cuDNN engine backward: the forward ran with {} data, this backward asks for {} "
              "(run both at one precision)",
              dtype_name(sv.y.dtype()), dtype_name(plan->key.dtype));
  std::lock_guard<std::mutex> lock(plan->mutex);
  plan->set_lengths(lengths);
  const Tensor seq_lengths = device_lengths(*plan, a.lengths, stream);
  const int64_t* len64 = a.lengths.defined() ? a.lengths.data<int64_t>() : nullptr;

  const DType data = plan->key.dtype;  // as in the forward
  Tensor dy_seq = Tensor::empty({Tn, B, S}, dt, d);
  if (a.dy.defined())
    launch_to_time_major(a.dy.data<T>() + a.dy_col, Y, B, Tn, S, len64, cfg.reverse,
                         dy_seq.data<T>(), stream);
  else
    RECUR_CUDA_CHECK(cudaMemsetAsync(dy_seq.raw_data(), 0, dy_seq.nbytes(), stream));
  const Tensor dy_data = to_data(dy_seq, data, stream);
  const Tensor dhy =
      a.dh_n.defined() ? to_data(a.dh_n, data, stream) : Tensor::zeros({B, S}, data, d);
  const Tensor dhx = result_buffer(a.dh0, {B, S}, data, d);
  Tensor dcy, dcx;
  if (lstm) {
    dcy = a.dc_n.defined() ? to_data(a.dc_n, data, stream) : Tensor::zeros({B, H}, data, d);
    dcx = result_buffer(a.dc0, {B, H}, data, d);
  }
  Tensor dx_data = Tensor::empty({Tn, B, I}, data, d);

  size_t work_bytes = 0;
  RECUR_CUDNN_RNN_CHECK(cudnnGetRNNTempSpaceSizes(handle, plan->rnn.get(), CUDNN_FWD_MODE_TRAINING,
                                                  plan->x_desc.get(), &work_bytes, nullptr),
                        plan->what);
  void* work = work_bytes > 0 ? ctx.workspace(work_bytes) : nullptr;
  const size_t reserve_bytes = sv.reserve.defined() ? sv.reserve.nbytes() : 0;
  void* reserve = sv.reserve.defined() ? sv.reserve.raw_data() : nullptr;
  // Backward data first: it writes into the reserve space the weight gradient then reads.
  RECUR_CUDNN_RNN_CHECK(
      cudnnRNNBackwardData_v8(handle, plan->rnn.get(), seq_lengths.data<int32_t>(),
                              plan->y_desc.get(), sv.y.raw_data(), dy_data.raw_data(),
                              plan->x_desc.get(), dx_data.raw_data(), plan->h_desc.get(),
                              sv.h0.raw_data(), dhy.raw_data(), dhx.raw_data(), plan->c_desc.get(),
                              lstm ? sv.c0.raw_data() : nullptr, lstm ? dcy.raw_data() : nullptr,
                              lstm ? dcx.raw_data() : nullptr, plan->weight_bytes,
                              sv.weight_space.raw_data(), work_bytes, work, reserve_bytes, reserve),
      plan->what);
  widen_into(dhx, a.dh0, stream);
  if (lstm) widen_into(dcx, a.dc0, stream);
  if (a.dx.defined()) {
    Tensor dx_seq = data == dt ? dx_data : Tensor::empty({Tn, B, I}, dt, d);
    widen_into(dx_data, dx_seq, stream);
    launch_from_time_major(dx_seq.data<T>(), B, Tn, I, len64, cfg.reverse, /*accumulate=*/true,
                           a.dx.data<T>(), I, stream);
  }

  if (!any_grad) return;
  Tensor x_seq = Tensor::empty({Tn, B, I}, dt, d);  // gathered again rather than kept
  launch_to_time_major(x.data<T>(), I, B, Tn, I, len64, cfg.reverse, x_seq.data<T>(), stream);
  const Tensor x_data = to_data(x_seq, data, stream);
  Tensor dw = Tensor::empty({static_cast<int64_t>(plan->weight_bytes)}, DType::u8, d);
  RECUR_CUDA_CHECK(cudaMemsetAsync(dw.raw_data(), 0, plan->weight_bytes, stream));
  RECUR_CUDNN_RNN_CHECK(
      cudnnRNNBackwardWeights_v8(handle, plan->rnn.get(), CUDNN_WGRAD_MODE_ADD,
                                 seq_lengths.data<int32_t>(), plan->x_desc.get(), x_data.raw_data(),
                                 plan->h_desc.get(), sv.h0.raw_data(), plan->y_desc.get(),
                                 sv.y.raw_data(), plan->weight_bytes, dw.raw_data(), work_bytes,
                                 work, reserve_bytes, reserve),
      plan->what);
  add_weight_grads<T>(*plan, dw, a.grads, ctx.cublas(), stream);
}

void check_input(const SeqConfig& cfg, const Tensor* x) {
  RECUR_CHECK(x != nullptr && x->defined(), "cuDNN engine: expected an input, got none");
  seq_checks::input_gpu("cuDNN", *x);
  seq_checks::check_float_input("cuDNN", *x);
  RECUR_CHECK(cfg.cell != CellKind::leaky,
              "cuDNN engine: cuDNN has no leaky cell (use the fused engine)");
  RECUR_CHECK(cfg.precision == Precision::f32 || x->dtype() == DType::f32,
              "cuDNN engine: {} math precision needs f32 tensors, got {}",
              precision_name(cfg.precision), dtype_name(x->dtype()));
}

}  // namespace

void recurrent_seq_fwd_cudnn(const SeqConfig& config, const SeqParams& params, SeqForward& args) {
  check_input(config, args.x);
  if (args.x->dtype() == DType::f64)
    forward<double>(config, params, args);
  else
    forward<float>(config, params, args);
}

void recurrent_seq_bwd_cudnn(const SeqConfig& config, const SeqParams& params, SeqBackward& args) {
  check_input(config, args.x);
  if (args.x->dtype() == DType::f64)
    backward<double>(config, params, args);
  else
    backward<float>(config, params, args);
}

}  // namespace recur
