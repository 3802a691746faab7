// The CUDA runtime of core/cuda_runtime.h and the device side of Tensor, on GPU 0: the caching
// allocator (reuse, accounting, release, out-of-memory message), host <-> device <-> device copies
// (bit-exact for every dtype), zeros, views, the errors for host-only access, and cuBLAS GEMM
// (kernels/cuda/gemm_cuda.h) against the OpenBLAS GEMM (kernels/cpu/gemm_cpu.h) in f32 and f64,
// every transpose, odd sizes, padded leading dimensions, and bf16/f16 against an f32 product.
// Every test skips where there is no GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/cuda_runtime.h"
#include "core/random.h"
#include "core/tensor.h"
#include "kernels/cpu/gemm_cpu.h"
#include "kernels/cuda/gemm_cuda.h"
#include "support/expect_error.h"

namespace recur {
namespace {

using testing::expect_error;

constexpr int kGpu = 0;
const Device kCuda = Device::cuda(kGpu);

class GpuRuntime : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  }
};

// A CPU tensor whose bytes are pseudo-random (every bit pattern, NaNs included, for floats).
Tensor random_bytes(const Shape& shape, DType dtype, uint64_t seed) {
  Tensor t = Tensor::empty(shape, dtype);
  std::mt19937_64 rng(seed);
  auto* p = static_cast<unsigned char*>(t.raw_data());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<unsigned char>(rng() >> 56);
  return t;
}

Tensor random_uniform(const Shape& shape, DType dtype, uint32_t stream) {
  Tensor t = Tensor::empty(shape, dtype);
  fill_uniform(t, -1.0, 1.0, 2024, stream);
  return t;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.nbytes() == b.nbytes() &&
         (a.nbytes() == 0 || std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0);
}

// ---------------------------------------------------------------- caching allocator

TEST_F(GpuRuntime, SmallAllocatorReusesAFreedBlock) {
  constexpr size_t kBytes = 123457;  // odd on purpose: the block is rounded up
  release_cuda_cache(kGpu);
  const DeviceMemoryStats s0 = cuda_memory_stats(kGpu);
  EXPECT_EQ(s0.cached, 0u);

  std::byte* first = nullptr;
  size_t block = 0;
  {
    std::shared_ptr<std::byte> p = allocate_cuda(kBytes, kGpu);
    ASSERT_NE(p, nullptr);
    first = p.get();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % 256, 0u) << "256-byte alignment";
    const DeviceMemoryStats s1 = cuda_memory_stats(kGpu);
    EXPECT_EQ(s1.device_mallocs, s0.device_mallocs + 1);
    EXPECT_EQ(s1.reused, s0.reused);
    block = s1.in_use - s0.in_use;
    EXPECT_GE(block, kBytes);
    EXPECT_LT(block, kBytes + 4096);
    EXPECT_GE(s1.peak_in_use, s1.in_use);
  }
  const DeviceMemoryStats s2 = cuda_memory_stats(kGpu);
  EXPECT_EQ(s2.in_use, s0.in_use);
  EXPECT_EQ(s2.cached, s0.cached + block);

  // The same size again: served from the cache, no cudaMalloc, the same memory.
  std::shared_ptr<std::byte> q = allocate_cuda(kBytes, kGpu);
  const DeviceMemoryStats s3 = cuda_memory_stats(kGpu);
  EXPECT_EQ(q.get(), first);
  EXPECT_EQ(s3.device_mallocs, s0.device_mallocs + 1);
  EXPECT_EQ(s3.reused, s0.reused + 1);
  EXPECT_EQ(s3.in_use, s0.in_use + block);
  EXPECT_EQ(s3.cached, s0.cached);

  // The cached memory is usable: a round trip through it is exact.
  Tensor host = random_bytes({static_cast<int64_t>(kBytes)}, DType::u8, 1);
  copy_bytes(q.get(), kCuda, host.raw_data(), Device::cpu(), kBytes);
  Tensor back = Tensor::zeros({static_cast<int64_t>(kBytes)}, DType::u8);
  copy_bytes(back.raw_data(), Device::cpu(), q.get(), kCuda, kBytes);
  EXPECT_TRUE(same_bytes(host, back));
}

