// The CUDA cell-step kernels against the CPU reference, every cell, forward and backward, f32 and
// f64, with padded rows. Skips where there is no GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <vector>

#include "core/cuda/cuda_check.h"
#include "core/random.h"
#include "kernels/cell_step.h"
#include "kernels/cuda/cell_step_cuda.h"
#include "support/compare.h"

namespace recur {
namespace {

bool have_gpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

// A device copy of a host vector, freed at scope exit.
template <class T>
struct DeviceBuffer {
  explicit DeviceBuffer(const std::vector<T>& host) : n(host.size()) {
    RECUR_CUDA_CHECK(cudaMalloc(&ptr, n * sizeof(T) + 1));
    RECUR_CUDA_CHECK(cudaMemcpy(ptr, host.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  std::vector<T> download() const {
    std::vector<T> host(n);
    RECUR_CUDA_CHECK(cudaMemcpy(host.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }
  T* ptr = nullptr;
  size_t n;
};

template <class T>
std::vector<T> random_vector(size_t n, uint32_t stream, double low = -1, double high = 1) {
  Tensor t = Tensor::empty({static_cast<int64_t>(n)}, dtype_of<T>);
  fill_uniform(t, low, high, 99, stream);
  return std::vector<T>(t.data<T>(), t.data<T>() + n);
}

template <class T>
void expect_equal_vectors(const std::vector<T>& gpu, const std::vector<T>& cpu, const char* what) {
  ASSERT_EQ(gpu.size(), cpu.size());
  Tensor g = Tensor::from_vector(gpu, {static_cast<int64_t>(gpu.size())});
  Tensor c = Tensor::from_vector(cpu, {static_cast<int64_t>(cpu.size())});
  testing::expect_close(g, c.to(DType::f64),
                        std::is_same_v<T, double> ? testing::kF64Tolerance : testing::kF32Tolerance,
                        what);
}

template <class T>
void check_cell(CellKind cell) {
  const int64_t B = 5, H = 37, G = cell_gates(cell) * H, W = cell_cache_blocks(cell) * H, t = 2;
  std::vector<int64_t> lengths = {4, 2, 3, 1, 5};  // rows 1 and 3 are padding at t = 2
  auto xp = random_vector<T>(B * G, 1), hp = random_vector<T>(B * G, 2);
  auto b_ih = random_vector<T>(G, 3), b_hh = random_vector<T>(G, 4);
  auto h_prev = random_vector<T>(B * H, 5), c_prev = random_vector<T>(B * H, 6);
  auto leak = random_vector<T>(H, 7, 0.1, 0.9);
  std::vector<T> h(B * H), c(B * H), cache(B * W);

  CellStepFwd<T> cpu;
  cpu.B = B;
  cpu.H = H;
  cpu.t = t;
  cpu.lengths = lengths.data();
  cpu.xp = xp.data();
  cpu.ld_xp = G;
  cpu.hp = hp.data();
  cpu.b_ih = b_ih.data();
  cpu.b_hh = b_hh.data();
  cpu.h_prev = h_prev.data();
  cpu.c_prev = c_prev.data();
  cpu.m_prev = h_prev.data();
  cpu.leak = leak.data();
  cpu.h = h.data();
  cpu.ld_h = H;
  cpu.c = c.data();
  cpu.cache = cache.data();
  cell_step_fwd_ref(cell, cpu);

  DeviceBuffer<int64_t> d_len(lengths);
  DeviceBuffer<T> d_xp(xp), d_hp(hp), d_bih(b_ih), d_bhh(b_hh), d_hprev(h_prev), d_cprev(c_prev),
      d_leak(leak), d_h(std::vector<T>(B * H)), d_c(std::vector<T>(B * H)),
      d_cache(std::vector<T>(B * W));
  CellStepFwd<T> gpu = cpu;
  gpu.lengths = d_len.ptr;
  gpu.xp = d_xp.ptr;
  gpu.hp = d_hp.ptr;
  gpu.b_ih = d_bih.ptr;
  gpu.b_hh = d_bhh.ptr;
  gpu.h_prev = d_hprev.ptr;
  gpu.c_prev = d_cprev.ptr;
  gpu.m_prev = d_hprev.ptr;
  gpu.leak = d_leak.ptr;
  gpu.h = d_h.ptr;
  gpu.c = d_c.ptr;
  gpu.cache = d_cache.ptr;
  launch_cell_step_fwd(cell, gpu, nullptr);
  RECUR_CUDA_CHECK(cudaDeviceSynchronize());
  expect_equal_vectors(d_h.download(), h, "h");
  expect_equal_vectors(d_cache.download(), cache, "cache");
  if (cell == CellKind::lstm) expect_equal_vectors(d_c.download(), c, "c");

  // Backward from the forward's cache.
  auto dh = random_vector<T>(B * H, 8), dc_next = random_vector<T>(B * H, 9);
  std::vector<T> dxp(B * G), dhp(B * G), dh_prev(B * H), dc_prev(B * H), dleak(B * H, T(0));
  CellStepBwd<T> cb;
  cb.B = B;
  cb.H = H;
  cb.t = t;
  cb.lengths = lengths.data();
  cb.dh = dh.data();
  cb.dc_next = dc_next.data();
  cb.cache = cache.data();
  cb.h_prev = h_prev.data();
  cb.c_prev = c_prev.data();
  cb.c = c.data();
  cb.leak = leak.data();
  cb.dxp = dxp.data();
  cb.ld_dxp = G;
  cb.dhp = dhp.data();
  cb.dh_prev = dh_prev.data();
  cb.dc_prev = dc_prev.data();
  cb.dleak_rows = dleak.data();
  cell_step_bwd_ref(cell, cb);

  DeviceBuffer<T> d_dh(dh), d_dcn(dc_next), d_cache2(cache), d_cc(c), d_dxp(std::vector<T>(B * G)),
      d_dhp(std::vector<T>(B * G)), d_dhprev(std::vector<T>(B * H)),
      d_dcprev(std::vector<T>(B * H)), d_dleak(std::vector<T>(B * H, T(0)));
  CellStepBwd<T> gb = cb;
  gb.lengths = d_len.ptr;
  gb.dh = d_dh.ptr;
  gb.dc_next = d_dcn.ptr;
  gb.cache = d_cache2.ptr;
  gb.h_prev = d_hprev.ptr;
  gb.c_prev = d_cprev.ptr;
  gb.c = d_cc.ptr;
  gb.leak = d_leak.ptr;
  gb.dxp = d_dxp.ptr;
  gb.dhp = d_dhp.ptr;
  gb.dh_prev = d_dhprev.ptr;
  gb.dc_prev = d_dcprev.ptr;
  gb.dleak_rows = d_dleak.ptr;
  launch_cell_step_bwd(cell, gb, nullptr);
  RECUR_CUDA_CHECK(cudaDeviceSynchronize());
  expect_equal_vectors(d_dxp.download(), dxp, "dxp");
  expect_equal_vectors(d_dhp.download(), dhp, "dhp");
  expect_equal_vectors(d_dhprev.download(), dh_prev, "dh_prev");
  if (cell == CellKind::lstm) expect_equal_vectors(d_dcprev.download(), dc_prev, "dc_prev");
  if (cell == CellKind::leaky) expect_equal_vectors(d_dleak.download(), dleak, "dleak_rows");
}

class GpuCellStep : public ::testing::TestWithParam<CellKind> {};

TEST_P(GpuCellStep, MatchesCpuReferenceF64) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  check_cell<double>(GetParam());
}

TEST_P(GpuCellStep, MatchesCpuReferenceF32) {
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device";
  check_cell<float>(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Cells, GpuCellStep,
                         ::testing::Values(CellKind::rnn_tanh, CellKind::rnn_relu, CellKind::leaky,
                                           CellKind::gru, CellKind::lstm),
                         [](const ::testing::TestParamInfo<CellKind>& i) {
                           return std::string(cell_name(i.param));
                         });

}  // namespace
}  // namespace recur
