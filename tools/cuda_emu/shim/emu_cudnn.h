// The fake cuDNN's internals, shared by emu_cudnn.cpp (API surface, descriptors, weight-space
// layout, temporary-space sizes), emu_cudnn_math.cpp (the RNN math on the host) and
// emu_cudnn_rnn.cpp (the RNN calls: argument checks, device buffers, reserve space). See README.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cudnn.h"
#include "emu_internal.h"

struct cudnnContext {
  cudaStream_t stream = nullptr;
};
struct cudnnTensorStruct {
  bool set = false;
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
  int nb = 0;
  int dims[CUDNN_DIM_MAX] = {};
  int strides[CUDNN_DIM_MAX] = {};
};
struct cudnnDropoutStruct {
  bool set = false;
  float p = 0;
  void* states = nullptr;
  size_t state_bytes = 0;
  unsigned long long seed = 0;
};
struct cudnnRNNStruct {
  bool set = false;
  cudnnRNNAlgo_t algo = CUDNN_RNN_ALGO_STANDARD;
  cudnnRNNMode_t cell = CUDNN_LSTM;
  cudnnRNNBiasMode_t bias = CUDNN_RNN_DOUBLE_BIAS;
  cudnnDirectionMode_t dir = CUDNN_UNIDIRECTIONAL;
  cudnnRNNInputMode_t input = CUDNN_LINEAR_INPUT;
  cudnnDataType_t type = CUDNN_DATA_FLOAT, prec = CUDNN_DATA_FLOAT;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  int I = 0, H = 0, P = 0, L = 0;
  cudnnDropoutDescriptor_t dropout = nullptr;
  float dropout_p = 0;
  uint32_t aux = 0;
  int built_batch = -1;  // cudnnBuildRNNDynamic's miniBatch since the last cudnnSetRNNDescriptor_v8
  uint64_t serial =
      0;  // changes with every cudnnSetRNNDescriptor_v8 (plans built before it expire)
};
struct cudnnRNNDataStruct {
  bool set = false;
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
  cudnnRNNDataLayout_t layout = CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED;
  int T = 0, B = 0, V = 0;
  std::vector<int> lens;
  bool has_fill = false;
  double fill = 0;  // paddingFill read as the descriptor's data type
};

