// The fake cuDNN 9 of the CPU emulation (README.md): handles, errors, tensor / dropout / RNN / RNN
// data descriptors, the weight-space layout (cudnnGetRNNWeightSpaceSize, cudnnGetRNNWeightParams)
// and the temporary-space sizes. The RNN math is emu_cudnn_rnn.cpp. Every rule follows the cuDNN 9
// API reference (cudnn_graph, cudnn_ops and cudnn_adv libraries); where it leaves a case open the
// strict reading is taken and listed in README.md.
#include "emu_cudnn.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

namespace emu_cudnn {

// ---------------------------------------------------------------- locking, errors, registries
// Never destroyed: descriptors owned by static objects (recur's plan cache) are destroyed at exit,
// after any static of this file would be.
static std::recursive_mutex& api_mutex() {
  static auto* m = new std::recursive_mutex;
  return *m;
}
ApiLock::ApiLock() {
  api_mutex().lock();
}
ApiLock::~ApiLock() {
  api_mutex().unlock();
}

static thread_local char t_last_error[2048];  // trivially destructible: usable during exit

cudnnStatus_t fail(cudnnStatus_t s, const char* api, const char* fmt, ...) {
  char reason[1536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  snprintf(t_last_error, sizeof t_last_error, "%s: %s", api, reason);
  fprintf(stderr, "[emu cudnn] %s: %s: %s\n", api, cudnnGetErrorString(s), reason);
  fflush(stderr);
  return s;
}

template <class P>
static std::set<P>& registry() {
  static auto* r = new std::set<P>;
  return *r;
}
bool live_handle(cudnnHandle_t h) {
  return h && registry<cudnnHandle_t>().count(h);
}
bool live_tensor(cudnnTensorDescriptor_t d) {
  return d && registry<cudnnTensorDescriptor_t>().count(d);
}
bool live_dropout(cudnnDropoutDescriptor_t d) {
  return d && registry<cudnnDropoutDescriptor_t>().count(d);
}
bool live_rnn(cudnnRNNDescriptor_t d) {
  return d && registry<cudnnRNNDescriptor_t>().count(d);
}
bool live_data(cudnnRNNDataDescriptor_t d) {
  return d && registry<cudnnRNNDataDescriptor_t>().count(d);
}

template <class P, class S>
static cudnnStatus_t create(const char* api, P* out) {
  if (!out) return fail(CUDNN_STATUS_BAD_PARAM, api, "the output pointer is NULL");
  *out = new S;
  registry<P>().insert(*out);
  return CUDNN_STATUS_SUCCESS;
}
template <class P>
static cudnnStatus_t destroy(const char* api, P d) {
  if (!d) return CUDNN_STATUS_SUCCESS;  // destroying NULL is a no-op
  if (!registry<P>().erase(d))
    return fail(CUDNN_STATUS_BAD_PARAM, api, "%p is not a live descriptor (destroyed twice?)",
                static_cast<void*>(d));
  delete d;
  return CUDNN_STATUS_SUCCESS;
}

size_t dtype_size(cudnnDataType_t t) {
  switch (t) {
    case CUDNN_DATA_DOUBLE:
      return 8;
    case CUDNN_DATA_HALF:
    case CUDNN_DATA_BFLOAT16:
      return 2;
    case CUDNN_DATA_INT8:
    case CUDNN_DATA_UINT8:
    case CUDNN_DATA_BOOLEAN:
    case CUDNN_DATA_FP8_E4M3:
    case CUDNN_DATA_FP8_E5M2:
      return 1;
    case CUDNN_DATA_INT64:
      return 8;
    default:
      return 4;
  }
}
const char* dtype_name(cudnnDataType_t t) {
  switch (t) {
    case CUDNN_DATA_FLOAT:
      return "CUDNN_DATA_FLOAT";
    case CUDNN_DATA_DOUBLE:
      return "CUDNN_DATA_DOUBLE";
    case CUDNN_DATA_HALF:
      return "CUDNN_DATA_HALF";
    case CUDNN_DATA_BFLOAT16:
      return "CUDNN_DATA_BFLOAT16";
    default:
      return "another data type";
  }
}
bool rnn_dtype(cudnnDataType_t t) {
  return t == CUDNN_DATA_FLOAT || t == CUDNN_DATA_DOUBLE || t == CUDNN_DATA_HALF ||
         t == CUDNN_DATA_BFLOAT16;
}

// ---------------------------------------------------------------- weight space, temporary space
static size_t round_up(size_t v, size_t m) {
  return (v + m - 1) / m * m;
}

WeightLayout weight_layout(const cudnnRNNStruct& r) {
  WeightLayout w;
  const int G = gates(r.cell), D = dirs(r);
  w.pseudo_layers = r.L * D;
  w.mat.assign(static_cast<size_t>(w.pseudo_layers) * 9, Block{});
  w.bias.assign(static_cast<size_t>(w.pseudo_layers) * 9, Block{});
  const size_t align = 64 / dtype_size(r.type);  // blocks start on 64-byte boundaries
  size_t cursor = 0;
  auto place = [&](Block& b, int rows, int cols) {
    cursor = round_up(cursor, align);
    b.off = cursor;
    b.rows = rows;
    b.cols = cols;
    cursor += b.numel();
  };
  // Every bias first, the last pseudo-layer's first, each pseudo-layer's last linear layer first.
  for (int pl = w.pseudo_layers - 1; pl >= 0; --pl)
    for (int lin = 2 * G - 1; lin >= 0; --lin)
      if (has_bias(r, lin)) place(w.bias[static_cast<size_t>(pl) * 9 + lin], r.H, 1);
  // Then the matrices: per pseudo-layer the recurrent ones from the last gate to the first, the
  // projection, then the input ones.
  for (int pl = 0; pl < w.pseudo_layers; ++pl) {
    Block* m = &w.mat[static_cast<size_t>(pl) * 9];
    for (int g = G - 1; g >= 0; --g) place(m[G + g], r.H, r.P);
    if (has_proj(r)) place(m[8], r.P, r.H);
    for (int g = 0; g < G; ++g) place(m[g], r.H, layer_input(r, pl / D));
  }
  w.elems = cursor;
  w.bytes = round_up(cursor * dtype_size(r.type), 256);
  return w;
}

StepSizes step_sizes(const cudnnRNNStruct& r) {
  const size_t G = gates(r.cell), H = r.H, P = r.P;
  StepSizes s;
  s.fwd = G * H + (r.cell == CUDNN_LSTM ? 2 * H : 0) + (r.cell == CUDNN_GRU ? H : 0) + P;
  s.bwd = 2 * G * H + (has_proj(r) ? P : 0);
  return s;
}

size_t work_space_bytes(const cudnnRNNStruct& r, const cudnnRNNDataStruct& x) {
  const size_t rows = static_cast<size_t>(x.T) * x.B * dirs(r);
  return round_up(256 + rows * (gates(r.cell) * static_cast<size_t>(r.H) + r.P) * compute_size(r),
                  256);
}

size_t reserve_space_bytes(const cudnnRNNStruct& r, const cudnnRNNDataStruct& x) {
  const StepSizes s = step_sizes(r);
  const size_t steps = static_cast<size_t>(r.L) * dirs(r) * x.T * x.B;
  return round_up(kReserveHeader + steps * (s.fwd + s.bwd) * compute_size(r), 256);
}

}  // namespace emu_cudnn

using namespace emu_cudnn;

extern "C" {

// ---------------------------------------------------------------- cudnn_graph: versions, errors
size_t cudnnGetVersion(void) {
  return CUDNN_VERSION;
}
size_t cudnnGetMaxDeviceVersion(void) {
  return 900;  // sm_90, the emulated H100
}
size_t cudnnGetCudartVersion(void) {
  return CUDART_VERSION;
}

const char* cudnnGetErrorString(cudnnStatus_t s) {
  switch (s) {
#define NAME(x) \
  case x:       \
    return #x;
    NAME(CUDNN_STATUS_SUCCESS)
    NAME(CUDNN_STATUS_NOT_INITIALIZED)
    NAME(CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH)
    NAME(CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH)
    NAME(CUDNN_STATUS_DEPRECATED)
    NAME(CUDNN_STATUS_LICENSE_ERROR)
    NAME(CUDNN_STATUS_RUNTIME_IN_PROGRESS)
    NAME(CUDNN_STATUS_RUNTIME_FP_OVERFLOW)
    NAME(CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED)
    NAME(CUDNN_STATUS_BAD_PARAM)
    NAME(CUDNN_STATUS_INVALID_VALUE)
    NAME(CUDNN_STATUS_BAD_PARAM_NULL_POINTER)
    NAME(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER)
    NAME(CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED)
    NAME(CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND)
    NAME(CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT)
    NAME(CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH)
    NAME(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH)
    NAME(CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES)
    NAME(CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE)
    NAME(CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH)
    NAME(CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE)
    NAME(CUDNN_STATUS_NOT_SUPPORTED)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_SHAPE)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_LAYOUT)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_PADDING)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API)
    NAME(CUDNN_STATUS_INTERNAL_ERROR)
    NAME(CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED)
    NAME(CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE)
    NAME(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED)
    NAME(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
    NAME(CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM)
    NAME(CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED)
    NAME(CUDNN_STATUS_EXECUTION_FAILED)
    NAME(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER)
    NAME(CUDNN_STATUS_EXECUTION_FAILED_CUBLAS)
    NAME(CUDNN_STATUS_EXECUTION_FAILED_CUDART)
    NAME(CUDNN_STATUS_EXECUTION_FAILED_CURAND)
#undef NAME
  }
  return "CUDNN_STATUS_UNKNOWN";
}

