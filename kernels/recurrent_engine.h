// Engine choice for one direction of a recurrent layer (kernels/recurrent_seq.h): which
// implementation runs it, whether it can, and the one dispatch point the Recurrent layer calls.
//
//   reference  the CPU reference (OpenBLAS + threaded pointwise): CPU tensors, f32 or f64.
//   fused      our CUDA kernels (cuBLAS GEMMs + one fused pointwise kernel per step): GPU
//              tensors, f32 or f64, every cell and option. Only in builds with CUDA.
//   cudnn      cuDNN's RNN (kernels/cudnn/): GPU tensors, f32 or f64, every cell but leaky
//              (cuDNN has none). Only in builds with cuDNN 9 (RECUR_WITH_CUDNN).
//   auto_      the fastest engine that supports the call. Until the GPU benchmarks (issue 5)
//              have measured the engines against each other, the order is fixed: on a GPU
//              fused, then cudnn; on the CPU reference. A preferred engine that cannot run a
//              call is logged (once per reason) with why, then the next is used; never silently.
// A forced engine that cannot run a call is an error naming the reason. The persistent kernels
// join this list when they exist.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/recurrent_seq.h"

namespace recur {

enum class Engine { auto_, reference, fused, cudnn };

const char* engine_name(Engine engine);  // "auto", "reference", "fused", "cudnn"
// Throws recur::Error listing the names when `name` is none of them.
Engine engine_from_name(const std::string& name);

// cuDNN's RNN algorithm (cudnnRNNAlgo_t) for the cudnn engine, process-wide so benchmarks can
// compare them; standard by default. persist_dynamic builds its kernels for each new shape
// (cudnnBuildRNNDynamic). Which ones cuDNN runs depends on the cell, sizes, dtype, lengths and
// GPU: a call it cannot run throws recur::Error containing "not supported by cuDNN". A backward
// runs with the algorithm of its forward. Settable in every build; only builds with cuDNN use it.
enum class CudnnAlgo { standard, persist_static, persist_dynamic, persist_static_small_h };
const char* cudnn_algo_name(CudnnAlgo algo);  // "standard", "persist_static", ...
// Throws recur::Error listing the names when `name` is none of them.
CudnnAlgo cudnn_algo_from_name(const std::string& name);
void set_cudnn_algorithm(CudnnAlgo algo);
CudnnAlgo cudnn_algorithm();

// Why `engine` cannot run `config` on tensors of (device, dtype); empty when it can.
std::string engine_unsupported_reason(Engine engine, const SeqConfig& config, Device device,
                                      DType dtype);

// The engine that runs the call: `requested` itself when it supports it (else recur::Error), or
// for auto_ the first supporting engine in preference order (a skipped preference is logged).
Engine choose_engine(Engine requested, const SeqConfig& config, Device device, DType dtype);

// Runs one direction with `engine` (a concrete engine, as choose_engine returns).
void recurrent_seq_fwd(Engine engine, const SeqConfig& config, const SeqParams& params,
                       SeqForward& args);
void recurrent_seq_bwd(Engine engine, const SeqConfig& config, const SeqParams& params,
                       SeqBackward& args);

}  // namespace recur
