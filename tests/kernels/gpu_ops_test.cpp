// The dispatch points of kernels/gemm.h, kernels/embedding.h and kernels/softmax_xent.h on GPU 0
// against the same calls on the CPU, f32 and f64, odd sizes: gemm and batched_gemm (every
// transpose), axpy, column sums, TF32 as an opt-in, embedding gather and scatter-add (i32 and i64
// ids, repeated ids; the scatter-add is bit-identical), softmax cross-entropy with ignored rows;
// the errors for bad ids and targets (the CPU's text, outputs untouched) and for operands on two
// devices; two runs bit-identical. Every test skips where there is no GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "core/cuda_runtime.h"
#include "core/random.h"
#include "core/tensor.h"
#include "kernels/embedding.h"
#include "kernels/gemm.h"
#include "kernels/softmax_xent.h"
#include "support/compare.h"
#include "support/expect_error.h"

namespace recur {
namespace {

using testing::expect_error;

const Device kCuda = Device::cuda(0);

template <class T>
class GpuOps : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  }
};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(GpuOps, FloatTypes);

class GpuOpsErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  }
};

// f32: the two devices sum in different orders (and may fuse differently); f64 likewise.
template <class T>
testing::Tolerance tolerance() {
  return std::is_same_v<T, double> ? testing::Tolerance{1e-24, 1e-11, 1e-13}
                                   : testing::Tolerance{1e-12, 1e-5, 1e-6};
}

template <class T>
Tensor random_tensor(const Shape& shape, uint32_t stream, double low = -1, double high = 1) {
  Tensor t = Tensor::empty(shape, dtype_of<T>);
  fill_uniform(t, low, high, 7, stream);
  return t;
}

template <class I>
Tensor ids_tensor(const std::vector<int64_t>& values) {
  std::vector<I> v(values.begin(), values.end());
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
}

// Pseudo-random ids in [0, vocab), with repeats.
std::vector<int64_t> random_ids(int64_t n, int64_t vocab, uint64_t seed) {
  std::vector<int64_t> ids(n);
  uint64_t x = seed;
  for (int64_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    ids[i] = static_cast<int64_t>((x >> 33) % static_cast<uint64_t>(vocab));
  }
  return ids;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  const Tensor ha = a.to(Device::cpu()), hb = b.to(Device::cpu());
  return ha.shape() == hb.shape() && ha.dtype() == hb.dtype() &&
         std::memcmp(ha.raw_data(), hb.raw_data(), ha.nbytes()) == 0;
}

template <class T>
void expect_near(const Tensor& gpu, const Tensor& cpu, const std::string& what) {
  testing::expect_close(gpu.to(Device::cpu()), cpu, tolerance<T>(), what);
}

// The message of the recur::Error that f throws ("" when it throws none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// ---------------------------------------------------------------- gemm, axpy, column sums

TYPED_TEST(GpuOps, GemmMatchesTheCpuForEveryTranspose) {
  using T = TypeParam;
  const int64_t M = 37, N = 29, K = 13;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const Tensor a = random_tensor<T>(ta ? Shape{K, M} : Shape{M, K}, 1);
      const Tensor b = random_tensor<T>(tb ? Shape{N, K} : Shape{K, N}, 2);
      Tensor c_cpu = random_tensor<T>({M, N}, 3);
      Tensor c_gpu = c_cpu.to(kCuda);
      gemm(a, ta, b, tb, c_cpu, 0.7, 0.3);
      gemm(a.to(kCuda), ta, b.to(kCuda), tb, c_gpu, 0.7, 0.3);
      expect_near<T>(c_gpu, c_cpu, fmt::format("gemm trans_a {} trans_b {}", ta, tb));
    }
}