// The message of this thread's last failure, NUL-terminated and cut to max_size bytes.
void cudnnGetLastErrorString(char* message, size_t max_size) {
  if (!message || max_size == 0) return;
  snprintf(message, max_size, "%s", t_last_error);
}

cudnnStatus_t cudnnCreate(cudnnHandle_t* handle) {
  ApiLock lock;
  return create<cudnnHandle_t, cudnnContext>("cudnnCreate", handle);
}
cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) {
  ApiLock lock;
  return destroy("cudnnDestroy", handle);
}
// The stream must be one the emulated runtime knows (the legacy stream or a live one).
cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId) {
  ApiLock lock;
  if (!live_handle(handle)) return fail(CUDNN_STATUS_BAD_PARAM, "cudnnSetStream", "invalid handle");
  if (!emu::stream_ok(streamId, "cudnnSetStream"))
    return fail(CUDNN_STATUS_BAD_PARAM, "cudnnSetStream", "stream %p is not a live CUDA stream",
                static_cast<void*>(streamId));
  handle->stream = streamId;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetStream(cudnnHandle_t handle, cudaStream_t* streamId) {
  ApiLock lock;
  if (!live_handle(handle) || !streamId)
    return fail(CUDNN_STATUS_BAD_PARAM, "cudnnGetStream", "invalid handle or NULL output");
  *streamId = handle->stream;
  return CUDNN_STATUS_SUCCESS;
}

// ---------------------------------------------------------------- tensor descriptors
cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* d) {
  ApiLock lock;
  return create<cudnnTensorDescriptor_t, cudnnTensorStruct>("cudnnCreateTensorDescriptor", d);
}
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d) {
  ApiLock lock;
  return destroy("cudnnDestroyTensorDescriptor", d);
}
// Strict reading: cuDNN documents nbDims in [4, CUDNN_DIM_MAX] for this call but requires 3-D
// descriptors for the RNN hidden and cell states, so 3..8 dimensions are accepted; every dimension
// and stride must be positive; a failed call leaves the descriptor unset.
cudnnStatus_t cudnnSetTensorNdDescriptor(cudnnTensorDescriptor_t d, cudnnDataType_t dataType,
                                         int nbDims, const int dimA[], const int strideA[]) {
  ApiLock lock;
  const char* api = "cudnnSetTensorNdDescriptor";
  if (!live_tensor(d)) return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid tensor descriptor");
  d->set = false;
  if (!dimA || !strideA) return fail(CUDNN_STATUS_BAD_PARAM, api, "dimA or strideA is NULL");
  if (dataType < CUDNN_DATA_FLOAT || dataType > CUDNN_DATA_FAST_FLOAT_FOR_FP8)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid data type %d", static_cast<int>(dataType));
  if (nbDims < 3 || nbDims > CUDNN_DIM_MAX)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, api, "nbDims %d outside [3, %d]", nbDims,
                CUDNN_DIM_MAX);
  long long elems = 1;
  for (int i = 0; i < nbDims; ++i) {
    if (dimA[i] <= 0 || strideA[i] <= 0)
      return fail(CUDNN_STATUS_BAD_PARAM, api, "dimA[%d] = %d, strideA[%d] = %d (must be > 0)", i,
                  dimA[i], i, strideA[i]);
    elems *= dimA[i];
  }
  if (elems > (1LL << 31))
    return fail(CUDNN_STATUS_NOT_SUPPORTED, api, "%lld elements, more than 2^31", elems);
  d->type = dataType;
  d->nb = nbDims;
  for (int i = 0; i < nbDims; ++i) {
    d->dims[i] = dimA[i];
    d->strides[i] = strideA[i];
  }
  d->set = true;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetTensorNdDescriptor(const cudnnTensorDescriptor_t d, int nbDimsRequested,
                                         cudnnDataType_t* dataType, int* nbDims, int dimA[],
                                         int strideA[]) {
  ApiLock lock;
  const char* api = "cudnnGetTensorNdDescriptor";
  if (!live_tensor(d) || !d->set)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid or unset tensor descriptor");
  if (nbDimsRequested < 0 || !dataType || !nbDims || (nbDimsRequested > 0 && (!dimA || !strideA)))
    return fail(CUDNN_STATUS_BAD_PARAM, api, "bad output arguments");
  *dataType = d->type;
  *nbDims = d->nb;
  for (int i = 0; i < std::min(nbDimsRequested, d->nb); ++i) {
    dimA[i] = d->dims[i];
    strideA[i] = d->strides[i];
  }
  return CUDNN_STATUS_SUCCESS;
}

