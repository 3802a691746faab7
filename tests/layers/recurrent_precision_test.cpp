// Mixed precision on the CPU (core/precision.h): the Recurrent layer in f32 with bf16 or f16 GEMM
// operands against the f64 reference, every cell, two bidirectional layers, lengths, an initial
// state and (lstm) a projection: within the mixed tolerance, and measurably different from the
// plain f32 run (the rounding really happens). Also the option's errors and engine support.
#include <gtest/gtest.h>

#include "core/cuda_runtime.h"
#include "core/precision.h"
#include "kernels/recurrent_engine.h"
#include "layers/recurrent.h"
#include "support/compare.h"
#include "support/expect_error.h"
#include "support/layer_parity.h"

namespace recur {
namespace {

using namespace layer_parity;

RecurrentConfig config(CellKind cell) {
  RecurrentConfig c;
  c.cell = cell;
  c.input_size = 19;
  c.hidden_size = 37;
  c.num_layers = 2;
  c.bidirectional = true;
  c.proj_size = cell == CellKind::lstm ? 11 : 0;
  c.learn_leak = true;
  return c;
}

struct Case {
  CellKind cell;
  Precision precision;
};

class RecurrentPrecision : public ::testing::TestWithParam<Case> {};

TEST_P(RecurrentPrecision, MatchesTheF64ReferenceWithinTheMixedTolerance) {
  const auto [cell, precision] = GetParam();
  const RecurrentConfig cfg = config(cell);
  Recurrent reference(cfg, DType::f64, 11);
  Recurrent plain(cfg, DType::f32, 11);
  Recurrent mixed(cfg, DType::f32, 11);
  copy_parameters(reference, plain);
  copy_parameters(reference, mixed);
  mixed.set_precision(precision);
  EXPECT_EQ(mixed.precision(), precision);

  const LayerInputs in = make_layer_inputs(cfg);
  const LayerRun want = run_layer(reference, in, 0);
  const LayerRun f32 = run_layer(plain, in, 0);
  const LayerRun got = run_layer(mixed, in, 0);
  if (cell == CellKind::rnn_relu) {
    // relu's derivative jumps at 0: a pre-activation within rounding of zero switches its unit's
    // gradient on or off, so per-element bounds on gradients hold at no reduced precision. The
    // outputs get the full check; the gradients the 2e-2 as a normalised MSE only.
    testing::expect_close(got.out.y, want.out.y, testing::mixed_tolerance(want.out.y), "y");
    expect_runs_close(got, want, [](const Tensor& ref) {
      testing::Tolerance t = testing::mixed_tolerance(ref);
      t.nmse = 2e-2;
      t.atol = 1e300;
      return t;
    });
  } else {
    expect_runs_close(got, want, [](const Tensor& ref) { return testing::mixed_tolerance(ref); });
  }

  // The rounding is real: the mixed run is far further from the reference than f32 is.
  const double f32_error = testing::normalised_mse(f32.out.y, want.out.y);
  const double mixed_error = testing::normalised_mse(got.out.y, want.out.y);
  EXPECT_GT(mixed_error, 100 * f32_error) << "f32 " << f32_error << ", mixed " << mixed_error;
  EXPECT_GT(testing::normalised_mse(got.param_grads[0], want.param_grads[0]),
            100 * testing::normalised_mse(f32.param_grads[0], want.param_grads[0]));
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (CellKind cell :
       {CellKind::rnn_tanh, CellKind::rnn_relu, CellKind::leaky, CellKind::gru, CellKind::lstm})
    for (Precision p : {Precision::bf16, Precision::f16}) out.push_back({cell, p});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Cells, RecurrentPrecision, ::testing::ValuesIn(cases()),
                         [](const auto& info) {
                           return std::string(cell_name(info.param.cell)) + "_" +
                                  precision_name(info.param.precision);
                         });

// At B = 1 every per-step product is a single row, where the CPU rounds the weights as it reads
// them (kernels/cpu/rounded_gemv.h) instead of into copies: forward and backward of the whole
// sequence, and streaming one time step per call with the state carried (the input projection a
// single row too), against the f64 reference within the mixed tolerance.
TEST(RecurrentPrecisionAtBatchOne, ForwardBackwardAndStreamingMatchTheF64Reference) {
  for (CellKind cell : {CellKind::rnn_tanh, CellKind::leaky, CellKind::gru, CellKind::lstm})
    for (Precision precision : {Precision::bf16, Precision::f16}) {
      SCOPED_TRACE(std::string(cell_name(cell)) + " " + precision_name(precision));
      RecurrentConfig cfg = config(cell);
      cfg.num_layers = 1;
      cfg.bidirectional = false;  // streaming runs forward in time
      const int64_t T = 6, LD = 1;
      const bool lstm = cell == CellKind::lstm;
      Recurrent reference(cfg, DType::f64, 12);
      Recurrent mixed(cfg, DType::f32, 12);
      copy_parameters(reference, mixed);
      mixed.set_precision(precision);
      LayerInputs in;
      in.x = testing::random_tensor({1, T, cfg.input_size}, 1);
      in.init.h = testing::random_tensor({LD, 1, cfg.state_size()}, 2);
      if (lstm) in.init.c = testing::random_tensor({LD, 1, cfg.hidden_size}, 3);
      in.lengths = Tensor::from_vector<int64_t>({T}, {1});
      in.dy = testing::random_tensor({1, T, cfg.output_size()}, 4);
      in.d_final.h = testing::random_tensor({LD, 1, cfg.state_size()}, 5);
      if (lstm) in.d_final.c = testing::random_tensor({LD, 1, cfg.hidden_size}, 6);
      const LayerRun want = run_layer(reference, in, 0);
      expect_runs_close(run_layer(mixed, in, 0), want,
                        [](const Tensor& ref) { return testing::mixed_tolerance(ref); });

      const Tensor x = in.x.to(DType::f32);
      RecurrentState state{in.init.h.to(DType::f32), lstm ? in.init.c.to(DType::f32) : Tensor()};
      for (int64_t t = 0; t < T; ++t) {
        Recurrent::Output step = mixed.run(x.narrow(1, t, 1).contiguous(), state);
        const Tensor ref_y = want.out.y.narrow(1, t, 1).contiguous();
        testing::expect_close(step.y.to(DType::f64), ref_y, testing::mixed_tolerance(ref_y),
                              "streamed y at step " + std::to_string(t));
        state = step.final_state;
      }
    }
}

TEST(RecurrentPrecisionErrors, MixedPrecisionNeedsF32Parameters) {
  Recurrent layer(config(CellKind::gru), DType::f64, 1);
  testing::expect_error([&] { layer.set_precision(Precision::bf16); },
                        {"bf16 math precision needs f32 parameters", "f64"});
  layer.set_precision(Precision::f32);  // f32 math is fine in f64
}

TEST(RecurrentPrecisionErrors, PrecisionNamesRoundTripAndUnknownNamesAreErrors) {
  for (Precision p : {Precision::f32, Precision::bf16, Precision::f16})
    EXPECT_EQ(precision_from_name(precision_name(p)), p);
  testing::expect_error([] { precision_from_name("fp8"); },
                        {"unknown precision 'fp8'", "f32, bf16"});
}

TEST(RecurrentPrecisionEngines, EveryEngineRunsMixedPrecisionOnF32Tensors) {
  SeqConfig c;
  c.cell = CellKind::lstm;
  c.input_size = c.hidden_size = 64;
  c.precision = Precision::bf16;
  EXPECT_EQ(engine_unsupported_reason(Engine::reference, c, Device::cpu(), DType::f32), "");
  EXPECT_NE(engine_unsupported_reason(Engine::reference, c, Device::cpu(), DType::f64)
                .find("bf16 math precision needs f32 tensors"),
            std::string::npos);
  if (cuda_compiled()) {
    EXPECT_EQ(engine_unsupported_reason(Engine::fused, c, Device::cuda(0), DType::f32), "");
#if RECUR_WITH_CUDNN
    EXPECT_EQ(engine_unsupported_reason(Engine::cudnn, c, Device::cuda(0), DType::f32), "");
#endif
    EXPECT_EQ(engine_unsupported_reason(Engine::persistent, c, Device::cuda(0), DType::f32), "");
    EXPECT_NE(engine_unsupported_reason(Engine::persistent, c, Device::cuda(0), DType::f64)
                  .find("f32 tensors"),
              std::string::npos);
    EXPECT_EQ(choose_engine(Engine::auto_, c, Device::cuda(0), DType::f32), Engine::fused);
  }
}

}  // namespace
}  // namespace recur