// One strided-batched cuBLAS call against the CPU's gemm per group.
TYPED_TEST(GpuOps, BatchedGemmMatchesTheCpuForEveryTranspose) {
  using T = TypeParam;
  const int64_t G = 5, M = 11, N = 7, K = 9;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const Tensor a = random_tensor<T>(ta ? Shape{G, K, M} : Shape{G, M, K}, 1);
      const Tensor b = random_tensor<T>(tb ? Shape{G, N, K} : Shape{G, K, N}, 2);
      Tensor c_cpu = random_tensor<T>({G, M, N}, 3);
      Tensor c_gpu = c_cpu.to(kCuda);
      batched_gemm(a, ta, b, tb, c_cpu, 0.7, 0.3);
      batched_gemm(a.to(kCuda), ta, b.to(kCuda), tb, c_gpu, 0.7, 0.3);
      expect_near<T>(c_gpu, c_cpu, fmt::format("batched_gemm trans_a {} trans_b {}", ta, tb));
    }
}

// Mixed precision: cuBLAS on bf16/f16 operands (tensor cores, f32 accumulation) against the CPU's
// emulation, which rounds the same way: only the order of the f32 sums differs. K = 300 covers
// tensor-core tiles beyond one; operand values up to 4 make f16 and bf16 rounding visible.
TEST_F(GpuOpsErrors, MixedPrecisionGemmMatchesTheCpuEmulationForEveryTranspose) {
  const int64_t M = 37, N = 29, K = 300;
  for (Precision precision : {Precision::bf16, Precision::f16})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const Tensor a = random_tensor<float>(ta ? Shape{K, M} : Shape{M, K}, 1, -4, 4);
        const Tensor b = random_tensor<float>(tb ? Shape{N, K} : Shape{K, N}, 2, -4, 4);
        Tensor c_cpu = random_tensor<float>({M, N}, 3);
        Tensor c_gpu = c_cpu.to(kCuda);
        Tensor c_f32 = c_cpu.clone();
        gemm(a, ta, b, tb, c_cpu, 0.7, 0.3, precision);
        gemm(a.to(kCuda), ta, b.to(kCuda), tb, c_gpu, 0.7, 0.3, precision);
        gemm(a, ta, b, tb, c_f32, 0.7, 0.3);
        const std::string what =
            fmt::format("{} gemm trans_a {} trans_b {}", precision_name(precision), ta, tb);
        testing::expect_close(c_gpu.to(Device::cpu()), c_cpu, {1e-12, 1e-5, 1e-4}, what);
        EXPECT_GT(testing::normalised_mse(c_cpu, c_f32), 1e-8) << what << ": no rounding seen";
      }
}

// TF32 is an explicit opt-in (core/cuda_runtime.h): off, an f32 GEMM is full f32; allowed, cuBLAS
// rounds the operands to TF32 (10 mantissa bits, unit roundoff 2^-11) on tensor cores, an error
// far above f32's and within TF32's; off again, full f32 again. The size makes cuBLAS pick a
// tensor-core kernel.
TEST_F(GpuOpsErrors, Tf32IsAnExplicitOptInForF32Gemms) {
  const int64_t M = 256, N = 256, K = 512;
  const Tensor a = random_tensor<float>({M, K}, 1);
  const Tensor b = random_tensor<float>({K, N}, 2);
  Tensor exact = Tensor::zeros({M, N}, DType::f64);
  gemm(a.to(DType::f64), false, b.to(DType::f64), false, exact, 1.0, 0.0);
  auto gpu_error = [&] {
    Tensor c = Tensor::zeros({M, N}, DType::f32, kCuda);
    gemm(a.to(kCuda), false, b.to(kCuda), false, c, 1.0, 0.0);
    return testing::normalised_mse(c.to(Device::cpu()).to(DType::f64), exact);
  };
  ASSERT_FALSE(cuda_allow_tf32(0)) << "TF32 must be off by default";
  const double f32_error = gpu_error();
  EXPECT_LT(f32_error, 1e-12);
  set_cuda_allow_tf32(0, true);
  const bool allowed = cuda_allow_tf32(0);
  const double tf32_error = gpu_error();
  set_cuda_allow_tf32(0, false);
  EXPECT_TRUE(allowed);
  EXPECT_GT(tf32_error, 100 * f32_error) << "TF32 allowed but no rounding seen";
  EXPECT_LT(tf32_error, 1e-5) << "beyond TF32's rounding";
  EXPECT_FALSE(cuda_allow_tf32(0));
  EXPECT_EQ(gpu_error(), f32_error) << "TF32 switched off is not full f32 again";
}