// ---------------------------------------------------------------- dropout descriptors
constexpr size_t kDropoutStates = 64 << 10;

cudnnStatus_t cudnnCreateDropoutDescriptor(cudnnDropoutDescriptor_t* d) {
  ApiLock lock;
  return create<cudnnDropoutDescriptor_t, cudnnDropoutStruct>("cudnnCreateDropoutDescriptor", d);
}
cudnnStatus_t cudnnDestroyDropoutDescriptor(cudnnDropoutDescriptor_t d) {
  ApiLock lock;
  return destroy("cudnnDestroyDropoutDescriptor", d);
}
cudnnStatus_t cudnnDropoutGetStatesSize(cudnnHandle_t handle, size_t* sizeInBytes) {
  ApiLock lock;
  if (!live_handle(handle) || !sizeInBytes)
    return fail(CUDNN_STATUS_BAD_PARAM, "cudnnDropoutGetStatesSize", "invalid handle or output");
  *sizeInBytes = kDropoutStates;
  return CUDNN_STATUS_SUCCESS;
}
// Rate in [0, 1). A rate of 0 needs no random-number states (states may be NULL, as PyTorch and
// TensorFlow pass them); a positive rate needs cudnnDropoutGetStatesSize bytes of device memory,
// which the call initialises (here: overwrites).
cudnnStatus_t cudnnSetDropoutDescriptor(cudnnDropoutDescriptor_t d, cudnnHandle_t handle,
                                        float dropout, void* states, size_t stateSizeInBytes,
                                        unsigned long long seed) {
  ApiLock lock;
  const char* api = "cudnnSetDropoutDescriptor";
  if (!live_dropout(d)) return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid dropout descriptor");
  if (!live_handle(handle)) return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid handle");
  d->set = false;
  if (!(dropout >= 0.0f && dropout < 1.0f))
    return fail(CUDNN_STATUS_BAD_PARAM, api, "dropout rate %g outside [0, 1)", dropout);
  if (dropout > 0.0f) {
    if (!states || stateSizeInBytes < kDropoutStates)
      return fail(CUDNN_STATUS_BAD_PARAM, api,
                  "dropout %g needs %zu bytes of states (cudnnDropoutGetStatesSize), got %zu at %p",
                  dropout, kDropoutStates, stateSizeInBytes, states);
    if (!emu::check_range(states, stateSizeInBytes, true, "cudnnSetDropoutDescriptor states"))
      return fail(CUDNN_STATUS_BAD_PARAM, api, "states are not device memory of that size");
    if (cudaMemsetAsync(states, 0x5A, stateSizeInBytes, handle->stream) != cudaSuccess)
      return fail(CUDNN_STATUS_EXECUTION_FAILED, api, "could not initialise the states");
  }
  d->p = dropout;
  d->states = states;
  d->state_bytes = stateSizeInBytes;
  d->seed = seed;
  d->set = true;
  return CUDNN_STATUS_SUCCESS;
}

