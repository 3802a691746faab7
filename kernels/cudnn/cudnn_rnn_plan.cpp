// kernels/cudnn/cudnn_rnn_plan.h: a cached cuDNN RNN shape, its descriptors and weight-space map.
#include "kernels/cudnn/cudnn_rnn_plan.h"

#include <algorithm>
#include <climits>
#include <cstddef>
#include <map>

#include "core/cuda_runtime.h"
#include "kernels/cudnn/cudnn_check.h"
#include "kernels/cudnn/cudnn_handle.h"

namespace recur::cudnn_rnn {

namespace {

cudnnRNNMode_t cudnn_mode(CellKind cell) {
  switch (cell) {
    case CellKind::rnn_tanh:
      return CUDNN_RNN_TANH;
    case CellKind::rnn_relu:
      return CUDNN_RNN_RELU;
    case CellKind::gru:
      return CUDNN_GRU;
    case CellKind::lstm:
      return CUDNN_LSTM;
    case CellKind::leaky:
      break;
  }
  RECUR_FAIL("cuDNN engine: cuDNN has no {} cell (use the fused engine)", cell_name(cell));
}

cudnnRNNAlgo_t cudnn_rnn_algo(CudnnAlgo algo) {
  switch (algo) {
    case CudnnAlgo::standard:
      return CUDNN_RNN_ALGO_STANDARD;
    case CudnnAlgo::persist_static:
      return CUDNN_RNN_ALGO_PERSIST_STATIC;
    case CudnnAlgo::persist_dynamic:
      return CUDNN_RNN_ALGO_PERSIST_DYNAMIC;
    case CudnnAlgo::persist_static_small_h:
      return CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H;
    case CudnnAlgo::auto_:
      break;  // a choice, made per call by cudnn_algorithm_for before a plan is built
  }
  RECUR_FAIL("cuDNN engine: no cuDNN algorithm for '{}'", cudnn_algo_name(algo));
}

void set_tensor_3d(cudnnTensorDescriptor_t desc, cudnnDataType_t dtype, int d0, int d1, int d2) {
  const int dims[3] = {d0, d1, d2};
  const int strides[3] = {d1 * d2, d2, 1};
  RECUR_CUDNN_CHECK(cudnnSetTensorNdDescriptor(desc, dtype, 3, dims, strides));
}

int64_t tensor_numel(cudnnTensorDescriptor_t desc) {
  cudnnDataType_t dtype;
  int rank = 0, dims[8] = {}, strides[8] = {};
  RECUR_CUDNN_CHECK(cudnnGetTensorNdDescriptor(desc, 8, &dtype, &rank, dims, strides));
  int64_t n = 1;
  for (int i = 0; i < rank; ++i) n *= dims[i];
  return n;
}

std::string describe(const PlanKey& k) {
  return fmt::format("cuDNN engine, {} I={} H={}{}{} {} on cuda:{}, B={} T={}, algorithm {}",
                     cell_name(k.cell), k.I, k.H, k.P > 0 ? fmt::format(" P={}", k.P) : "",
                     k.bias ? "" : " without bias", dtype_name(k.dtype), k.device, k.B, k.Tn,
                     cudnn_algo_name(k.algo));
}

}  // namespace

// A failed cuDNN RNN call, named with the plan it ran (`what`).
[[noreturn]] void rnn_call_failed(cudnnStatus_t status, const char* call, const std::string& what,
                                  const char* file, int line) {
  std::string function(call);
  function = function.substr(0, function.find('('));
  const std::string detail = cudnn_last_error();
  const std::string answer =
      fmt::format("{} answered {}{}{}", function, cudnnGetErrorString(status),
                  detail.empty() ? "" : ": ", detail);
  if (cudnn_not_supported(status))
    throw_error(file, line, fmt::format("{}: {} ({})", what, kNotSupported, answer));
  throw_error(file, line, fmt::format("{}: cuDNN call failed ({})", what, answer));
}

int to_int(int64_t value, const char* what) {
  // ASSUMPTION: cuDNN's RNN API counts in int; recur's sizes fit.
  RECUR_CHECK(value >= 0 && value <= INT_MAX, "cuDNN engine: {} is {}, more than cuDNN's int holds",
              what, value);
  return static_cast<int>(value);
}

cudnnDataType_t cudnn_dtype(DType dtype) {
  switch (dtype) {
    case DType::f64:
      return CUDNN_DATA_DOUBLE;
    case DType::bf16:
      return CUDNN_DATA_BFLOAT16;
    case DType::f16:
      return CUDNN_DATA_HALF;
    default:
      return CUDNN_DATA_FLOAT;
  }
}

bool is_16bit(DType dtype) {
  return dtype == DType::bf16 || dtype == DType::f16;
}

Precision precision_of(DType dtype) {
  return dtype == DType::bf16 ? Precision::bf16 : Precision::f16;
}

std::string cudnn_algorithm_limit(CudnnAlgo algo, DType data, const std::vector<int>& lengths,
                                  int64_t T) {
  const bool persistent = algo == CudnnAlgo::persist_static || algo == CudnnAlgo::persist_dynamic;
  const bool varying = std::any_of(lengths.begin(), lengths.end(), [&](int l) { return l != T; });
  if (persistent && varying)
    return fmt::format("{} takes no sequences of different lengths", cudnn_algo_name(algo));
  if (algo == CudnnAlgo::persist_static && data == DType::f64)
    return "persist_static takes no double data";
  return "";
}

Plan::Plan(const PlanKey& k) : key(k), what(describe(k)) {
  cudnnHandle_t handle = cudnn_handle(k.device);
  const cudnnDataType_t dtype = cudnn_dtype(k.dtype);
  const int B = to_int(k.B, "the batch"), H = to_int(k.H, "the hidden size");
  const int S = to_int(k.S(), "the state size");
  // Rate 0: recur applies dropout between layers itself; no RNG states are needed then.
  RECUR_CUDNN_CHECK(cudnnSetDropoutDescriptor(dropout.get(), handle, 0.0f, nullptr, 0, 0));
  // f32: FMA math keeps cuDNN off TF32 tensor cores (recur's f32 is full f32 unless a user opts
  // in). 16-bit data, as PyTorch asks for it: f32 math precision (f16 math makes cuDNN's
  // persistent algorithms NOT_SUPPORTED), tensor-op math for f16, default math for bf16 (the docs
  // name no tensor-op mode there). projSize = hiddenSize means no projection.
  const cudnnMathType_t math = k.dtype == DType::f32   ? CUDNN_FMA_MATH
                               : k.dtype == DType::f16 ? CUDNN_TENSOR_OP_MATH
                                                       : CUDNN_DEFAULT_MATH;
  const cudnnDataType_t math_precision = is_16bit(k.dtype) ? CUDNN_DATA_FLOAT : dtype;
  RECUR_CUDNN_RNN_CHECK(
      cudnnSetRNNDescriptor_v8(rnn.get(), cudnn_rnn_algo(k.algo), cudnn_mode(k.cell),
                               k.bias ? CUDNN_RNN_DOUBLE_BIAS : CUDNN_RNN_NO_BIAS,
                               CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, dtype, math_precision,
                               math, to_int(k.I, "the input size"), H, S, /*numLayers=*/1,
                               dropout.get(), CUDNN_RNN_PADDED_IO_ENABLED),
      what);
  if (k.algo == CudnnAlgo::persist_dynamic) {  // its kernels are built for one batch size
    const cudnnStatus_t built = cudnnBuildRNNDynamic(handle, rnn.get(), B);
    // cuDNN compiles these kernels at run time (NVRTC); a shape it cannot compile is one this
    // algorithm does not support, as far as a caller choosing among algorithms is concerned.
    if (built != CUDNN_STATUS_SUCCESS && !cudnn_not_supported(built))
      RECUR_FAIL("{}: {} (cudnnBuildRNNDynamic answered {}: {})", what, kNotSupported,
                 cudnnGetErrorString(built), cudnn_last_error());
    RECUR_CUDNN_RNN_CHECK(built, what);
  }
  set_tensor_3d(h_desc.get(), dtype, 1, B, S);
  set_tensor_3d(c_desc.get(), dtype, 1, B, H);
  RECUR_CUDNN_RNN_CHECK(cudnnGetRNNWeightSpaceSize(handle, rnn.get(), &weight_bytes), what);
  map_weights(handle);
  const std::vector<int32_t> all(static_cast<size_t>(k.B), to_int(k.Tn, "the sequence length"));
  full_lengths = Tensor::from_vector(all, {k.B}).to(Device::cuda(k.device));
}

void Plan::map_weights(cudnnHandle_t handle) {
  const int64_t es = static_cast<int64_t>(dtype_size(key.dtype));
  const int64_t H = key.H, I = key.I, S = key.S(), gates = cell_gates(key.cell);
  // Addresses are asked for inside a real buffer and kept as offsets.
  Tensor probe =
      Tensor::empty({static_cast<int64_t>(weight_bytes)}, DType::u8, Device::cuda(key.device));
  const auto* base = static_cast<const std::byte*>(probe.raw_data());
  TensorDescriptor desc;
  auto place = [&](int lin, bool matrix, int param, int64_t src, int64_t numel) {
    void* addr = nullptr;
    if (matrix)
      RECUR_CUDNN_RNN_CHECK(cudnnGetRNNWeightParams(handle, rnn.get(), 0, weight_bytes, base, lin,
                                                    desc.get(), &addr, nullptr, nullptr),
                            what);
    else
      RECUR_CUDNN_RNN_CHECK(cudnnGetRNNWeightParams(handle, rnn.get(), 0, weight_bytes, base, lin,
                                                    nullptr, nullptr, desc.get(), &addr),
                            what);
    const char* kind = matrix ? "matrix" : "bias";
    RECUR_CHECK(addr != nullptr, "{}: cuDNN has no {} for linear layer {}", what, kind, lin);
    // ASSUMPTION: each block is our [rows,cols] slice, row-major and whole (PyTorch relies on it
    // too); its size and place are checked, its order is what the parity tests check.
    const int64_t got = tensor_numel(desc.get());
    const int64_t bytes = static_cast<const std::byte*>(addr) - base;
    RECUR_CHECK(got == numel && bytes >= 0 && bytes % es == 0 &&
                    bytes + numel * es <= static_cast<int64_t>(weight_bytes),
                "{}: unexpected {} of linear layer {} in cuDNN's weight space: {} elements at "
                "byte {}, expected {} elements inside {} bytes",
                what, kind, lin, got, bytes, numel, weight_bytes);
    segments.push_back({param, src, bytes / es, numel});
  };
  for (int64_t g = 0; g < gates; ++g) {
    const int lin = static_cast<int>(g), rec = static_cast<int>(gates + g);
    place(lin, true, kWih, g * H * I, H * I);
    place(rec, true, kWhh, g * H * S, H * S);
    if (key.bias) {
      place(lin, false, kBih, g * H, H);
      place(rec, false, kBhh, g * H, H);
    }
  }
  if (key.P > 0) place(8, true, kWhr, 0, key.P * H);  // an LSTM's linear layer 8: W_hr

  std::sort(segments.begin(), segments.end(),
            [](const Segment& a, const Segment& b) { return a.dst < b.dst; });
  std::vector<Segment> merged;
  int64_t covered = 0;
  for (const Segment& s : segments) {
    covered += s.n;
    if (!merged.empty()) {
      Segment& last = merged.back();
      RECUR_CHECK(last.dst + last.n <= s.dst, "{}: two blocks overlap at element {}", what, s.dst);
      if (last.param == s.param && last.src + last.n == s.src && last.dst + last.n == s.dst) {
        last.n += s.n;
        continue;
      }
    }
    merged.push_back(s);
  }
  segments = std::move(merged);
  weights_fill_space = covered * es == static_cast<int64_t>(weight_bytes);
}

void Plan::set_lengths(const std::vector<int>& lengths) {
  const cudnnDataType_t dtype = cudnn_dtype(key.dtype);
  const int B = static_cast<int>(key.B), Tn = static_cast<int>(key.Tn);
  RECUR_CUDNN_CHECK(
      cudnnSetRNNDataDescriptor(x_desc.get(), dtype, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, Tn,
                                B, static_cast<int>(key.I), lengths.data(), &zero_fill_));
  RECUR_CUDNN_CHECK(
      cudnnSetRNNDataDescriptor(y_desc.get(), dtype, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, Tn,
                                B, static_cast<int>(key.S()), lengths.data(), &zero_fill_));
}

std::shared_ptr<Plan> plan_for(const PlanKey& key) {
  constexpr size_t kMaxPlans = 64;
  static std::mutex mutex;
  static std::map<PlanKey, std::shared_ptr<Plan>> plans;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = plans.find(key);
    if (it != plans.end()) return it->second;
  }
  auto plan = std::make_shared<Plan>(key);  // outside the lock: it calls cuDNN, and may throw
  std::lock_guard<std::mutex> lock(mutex);
  if (plans.size() >= kMaxPlans) plans.clear();
  return plans.emplace(key, plan).first->second;
}

}  // namespace recur::cudnn_rnn
