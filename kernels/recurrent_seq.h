// One direction of one recurrent layer over a whole sequence: the unit the engines implement.
// The Recurrent layer (layers/recurrent.h) stacks layers and directions on top of it.
//
// Forward: the input projection of all T steps as one GEMM, then per step the recurrent GEMM and
// the fused pointwise cell step (kernels/cell_step.h); for an LSTM with projection, one more GEMM
// h = W_hr m. Backward runs the steps in reverse with one pointwise step and the recurrent GEMMs,
// then forms the weight gradients as large GEMMs over all steps after the loop.
//
// Shapes: B batch, T time, I input, H hidden, S state (H, or P with projection), G gate rows.
#pragma once

#include <cstdint>
#include <string>

#include "core/precision.h"
#include "core/tensor.h"
#include "kernels/cell.h"

namespace recur {

struct SeqConfig {
  CellKind cell = CellKind::lstm;
  int64_t input_size = 0;   // I
  int64_t hidden_size = 0;  // H
  int64_t proj_size = 0;    // P (lstm only); 0: no projection, S = H
  bool reverse = false;     // run from each sequence's last valid step back to t = 0
  // Math precision of the GEMMs (core/precision.h): bf16/f16 round their operands and need f32
  // tensors; states, cell state and gate math stay f32.
  Precision precision = Precision::f32;
  int64_t state_size() const { return proj_size > 0 ? proj_size : hidden_size; }
  int64_t gate_rows() const { return cell_gates(cell) * hidden_size; }
};

// Weights of one direction, PyTorch layout. Biases may be undefined (bias=False).
struct SeqParams {
  Tensor w_ih;  // [G,I]
  Tensor w_hh;  // [G,S]
  Tensor b_ih;  // [G] or undefined
  Tensor b_hh;  // [G] or undefined
  Tensor w_hr;  // [P,H] lstm projection, or undefined
  Tensor leak;  // [H] leaky, or undefined
};

// Gradients of SeqParams, accumulated (+=). Undefined members are not computed.
struct SeqParamGrads {
  Tensor w_ih, w_hh, b_ih, b_hh, w_hr, leak;
};

// What the training forward keeps for backward, indexed by processing step s (t = s forward,
// t = T-1-s reverse). Allocated by recurrent_seq_fwd when requested.
struct SeqSaved {
  Tensor cache;  // [T,B,W] cell activations (W = cell_cache_blocks * H)
  Tensor hs;     // [T+1,B,S] state before step s (hs[0] = h0), and the last state
  Tensor cs;     // [T+1,B,H] lstm cell states
  Tensor ms;     // [T,B,H] lstm with projection: m = o tanh(c) (zero at padded steps)