// ---------------------------------------------------------------- RNN descriptors
cudnnStatus_t cudnnCreateRNNDescriptor(cudnnRNNDescriptor_t* d) {
  ApiLock lock;
  return create<cudnnRNNDescriptor_t, cudnnRNNStruct>("cudnnCreateRNNDescriptor", d);
}
cudnnStatus_t cudnnDestroyRNNDescriptor(cudnnRNNDescriptor_t d) {
  ApiLock lock;
  return destroy("cudnnDestroyRNNDescriptor", d);
}

cudnnStatus_t cudnnSetRNNDescriptor_v8(cudnnRNNDescriptor_t d, cudnnRNNAlgo_t algo,
                                       cudnnRNNMode_t cellMode, cudnnRNNBiasMode_t biasMode,
                                       cudnnDirectionMode_t dirMode, cudnnRNNInputMode_t inputMode,
                                       cudnnDataType_t dataType, cudnnDataType_t mathPrec,
                                       cudnnMathType_t mathType, int32_t inputSize,
                                       int32_t hiddenSize, int32_t projSize, int32_t numLayers,
                                       cudnnDropoutDescriptor_t dropoutDesc, uint32_t auxFlags) {
  ApiLock lock;
  const char* api = "cudnnSetRNNDescriptor_v8";
  static uint64_t serial = 0;
  if (!live_rnn(d)) return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid RNN descriptor");
  d->set = false;  // a failed call leaves the descriptor unusable
  d->serial = ++serial;
  d->built_batch = -1;
  if (algo < CUDNN_RNN_ALGO_STANDARD || algo > CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid algo %d", static_cast<int>(algo));
  if (cellMode < CUDNN_RNN_RELU || cellMode > CUDNN_GRU)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid cellMode %d", static_cast<int>(cellMode));
  if (biasMode < CUDNN_RNN_NO_BIAS || biasMode > CUDNN_RNN_SINGLE_REC_BIAS)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid biasMode %d", static_cast<int>(biasMode));
  if (dirMode != CUDNN_UNIDIRECTIONAL && dirMode != CUDNN_BIDIRECTIONAL)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid dirMode %d", static_cast<int>(dirMode));
  if (inputMode == CUDNN_SKIP_INPUT)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, api,
                "CUDNN_SKIP_INPUT is not emulated (only CUDNN_LINEAR_INPUT)");
  if (inputMode != CUDNN_LINEAR_INPUT)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid inputMode %d", static_cast<int>(inputMode));
  if (!rnn_dtype(dataType))
    return fail(CUDNN_STATUS_BAD_PARAM, api, "dataType %d is not half, bfloat16, float or double",
                static_cast<int>(dataType));
  // mathPrec: half data computes in half or float, float in float, double in double; bfloat16
  // (not in the list) as PyTorch runs it, in float.
  const bool prec_ok = dataType == CUDNN_DATA_HALF
                           ? (mathPrec == CUDNN_DATA_HALF || mathPrec == CUDNN_DATA_FLOAT)
                       : dataType == CUDNN_DATA_BFLOAT16 ? mathPrec == CUDNN_DATA_FLOAT
                                                         : mathPrec == dataType;
  if (!prec_ok)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "mathPrec %s is not allowed with dataType %s",
                dtype_name(mathPrec), dtype_name(dataType));
  if (mathType < CUDNN_DEFAULT_MATH || mathType > CUDNN_FMA_MATH)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid mathType %d", static_cast<int>(mathType));
  if (dataType == CUDNN_DATA_DOUBLE && mathType != CUDNN_DEFAULT_MATH && mathType != CUDNN_FMA_MATH)
    return fail(CUDNN_STATUS_BAD_PARAM, api,
                "double data allows CUDNN_DEFAULT_MATH (or CUDNN_FMA_MATH), got mathType %d",
                static_cast<int>(mathType));
  if (inputSize <= 0 || hiddenSize <= 0 || numLayers <= 0)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "inputSize %d, hiddenSize %d, numLayers %d", inputSize,
                hiddenSize, numLayers);
  if (projSize <= 0 || projSize > hiddenSize)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "projSize %d outside [1, hiddenSize %d]", projSize,
                hiddenSize);
  if (projSize < hiddenSize && cellMode != CUDNN_LSTM)
    return fail(CUDNN_STATUS_BAD_PARAM, api,
                "the recurrent projection (projSize %d < hiddenSize %d) is for LSTM cells only",
                projSize, hiddenSize);
  if (projSize < hiddenSize && algo != CUDNN_RNN_ALGO_STANDARD)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, api,
                "the recurrent projection is supported by CUDNN_RNN_ALGO_STANDARD only (algo %d)",
                static_cast<int>(algo));
  if (algo != CUDNN_RNN_ALGO_STANDARD && dataType == CUDNN_DATA_HALF && mathPrec == CUDNN_DATA_HALF)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, api,
                "persistent algorithms with half data need CUDNN_DATA_FLOAT math precision");
  if (auxFlags & ~static_cast<uint32_t>(CUDNN_RNN_PADDED_IO_ENABLED))
    return fail(CUDNN_STATUS_BAD_PARAM, api, "unknown auxFlags bits 0x%x", auxFlags);
  if (!live_dropout(dropoutDesc) || !dropoutDesc->set)
    return fail(CUDNN_STATUS_BAD_PARAM, api,
                "dropoutDesc must be a created and initialised dropout descriptor (got %p)",
                static_cast<void*>(dropoutDesc));
  if (dropoutDesc->p > 0.0f && numLayers > 1)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, api,
                "dropout %g between layers is not emulated (rate 0 only)", dropoutDesc->p);
  d->algo = algo;
  d->cell = cellMode;
  d->bias = biasMode;
  d->dir = dirMode;
  d->input = inputMode;
  d->type = dataType;
  d->prec = mathPrec;
  d->math = mathType;
  d->I = inputSize;
  d->H = hiddenSize;
  d->P = projSize;
  d->L = numLayers;
  d->dropout = dropoutDesc;
  d->dropout_p = dropoutDesc->p;
  d->aux = auxFlags;
  d->set = true;
  return CUDNN_STATUS_SUCCESS;
}