TEST_F(GpuRuntime, SmallAllocatorTracksInUseAndPeak) {
  constexpr size_t kBytes = 40000;
  release_cuda_cache(kGpu);  // every block below is a fresh one of the same size
  reset_cuda_peak(kGpu);
  const DeviceMemoryStats s0 = cuda_memory_stats(kGpu);
  EXPECT_EQ(s0.peak_in_use, s0.in_use);
  auto a = allocate_cuda(kBytes, kGpu);
  const size_t block = cuda_memory_stats(kGpu).in_use - s0.in_use;
  EXPECT_GE(block, kBytes);
  auto b = allocate_cuda(kBytes, kGpu);
  auto c = allocate_cuda(kBytes, kGpu);
  EXPECT_NE(a.get(), b.get());
  EXPECT_NE(b.get(), c.get());
  const DeviceMemoryStats s1 = cuda_memory_stats(kGpu);
  EXPECT_EQ(s1.in_use, s0.in_use + 3 * block);
  EXPECT_EQ(s1.peak_in_use, s1.in_use);
  b.reset();
  c.reset();
  const DeviceMemoryStats s2 = cuda_memory_stats(kGpu);
  EXPECT_EQ(s2.in_use, s0.in_use + block);
  EXPECT_EQ(s2.peak_in_use, s1.peak_in_use) << "the peak stays after frees";
  reset_cuda_peak(kGpu);
  EXPECT_EQ(cuda_memory_stats(kGpu).peak_in_use, s2.in_use);
  a.reset();
  EXPECT_EQ(cuda_memory_stats(kGpu).in_use, s0.in_use);
}

TEST_F(GpuRuntime, SmallReleaseCacheReturnsBlocksToTheDriver) {
  constexpr size_t kBytes = 3 * (size_t(1) << 20) + 1;  // a large block
  { auto p = allocate_cuda(kBytes, kGpu); }
  EXPECT_GE(cuda_memory_stats(kGpu).cached, kBytes);
  release_cuda_cache(kGpu);
  const DeviceMemoryStats s0 = cuda_memory_stats(kGpu);
  EXPECT_EQ(s0.cached, 0u);
  // With the cache empty the next allocation needs the driver again.
  auto p = allocate_cuda(kBytes, kGpu);
  const DeviceMemoryStats s1 = cuda_memory_stats(kGpu);
  EXPECT_EQ(s1.device_mallocs, s0.device_mallocs + 1);
  EXPECT_EQ(s1.reused, s0.reused);
  EXPECT_GE(s1.in_use - s0.in_use, kBytes);
}

TEST_F(GpuRuntime, SmallZeroByteAllocationIsValid) {
  auto p = allocate_cuda(0, kGpu);
  EXPECT_NE(p, nullptr);
  Tensor t = Tensor::empty({0, 5}, DType::f32, kCuda);
  EXPECT_EQ(t.numel(), 0);
  Tensor back = t.to(Device::cpu());
  EXPECT_EQ(back.shape(), (Shape{0, 5}));
}

TEST_F(GpuRuntime, SmallHugeAllocationThrowsNamingTheBytes) {
  constexpr size_t kPiB = size_t(1) << 50;
  const DeviceMemoryStats s0 = cuda_memory_stats(kGpu);
  expect_error([&] { allocate_cuda(kPiB, kGpu); }, {std::to_string(kPiB) + " bytes", "cuda:0"});
  expect_error([&] { Tensor::empty({int64_t(1) << 48}, DType::f32, kCuda); },
               {std::to_string(kPiB) + " bytes", "cuda:0"});
  EXPECT_EQ(cuda_memory_stats(kGpu).in_use, s0.in_use);
  // The device is still usable afterwards.
  Tensor host = random_uniform({17}, DType::f32, 3);
  EXPECT_TRUE(same_bytes(host.to(kCuda).to(Device::cpu()), host));
}

TEST_F(GpuRuntime, SmallUnknownDeviceIsAnError) {
  const int n = cuda_device_count();
  expect_error([&] { allocate_cuda(64, n); }, "cuda:" + std::to_string(n));
  expect_error([&] { Tensor::empty({2}, DType::f32, Device::cuda(n)); },
               "cuda:" + std::to_string(n));
}

// ---------------------------------------------------------------- tensors on the device

