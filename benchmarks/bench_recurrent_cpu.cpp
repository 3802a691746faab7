// CPU benchmark of the Recurrent layer (reference engine) under Google Benchmark, for profiling by
// hand: inference forward and training forward+backward for LSTM and GRU at B in {1, 32, 64},
// T = 100, I = H in {256, 512}. The recorded comparisons with PyTorch come from benchmarks/run.sh
// (bench_suite.cpp + bench_peers.py). Reports GFLOP/s counting the GEMM work only, as bench_suite
// does: forward 2*B*T*(I+H)*G, forward+backward three times that.
#include <benchmark/benchmark.h>

#include "core/random.h"
#include "layers/recurrent.h"

namespace recur {
namespace {

void run(benchmark::State& state, CellKind cell, bool train) {
  const int64_t B = state.range(0), H = state.range(1), T = 100;
  RecurrentConfig c;
  c.cell = cell;
  c.input_size = H;
  c.hidden_size = H;
  Recurrent rnn(c, DType::f32, 1);
  Tensor x = Tensor::empty({B, T, H}, DType::f32);
  fill_uniform(x, -1, 1, 2, 0);
  Tensor dy = Tensor::empty({B, T, H}, DType::f32);
  fill_uniform(dy, -1, 1, 3, 0);
  ForwardOptions opts;
  opts.keep_for_backward = train;
  for (auto _ : state) {
    Recurrent::Output out = rnn.run(x, {}, {}, opts);
    if (train) benchmark::DoNotOptimize(rnn.run_backward(dy).dx.raw_data());
    benchmark::DoNotOptimize(out.y.raw_data());
  }
  const double G = static_cast<double>(cell_gates(cell) * H);
  const double flops = 2.0 * B * T * (H + H) * G * (train ? 3.0 : 1.0);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["B"] = static_cast<double>(B);
  state.counters["H"] = static_cast<double>(H);
}

void lstm_inference(benchmark::State& s) {
  run(s, CellKind::lstm, false);
}
void lstm_training(benchmark::State& s) {
  run(s, CellKind::lstm, true);
}
void gru_inference(benchmark::State& s) {
  run(s, CellKind::gru, false);
}
void gru_training(benchmark::State& s) {
  run(s, CellKind::gru, true);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (int64_t h : {256, 512})
    for (int64_t batch : {1, 32, 64}) b->Args({batch, h});
  b->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
}

BENCHMARK(lstm_inference)->Apply(shapes);
BENCHMARK(lstm_training)->Apply(shapes);
BENCHMARK(gru_inference)->Apply(shapes);
BENCHMARK(gru_training)->Apply(shapes);

}  // namespace
}  // namespace recur

BENCHMARK_MAIN();