// Compiles (here: records) the PERSIST_DYNAMIC kernels for exactly miniBatch sequences; a no-op
// for the other algorithms.
cudnnStatus_t cudnnBuildRNNDynamic(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc,
                                   int miniBatch) {
  ApiLock lock;
  const char* api = "cudnnBuildRNNDynamic";
  if (!live_handle(handle)) return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid handle");
  if (!live_rnn(rnnDesc) || !rnnDesc->set)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid or unset RNN descriptor");
  if (miniBatch <= 0) return fail(CUDNN_STATUS_BAD_PARAM, api, "miniBatch %d <= 0", miniBatch);
  if (rnnDesc->algo != CUDNN_RNN_ALGO_PERSIST_DYNAMIC) return CUDNN_STATUS_SUCCESS;
  rnnDesc->built_batch = miniBatch;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetRNNWeightSpaceSize(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc,
                                         size_t* weightSpaceSize) {
  ApiLock lock;
  const char* api = "cudnnGetRNNWeightSpaceSize";
  if (!live_handle(handle)) return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid handle");
  if (!live_rnn(rnnDesc) || !rnnDesc->set)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid or unset RNN descriptor");
  if (!weightSpaceSize) return fail(CUDNN_STATUS_BAD_PARAM, api, "weightSpaceSize is NULL");
  *weightSpaceSize = weight_layout(*rnnDesc).bytes;
  return CUDNN_STATUS_SUCCESS;
}

namespace {
void describe_block(cudnnTensorDescriptor_t desc, cudnnDataType_t type, const Block& b,
                    bool matrix) {
  desc->type = type;
  desc->set = true;
  if (!b.exists()) {  // "the reported number of tensor dimensions is zero"
    desc->nb = 0;
    return;
  }
  desc->nb = 3;
  desc->dims[0] = 1;
  desc->dims[1] = b.rows;
  desc->dims[2] = matrix ? b.cols : 1;
  desc->strides[0] = b.rows * desc->dims[2];
  desc->strides[1] = desc->dims[2];
  desc->strides[2] = 1;
}
}  // namespace

// linLayerID: RELU/TANH 0 (input) and 1 (recurrent); GRU 0-2 input r, z (cuDNN's i), h~ and 3-5
// recurrent; LSTM 0-3 input i, f, c~ (g), o, 4-7 recurrent, 8 the projection (no bias; with the
// projection disabled it exists nowhere: NULL address, 0 dimensions). Strict reading: the doc
// names "negative or larger than 8" as an example of BAD_PARAM; an ID the cell has no linear layer
// for (GRU 6-8, RELU/TANH 2-8) is refused too.
cudnnStatus_t cudnnGetRNNWeightParams(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc,
                                      int32_t pseudoLayer, size_t weightSpaceSize,
                                      const void* weightSpace, int32_t linLayerID,
                                      cudnnTensorDescriptor_t mDesc, void** mAddr,
                                      cudnnTensorDescriptor_t bDesc, void** bAddr) {
  ApiLock lock;
  const char* api = "cudnnGetRNNWeightParams";
  if (!live_handle(handle)) return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid handle");
  if (!live_rnn(rnnDesc) || !rnnDesc->set)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid or unset RNN descriptor");
  const cudnnRNNStruct& r = *rnnDesc;
  const WeightLayout w = weight_layout(r);
  if (pseudoLayer < 0 || pseudoLayer >= w.pseudo_layers)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "pseudoLayer %d outside [0, %d)", pseudoLayer,
                w.pseudo_layers);
  const int G = gates(r.cell);
  const int last = r.cell == CUDNN_LSTM ? 8 : 2 * G - 1;
  if (linLayerID < 0 || linLayerID > last)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "linLayerID %d outside [0, %d] for cell mode %d",
                linLayerID, last, static_cast<int>(r.cell));
  if (weightSpaceSize < w.bytes)
    return fail(CUDNN_STATUS_BAD_PARAM, api,
                "weightSpaceSize %zu is less than cudnnGetRNNWeightSpaceSize's %zu",
                weightSpaceSize, w.bytes);
  if (!weightSpace) return fail(CUDNN_STATUS_BAD_PARAM, api, "weightSpace is NULL");
  if (!emu::check_range(weightSpace, weightSpaceSize, true, "cudnnGetRNNWeightParams weightSpace"))
    return fail(CUDNN_STATUS_BAD_PARAM, api,
                "weightSpace is not device memory of weightSpaceSize bytes");
  if ((mDesc && !live_tensor(mDesc)) || (bDesc && !live_tensor(bDesc)))
    return fail(CUDNN_STATUS_BAD_PARAM, api, "mDesc or bDesc is not a live tensor descriptor");
  const Block& m = w.m(pseudoLayer, linLayerID);
  const Block& b = w.b(pseudoLayer, linLayerID);
  const size_t es = dtype_size(r.type);
  auto addr = [&](const Block& blk) -> void* {
    if (!blk.exists()) return nullptr;
    return const_cast<unsigned char*>(static_cast<const unsigned char*>(weightSpace) +
                                      blk.off * es);
  };
  if (mDesc) describe_block(mDesc, r.type, m, true);
  if (mAddr) *mAddr = addr(m);
  if (bDesc) describe_block(bDesc, r.type, b, false);
  if (bAddr) *bAddr = addr(b);
  return CUDNN_STATUS_SUCCESS;
}