TEST_F(GpuRuntime, SmallRoundTripIsBitExactForEveryDtype) {
  for (DType dtype :
       {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64, DType::u8}) {
    for (const Shape& shape : {Shape{3, 37}, Shape{1}, Shape{129, 5, 2}, Shape{0, 4}}) {
      SCOPED_TRACE(std::string(dtype_name(dtype)) + " " + shape_str(shape));
      Tensor host = random_bytes(shape, dtype, 7 + static_cast<uint64_t>(dtype));
      Tensor dev = host.to(kCuda);
      EXPECT_EQ(dev.device(), kCuda);
      EXPECT_EQ(dev.dtype(), dtype);
      EXPECT_EQ(dev.shape(), shape);
      EXPECT_TRUE(dev.is_contiguous());
      Tensor back = dev.to(Device::cpu());
      EXPECT_TRUE(back.device().is_cpu());
      EXPECT_TRUE(same_bytes(back, host));
    }
  }
  // Extremes survive exactly.
  Tensor i64 =
      Tensor::from_vector<int64_t>({INT64_MIN, INT64_MAX, -1, 0, 1, int64_t(1) << 53 | 1}, {6});
  EXPECT_TRUE(same_bytes(i64.to(kCuda).to(Device::cpu()), i64));
  Tensor u8 = Tensor::from_vector<uint8_t>({0, 1, 127, 128, 254, 255}, {6});
  EXPECT_TRUE(same_bytes(u8.to(kCuda).to(Device::cpu()), u8));
}

TEST_F(GpuRuntime, SmallCopyFromAcrossDevices) {
  Tensor host = random_uniform({6, 11}, DType::f64, 4);
  Tensor dev = Tensor::empty({6, 11}, DType::f64, kCuda);
  dev.copy_from(host);  // host -> device
  Tensor dev2 = Tensor::empty({6, 11}, DType::f64, kCuda);
  dev2.copy_from(dev);  // device -> device
  Tensor back = Tensor::zeros({6, 11}, DType::f64);
  back.copy_from(dev2);  // device -> host
  EXPECT_TRUE(same_bytes(back, host));

  // Across devices only contiguous tensors of one dtype move.
  Tensor f32 = Tensor::empty({6, 11}, DType::f32);
  expect_error([&] { f32.copy_from(dev); }, {"copy_from", "cuda:0", "one dtype"});
  expect_error([&] { dev.copy_from(f32); }, {"copy_from", "cuda:0", "one dtype"});
  Tensor wide = random_uniform({6, 22}, DType::f64, 5);
  expect_error([&] { dev.copy_from(wide.narrow(1, 0, 11)); }, {"copy_from", "strided"});
  expect_error([&] { dev.copy_from(Tensor::zeros({11, 6}, DType::f64)); }, "copy_from");
}

TEST_F(GpuRuntime, SmallZerosOnDeviceAreZeroEvenInReusedMemory) {
  const Shape shape{7, 129};
  {
    // Dirty a block of exactly this size, then free it so zeros() is likely to be handed it.
    Tensor dirty = Tensor::empty(shape, DType::f32, kCuda);
    dirty.fill(3.5);
    EXPECT_EQ(dirty.to(Device::cpu()).to_vector(), std::vector<double>(7 * 129, 3.5));
  }
  Tensor z = Tensor::zeros(shape, DType::f32, kCuda);
  EXPECT_EQ(z.device(), kCuda);
  EXPECT_EQ(z.to(Device::cpu()).to_vector(), std::vector<double>(7 * 129, 0.0));
  Tensor zi = Tensor::zeros({5}, DType::i64, kCuda);
  EXPECT_EQ(zi.to(Device::cpu()).to_vector(), std::vector<double>(5, 0.0));
}

TEST_F(GpuRuntime, SmallDeviceToDeviceCopiesAreIndependent) {
  Tensor host = random_uniform({9, 13}, DType::f32, 6);
  Tensor a = host.to(kCuda);
  Tensor b = a.clone();    // device -> device through copy_from
  Tensor c = a.to(kCuda);  // device -> device through to(Device)
  EXPECT_EQ(b.device(), kCuda);
  EXPECT_EQ(c.device(), kCuda);
  a.fill(0.0);  // a changes; b and c must not
  EXPECT_EQ(a.to(Device::cpu()).to_vector(), std::vector<double>(9 * 13, 0.0));
  EXPECT_TRUE(same_bytes(b.to(Device::cpu()), host));
  EXPECT_TRUE(same_bytes(c.to(Device::cpu()), host));
}

