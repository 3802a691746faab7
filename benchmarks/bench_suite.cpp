// bench_suite: recur's side of benchmarks/run.sh. Times, on one device, every measurement the
// suite compares with its peers and prints them as one JSON object (schema below);
// benchmarks/bench_peers.py reads that object and times PyTorch on exactly the same cases.
//
//   bench_suite [--mode quick|full] [--device cpu|cuda] [--filter REGEX] [--out FILE]
//               [--time-limit S]
//
// A case the engine refuses (cuDNN's NOT_SUPPORTED, a shape the persistent engine does not fit)
// is listed under "skipped" with the reason, as are the cases not started within --time-limit; a
// case that fails otherwise is listed under "failed" with its error, the others still run, and
// the exit status is 1 once the JSON is written.
//
// Sections (each row's "section"):
//   gemm      the machine's GEMM ceiling: OpenBLAS cblas_sgemm, square N = 4096, row-major; and
//             recur's per-step GEMM over packed weights at M x K x N = 256 x 1024 x 4096.
//   layer     the Recurrent layer (layers/recurrent.h) per cell, inference forward and training
//             forward+backward (dx and parameter gradients), over the sweep of --mode.
//   stream    streaming latency: B = 1, one time step per call, state carried (generation).
//   generate  CharLM (E=128 H=512 L=2 V=256, LSTM) generate() at B = 1: characters per second.
//
// GFLOP/s counts GEMM work only: per layer and direction 2*B*T*(I_l+H)*G (I_0 = I, I_l = D*H for
// l > 0; G = gate rows: 4H lstm, 3H gru, H rnn/leaky); training counts three times that (forward,
// the backward's dh/dx GEMMs, the weight-gradient GEMMs). benchmarks/bench_peers.py counts the
// same. Pointwise work, the bias adds and the softmax are not counted.
//
// Timing: on the CPU wall clock (steady_clock); on a GPU CUDA events around the work on recur's
// stream, with L2 flushed before every timed run (core/cuda_runtime.h cuda_time_ms). Each case
// runs once to warm up (more while the warm-up has taken under 0.1 s), then repeats until it has
// at least --min-reps runs and --min-time seconds, or --max-reps runs; the row reports the median
// and the spread (min, quartiles). The CPU engine needs no cache flush between runs: the working
// sets of these shapes are far beyond L2 except at the smallest, where a warm cache is also what
// a real caller sees.
//
// --device cuda times every GPU engine of kernels/recurrent_engine.h that supports the case (one
// row per engine) and the cuBLAS ceilings (f32 without TF32, bf16), on GPU 0, and records the
// largest H the persistent engine fits there ("persistent_limits": cell, precision, direction,
// barrier, max_hidden); it exits with status 2 when no GPU is visible.
#include <cblas.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <regex>
#include <string>
#include <vector>

#include "core/cuda_runtime.h"
#include "core/parallel.h"
#include "core/random.h"
#include "kernels/cpu/packed_step_gemm.h"
#include "kernels/cuda/gemm_cuda.h"
#include "kernels/cuda/persistent_rnn.h"
#include "layers/recurrent.h"
#include "models/char_lm_inference.h"

