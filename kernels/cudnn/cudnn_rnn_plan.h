// One cuDNN RNN shape, set up once and cached, for the cuDNN engine
// (kernels/cudnn/recurrent_seq_cudnn.cpp): the descriptors of a single-layer unidirectional RNN
// (cudnnSetRNNDescriptor_v8, and cudnnBuildRNNDynamic for persist_dynamic), its padded
// time-major data descriptors, and where PyTorch's parameters sit in its weight space
// (cudnnGetRNNWeightParams: gate g's input matrix is linear layer g and its recurrent matrix
// gates+g, an LSTM's projection is layer 8, each a row-major [rows, cols] block like a PyTorch
// gate slice). Also the checked call of cuDNN's RNN functions, whose NOT_SUPPORTED answers carry
// kNotSupported in their message.
#pragma once

#include <cudnn.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "core/dtype.h"
#include "core/precision.h"
#include "core/tensor.h"
#include "kernels/cell.h"
#include "kernels/cudnn/cudnn_descriptors.h"
#include "kernels/recurrent_engine.h"

namespace recur::cudnn_rnn {

// What the message of a NOT_SUPPORTED error says (an algorithm or shape cuDNN cannot run), which
// callers may test for.
inline constexpr const char* kNotSupported = "not supported by cuDNN";

// A failed cuDNN RNN call, named with the plan it ran (`what`).
[[noreturn]] void rnn_call_failed(cudnnStatus_t status, const char* call, const std::string& what,
                                  const char* file, int line);

// `value` as cuDNN's int; an error naming `what` when it does not fit.
int to_int(int64_t value, const char* what);

// cuDNN's data type for ours (f32, f64, bf16, f16).
cudnnDataType_t cudnn_dtype(DType dtype);
bool is_16bit(DType dtype);
// The precision whose operand type is 16-bit `dtype` (bf16 or f16).
Precision precision_of(DType dtype);

// Why cuDNN's reference refuses algorithm `algo` for a call, "" where it takes it. cudnnRNNForward
// lists as CUDNN_STATUS_BAD_PARAM (not NOT_SUPPORTED) sequences of different lengths with
// persist_static or persist_dynamic, and double data with persist_static. recur checks before
// calling, so a forced algorithm fails with kNotSupported and the reason, and auto runs standard.
// `lengths` [B] each 1..T; `data` cuDNN's data type.
std::string cudnn_algorithm_limit(CudnnAlgo algo, DType data, const std::vector<int>& lengths,
                                  int64_t T);

// Our parameters, in the order of SeqParams / SeqParamGrads.
enum ParamIndex { kWih, kWhh, kBih, kBhh, kWhr, kParamCount };

// n elements of parameter `param` from its element `src` live at element `dst` of the weight space.
struct Segment {
  int param;
  int64_t src, dst, n;
};

// What a plan is built for: one layer direction's sizes (P: projection, 0 for none), its cuDNN
// data type and algorithm, on one GPU, at one batch and sequence length.
struct PlanKey {
  int device;
  CellKind cell;
  int64_t I, H, P;
  bool bias;
  DType dtype;  // cuDNN's data type: the tensors' (f32, f64), or bf16/f16 at a mixed precision
  CudnnAlgo algo;
  int64_t B, Tn;

  int64_t S() const { return P > 0 ? P : H; }
  auto tie() const { return std::tie(device, cell, I, H, P, bias, dtype, algo, B, Tn); }
  bool operator<(const PlanKey& other) const { return tie() < other.tie(); }
};

// Everything about one RNN shape that does not change from call to call: its descriptors and
// where our parameters sit in its weight space.
class Plan {
 public:
  explicit Plan(const PlanKey& key);

  // Sets the data descriptors for one call's lengths ([B], each 1..T).
  void set_lengths(const std::vector<int>& lengths);

  const PlanKey key;
  const std::string what;  // for messages
  std::mutex mutex;        // one call at a time sets and uses the data descriptors
  DropoutDescriptor dropout;
  RnnDescriptor rnn;
  RnnDataDescriptor x_desc, y_desc;
  TensorDescriptor h_desc, c_desc;
  size_t weight_bytes = 0;
  bool weights_fill_space = false;  // the segments cover every byte (no gaps to zero)
  std::vector<Segment> segments;    // sorted by dst, runs merged
  Tensor full_lengths;              // [B] i32 on the GPU, every entry T: the lengths of no lengths

 private:
  void map_weights(cudnnHandle_t handle);
  double zero_fill_ = 0.0;  // cuDNN's padding symbol; its first 4 bytes are also f32 zero
};

// The plan for `key`, built on first use. A training run meets a handful of shapes; past
// kMaxPlans the cache starts over (plans in use stay alive through their shared_ptr).
std::shared_ptr<Plan> plan_for(const PlanKey& key);

}  // namespace recur::cudnn_rnn

// Checks a cuDNN RNN call of the plan described by `what` (rnn_call_failed).
#define RECUR_CUDNN_RNN_CHECK(call, what)                                                        \
  do {                                                                                           \
    cudnnStatus_t recur_rnn_status_ = (call);                                                    \
    if (recur_rnn_status_ != CUDNN_STATUS_SUCCESS)                                               \
      ::recur::cudnn_rnn::rnn_call_failed(recur_rnn_status_, #call, (what), __FILE__, __LINE__); \
  } while (0)