TEST_F(GpuRuntime, SmallCopyBetweenTwoGpus) {
  if (cuda_device_count() < 2) GTEST_SKIP() << "needs two GPUs";
  // The source is written by a GEMM still queued on cuda:0 when the copy to cuda:1 is asked for:
  // the copy must wait for it.
  constexpr int64_t n = 1024;
  Tensor a = random_uniform({n, n}, DType::f32, 7).to(Device::cuda(0));
  Tensor b = random_uniform({n, n}, DType::f32, 8).to(Device::cuda(0));
  Tensor on0 = Tensor::zeros({n, n}, DType::f32, Device::cuda(0));
  gemm_cuda<float>(0, false, false, n, n, n, 1.0f, a.data<float>(), n, b.data<float>(), n, 0.0f,
                   on0.data<float>(), n);
  Tensor on1 = on0.to(Device::cuda(1));
  EXPECT_EQ(on1.device(), Device::cuda(1));
  EXPECT_TRUE(same_bytes(on1.to(Device::cpu()), on0.to(Device::cpu())));
}

TEST_F(GpuRuntime, SmallToDeviceOfViews) {
  Tensor host = random_uniform({4, 6, 5}, DType::f64, 8);
  // Non-contiguous host views move as their elements, contiguous on the device.
  for (const Tensor& view : {host.narrow(1, 1, 3), host.select(2, 4), host.narrow(2, 2, 2),
                             host.select(0, 2).narrow(1, 1, 4)}) {
    SCOPED_TRACE(view.shape_str());
    ASSERT_FALSE(view.is_contiguous());
    Tensor dev = view.to(kCuda);
    EXPECT_TRUE(dev.is_contiguous());
    EXPECT_EQ(dev.shape(), view.shape());
    EXPECT_EQ(dev.to(Device::cpu()).to_vector(), view.to_vector());
  }
  // A contiguous view with an offset into device storage comes back as exactly its elements.
  Tensor dev = host.to(kCuda);
  Tensor rows = dev.narrow(0, 1, 2);
  ASSERT_TRUE(rows.is_contiguous());
  EXPECT_EQ(rows.to(Device::cpu()).to_vector(), host.narrow(0, 1, 2).to_vector());
  EXPECT_EQ(dev.select(0, 3).to(Device::cpu()).to_vector(), host.select(0, 3).to_vector());
  // A strided view of device memory: either copied correctly or refused with a clear error
  // (there is no device gather), never wrong data.
  Tensor strided = dev.narrow(2, 1, 3);
  try {
    Tensor back = strided.to(Device::cpu());
    EXPECT_EQ(back.to_vector(), host.narrow(2, 1, 3).to_vector());
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("strided"), std::string::npos) << e.what();
  }
}

TEST_F(GpuRuntime, SmallHostOnlyAccessOfDeviceTensorsIsAnError) {
  Tensor dev = Tensor::zeros({2, 3}, DType::f32, kCuda);
  expect_error([&] { dev.item({0, 1}); }, {"item", "cuda:0", "to(Device::cpu())"});
  expect_error([&] { dev.to_vector(); }, {"to_vector", "cuda:0", "to(Device::cpu())"});
  Tensor one = Tensor::zeros({1}, DType::f64, kCuda);
  expect_error([&] { one.item(); }, {"item", "cuda:0"});
  // Host-side conversions and copies refuse device tensors rather than read device memory.
  expect_error([&] { dev.to(DType::f64); }, "cuda:0");
}

// ---------------------------------------------------------------- GEMM

struct GemmShape {
  bool trans_a, trans_b;
  int64_t M, N, K;
  int64_t pad;  // extra elements per row beyond the minimal leading dimension
};

std::string gemm_name(const GemmShape& g) {
  return std::string(g.trans_a ? "T" : "N") + (g.trans_b ? "T" : "N") +
         " M=" + std::to_string(g.M) + " N=" + std::to_string(g.N) + " K=" + std::to_string(g.K) +
         " pad=" + std::to_string(g.pad);
}

std::vector<GemmShape> gemm_shapes(const std::vector<int64_t>& sizes) {
  std::vector<GemmShape> out;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (int64_t M : sizes)
        for (int64_t N : sizes)
          for (int64_t K : sizes) out.push_back({ta, tb, M, N, K, (M + N + K) % 2 == 0 ? 0 : 3});
  return out;
}