TYPED_TEST(GpuOps, AxpyMatchesTheCpu) {
  using T = TypeParam;
  const Tensor x = random_tensor<T>({1031}, 4);
  Tensor y_cpu = random_tensor<T>({1031}, 5);
  Tensor y_gpu = y_cpu.to(kCuda);
  axpy(-0.37, x, y_cpu);
  axpy(-0.37, x.to(kCuda), y_gpu);
  expect_near<T>(y_gpu, y_cpu, "axpy");
}

TYPED_TEST(GpuOps, ColumnSumsMatchTheCpuAndRepeatBitForBit) {
  using T = TypeParam;
  const Tensor m = random_tensor<T>({203, 70}, 6);
  const Tensor start = random_tensor<T>({70}, 7);
  Tensor out_cpu = start.clone();
  add_column_sums(m, out_cpu);
  const Tensor m_gpu = m.to(kCuda);
  Tensor first = start.to(kCuda), second = start.to(kCuda);
  add_column_sums(m_gpu, first);
  add_column_sums(m_gpu, second);
  // 203 terms summed in another order: in f32 the two sums differ by up to 203 * eps * |sum|
  // (a CPU emulation of the kernel's order found 2.1e-5 over 1000 inputs), more than the
  // elementwise tolerance allows; f64 keeps it.
  const testing::Tolerance sums =
      std::is_same_v<T, double> ? tolerance<T>() : testing::Tolerance{1e-10, 1e-5, 1e-4};
  testing::expect_close(first.to(Device::cpu()), out_cpu, sums, "column sums");
  EXPECT_TRUE(same_bits(first, second)) << "two runs differ";
}

// ---------------------------------------------------------------- embedding

template <class I, class T>
void check_embedding(uint64_t seed) {
  const int64_t N = 173, V = 17, E = 13;  // N >> V: every row repeats
  const std::vector<int64_t> id_values = random_ids(N, V, seed);
  const Tensor ids = ids_tensor<I>(id_values);
  const Tensor table = random_tensor<T>({V, E}, 8);
  const Tensor dout = random_tensor<T>({N, E}, 9);

  Tensor out_cpu = Tensor::empty({N, E}, dtype_of<T>);
  embedding_fwd(ids, table, out_cpu);
  Tensor out_gpu = Tensor::zeros({N, E}, dtype_of<T>, kCuda);
  embedding_fwd(ids.to(kCuda), table.to(kCuda), out_gpu);
  EXPECT_TRUE(same_bits(out_gpu, out_cpu)) << "gather";

  Tensor dtable_cpu = random_tensor<T>({V, E}, 10);
  const Tensor start = dtable_cpu.clone();
  embedding_bwd(ids, dout, dtable_cpu);
  Tensor first = start.to(kCuda), second = start.to(kCuda);
  embedding_bwd(ids.to(kCuda), dout.to(kCuda), first);
  embedding_bwd(ids.to(kCuda), dout.to(kCuda), second);
  EXPECT_TRUE(same_bits(first, dtable_cpu)) << "scatter-add differs from the CPU's bits";
  EXPECT_TRUE(same_bits(first, second)) << "two runs differ";
}

TYPED_TEST(GpuOps, EmbeddingMatchesTheCpuBitForBitWithI64Ids) {
  check_embedding<int64_t, TypeParam>(11);
}

TYPED_TEST(GpuOps, EmbeddingMatchesTheCpuBitForBitWithI32Ids) {
  check_embedding<int32_t, TypeParam>(12);
}

TYPED_TEST(GpuOps, EmbeddingOfNoIdsDoesNothing) {
  using T = TypeParam;
  const Tensor ids = Tensor::empty({0}, DType::i64, kCuda);
  const Tensor table = random_tensor<T>({5, 3}, 13).to(kCuda);
  Tensor out = Tensor::empty({0, 3}, dtype_of<T>, kCuda);
  embedding_fwd(ids, table, out);
  Tensor dtable = table.clone();
  embedding_bwd(ids, out, dtable);
  EXPECT_TRUE(same_bits(dtable, table));
}