namespace recur {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Budget {
  double min_time = 0.5;  // seconds of timed runs per case, at least
  int min_reps = 5;
  int max_reps = 50;
};

struct Stats {
  double median = 0, min = 0, p25 = 0, p75 = 0;
  int reps = 0;
  json to_json() const {
    return {{"median", median}, {"min", min}, {"p25", p25}, {"p75", p75}, {"reps", reps}};
  }
};

double quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

double seconds_of(const std::function<void()>& once) {
  const auto t0 = Clock::now();
  once();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Where the timed work runs: the CPU (wall clock) or GPU 0 (CUDA events, L2 flushed).
bool g_on_gpu = false;

double timed_seconds(const std::function<void()>& once) {
  if (!g_on_gpu) return seconds_of(once);
  return cuda_time_ms(0, once, /*flush_l2=*/true) * 1e-3;
}

// Seconds per call of once(): warm-up, then the median of the timed runs.
Stats time_it(const std::function<void()>& once, const Budget& b) {
  double warm = timed_seconds(once);
  while (warm < 0.1) warm += timed_seconds(once);
  std::vector<double> runs;
  double total = 0;
  while (static_cast<int>(runs.size()) < b.max_reps &&
         (static_cast<int>(runs.size()) < b.min_reps || total < b.min_time)) {
    runs.push_back(timed_seconds(once));
    total += runs.back();
  }
  std::sort(runs.begin(), runs.end());
  Stats s;
  s.reps = static_cast<int>(runs.size());
  s.median = quantile(runs, 0.5);
  s.min = runs.front();
  s.p25 = quantile(runs, 0.25);
  s.p75 = quantile(runs, 0.75);
  return s;
}

// ---------------------------------------------------------------- the sweep

struct LayerCase {
  CellKind cell;
  bool train;
  int64_t B, H, T, L, D;
  Engine engine = Engine::reference;
  CudnnAlgo algo = CudnnAlgo::standard;  // engine cudnn: which of cuDNN's algorithms
  Precision precision = Precision::f32;  // math precision of the GEMMs (core/precision.h)
  PersistentBarrier barrier = PersistentBarrier::grid_sync;  // engine persistent: its barrier
  // The CPU reference keeps the names of the first records; GPU engines add theirs
  // (".../fused", ".../cudnn-persist_dynamic"); a mixed precision is part of the shape
  // (".../D1/bf16/fused"), so its peer is PyTorch in that dtype.
  std::string suffix() const {
    if (engine == Engine::reference) return "";
    if (engine == Engine::cudnn) return std::string("/cudnn-") + cudnn_algo_name(algo);
    if (engine == Engine::persistent && barrier != PersistentBarrier::grid_sync)
      return std::string("/persistent-") + persistent_barrier_name(barrier);
    return std::string("/") + engine_name(engine);
  }
  std::string name() const {
    const std::string math =
        precision == Precision::f32 ? "" : std::string("/") + precision_name(precision);
    return fmt::format("layer/{}/{}/B{}/H{}/T{}/L{}/D{}{}{}", cell_name(cell),
                       train ? "training" : "inference", B, H, T, L, D, math, suffix());
  }
};

// GEMM flops of one call, as the header says.
double layer_flops(const LayerCase& c) {
  const double G = static_cast<double>(cell_gates(c.cell) * c.H);
  double f = 0;
  for (int64_t l = 0; l < c.L; ++l) {
    const double I = static_cast<double>(l == 0 ? c.H : c.D * c.H);
    f += 2.0 * c.D * c.B * c.T * (I + c.H) * G;
  }
  return f * (c.train ? 3.0 : 1.0);
}

// A generous estimate of the bytes one call holds at once (f32): per layer and direction the
// input projection (G), and in training the cache, the states and their gradients; plus the
// input, output and their gradients. Cases beyond 60% of MemAvailable are skipped, not run.
double layer_bytes(const LayerCase& c) {
  const double g = static_cast<double>(cell_gates(c.cell));
  const double per_dir = c.train ? g + static_cast<double>(cell_cache_blocks(c.cell)) + 4 : g + 1;
  const double streams = (c.train ? c.L * c.D : c.D) * per_dir + 4.0 * c.D + 2;
  return 4.0 * static_cast<double>(c.B * c.T * c.H) * streams;
}

double mem_available_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  double kb = 0;
  while (f >> key >> kb) {
    if (key == "MemAvailable:") return kb * 1024;
    f.ignore(256, '\n');
  }
  return 1e18;  // unknown: do not skip
}

const CellKind kCells[] = {CellKind::rnn_tanh, CellKind::leaky, CellKind::gru, CellKind::lstm};

// One GPU engine as benchmarked: cuDNN with one of its algorithms, persistent with one barrier.
struct EngineVariant {
  Engine engine;
  CudnnAlgo algo = CudnnAlgo::standard;
  PersistentBarrier barrier = PersistentBarrier::grid_sync;
};

LayerCase variant_case(const EngineVariant& v, CellKind cell, bool train, int64_t B, int64_t H,
                       int64_t T, int64_t L, int64_t D) {
  LayerCase c{cell, train, B, H, T, L, D, v.engine, v.algo};
  c.barrier = v.barrier;
  return c;
}

// The GPU engines this build has: fused, persistent with each barrier (PersistentBarrier: the
// persistent engine issue asks which is faster; cluster runs only the small H that fit one
// cluster, the others are skipped rows), and cuDNN with every one of its algorithms, so
// the table names cuDNN's best per shape.
std::vector<EngineVariant> gpu_engines(const std::string& mode) {
  std::vector<EngineVariant> out;
  SeqConfig probe;
  probe.cell = CellKind::lstm;
  probe.input_size = probe.hidden_size = 8;
  if (engine_unsupported_reason(Engine::fused, probe, Device::cuda(0), DType::f32).empty())
    out.push_back({Engine::fused});
  // Only lstm and gru: gpu_layer_cases leaves out the other cells; shapes that do not fit the
  // GPU throw "persistent engine cannot run" and are skipped rows.
  if (engine_unsupported_reason(Engine::persistent, probe, Device::cuda(0), DType::f32).empty())
    for (PersistentBarrier b :
         {PersistentBarrier::grid_sync, PersistentBarrier::counter, PersistentBarrier::cluster})
      out.push_back({Engine::persistent, CudnnAlgo::standard, b});
  // The quick sweep leaves the counter barrier out: on an H200 it measured the same as the grid
  // sync at every shape, within 3% (benchmarks/results/gpu-h200-20261129-1849-3fce187.json).
  if (mode == "quick")
    out.erase(std::remove_if(out.begin(), out.end(),
                             [](const EngineVariant& v) {
                               return v.engine == Engine::persistent &&
                                      v.barrier == PersistentBarrier::counter;
                             }),
              out.end());
  if (engine_unsupported_reason(Engine::cudnn, probe, Device::cuda(0), DType::f32).empty())
    for (CudnnAlgo a : {CudnnAlgo::standard, CudnnAlgo::persist_static, CudnnAlgo::persist_dynamic,
                        CudnnAlgo::persist_static_small_h})
      out.push_back({Engine::cudnn, a});
  return out;
}

// The GPU sweep: quick fits one device call (about 5 minutes with every engine); full is issue
// 5's whole grid.
std::vector<LayerCase> gpu_layer_cases(const std::string& mode) {
  std::vector<LayerCase> out;
  for (const EngineVariant& v : gpu_engines(mode))
    for (CellKind cell : kCells)
      for (bool train : {false, true}) {
        if (mode == "quick") {
          // cuDNN's persistent algorithms only where they matter most (lstm, gru, H = 1024),
          // so the quick run fits one device call.
          const bool persistent = v.engine == Engine::cudnn && v.algo != CudnnAlgo::standard;
          if (persistent && cell != CellKind::lstm && cell != CellKind::gru) continue;
          for (int64_t H : {512, 1024})
            for (int64_t B : {1, 8, 64})
              if (!persistent || H == 1024)
                out.push_back(variant_case(v, cell, train, B, H, 256, 1, 1));
          // Small H, small batch: where one thread-block cluster holds a layer (the persistent
          // engine's cluster barrier) and the step is pure latency.
          if (cell == CellKind::lstm || cell == CellKind::gru)
            for (int64_t B : {1, 8}) out.push_back(variant_case(v, cell, train, B, 256, 256, 1, 1));
          // The GPU engine issue's largest batch, against cuDNN's standard algorithm (its peer).
          const bool standard_peer =
              v.engine == Engine::fused || (v.engine == Engine::cudnn && !persistent);
          if (standard_peer && (cell == CellKind::lstm || cell == CellKind::gru))
            out.push_back(variant_case(v, cell, train, 256, 1024, 256, 1, 1));
          continue;
        }
        // Issue 5's whole grid, in each math precision (bf16/f16: GEMM operands on tensor cores).
        for (Precision precision : {Precision::f32, Precision::bf16, Precision::f16})
          for (int64_t L : {1, 2})
            for (int64_t D : {1, 2})
              for (int64_t T : {64, 256, 1024})
                for (int64_t H : {256, 512, 1024, 2048})
                  for (int64_t B : {1, 8, 32, 64, 256}) {
                    LayerCase c = variant_case(v, cell, train, B, H, T, L, D);
                    c.precision = precision;
                    out.push_back(c);
                  }
      }
  // Quick: mixed precision (bf16 GEMM operands on tensor cores) at the GPU engine issue's shapes:
  // LSTM and GRU, I = H = 1024, T = 256, B in {8, 64, 256}, with every engine that runs it; and f16
  // for LSTM at B in {8, 64}, the persistent engine issue's targets (cuDNN's persistent
  // algorithms run f16, not bf16).
  for (const EngineVariant& v : mode == "quick" ? gpu_engines(mode) : std::vector<EngineVariant>{})
    for (CellKind cell : {CellKind::lstm, CellKind::gru})
      for (bool train : {false, true})
        for (int64_t B : {8, 64, 256}) {
          LayerCase c = variant_case(v, cell, train, B, 1024, 256, 1, 1);
          c.precision = Precision::bf16;
          out.push_back(c);
          if (cell == CellKind::lstm && B <= 64) {
            c.precision = Precision::f16;
            out.push_back(c);
          }
        }
  // An engine that cannot run a case (cuDNN has no leaky unit) leaves it out.
  std::vector<LayerCase> supported;
  for (const LayerCase& c : out) {
    SeqConfig sc;
    sc.cell = c.cell;
    sc.input_size = c.H;
    sc.hidden_size = c.H;
    sc.precision = c.precision;
    if (engine_unsupported_reason(c.engine, sc, Device::cuda(0), DType::f32).empty())
      supported.push_back(c);
  }
  return supported;
}

std::vector<LayerCase> layer_cases(const std::string& mode, bool gpu) {
  if (gpu) return gpu_layer_cases(mode);
  std::vector<LayerCase> out;
  if (mode == "quick") {
    for (CellKind cell : kCells)
      for (bool train : {false, true})
        for (int64_t H : {256, 512})
          for (int64_t B : {1, 8, 64}) out.push_back({cell, train, B, H, 64, 1, 1});
    for (bool train : {false, true}) out.push_back({CellKind::lstm, train, 64, 512, 64, 2, 2});
  } else {
    for (CellKind cell : kCells)
      for (bool train : {false, true})
        for (int64_t L : {1, 2})
          for (int64_t D : {1, 2})
            for (int64_t T : {64, 256, 1024})
              for (int64_t H : {256, 512, 1024, 2048})
                for (int64_t B : {1, 8, 32, 64, 256}) out.push_back({cell, train, B, H, T, L, D});
  }
  return out;
}

// ---------------------------------------------------------------- sections

#if RECUR_WITH_CUDA
// The largest H the persistent engine runs on GPU 0 (its shared memory and occupancy), per cell,
// math precision, direction, and layout: one block per SM (grid_sync; counter is the same) or one
// thread-block cluster (kernels/cuda/persistent_rnn.h).
json persistent_limits() {
  json rows = json::array();
  for (PersistentBarrier barrier : {PersistentBarrier::grid_sync, PersistentBarrier::cluster})
    for (CellKind cell : {CellKind::lstm, CellKind::gru})
      for (Precision precision : {Precision::f32, Precision::bf16, Precision::f16})
        for (bool backward : {false, true})
          rows.push_back(
              {{"cell", cell_name(cell)},
               {"precision", precision_name(precision)},
               {"direction", backward ? "backward" : "forward"},
               {"barrier", persistent_barrier_name(barrier)},
               {"max_hidden", persistent_max_hidden_on(0, cell, precision, backward, barrier)}});
  return rows;
}

// cuBLAS on GPU 0 at N x N x N: T = float (f32 math, no TF32) or bf16 (f32 accumulation).
template <class T>
json cublas_row(int64_t N, const Budget& b) {
  const DType dt = dtype_of<T>;
  // Uniform random operands: a GPU multiplies zeros faster, which would flatter the ceiling.
  auto uniform = [&](uint32_t stream) {
    Tensor t = Tensor::empty({N, N}, DType::f32);
    fill_uniform(t, -1, 1, 7, stream);
    return t.to(dt).to(Device::cuda(0));
  };
  Tensor A = uniform(0), Bm = uniform(1), C = Tensor::zeros({N, N}, dt, Device::cuda(0));
  Stats s = time_it(
      [&] {
        gemm_cuda<T>(0, false, false, N, N, N, 1.0f, A.data<T>(), N, Bm.data<T>(), N, 0.0f,
                     C.data<T>(), N);
      },
      b);
  const double flops = 2.0 * N * N * N;
  const std::string what = std::is_same_v<T, float> ? "sgemm" : "bf16";
  return {{"section", "gemm"},
          {"name", fmt::format("gemm/cublas_{}/N{}", what, N)},
          {"impl", std::is_same_v<T, float> ? "cuBLAS sgemm (no TF32)"
                                            : "cuBLAS GemmEx bf16, f32 accumulation"},
          {"dtype", dtype_name(dt)},
          {"data", "uniform"},
          {"N", N},
          {"seconds", s.to_json()},
          {"ms", s.median * 1e3},
          {"gflop", flops * 1e-9},
          {"gflops", flops / s.median * 1e-9}};
}
#endif

json gemm_row(int64_t N, const Budget& b) {
  std::vector<float> A(static_cast<size_t>(N * N)), Bm(A.size()), C(A.size());
  for (size_t i = 0; i < A.size(); ++i) {
    A[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
    Bm[i] = static_cast<float>((i * 104729) % 1000) * 1e-3f - 0.5f;
  }
  const int n = static_cast<int>(N);
  Stats s = time_it(
      [&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A.data(), n,
                    Bm.data(), n, 0.0f, C.data(), n);
      },
      b);
  const double flops = 2.0 * N * N * N;
  return {{"section", "gemm"},
          {"name", fmt::format("gemm/sgemm/N{}", N)},
          {"impl", "OpenBLAS cblas_sgemm"},
          {"N", N},
          {"seconds", s.to_json()},
          {"ms", s.median * 1e3},
          {"gflop", flops * 1e-9},
          {"gflops", flops / s.median * 1e-9}};
}

// recur's per-step GEMM (kernels/cpu/packed_step_gemm.h) at the most rows it runs, W packed once
// outside the timing: C[M,N] = A[M,K] W[K,N]. With AVX-512 it can pass OpenBLAS (under an AVX2
// OPENBLAS_CORETYPE, as this project's VMs set), so the machine's measured f32 ceiling is the
// faster of the two rows, and no layer row exceeds 100% of it.
json packed_gemm_row(int64_t M, int64_t K, int64_t N, const Budget& b) {
  Tensor A = Tensor::empty({M, K}, DType::f32), W = Tensor::empty({K, N}, DType::f32);
  fill_uniform(A, -1, 1, 5, 0);
  fill_uniform(W, -1, 1, 6, 0);
  Tensor C = Tensor::zeros({M, N}, DType::f32);
  const PackedWeights packed(W.data<float>(), N, false, K, N);
  Stats s =
      time_it([&] { packed.multiply(M, 1.0f, A.data<float>(), K, 0.0f, C.data<float>(), N); }, b);
  const double flops = 2.0 * M * K * N;
  return {{"section", "gemm"},
          {"name", fmt::format("gemm/packed/M{}/K{}/N{}", M, K, N)},
          {"impl", fmt::format("recur per-step GEMM ({}, W packed)",
                               packed.kernel() == PackedKernel::avx512 ? "AVX-512" : "AVX2")},
          {"M", M},
          {"K", K},
          {"N", N},
          {"seconds", s.to_json()},
          {"ms", s.median * 1e3},
          {"gflop", flops * 1e-9},
          {"gflops", flops / s.median * 1e-9}};
}

json layer_row(const LayerCase& c, const Budget& b) {
  RecurrentConfig rc;
  rc.cell = c.cell;
  rc.input_size = c.H;
  rc.hidden_size = c.H;
  rc.num_layers = c.L;
  rc.bidirectional = c.D == 2;
  Recurrent rnn(rc, DType::f32, 1);
  Tensor x = Tensor::empty({c.B, c.T, c.H}, DType::f32);
  fill_uniform(x, -1, 1, 2, 0);
  Tensor dy = Tensor::empty({c.B, c.T, c.D * c.H}, DType::f32);
  fill_uniform(dy, -1, 1, 3, 0);
  if (g_on_gpu) {
    rnn.to(Device::cuda(0));
    x = x.to(Device::cuda(0));
    dy = dy.to(Device::cuda(0));
  }
  rnn.set_engine(c.engine);
  rnn.set_precision(c.precision);
  // The case's own algorithm or barrier; auto (the library's default) where it names none, and
  // again after the case, for the rows that follow.
  struct Settings {
    Settings(CudnnAlgo algo, PersistentBarrier barrier) {
      set_cudnn_algorithm(algo);
      set_persistent_barrier(barrier);
    }
    ~Settings() {
      set_cudnn_algorithm(CudnnAlgo::auto_);
      set_persistent_barrier(PersistentBarrier::auto_);
    }
  } settings(c.engine == Engine::cudnn ? c.algo : CudnnAlgo::auto_,
             c.engine == Engine::persistent ? c.barrier : PersistentBarrier::auto_);
  ForwardOptions opts;
  opts.keep_for_backward = c.train;
  Stats s = time_it(
      [&] {
        Recurrent::Output out = rnn.run(x, {}, {}, opts);
        if (c.train) rnn.run_backward(dy);
      },
      b);
  const double flops = layer_flops(c);
  return {{"section", "layer"},
          {"name", c.name()},
          {"impl", "recur"},
          {"engine", engine_name(c.engine)},
          {"algo", c.engine == Engine::cudnn        ? cudnn_algo_name(c.algo)
                   : c.engine == Engine::persistent ? persistent_barrier_name(c.barrier)
                                                    : ""},
          {"dtype", precision_name(c.precision)},  // the GEMMs' operands; f32 everywhere else
          {"cell", cell_name(c.cell)},
          {"mode", c.train ? "training" : "inference"},
          {"B", c.B},
          {"H", c.H},
          {"I", c.H},
          {"T", c.T},
          {"L", c.L},
          {"D", c.D},
          {"seconds", s.to_json()},
          {"ms", s.median * 1e3},
          {"us_per_step", s.median * 1e6 / static_cast<double>(c.T)},
          {"gflop", flops * 1e-9},
          {"gflops", flops / s.median * 1e-9},
          {"mem_estimate_bytes", layer_bytes(c)}};
}

// B = 1, I = H, one layer: `steps` calls of one time step each, the state carried.
json stream_row(CellKind cell, int64_t H, int64_t steps, const Budget& b) {
  RecurrentConfig rc;
  rc.cell = cell;
  rc.input_size = H;
  rc.hidden_size = H;
  Recurrent rnn(rc, DType::f32, 1);
  Tensor x = Tensor::empty({1, 1, H}, DType::f32);
  fill_uniform(x, -1, 1, 2, 0);
  if (g_on_gpu) {
    rnn.to(Device::cuda(0));
    x = x.to(Device::cuda(0));
  }
  Stats s = time_it(
      [&] {
        RecurrentState state;
        for (int64_t t = 0; t < steps; ++t) state = rnn.run(x, state).final_state;
      },
      b);
  return {{"section", "stream"},
          {"name", fmt::format("stream/{}/B1/H{}", cell_name(cell), H)},
          {"impl", "recur"},
          {"engine", engine_name(rnn.last_engine())},
          {"cell", cell_name(cell)},
          {"B", 1},
          {"H", H},
          {"I", H},
          {"steps", steps},
          {"seconds", s.to_json()},
          {"us_per_step", s.median * 1e6 / static_cast<double>(steps)}};
}

// CharLM generate() at B = 1 from a prime of 16 symbols: `length` sampled characters per call
// (temperature 0.8, all V candidates), an untrained model (speed does not depend on weights).
json generate_row(int64_t length, const Budget& b) {
  CharLMConfig cfg;  // lstm, V=256, E=128, H=512, L=2
  CharLM model(cfg, 1);
  if (g_on_gpu) model.to(Device::cuda(0));
  std::vector<int64_t> prime;
  for (int64_t i = 0; i < 16; ++i) prime.push_back(97 + i);
  SamplingOptions so;
  so.temperature = 0.8;
  int64_t produced = 0;
  Stats s = time_it(
      [&] {
        produced = 0;
        generate(model, prime, length, so, -1, [&](int64_t) { ++produced; });
      },
      b);
  return {{"section", "generate"},
          {"name", fmt::format("generate/lstm/E{}/H{}/L{}/V{}/prime16/len{}", cfg.embed, cfg.hidden,
                               cfg.layers, cfg.vocab, length)},
          {"impl", "recur"},
          {"engine", g_on_gpu ? "auto" : "reference"},
          {"cell", "lstm"},
          {"E", cfg.embed},
          {"H", cfg.hidden},
          {"L", cfg.layers},
          {"V", cfg.vocab},
          {"prime", 16},
          {"length", length},
          {"produced", produced},
          {"seconds", s.to_json()},
          {"chars_per_s", static_cast<double>(produced) / s.median}};
}

std::string compiler() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "GCC " __VERSION__;
#else
  return "unknown";
#endif
}