// Operands of one GEMM as stored (row-major with leading dimensions), in any dtype.
struct GemmOperands {
  int64_t a_rows, a_cols, lda, b_rows, b_cols, ldb, ldc;
  Tensor a, b, c;  // CPU, [rows, ld]
};

GemmOperands make_operands(const GemmShape& g, DType dtype, uint32_t seed) {
  GemmOperands o;
  o.a_rows = g.trans_a ? g.K : g.M;
  o.a_cols = g.trans_a ? g.M : g.K;
  o.b_rows = g.trans_b ? g.N : g.K;
  o.b_cols = g.trans_b ? g.K : g.N;
  o.lda = o.a_cols + g.pad;
  o.ldb = o.b_cols + g.pad;
  o.ldc = g.N + g.pad;
  o.a = random_uniform({o.a_rows, o.lda}, DType::f64, seed).to(dtype);
  o.b = random_uniform({o.b_rows, o.ldb}, DType::f64, seed + 1).to(dtype);
  o.c = random_uniform({g.M, o.ldc}, DType::f64, seed + 2).to(dtype);
  return o;
}

// |alpha| sum_k |op(A)_ik op(B)_kj| + |beta c_ij|: the scale of rounding error in C_ij.
std::vector<double> error_scale(const GemmShape& g, const GemmOperands& o, double alpha,
                                double beta) {
  const std::vector<double> a = o.a.to_vector(), b = o.b.to_vector(), c = o.c.to_vector();
  std::vector<double> scale(g.M * g.N);
  for (int64_t i = 0; i < g.M; ++i)
    for (int64_t j = 0; j < g.N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < g.K; ++k) {
        double av = g.trans_a ? a[k * o.lda + i] : a[i * o.lda + k];
        double bv = g.trans_b ? b[j * o.ldb + k] : b[k * o.ldb + j];
        s += std::fabs(av * bv);
      }
      scale[i * g.N + j] = std::fabs(alpha) * s + std::fabs(beta * c[i * o.ldc + j]);
    }
  return scale;
}

template <class T>
void check_gemm_against_cpu(const std::vector<GemmShape>& shapes) {
  const double eps = std::is_same_v<T, double> ? 0x1p-52 : 0x1p-23;
  const T alpha = T(0.75), beta = T(-0.5);
  uint32_t seed = 100;
  for (const GemmShape& g : shapes) {
    SCOPED_TRACE(gemm_name(g));
    GemmOperands o = make_operands(g, dtype_of<T>, seed += 3);
    Tensor c_cpu = o.c.clone();
    gemm_cpu<T>(g.trans_a, g.trans_b, g.M, g.N, g.K, alpha, o.a.data<T>(), o.lda, o.b.data<T>(),
                o.ldb, beta, c_cpu.data<T>(), o.ldc);
    Tensor a = o.a.to(kCuda), b = o.b.to(kCuda), c = o.c.to(kCuda);
    gemm_cuda<T>(kGpu, g.trans_a, g.trans_b, g.M, g.N, g.K, alpha, a.data<T>(), o.lda, b.data<T>(),
                 o.ldb, beta, c.data<T>(), o.ldc);
    const std::vector<double> got = c.to(Device::cpu()).to_vector(), want = c_cpu.to_vector();
    const std::vector<double> before = o.c.to_vector();
    const std::vector<double> scale = error_scale(g, o, alpha, beta);
    int bad = 0;
    for (int64_t i = 0; i < g.M; ++i) {
      for (int64_t j = 0; j < o.ldc; ++j) {
        const int64_t e = i * o.ldc + j;
        if (j >= g.N) {  // padding columns of C are not touched
          if (got[e] != before[e] && bad++ < 5)
            ADD_FAILURE() << "padding C[" << i << "," << j << "] changed";
          continue;
        }
        // Both products are within K eps scale of the exact one (any summation order).
        const double tol = 2.0 * (g.K + 2) * eps * scale[i * g.N + j] + 1e-300;
        if (!(std::fabs(got[e] - want[e]) <= tol) && bad++ < 5)
          ADD_FAILURE() << "C[" << i << "," << j << "] cuda " << got[e] << " cpu " << want[e]
                        << " tolerance " << tol;
      }
    }
    if (bad) return;
  }
}