// The NULL pointer of a size not needed is allowed. Inference needs no reserve space (0).
cudnnStatus_t cudnnGetRNNTempSpaceSizes(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc,
                                        cudnnForwardMode_t fwdMode, cudnnRNNDataDescriptor_t xDesc,
                                        size_t* workSpaceSize, size_t* reserveSpaceSize) {
  ApiLock lock;
  const char* api = "cudnnGetRNNTempSpaceSizes";
  if (!live_handle(handle)) return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid handle");
  if (!live_rnn(rnnDesc) || !rnnDesc->set)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid or unset RNN descriptor");
  if (fwdMode != CUDNN_FWD_MODE_INFERENCE && fwdMode != CUDNN_FWD_MODE_TRAINING)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid fwdMode %d", static_cast<int>(fwdMode));
  if (!live_data(xDesc) || !xDesc->set)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid or unset RNN data descriptor xDesc");
  if (xDesc->type != rnnDesc->type || xDesc->V != rnnDesc->I)
    return fail(CUDNN_STATUS_BAD_PARAM, api,
                "xDesc (%s, vectorSize %d) does not match the RNN (%s, inputSize %d)",
                dtype_name(xDesc->type), xDesc->V, dtype_name(rnnDesc->type), rnnDesc->I);
  if (workSpaceSize) *workSpaceSize = work_space_bytes(*rnnDesc, *xDesc);
  if (reserveSpaceSize)
    *reserveSpaceSize =
        fwdMode == CUDNN_FWD_MODE_TRAINING ? reserve_space_bytes(*rnnDesc, *xDesc) : 0;
  return CUDNN_STATUS_SUCCESS;
}