TYPED_TEST(GpuOps, BadEmbeddingIdsThrowTheCpuErrorAndChangeNothing) {
  using T = TypeParam;
  const int64_t V = 9, E = 4;
  const std::vector<int64_t> values = {1, 3, 8, 9, 2, -1, 12};  // first bad id 9 at position 3
  const int64_t N = static_cast<int64_t>(values.size());
  for (DType id_type : {DType::i64, DType::i32}) {
    const Tensor ids =
        id_type == DType::i64 ? ids_tensor<int64_t>(values) : ids_tensor<int32_t>(values);
    const Tensor table = random_tensor<T>({V, E}, 14);
    Tensor out_cpu = Tensor::zeros({N, E}, dtype_of<T>);
    const std::string expected = error_of([&] { embedding_fwd(ids, table, out_cpu); });
    ASSERT_NE(expected.find("id 9 at position 3 is outside [0, 9)"), std::string::npos) << expected;

    const Tensor sentinel = random_tensor<T>({N, E}, 15);
    Tensor out_gpu = sentinel.to(kCuda);
    EXPECT_EQ(error_of([&] { embedding_fwd(ids.to(kCuda), table.to(kCuda), out_gpu); }), expected);
    EXPECT_TRUE(same_bits(out_gpu, sentinel)) << "forward wrote despite a bad id";

    Tensor dtable = table.to(kCuda);
    const Tensor dout = random_tensor<T>({N, E}, 16).to(kCuda);
    EXPECT_EQ(error_of([&] { embedding_bwd(ids.to(kCuda), dout, dtable); }), expected);
    EXPECT_TRUE(same_bits(dtable, table)) << "backward wrote despite a bad id";
  }
}

// ---------------------------------------------------------------- softmax cross-entropy

TYPED_TEST(GpuOps, SoftmaxXentMatchesTheCpuWithIgnoredRows) {
  using T = TypeParam;
  constexpr int64_t kIgnore = -100;
  for (int64_t C : {1, 7, 300, 1029}) {  // one class, fewer than a warp, several per thread
    const int64_t N = 37;
    std::vector<int64_t> targets = random_ids(N, C, 17 + C);
    targets[3] = targets[20] = targets[36] = kIgnore;
    const Tensor t = Tensor::from_vector(targets, {N});
    const Tensor logits = random_tensor<T>({N, C}, 18, -8, 8);

    Tensor probs_cpu = Tensor::empty({N, C}, dtype_of<T>);
    int64_t counted_cpu = 0;
    const double loss_cpu = softmax_xent_fwd(logits, t, kIgnore, probs_cpu, &counted_cpu);
    Tensor probs_gpu = Tensor::empty({N, C}, dtype_of<T>, kCuda);
    int64_t counted_gpu = 0;
    const Tensor t_gpu = t.to(kCuda), logits_gpu = logits.to(kCuda);
    const double loss_gpu = softmax_xent_fwd(logits_gpu, t_gpu, kIgnore, probs_gpu, &counted_gpu);
    const std::string what = fmt::format("C = {}", C);
    EXPECT_EQ(counted_gpu, counted_cpu) << what;
    EXPECT_EQ(counted_gpu, N - 3) << what;
    // Row losses are computed in double from the same T inputs; only the order of sums differs.
    const double loss_tol = std::is_same_v<T, double> ? 1e-12 : 1e-6;
    EXPECT_NEAR(loss_gpu, loss_cpu, loss_tol * std::max(1.0, std::abs(loss_cpu))) << what;
    expect_near<T>(probs_gpu, probs_cpu, what + " probs");

    Tensor probs_again = Tensor::empty({N, C}, dtype_of<T>, kCuda);
    int64_t counted_again = 0;
    const double loss_again =
        softmax_xent_fwd(logits_gpu, t_gpu, kIgnore, probs_again, &counted_again);
    EXPECT_EQ(loss_again, loss_gpu) << what << ": two runs differ";
    EXPECT_TRUE(same_bits(probs_again, probs_gpu)) << what << ": two runs differ";

    const double scale = 1.0 / static_cast<double>(counted_cpu);
    Tensor d_cpu = Tensor::empty({N, C}, dtype_of<T>);
    softmax_xent_bwd(probs_cpu, t, kIgnore, scale, d_cpu);
    Tensor d_gpu = random_tensor<T>({N, C}, 19).to(kCuda);  // ignored rows must become 0
    softmax_xent_bwd(probs_gpu, t_gpu, kIgnore, scale, d_gpu);
    expect_near<T>(d_gpu, d_cpu, what + " dlogits");
  }
}