TEST_F(GpuRuntime, SmallGemmF32MatchesCpu) {
  check_gemm_against_cpu<float>(gemm_shapes({1, 3, 37}));
}
TEST_F(GpuRuntime, SmallGemmF64MatchesCpu) {
  check_gemm_against_cpu<double>(gemm_shapes({1, 3, 37}));
}
TEST_F(GpuRuntime, GemmF32MatchesCpuAllSizes) {
  check_gemm_against_cpu<float>(gemm_shapes({1, 3, 37, 64, 129}));
}
TEST_F(GpuRuntime, GemmF64MatchesCpuAllSizes) {
  check_gemm_against_cpu<double>(gemm_shapes({1, 3, 37, 64, 129}));
}

// bf16/f16 on tensor cores with f32 accumulation, against an f32 product of the same (rounded)
// inputs: within 2e-2 of |C| (the output rounding is 2^-9 for bf16, 2^-12 for f16), plus a small
// share of the error scale where C cancels to near zero.
template <class T>
void check_half_gemm(const std::vector<GemmShape>& shapes) {
  const float alpha = 0.75f, beta = -0.5f;
  uint32_t seed = 500;
  for (const GemmShape& g : shapes) {
    SCOPED_TRACE(gemm_name(g));
    GemmOperands o = make_operands(g, dtype_of<T>, seed += 3);
    GemmOperands o32 = o;
    o32.a = o.a.to(DType::f32);
    o32.b = o.b.to(DType::f32);
    o32.c = o.c.to(DType::f32);
    gemm_cpu<float>(g.trans_a, g.trans_b, g.M, g.N, g.K, alpha, o32.a.data<float>(), o.lda,
                    o32.b.data<float>(), o.ldb, beta, o32.c.data<float>(), o.ldc);
    Tensor a = o.a.to(kCuda), b = o.b.to(kCuda), c = o.c.to(kCuda);
    gemm_cuda<T>(kGpu, g.trans_a, g.trans_b, g.M, g.N, g.K, alpha, a.data<T>(), o.lda, b.data<T>(),
                 o.ldb, beta, c.data<T>(), o.ldc);
    const std::vector<double> got = c.to(Device::cpu()).to_vector(), want = o32.c.to_vector();
    const std::vector<double> scale = error_scale(g, o, alpha, beta);
    int bad = 0;
    for (int64_t i = 0; i < g.M; ++i)
      for (int64_t j = 0; j < g.N; ++j) {
        const int64_t e = i * o.ldc + j;
        const double tol = 2e-2 * std::fabs(want[e]) + 1e-3 * scale[i * g.N + j] + 1e-6;
        if (!(std::fabs(got[e] - want[e]) <= tol) && bad++ < 5)
          ADD_FAILURE() << "C[" << i << "," << j << "] cuda " << got[e] << " f32 cpu " << want[e]
                        << " tolerance " << tol;
      }
    if (bad) return;
  }
}

TEST_F(GpuRuntime, SmallGemmBF16MatchesF32Product) {
  check_half_gemm<bf16>(gemm_shapes({1, 3, 37}));
}
TEST_F(GpuRuntime, SmallGemmF16MatchesF32Product) {
  check_half_gemm<f16>(gemm_shapes({1, 3, 37}));
}
TEST_F(GpuRuntime, GemmHalfMatchesF32ProductAllSizes) {
  check_half_gemm<bf16>(gemm_shapes({1, 3, 64, 129}));
  check_half_gemm<f16>(gemm_shapes({1, 3, 64, 129}));
}

TEST_F(GpuRuntime, SmallGemmWithEmptyOutputDoesNothing) {
  Tensor c = random_uniform({3, 4}, DType::f32, 9);
  Tensor dc = c.to(kCuda);
  gemm_cuda<float>(kGpu, false, false, 0, 4, 5, 1.0f, nullptr, 5, nullptr, 4, 0.0f, nullptr, 4);
  gemm_cuda<float>(kGpu, false, false, 3, 0, 5, 1.0f, nullptr, 5, nullptr, 1, 0.0f,
                   dc.data<float>(), 1);
  EXPECT_TRUE(same_bytes(dc.to(Device::cpu()), c));
}

}  // namespace
}  // namespace recur