namespace emu_cudnn {

// Every API function runs under this lock (the fake keeps process-wide registries).
struct ApiLock {
  ApiLock();
  ~ApiLock();
};

// Records a failure: "api: reason" becomes cudnnGetLastErrorString's message, and
// "[emu cudnn] api: STATUS: reason" goes to stderr. Returns s.
cudnnStatus_t fail(cudnnStatus_t s, const char* api, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

bool live_handle(cudnnHandle_t h);
bool live_tensor(cudnnTensorDescriptor_t d);
bool live_dropout(cudnnDropoutDescriptor_t d);
bool live_rnn(cudnnRNNDescriptor_t d);
bool live_data(cudnnRNNDataDescriptor_t d);

size_t dtype_size(cudnnDataType_t t);
const char* dtype_name(cudnnDataType_t t);
bool rnn_dtype(cudnnDataType_t t);  // half, bfloat16, float or double

// ---------------------------------------------------------------- geometry of an RNN descriptor
inline int gates(cudnnRNNMode_t m) {
  return m == CUDNN_LSTM ? 4 : m == CUDNN_GRU ? 3 : 1;
}
inline int dirs(const cudnnRNNStruct& r) {
  return r.dir == CUDNN_BIDIRECTIONAL ? 2 : 1;
}
inline bool has_proj(const cudnnRNNStruct& r) {
  return r.cell == CUDNN_LSTM && r.P < r.H;
}
inline int layer_input(const cudnnRNNStruct& r, int layer) {
  return layer == 0 ? r.I : r.P * dirs(r);
}
// Whether linear layer `lin` (0 .. 2*gates-1) has a bias under the descriptor's bias mode.
inline bool has_bias(const cudnnRNNStruct& r, int lin) {
  const int g = gates(r.cell);
  switch (r.bias) {
    case CUDNN_RNN_DOUBLE_BIAS:
      return lin < 2 * g;
    case CUDNN_RNN_SINGLE_INP_BIAS:
      return lin < g;
    case CUDNN_RNN_SINGLE_REC_BIAS:
      return lin >= g && lin < 2 * g;
    default:
      return false;
  }
}

// One matrix [rows, cols] (row-major) or bias [rows] inside the weight space, in elements.
struct Block {
  size_t off = SIZE_MAX;
  int rows = 0, cols = 0;
  bool exists() const { return off != SIZE_MAX; }
  size_t numel() const { return static_cast<size_t>(rows) * cols; }
};
// The fake's own weight-space layout (README.md): every bias first, then the matrices in a
// shuffled order, each block starting on a 64-byte boundary (gaps between blocks).
struct WeightLayout {
  int pseudo_layers = 0;
  std::vector<Block> mat;   // [pseudoLayer * 9 + linLayerID]
  std::vector<Block> bias;  // [pseudoLayer * 9 + linLayerID] (rows x 1)
  size_t elems = 0, bytes = 0;
  const Block& m(int pl, int lin) const { return mat[static_cast<size_t>(pl) * 9 + lin]; }
  const Block& b(int pl, int lin) const { return bias[static_cast<size_t>(pl) * 9 + lin]; }
};
WeightLayout weight_layout(const cudnnRNNStruct& r);

// The compute type's size: double for double data, float otherwise.
inline size_t compute_size(const cudnnRNNStruct& r) {
  return r.type == CUDNN_DATA_DOUBLE ? 8 : 4;
}
// Values kept per (layer, direction, time step, sequence) in the reserve space.
struct StepSizes {
  size_t fwd = 0;  // gate activations, c, pre-projection h, GRU's R_h h + b_Rh, the output
  size_t bwd = 0;  // gate gradients on the input side and on the recurrent side, d(output)
};
StepSizes step_sizes(const cudnnRNNStruct& r);
constexpr size_t kReserveHeader = 256;
size_t work_space_bytes(const cudnnRNNStruct& r, const cudnnRNNDataStruct& x);
size_t reserve_space_bytes(const cudnnRNNStruct& r, const cudnnRNNDataStruct& x);

// ---------------------------------------------------------------- numbers (emu_cudnn_math.cpp)
uint16_t float_to_half(float f);  // round to nearest even
float half_to_float(uint16_t h);
uint16_t float_to_bf16(float f);  // round to nearest even
float bf16_to_float(uint16_t b);
float tf32(float x);  // x with TF32's 10-bit mantissa (round to nearest even)
// Element i of a buffer of data type t, as a double; and the inverse (rounding to t).
double load(const unsigned char* p, cudnnDataType_t t, size_t i);
void store(unsigned char* p, cudnnDataType_t t, size_t i, double v);
double round_to(cudnnDataType_t t, double v);  // v as data type t holds it

// ---------------------------------------------------------------- the model
enum class Operand { exact, tf32, half };

template <class C>
struct Model {
  const cudnnRNNStruct& r;
  const cudnnRNNDataStruct& xd;
  const WeightLayout wl;
  const int G, D, H, P, L, T, B;
  const bool lstm, gru, proj;
  Operand opr = Operand::exact;
  std::vector<C> w;  // the weight space's values
  size_t fwd_n, bwd_n, fwd_total;
  std::vector<C> res;  // the reserve space's payload: forward region, then backward region

  Model(const cudnnRNNStruct& rnn, const cudnnRNNDataStruct& x)
      : r(rnn),
        xd(x),
        wl(weight_layout(rnn)),
        G(gates(rnn.cell)),
        D(dirs(rnn)),
        H(rnn.H),
        P(rnn.P),
        L(rnn.L),
        T(x.T),
        B(x.B),
        lstm(rnn.cell == CUDNN_LSTM),
        gru(rnn.cell == CUDNN_GRU),
        proj(has_proj(rnn)) {
    // Float data: CUDNN_DEFAULT_MATH and CUDNN_TENSOR_OP_MATH let cuDNN use TF32 tensor cores,
    // ..._ALLOW_CONVERSION converts weights and intermediate results to half, CUDNN_FMA_MATH none.
    if (r.type == CUDNN_DATA_FLOAT) {
      if (r.math == CUDNN_DEFAULT_MATH || r.math == CUDNN_TENSOR_OP_MATH) opr = Operand::tf32;
      if (r.math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) opr = Operand::half;
    }
    const StepSizes s = step_sizes(rnn);
    fwd_n = s.fwd;
    bwd_n = s.bwd;
    const size_t steps = static_cast<size_t>(L) * D * T * B;
    fwd_total = steps * fwd_n;
    res.assign(steps * (fwd_n + bwd_n), C(0));
  }

  // A GEMM operand as the math type has cuDNN read it.
  C gr(C v) const {
    switch (opr) {
      case Operand::tf32:
        return tf32(static_cast<float>(v));
      case Operand::half:
        return half_to_float(float_to_half(static_cast<float>(v)));
      default:
        return v;
    }
  }
  // A value stored (state, output, intermediate) in the data type.
  C st(C v) const { return static_cast<C>(round_to(r.type, v)); }
  // A result computed in the math precision (half math for half data).
  C mp(C v) const { return r.prec == CUDNN_DATA_HALF ? static_cast<C>(round_to(r.prec, v)) : v; }

  size_t step(int l, int d, int t, int b) const {
    return ((static_cast<size_t>(l) * D + d) * T + t) * B + b;
  }
  C* fwd(int l, int d, int t, int b) { return &res[step(l, d, t, b) * fwd_n]; }
  C* bwd(int l, int d, int t, int b) { return &res[fwd_total + step(l, d, t, b) * bwd_n]; }
  // Fields of a forward step: gate activations [G*H], then c [H] and h before the projection
  // [H] (LSTM) or R_h h' + b_Rh [H] (GRU), then the output [P].
  size_t f_c() const { return static_cast<size_t>(G) * H; }
  size_t f_hpre() const { return f_c() + H; }
  size_t f_rh() const { return f_c(); }
  size_t f_out() const { return fwd_n - P; }
  // Fields of a backward step: input-side gate gradients [G*H], recurrent-side [G*H], d(output)
  // [P].
  size_t b_rec() const { return static_cast<size_t>(G) * H; }
  size_t b_out() const { return 2 * static_cast<size_t>(G) * H; }

  // The time step of direction d's k-th step on sequence b, and of the step before it (-1: the
  // initial state).
  int t_of(int d, int k, int b) const { return d == 0 ? k : xd.lens[b] - 1 - k; }
  int t_prev(int d, int k, int b) const { return k == 0 ? -1 : t_of(d, k - 1, b); }

  C bias(int pl, int lin, int j) const {
    const Block& b = wl.b(pl, lin);
    return b.exists() ? w[b.off + j] : C(0);
  }
  // [G*H, in] input matrices, [G*H, P] recurrent ones, [P, H] projection: GEMM operands.
  void operands(int pl, int in, std::vector<C>& Wc, std::vector<C>& Rc, std::vector<C>& Wr) const {
    Wc.resize(static_cast<size_t>(G) * H * in);
    Rc.resize(static_cast<size_t>(G) * H * P);
    for (int g = 0; g < G; ++g) {
      const Block& wm = wl.m(pl, g);
      const Block& rm = wl.m(pl, G + g);
      for (size_t i = 0; i < wm.numel(); ++i) Wc[g * wm.numel() + i] = gr(w[wm.off + i]);
      for (size_t i = 0; i < rm.numel(); ++i) Rc[g * rm.numel() + i] = gr(w[rm.off + i]);
    }
    Wr.clear();
    if (proj) {
      const Block& pm = wl.m(pl, 8);
      Wr.resize(pm.numel());
      for (size_t i = 0; i < pm.numel(); ++i) Wr[i] = gr(w[pm.off + i]);
    }
  }
  std::vector<int> active(int k) const {
    std::vector<int> a;
    for (int b = 0; b < B; ++b)
      if (xd.lens[b] > k) a.push_back(b);
    return a;
  }
};

// ---------------------------------------------------------------- the math (emu_cudnn_math.cpp)
// C is double for double data, float otherwise. Dense time-major arrays: x [T,B,I], y and dy
// [T,B,P*D], states [L*D,B,P] (h) and [L*D,B,H] (c); padded steps are neither read nor written.
// The training forward fills m.res's forward region, which the backward data reads and whose
// backward region it fills; the backward weights reads both and adds into dw (weight-space values).
template <class C>
void run_forward(Model<C>& m, const std::vector<C>& x, const std::vector<C>& hx,
                 const std::vector<C>& cx, std::vector<C>& y, std::vector<C>& hy,
                 std::vector<C>& cy);
template <class C>
void run_backward_data(Model<C>& m, const std::vector<C>& dy, const std::vector<C>& hx,
                       const std::vector<C>& cx, const std::vector<C>& dhy,
                       const std::vector<C>& dcy, std::vector<C>& dx, std::vector<C>& dhx,
                       std::vector<C>& dcx);
template <class C>
void run_backward_weights(Model<C>& m, const std::vector<C>& x, const std::vector<C>& hx,
                          std::vector<C>& dw);

}  // namespace emu_cudnn