TYPED_TEST(GpuOps, SoftmaxXentOfNoRowsIsZero) {
  using T = TypeParam;
  Tensor probs = Tensor::empty({0, 5}, dtype_of<T>, kCuda);
  int64_t counted = -1;
  EXPECT_EQ(softmax_xent_fwd(Tensor::empty({0, 5}, dtype_of<T>, kCuda),
                             Tensor::empty({0}, DType::i64, kCuda), -100, probs, &counted),
            0.0);
  EXPECT_EQ(counted, 0);
}

TYPED_TEST(GpuOps, BadTargetsThrowTheCpuErrorAndLeaveProbsUnchanged) {
  using T = TypeParam;
  const int64_t N = 6, C = 4;
  const Tensor t = Tensor::from_vector(std::vector<int64_t>{0, -100, 3, 4, -1, 2}, {N});
  const Tensor logits = random_tensor<T>({N, C}, 20);
  Tensor probs_cpu = Tensor::empty({N, C}, dtype_of<T>);
  int64_t counted = 0;
  const std::string expected =
      error_of([&] { softmax_xent_fwd(logits, t, -100, probs_cpu, &counted); });
  ASSERT_NE(expected.find("target 4 at row 3 is outside [0, 4)"), std::string::npos) << expected;
  const Tensor sentinel = random_tensor<T>({N, C}, 21);
  Tensor probs_gpu = sentinel.to(kCuda);
  EXPECT_EQ(
      error_of([&] { softmax_xent_fwd(logits.to(kCuda), t.to(kCuda), -100, probs_gpu, &counted); }),
      expected);
  EXPECT_TRUE(same_bits(probs_gpu, sentinel)) << "probs written despite a bad target";
}

// ---------------------------------------------------------------- operands on two devices

TEST_F(GpuOpsErrors, OperandsOnTwoDevicesAreErrors) {
  const Tensor a = Tensor::zeros({3, 4}, DType::f32, kCuda);
  const Tensor b_cpu = Tensor::zeros({4, 5}, DType::f32);
  Tensor c = Tensor::zeros({3, 5}, DType::f32, kCuda);
  expect_error([&] { gemm(a, false, b_cpu, false, c); },
               {"gemm b", "expected a tensor on cuda:0", "got one on cpu"});
  Tensor y = Tensor::zeros({4, 5}, DType::f32, kCuda);
  expect_error([&] { axpy(1.0, b_cpu, y); }, "axpy: expected tensors on one device");
  Tensor sums = Tensor::zeros({5}, DType::f32);
  expect_error([&] { add_column_sums(y, sums); },
               "add_column_sums: expected tensors on one device");

  const Tensor ids = Tensor::zeros({2}, DType::i64);
  Tensor out = Tensor::zeros({2, 4}, DType::f32, kCuda);
  expect_error([&] { embedding_fwd(ids, a, out); },
               "embedding: expected ids, table and output on one device");

  const Tensor targets = Tensor::zeros({3}, DType::i64);
  Tensor probs = Tensor::zeros({3, 4}, DType::f32, kCuda);
  int64_t counted = 0;
  expect_error([&] { softmax_xent_fwd(a, targets, -100, probs, &counted); },
               "cross-entropy: expected logits, targets and probs on one device");
}

}  // namespace
}  // namespace recur
