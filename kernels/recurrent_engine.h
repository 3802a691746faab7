// Engine choice for one direction of a recurrent layer (kernels/recurrent_seq.h): which
// implementation runs it, whether it can, and the one dispatch point the Recurrent layer calls.
//
//   reference  the CPU reference (OpenBLAS + threaded pointwise): CPU tensors, f32 or f64;
//              bf16/f16 math precision emulated (core/precision.h), for checking.
//   fused      our CUDA kernels (cuBLAS GEMMs + one fused pointwise kernel per step): GPU
//              tensors, f32 or f64, and bf16/f16 math on tensor cores; every cell and option.
//              Only in builds with CUDA.
//   cudnn      cuDNN's RNN (kernels/cudnn/): GPU tensors, f32 or f64, and bf16/f16 math as
//              cuDNN's own 16-bit RNN; every cell but leaky (cuDNN has none). Only in builds
//              with cuDNN 9 (RECUR_WITH_CUDNN).
//   persistent our cooperative kernel that runs all T steps with W_hh on-chip
//              (kernels/cuda/persistent_rnn.h): GPU f32 tensors (f32 or bf16/f16 math), lstm and
//              gru, no projection, and only where H and the batch fit the GPU: a call that does
//              not fit throws recur::Error containing "persistent engine cannot run". Builds with
//              CUDA only.
//   auto_      the fastest engine that supports the call: on a GPU the ranking measured for the
//              nearest shape in the engine table (kernels/engine_table.h, written from GPU
//              benchmark records), then fused, then cudnn; on the CPU the reference. The
//              persistent engine is chosen only where a measurement ranks it. At bf16/f16 math
//              cuDNN comes last (its 16-bit RNN keeps states and cell state in 16 bits, not
//              recur's mixed precision): forced, it runs as measured. A preferred engine
//              that cannot run a call is logged (once per reason) with why, then the next is
//              used; never silently.
// A forced engine that cannot run a call is an error naming the reason.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/recurrent_seq.h"

namespace recur {

enum class Engine { auto_, reference, fused, cudnn, persistent };

const char* engine_name(Engine engine);  // "auto", "reference", "fused", "cudnn", "persistent"
// Throws recur::Error listing the names when `name` is none of them.
Engine engine_from_name(const std::string& name);

// The call an engine is chosen or tuned for: its batch and steps (0 when unknown, as in a preview
// before any data), whether it keeps what backward needs, and whether some of its sequences are
// shorter than `steps` (lengths given and not all T: cuDNN's persist_static and persist_dynamic
// take no such call, so the engine table ranks such calls on their own).
struct CallShape {
  int64_t batch = 0;
  int64_t steps = 0;
  bool training = false;
  bool varying_lengths = false;
};

// cuDNN's RNN algorithm (cudnnRNNAlgo_t) for the cudnn engine, process-wide; auto by default:
//   auto      per call, the algorithm measured fastest at the nearest shape of the engine table
//             (kernels/engine_table.h: same cell, mode and data type; for a call with sequences of
//             different lengths, the fastest that takes them), standard where nothing was
//             measured; where the measured one cannot run the call (cuDNN answers NOT_SUPPORTED),
//             standard, logged once and remembered for that shape
//   standard, persist_static, persist_dynamic, persist_static_small_h: that one, always (how the
//             benchmarks compare them); persist_dynamic builds its kernels for each new shape
//             (cudnnBuildRNNDynamic)
// Which ones cuDNN runs depends on the cell, sizes, dtype, lengths and GPU: a forced one it cannot
// run throws recur::Error containing "not supported by cuDNN". A backward runs with the algorithm
// of its forward. Settable in every build; only builds with cuDNN use it.
enum class CudnnAlgo { auto_, standard, persist_static, persist_dynamic, persist_static_small_h };
const char* cudnn_algo_name(CudnnAlgo algo);  // "auto", "standard", "persist_static", ...
// Throws recur::Error listing the names when `name` is none of them.
CudnnAlgo cudnn_algo_from_name(const std::string& name);
void set_cudnn_algorithm(CudnnAlgo algo);
CudnnAlgo cudnn_algorithm();
// The algorithm a call of the cudnn engine starts with (never auto): the setting, or under auto
// the engine table's measurement for the nearest shape (filed under the call's math precision),
// standard where there is none. `dtype`: the tensors' dtype.
CudnnAlgo cudnn_algorithm_for(const SeqConfig& config, DType dtype, const CallShape& call);

// How the persistent engine's blocks wait for each other between steps (kernels/cuda/
// persistent_rnn.h), process-wide; auto by default:
//   auto       per call, the barrier measured fastest at the nearest shape of the engine table,
//              where the call fits it; grid_sync otherwise
//   grid_sync  cooperative groups' grid.sync(), one block per SM
//   counter    one monotonic arrival counter in global memory: each block adds 1 after its
//              writes and waits until the count reaches steps * blocks (no reset phase)
//   cluster    the layer runs on ONE thread-block cluster (at most 16 blocks on Hopper, sm_90)
//              whose hardware barrier (cluster.sync()) is far cheaper than a grid-wide one; only
//              where the layer's W_hh fits in the cluster's shared memory (small H)
// Settable in every build; only builds with CUDA use it.
enum class PersistentBarrier { auto_, grid_sync, counter, cluster };
const char* persistent_barrier_name(PersistentBarrier barrier);  // "auto", "grid_sync", ...
// Throws recur::Error listing the names when `name` is none of them.
PersistentBarrier persistent_barrier_from_name(const std::string& name);
void set_persistent_barrier(PersistentBarrier barrier);
PersistentBarrier persistent_barrier();
// The barrier a call of the persistent engine tries first (never auto): the setting, or under
// auto the engine table's measurement for the nearest shape, grid_sync where there is none.
PersistentBarrier persistent_barrier_for(const SeqConfig& config, const CallShape& call);

// Why `engine` cannot run `config` on tensors of (device, dtype); empty when it can. Judged from
// the config alone (no batch, no GPU query): the persistent engine may still refuse a call whose
// H and batch do not fit the GPU, at run time.
std::string engine_unsupported_reason(Engine engine, const SeqConfig& config, Device device,
                                      DType dtype);

// The engine that runs the call: `requested` itself when it supports it (else recur::Error), or
// for auto_ the first supporting engine in preference order (a skipped preference is logged).
// `call` is the call auto_ chooses for: with the batch unknown auto_ consults no measurements and
// passes over persistent without a log line (there is no call to fall back from); persistent runs
// only when the call fits the GPU (persistent_supports).
Engine choose_engine(Engine requested, const SeqConfig& config, Device device, DType dtype,
                     const CallShape& call = {});

// Runs one direction with `engine` (a concrete engine, as choose_engine returns).
void recurrent_seq_fwd(Engine engine, const SeqConfig& config, const SeqParams& params,
                       SeqForward& args);
void recurrent_seq_bwd(Engine engine, const SeqConfig& config, const SeqParams& params,
                       SeqBackward& args);

}  // namespace recur
