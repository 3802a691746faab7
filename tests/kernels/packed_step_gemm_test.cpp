// The per-step GEMM over packed weights (kernels/cpu/packed_step_gemm.h), with each kernel this
// CPU runs (AVX2, AVX-512), against an f64 triple loop: row counts up to the limit (the 4- and
// 8-row blocks and their remainders), partial last panels, both layouts of W, strided operands,
// alpha and beta; results independent of the thread count and bit-identical between the
// kernels; which products StepWeights packs; the reference engine, which uses it for its
// per-step GEMMs, against the f64 reference over sequences long enough to pack; and whole GEMMs
// through it (kernels/cpu/packed_gemm.h).
#include "kernels/cpu/packed_step_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "core/random.h"
#include "kernels/cpu/packed_gemm.h"
#include "support/seq_parity.h"

namespace recur {
namespace {

struct Product {
  int64_t M, N, K;
  bool trans;
  int64_t pad = 0;       // extra columns of every operand's row stride
  bool trans_a = false;  // A stored [K, M+pad]
};

struct Operands {
  Tensor a, w, c;  // a [M, K+pad] or [K, M+pad], w [N, K+pad] (trans) or [K, N+pad], c [M, N+pad]
  double a_at(int64_t m, int64_t k, bool trans_a) const {
    return trans_a ? a.item({k, m}) : a.item({m, k});
  }
};

Operands operands(const Product& p) {
  Operands o;
  o.a = p.trans_a ? Tensor::empty({p.K, p.M + p.pad}, DType::f32)
                  : Tensor::empty({p.M, p.K + p.pad}, DType::f32);
  o.w = p.trans ? Tensor::empty({p.N, p.K + p.pad}, DType::f32)
                : Tensor::empty({p.K, p.N + p.pad}, DType::f32);
  o.c = Tensor::empty({p.M, p.N + p.pad}, DType::f32);
  fill_uniform(o.a, -1, 1, 1, 0);
  fill_uniform(o.w, -1, 1, 2, 0);
  fill_uniform(o.c, -1, 1, 3, 0);
  return o;
}

// The kernels this build and CPU run.
std::vector<PackedKernel> kernels_here() {
  std::vector<PackedKernel> here;
  for (PackedKernel k : {PackedKernel::avx2, PackedKernel::avx512})
    if (PackedWeights::runs(k)) here.push_back(k);
  return here;
}

const char* name(PackedKernel k) {
  return k == PackedKernel::avx512 ? "avx512" : "avx2";
}

// C = alpha * A op(W) + beta * C through PackedWeights (A read in place where p.trans_a);
// returns C.
std::vector<double> packed_product(const Product& p, const Operands& o, float alpha, float beta,
                                   PackedKernel kernel) {
  Tensor c = o.c.clone();
  const PackedWeights w(o.w.data<float>(), o.w.size(1), p.trans, p.K, p.N, kernel);
  w.multiply(p.M, alpha, o.a.data<float>(), o.a.size(1), beta, c.data<float>(), c.size(1),
             p.trans_a);
  return c.to_vector();
}

// The same through packed_gemm (the default kernel; A transposed where p.trans_a).
std::vector<double> whole_gemm(const Product& p, const Operands& o, float alpha, float beta) {
  Tensor c = o.c.clone();
  packed_gemm(p.trans_a, p.trans, p.M, p.N, p.K, alpha, o.a.data<float>(), o.a.size(1),
              o.w.data<float>(), o.w.size(1), beta, c.data<float>(), c.size(1));
  return c.to_vector();
}

// C from PackedWeights with `kernel`, or from packed_gemm where `whole`, against an f64 sum.
void expect_product(const Product& p, float alpha, float beta, PackedKernel kernel,
                    bool whole = false) {
  SCOPED_TRACE(::testing::Message()
               << (whole ? "packed_gemm" : name(kernel)) << " M=" << p.M << " N=" << p.N
               << " K=" << p.K << " trans=" << p.trans << " trans_a=" << p.trans_a
               << " pad=" << p.pad << " alpha=" << alpha << " beta=" << beta);
  const Operands o = operands(p);
  const std::vector<double> got =
      whole ? whole_gemm(p, o, alpha, beta) : packed_product(p, o, alpha, beta, kernel);
  const int64_t ldc = p.N + p.pad;
  for (int64_t i = 0; i < p.M; ++i) {
    for (int64_t j = 0; j < p.N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < p.K; ++k)
        s += o.a_at(i, k, p.trans_a) * (p.trans ? o.w.item({j, k}) : o.w.item({k, j}));
      const double want = alpha * s + beta * o.c.item({i, j});
      ASSERT_NEAR(got[i * ldc + j], want, 1e-5 * (std::sqrt(double(p.K)) + std::fabs(want)))
          << "at row " << i << " column " << j;
    }
    for (int64_t j = p.N; j < ldc; ++j)  // the stride's padding is not written
      ASSERT_EQ(got[i * ldc + j], o.c.item({i, j})) << "padding of row " << i << " written";
  }
}

TEST(PackedStepGemm, MatchesTheProductForEveryRowBlockRemainderAndPanelRemainder) {
  if (!PackedWeights::supported()) GTEST_SKIP() << "no packed kernel runs on this build and CPU";
  // Every remainder of the 4-row (AVX2) and 8-row (AVX-512) blocks, and whole blocks up to the
  // limit; panels of 24 (AVX2) and 48 (AVX-512) columns, whole and partial.
  const int64_t row_counts[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 63, 64, 130, kPackedMaxRows};
  for (PackedKernel kernel : kernels_here())
    for (bool trans : {true, false})
      for (bool trans_a : {false, true})
        for (int64_t M : row_counts)
          for (int64_t N : {1, 23, 24, 25, 47, 48, 73, 97})
            expect_product({M, N, 37, trans, 0, trans_a}, 1.0f, 0.0f, kernel);
}

// Beyond kPackedMaxRows the product runs in tasks of (a chunk of rows, a panel): chunks of 256
// rows at small K, 128 rows from K = 512 on, the last chunk partial; K summed in slices of 512,
// each added to C (beta only on the first).
TEST(PackedStepGemm, ManyRowsRunInChunks) {
  if (!PackedWeights::supported()) GTEST_SKIP() << "no packed kernel runs on this build and CPU";
  for (PackedKernel kernel : kernels_here())
    for (bool trans : {true, false})
      for (bool trans_a : {false, true}) {
        expect_product({kPackedMaxRows + 1, 73, 37, trans, 0, trans_a}, 1.0f, 0.0f, kernel);
        // K in slices of 512, 512 and 512 + 76 rows
        expect_product({613, 50, 700, trans, 3, trans_a}, 0.5f, 1.0f, kernel);
        expect_product({300, 29, 1100, trans, 1, trans_a}, 2.0f, 0.0f, kernel);
      }
}

// A stored [K, M] is read in place, each element of C still summed in k order: the same bits as
// the product over a transposed copy of A, with either kernel, below and beyond kPackedMaxRows
// rows, with a strided A.
TEST(PackedStepGemm, ATransposedInPlaceGivesTheBitsOfATransposedCopy) {
  if (!PackedWeights::supported()) GTEST_SKIP() << "no packed kernel runs on this build and CPU";
  for (PackedKernel kernel : kernels_here())
    for (const Product& p :
         {Product{37, 24 * 3 + 5, 29, true, 3, true}, Product{300, 50, 700, false, 1, true}}) {
      const Operands o = operands(p);
      Operands copy = o;
      copy.a = Tensor::empty({p.M, p.K}, DType::f32);
      for (int64_t m = 0; m < p.M; ++m)
        for (int64_t k = 0; k < p.K; ++k)
          copy.a.data<float>()[m * p.K + k] = o.a.data<float>()[k * (p.M + p.pad) + m];
      Product untransposed = p;
      untransposed.trans_a = false;
      EXPECT_EQ(packed_product(p, o, 0.7f, 0.3f, kernel),
                packed_product(untransposed, copy, 0.7f, 0.3f, kernel))
          << name(kernel) << " M=" << p.M << " K=" << p.K;
    }
}

// packed_gemm: a whole GEMM through the default kernel, every layout of A and B, strides, alpha
// and beta, below and beyond kPackedMaxRows rows.
TEST(PackedGemm, MatchesTheProductForEveryLayout) {
  if (!PackedWeights::supported()) GTEST_SKIP() << "no packed kernel runs on this build and CPU";
  const PackedKernel kernel = PackedWeights::default_kernel();
  for (bool trans_a : {false, true})
    for (bool trans_b : {false, true}) {
      expect_product({1, 5, 3, trans_b, 0, trans_a}, 1.0f, 0.0f, kernel, true);
      expect_product({37, 61, 129, trans_b, 2, trans_a}, -0.5f, 2.0f, kernel, true);
      expect_product({333, 97, 45, trans_b, 1, trans_a}, 1.0f, 1.0f, kernel, true);
    }
}

// Each element is still summed in k order by one thread (A transposed or not).
TEST(PackedGemm, ResultsDoNotDependOnTheThreadCount) {
  if (!PackedWeights::supported()) GTEST_SKIP() << "no packed kernel runs on this build and CPU";
  const int threads = num_threads();
  for (bool trans_a : {false, true}) {
    const Product p{300, 24 * 9 + 5, 130, true, 0, trans_a};
    const Operands o = operands(p);
    set_num_threads(1);
    const std::vector<double> one = whole_gemm(p, o, 1.0f, 0.5f);
    set_num_threads(2);
    EXPECT_EQ(one, whole_gemm(p, o, 1.0f, 0.5f)) << "trans_a=" << trans_a;
  }
  set_num_threads(threads);
}

// Where gemm_cpu<float> sends a product: only where preferred (recur's AVX-512 kernel, OpenBLAS
// without one), from 32 rows and 8M multiply-adds.
TEST(PackedGemm, PaysOnlyWherePreferredForLargeProducts) {
  const bool preferred = packed_gemm_preferred();
  if (preferred) {
    EXPECT_TRUE(PackedWeights::supported());
  }
  EXPECT_EQ(packed_gemm_pays(32, 512, 512), preferred);
  EXPECT_FALSE(packed_gemm_pays(64, 256, 256));    // 4M: even with OpenBLAS
  EXPECT_FALSE(packed_gemm_pays(31, 4096, 4096));  // too few rows
  EXPECT_FALSE(packed_gemm_pays(64, 64, 64));      // too little work
}

TEST(PackedStepGemm, StridedOperandsAlphaBetaAndShortSums) {
  if (!PackedWeights::supported()) GTEST_SKIP() << "no packed kernel runs on this build and CPU";
  for (PackedKernel kernel : kernels_here())
    for (bool trans : {true, false}) {
      expect_product({5, 50, 1, trans, 3}, 1.0f, 1.0f, kernel);  // one term per sum, C accumulated
      expect_product({8, 48, 200, trans, 5}, -0.5f, 2.0f, kernel);
      expect_product({3, 24, 7, trans, 0}, 2.0f, 0.0f, kernel);
      expect_product({11, 61, 19, trans, 2}, 1.5f, -0.75f, kernel);
    }
}

// Both kernels sum each element in k order with fused multiply-adds: the same bits, whole and
// partial panels, with and without beta.
TEST(PackedStepGemm, KernelsGiveBitIdenticalResults) {
  if (kernels_here().size() < 2) GTEST_SKIP() << "this CPU runs only one packed kernel";
  for (const Product& p : {Product{13, 24 * 7 + 5, 301, true, 1}, Product{64, 48 * 5, 128, false}})
    for (float beta : {0.0f, 1.0f, 0.3f}) {
      const Operands o = operands(p);
      EXPECT_EQ(packed_product(p, o, 0.7f, beta, PackedKernel::avx2),
                packed_product(p, o, 0.7f, beta, PackedKernel::avx512))
          << "M=" << p.M << " N=" << p.N << " beta=" << beta;
    }
}

// Every element is summed in k order by one thread: the thread count changes nothing.
TEST(PackedStepGemm, ResultsDoNotDependOnTheThreadCount) {
  if (!PackedWeights::supported()) GTEST_SKIP() << "no packed kernel runs on this build and CPU";
  const Product p{7, 24 * 40 + 5, 300, true};
  const Operands o = operands(p);
  const int threads = num_threads();
  for (PackedKernel kernel : kernels_here()) {
    set_num_threads(1);
    const std::vector<double> one = packed_product(p, o, 1.0f, 1.0f, kernel);
    set_num_threads(2);
    const std::vector<double> two = packed_product(p, o, 1.0f, 1.0f, kernel);
    EXPECT_EQ(one, two) << name(kernel);
  }
  set_num_threads(threads);
}

TEST(PackedStepGemm, StepWeightsPacksOnlyRegisteredWeightsOverLongSequences) {
  if (!PackedWeights::supported()) GTEST_SKIP() << "no packed kernel runs on this build and CPU";
  Tensor w_hh = Tensor::zeros({12, 3}, DType::f32), other = Tensor::zeros({12, 3}, DType::f32);
  StepWeights weights({&w_hh, nullptr}, StepWeights::kMinSteps);
  const float* w = w_hh.data<float>();
  const PackedWeights* packed = weights.find(false, true, 4, 12, 3, w, 3);
  ASSERT_NE(packed, nullptr);
  EXPECT_TRUE(packed->packs(w, 3, true, 3, 12));
  EXPECT_EQ(weights.find(false, true, 8, 12, 3, w, 3), packed);    // packed once, for any M
  EXPECT_NE(weights.find(false, false, 4, 3, 12, w, 3), nullptr);  // the other layout: its own
  EXPECT_EQ(weights.find(false, true, 4, 12, 3, other.data<float>(), 3), nullptr);  // not a weight
  EXPECT_EQ(weights.find(true, true, 4, 12, 3, w, 3), nullptr);                     // transposed A
  EXPECT_EQ(weights.find(false, true, 1, 12, 3, w, 3), nullptr);                    // one row: gemv
  EXPECT_EQ(weights.find(false, true, kPackedMaxRows + 1, 12, 3, w, 3), nullptr);
  EXPECT_EQ(weights.find(false, true, 2, 12, 3, w, 3), packed);  // from two rows on
  StepWeights short_sequence({&w_hh}, StepWeights::kMinSteps - 1);
  EXPECT_EQ(short_sequence.find(false, true, 4, 12, 3, w, 3), nullptr);
  Tensor f64 = Tensor::zeros({12, 3}, DType::f64);
  StepWeights doubles({&f64}, StepWeights::kMinSteps);  // f64 runs OpenBLAS: nothing registered
  EXPECT_EQ(doubles.find(false, true, 4, 12, 3, static_cast<const float*>(f64.raw_data()), 3),
            nullptr);
}

// The reference engine in f32 at batch 2 to 64 over 12 steps (its per-step GEMMs over packed
// weights, forward and backward) against the f64 reference, with every option.
TEST(PackedStepGemm, ReferenceEngineOverPackedWeightsMatchesTheF64Reference) {
  using namespace seq_parity;
  for (const CellVariant cv : {CellVariant{CellKind::rnn_tanh, 0}, CellVariant{CellKind::leaky, 0},
                               CellVariant{CellKind::gru, 0}, CellVariant{CellKind::lstm, 0},
                               CellVariant{CellKind::lstm, kProj}})
    for (int64_t B : {2, 5, 16, 64})
      for (bool reverse : {false, true}) {
        const Case c{cv.cell, cv.proj, reverse, true, true, B, 37, 12, DType::f32};
        SCOPED_TRACE(case_options(c) + " B=" + std::to_string(B));
        expect_matches_reference(make_problem(c), DType::f32, kReference);
      }
}

}  // namespace
}  // namespace recur