int run_main(int argc, char** argv) {
  CLI::App app{"recur's side of benchmarks/run.sh: prints the measurements as JSON"};
  std::string mode = "quick", device = "cpu", filter, out_path;
  Budget b;
  bool list = false;
  app.add_option("--mode", mode, "quick or full")->check(CLI::IsMember({"quick", "full"}));
  app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--filter", filter, "only cases whose name matches this regex (ECMAScript)");
  app.add_option("--out", out_path, "write the JSON here (default: stdout)");
  app.add_option("--min-time", b.min_time, "timed seconds per case, at least")
      ->capture_default_str();
  app.add_option("--min-reps", b.min_reps, "timed runs per case, at least")->capture_default_str();
  app.add_option("--max-reps", b.max_reps, "timed runs per case, at most")->capture_default_str();
  double time_limit = 0;
  app.add_option("--time-limit", time_limit,
                 "seconds: start no case after this long; the rest are listed as skipped and the "
                 "JSON is written (0: no limit)")
      ->capture_default_str();
  app.add_flag("--list", list, "print the case names and exit");
  CLI11_PARSE(app, argc, argv);
  if (device == "cuda") {
    if (cuda_device_count() == 0) {
      std::cerr << "bench_suite: --device cuda: "
                << (cuda_compiled() ? "no GPU is visible to this process"
                                    : "this build of recur has no CUDA")
                << "\n";
      return 2;
    }
    g_on_gpu = true;
  }

  std::vector<std::pair<std::string, std::function<json()>>> cases;
  cases.reserve(4096);  // also keeps GCC 12's -Warray-bounds from misreading the empty vector
  if (g_on_gpu) {
#if RECUR_WITH_CUDA  // g_on_gpu needs a GPU, which needs CUDA in the build
    cases.emplace_back("gemm/cublas_sgemm/N8192", [&] { return cublas_row<float>(8192, b); });
    cases.emplace_back("gemm/cublas_bf16/N8192", [&] { return cublas_row<bf16>(8192, b); });
#endif
  } else {
    cases.emplace_back("gemm/sgemm/N4096", [&] { return gemm_row(4096, b); });
    if (PackedWeights::supported())
      cases.emplace_back("gemm/packed/M256/K1024/N4096",
                         [&] { return packed_gemm_row(kPackedMaxRows, 1024, 4096, b); });
  }
  for (const LayerCase& c : layer_cases(mode, g_on_gpu))
    cases.emplace_back(c.name(), [c, &b] { return layer_row(c, b); });
  const int64_t stream_steps = 256;
  std::vector<int64_t> stream_h = {256, 512};
  if (mode == "full") stream_h.insert(stream_h.end(), {1024, 2048});
  for (CellKind cell : {CellKind::gru, CellKind::lstm})
    for (int64_t H : stream_h)
      cases.emplace_back(fmt::format("stream/{}/B1/H{}", cell_name(cell), H),
                         [=, &b] { return stream_row(cell, H, stream_steps, b); });
  const int64_t gen_length = mode == "full" ? 1024 : 256;
  cases.emplace_back(fmt::format("generate/lstm/E128/H512/L2/V256/prime16/len{}", gen_length),
                     [=, &b] { return generate_row(gen_length, b); });

  const std::regex re(filter.empty() ? std::string(".") : filter);
  json results = json::array(), skipped = json::array();
  const double mem_budget = 0.6 * mem_available_bytes();
  for (const LayerCase& c : layer_cases(mode, g_on_gpu)) {
    if (g_on_gpu || list || !std::regex_search(c.name(), re) || layer_bytes(c) <= mem_budget)
      continue;
    skipped.push_back({{"name", c.name()},
                       {"reason", fmt::format("needs about {:.1f} GiB, over 60% of MemAvailable",
                                              layer_bytes(c) / (1 << 30))}});
  }
  auto is_skipped = [&](const std::string& name) {
    for (const json& s : skipped)
      if (s["name"] == name) return true;
    return false;
  };
  int done = 0, selected = 0;
  for (auto& [name, fn] : cases) selected += std::regex_search(name, re) && !is_skipped(name);
  // A case that fails is recorded with its error and the others still run (the exit status says
  // so): one broken engine must not cost the measurements of the rest.
  json failed = json::array();
  const auto started = Clock::now();
  auto elapsed_s = [&] { return std::chrono::duration<double>(Clock::now() - started).count(); };
  for (auto& [name, fn] : cases) {
    if (!std::regex_search(name, re) || is_skipped(name)) continue;
    if (list) {
      std::cout << name << "\n";
      continue;
    }
    if (time_limit > 0 && elapsed_s() >= time_limit) {
      skipped.push_back({{"name", name}, {"reason", fmt::format("--time-limit {} s", time_limit)}});
      continue;
    }
    json row;
    try {
      row = fn();
    } catch (const std::exception& e) {
      // cuDNN refuses some algorithms at some shapes, and the persistent engine shapes whose H or
      // B do not fit the GPU: a skipped row with its reason. Anything else is a failure.
      const std::string what = e.what();
      const bool refused = what.find("not supported by cuDNN") != std::string::npos ||
                           what.find("persistent engine cannot run") != std::string::npos;
      (refused ? skipped : failed).push_back({{"name", name}, {"reason", what}});
      std::fprintf(stderr, "%s %s: %s\n", refused ? "skipped" : "FAILED", name.c_str(), e.what());
      continue;
    }
    ++done;
    std::fprintf(stderr, "[%d/%d] %-44s %10.3f ms", done, selected, name.c_str(),
                 row["seconds"]["median"].get<double>() * 1e3);
    if (row.contains("gflops"))
      std::fprintf(stderr, "  %7.1f GFLOP/s", row["gflops"].get<double>());
    std::fprintf(stderr, "\n");
    results.push_back(std::move(row));
  }
  if (list) return 0;
  for (const json& s : skipped)
    std::fprintf(stderr, "skipped %s: %s\n", s["name"].get<std::string>().c_str(),
                 s["reason"].get<std::string>().c_str());
  for (const json& f : failed)
    std::fprintf(stderr, "FAILED %s: %s\n", f["name"].get<std::string>().c_str(),
                 f["reason"].get<std::string>().c_str());

  json doc = {
      {"program", "bench_suite"},
      {"device", device},
      {"mode", mode},
      {"filter", filter},
      {"env",
       {{"compiler", compiler()},
        {"gpu", g_on_gpu ? cuda_device_description(0) : std::string()},
        {"openblas", openblas_get_config()},
        {"openblas_threads", openblas_get_num_threads()},
        {"recur_threads", num_threads()}}},
      {"budget", {{"min_time_s", b.min_time}, {"min_reps", b.min_reps}, {"max_reps", b.max_reps}}},
      {"flops_formula",
       "GEMM work only: per layer and direction 2*B*T*(I_l+H)*G, I_0 = I, I_l = D*H "
       "(l > 0), G = 4H lstm, 3H gru, H rnn_tanh/leaky; training x3"},
      {"results", results},
      {"skipped", skipped},
      {"failed", failed}};
#if RECUR_WITH_CUDA
  if (g_on_gpu) {
    try {
      doc["persistent_limits"] = persistent_limits();
    } catch (const std::exception& e) {  // the results above are still written
      failed.push_back({{"name", "persistent_limits"}, {"reason", e.what()}});
      doc["failed"] = failed;
      std::fprintf(stderr, "FAILED persistent_limits: %s\n", e.what());
    }
  }
#endif
  if (out_path.empty()) {
    std::cout << doc.dump(1) << "\n";
  } else {
    std::ofstream f(out_path);
    f << doc.dump(1) << "\n";
    if (!f) {
      std::cerr << "bench_suite: cannot write " << out_path << "\n";
      return 1;
    }
  }
  if (!failed.empty()) {
    std::fprintf(stderr, "bench_suite: %zu case(s) failed (listed under \"failed\")\n",
                 failed.size());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace recur

int main(int argc, char** argv) {
  try {
    return recur::run_main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_suite: " << e.what() << "\n";
    return 1;
  }
}