// ---------------------------------------------------------------- RNN data descriptors
cudnnStatus_t cudnnCreateRNNDataDescriptor(cudnnRNNDataDescriptor_t* d) {
  ApiLock lock;
  return create<cudnnRNNDataDescriptor_t, cudnnRNNDataStruct>("cudnnCreateRNNDataDescriptor", d);
}
cudnnStatus_t cudnnDestroyRNNDataDescriptor(cudnnRNNDataDescriptor_t d) {
  ApiLock lock;
  return destroy("cudnnDestroyRNNDataDescriptor", d);
}

// seqLengthArray (host memory, batchSize entries) each in [0, maxSeqLength]; the packed layout
// needs them in non-increasing order with maxSeqLength equal to the greatest (strict reading of
// "should"). paddingFill (host memory, read as dataType) or NULL (padding left undefined: NaN).
cudnnStatus_t cudnnSetRNNDataDescriptor(cudnnRNNDataDescriptor_t d, cudnnDataType_t dataType,
                                        cudnnRNNDataLayout_t layout, int maxSeqLength,
                                        int batchSize, int vectorSize, const int seqLengthArray[],
                                        void* paddingFill) {
  ApiLock lock;
  const char* api = "cudnnSetRNNDataDescriptor";
  if (!live_data(d)) return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid RNN data descriptor");
  d->set = false;
  if (!rnn_dtype(dataType))
    return fail(CUDNN_STATUS_BAD_PARAM, api, "dataType %d is not half, bfloat16, float or double",
                static_cast<int>(dataType));
  if (layout < CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED ||
      layout > CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid layout %d", static_cast<int>(layout));
  if (maxSeqLength <= 0 || batchSize <= 0 || vectorSize <= 0)
    return fail(CUDNN_STATUS_BAD_PARAM, api, "maxSeqLength %d, batchSize %d, vectorSize %d",
                maxSeqLength, batchSize, vectorSize);
  if (!seqLengthArray) return fail(CUDNN_STATUS_BAD_PARAM, api, "seqLengthArray is NULL");
  if (!emu::check_range(seqLengthArray, sizeof(int) * batchSize, false,
                        "cudnnSetRNNDataDescriptor seqLengthArray"))
    return fail(CUDNN_STATUS_BAD_PARAM, api, "seqLengthArray must be in host memory");
  int longest = 0;
  for (int b = 0; b < batchSize; ++b) {
    const int len = seqLengthArray[b];
    if (len < 0 || len > maxSeqLength)
      return fail(CUDNN_STATUS_BAD_PARAM, api, "seqLengthArray[%d] = %d outside [0, %d]", b, len,
                  maxSeqLength);
    if (layout == CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED && b > 0 && len > seqLengthArray[b - 1])
      return fail(CUDNN_STATUS_BAD_PARAM, api,
                  "the packed layout needs lengths in descending order (seqLengthArray[%d] = %d > "
                  "seqLengthArray[%d] = %d)",
                  b, len, b - 1, seqLengthArray[b - 1]);
    longest = std::max(longest, len);
  }
  if (layout == CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED && longest != maxSeqLength)
    return fail(CUDNN_STATUS_BAD_PARAM, api,
                "packed layout: maxSeqLength %d is not the greatest length %d", maxSeqLength,
                longest);
  d->has_fill = paddingFill != nullptr;
  d->fill = 0;
  if (paddingFill) {
    if (!emu::check_range(paddingFill, dtype_size(dataType), false,
                          "cudnnSetRNNDataDescriptor paddingFill"))
      return fail(CUDNN_STATUS_BAD_PARAM, api, "paddingFill must be in host memory");
    switch (dataType) {
      case CUDNN_DATA_DOUBLE:
        d->fill = *static_cast<const double*>(paddingFill);
        break;
      case CUDNN_DATA_FLOAT:
        d->fill = *static_cast<const float*>(paddingFill);
        break;
      default: {  // half / bfloat16 bits
        uint16_t bits;
        memcpy(&bits, paddingFill, 2);
        uint32_t u;
        if (dataType == CUDNN_DATA_BFLOAT16) {
          u = static_cast<uint32_t>(bits) << 16;
          float f;
          memcpy(&f, &u, 4);
          d->fill = f;
        } else {
          const int e = (bits >> 10) & 31, m = bits & 1023;
          const double sign = (bits & 0x8000) ? -1.0 : 1.0;
          d->fill = e == 0    ? sign * m * std::ldexp(1.0, -24)
                    : e == 31 ? (m ? NAN : sign * INFINITY)
                              : sign * (1024 + m) * std::ldexp(1.0, e - 25);
        }
      }
    }
  }
  d->type = dataType;
  d->layout = layout;
  d->T = maxSeqLength;
  d->B = batchSize;
  d->V = vectorSize;
  d->lens.assign(seqLengthArray, seqLengthArray + batchSize);
  d->set = true;
  return CUDNN_STATUS_SUCCESS;
}

}  // extern "C"