  // What the cuDNN engine keeps instead of the above (kernels/cudnn/recurrent_seq_cudnn.cpp).
  struct Cudnn {
    Tensor reserve;       // cuDNN's reserve space from the training forward (u8, GPU), or
                          // undefined when cuDNN asked for none; the backward writes into it
    Tensor weight_space;  // the packed weights the forward ran with (u8, GPU)
    Tensor y;             // [T,B,S] cuDNN's time-major output, in processing order
    Tensor h0;            // [B,S] the initial state (zeros where none was given)
    Tensor c0;            // [B,H] lstm
    Tensor lengths;       // [B] i32 on the host: the lengths the forward's descriptors held
    int algo = -1;        // the CudnnAlgo the forward ran with; -1: no cuDNN training forward
  } cudnn;
};

struct SeqForward {
  const Tensor* x = nullptr;  // [B,T,I] contiguous
  Tensor h0;                  // [B,S] or undefined (zeros)
  Tensor c0;                  // [B,H] lstm, or undefined (zeros)
  Tensor lengths;             // [B] i64 in [1,T], or undefined (all T)
  Tensor lengths_host;        // optional: the same values on the CPU, for an engine that needs
                              //   them on the host (cuDNN's descriptors) without a read-back
  Tensor y;                   // [B,T,Y] contiguous; this direction writes columns
  int64_t y_col = 0;          //   [y_col, y_col+S), zero at padded steps
  Tensor h_n;                 // [B,S] contiguous: state at each sequence's end
  Tensor c_n;                 // [B,H] lstm
  SeqSaved* saved = nullptr;  // filled for training; null for inference
};

struct SeqBackward {
  const Tensor* x = nullptr;        // [B,T,I] the forward's input
  Tensor lengths;                   // as in the forward
  const SeqSaved* saved = nullptr;  // from the training forward
  Tensor dy;                        // [B,T,Y] or undefined; columns [dy_col, dy_col+S) are ours
  int64_t dy_col = 0;
  Tensor dh_n;  // [B,S] or undefined
  Tensor dc_n;  // [B,H] or undefined
  Tensor dx;    // [B,T,I] accumulated (+=), or undefined (not needed)
  Tensor dh0;   // [B,S] written, or undefined
  Tensor dc0;   // [B,H] written, or undefined
  SeqParamGrads grads;
};

// CPU reference engine, f32 and f64 (the dtype of x and the weights); bf16/f16 math emulated.
void recurrent_seq_fwd_ref(const SeqConfig& config, const SeqParams& params, SeqForward& args);
void recurrent_seq_bwd_ref(const SeqConfig& config, const SeqParams& params, SeqBackward& args);

#if RECUR_WITH_CUDA
// Fused CUDA engine, f32 and f64, and bf16/f16 math on tensor cores: every tensor on one GPU;
// queued on its recur stream (kernels/cuda/recurrent_seq_fused.cpp).
void recurrent_seq_fwd_fused(const SeqConfig& config, const SeqParams& params, SeqForward& args);
void recurrent_seq_bwd_fused(const SeqConfig& config, const SeqParams& params, SeqBackward& args);

// Persistent CUDA engine, lstm and gru in f32 without projection (kernels/cuda/
// recurrent_seq_persistent.cpp): the forward is ONE cooperative kernel for all T steps
// (kernels/cuda/persistent_rnn.h) and saves exactly what the fused forward saves; the backward is
// one cooperative kernel too (W_hh's column slices on-chip), then the weight-gradient GEMMs. It
// runs on a fused forward's saved tensors as well; where only its staging does not fit, it runs
// the fused backward (logged once). A call whose H and B do not fit the GPU throws recur::Error
// containing "persistent engine cannot run" and the reason.
void recurrent_seq_fwd_persistent(const SeqConfig& config, const SeqParams& params,
                                  SeqForward& args);
void recurrent_seq_bwd_persistent(const SeqConfig& config, const SeqParams& params,
                                  SeqBackward& args);
// Why the persistent engine cannot run `config` on tensors of (device, dtype) whatever the batch
// (cell, projection, dtype, device kind; asks no GPU); empty when it can.
std::string persistent_config_reason(const SeqConfig& config, Device device, DType dtype);
// The same, plus whether H and batch B fit on GPU `device` (shared memory for the W_hh slices,
// co-resident blocks); asks the GPU. Empty when the call can run.
std::string persistent_supports(const SeqConfig& config, int64_t B, Device device, DType dtype);
#endif

#if RECUR_WITH_CUDNN
// cuDNN engine, f32 and f64, and bf16/f16 math (cuDNN's 16-bit RNN: its data, cell state
// included, in that type; recur's f32 tensors converted at the boundary), every cell but leaky:
// every tensor on one GPU; queued on its recur stream; one single-layer unidirectional cuDNN RNN
// per call, with cudnn_algorithm_for's algorithm (kernels/recurrent_engine.h). A forced algorithm
// cuDNN cannot run for the call throws recur::Error whose message contains "not supported by cuDNN"
// (kernels/cudnn/recurrent_seq_cudnn.cpp). Unlike the other engines, one training forward supports
// one backward (cuDNN's backward writes into the saved reserve space). With lengths, each call
// reads them back to the host once.
void recurrent_seq_fwd_cudnn(const SeqConfig& config, const SeqParams& params, SeqForward& args);
void recurrent_seq_bwd_cudnn(const SeqConfig& config, const SeqParams& params, SeqBackward& args);
#endif

}  // namespace recur
