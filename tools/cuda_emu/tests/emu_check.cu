// The emulator's own checks (make -C tools/cuda_emu check): warp shuffles with CUDA's width and
// mask semantics, the shuffle misuses it must fail a launch for, and the operation named when a
// stream is not live. Expected values follow the CUDA programming guide's __shfl*_sync and the
// PTX ISA's shfl.sync, written out per case rather than computed as the emulator does.
#include <cuda_runtime.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

static int failures = 0;
#define EXPECT(c, ...)                                       \
  do {                                                       \
    if (!(c)) {                                              \
      fprintf(stderr, "%s:%d FAILED: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                          \
      fprintf(stderr, "\n");                                 \
      ++failures;                                            \
    }                                                        \
  } while (0)

// stderr (the emulator's [emu] lines) while a case runs.
struct Capture {
  FILE* tmp = tmpfile();
  int saved = dup(2);
  Capture() {
    fflush(stderr);
    dup2(fileno(tmp), 2);
  }
  std::string take() {
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    std::string s;
    rewind(tmp);
    for (int c; (c = fgetc(tmp)) != EOF;) s += static_cast<char>(c);
    fclose(tmp);
    return s;
  }
};

constexpr int kCases = 12;

// Full mask: the default width and segments of 8 and 16.
__global__ void shfl_width(int* out) {
  const int lane = threadIdx.x % 32;
  const int v = 100 + lane;
  out[0 * 32 + lane] = __shfl_xor_sync(0xffffffffu, v, 1);
  out[1 * 32 + lane] = __shfl_sync(0xffffffffu, v, 37);  // srcLane mod 32
  out[2 * 32 + lane] = __shfl_down_sync(0xffffffffu, v, 3);
  out[3 * 32 + lane] = __shfl_up_sync(0xffffffffu, v, 3);
  out[4 * 32 + lane] = __shfl_sync(0xffffffffu, v, 3, 8);
  out[5 * 32 + lane] = __shfl_sync(0xffffffffu, v, -1, 8);  // srcLane mod 8: 7
  out[6 * 32 + lane] = __shfl_down_sync(0xffffffffu, v, 2, 8);
  out[7 * 32 + lane] = __shfl_up_sync(0xffffffffu, v, 2, 8);
  out[8 * 32 + lane] = __shfl_xor_sync(0xffffffffu, v, 4, 8);
  out[9 * 32 + lane] = __shfl_xor_sync(0xffffffffu, v, 8, 8);  // earlier segments only
  out[10 * 32 + lane] = __shfl_down_sync(0xffffffffu, v, 1, 16);
  out[11 * 32 + lane] = __shfl_up_sync(0xffffffffu, v, 5, 16);
}
static int expect_width(int c, int l) {
  const int s8 = l & ~7, s16 = l & ~15;
  switch (c) {
    case 0:
      return l ^ 1;
    case 1:
      return 5;
    case 2:
      return l + 3 < 32 ? l + 3 : l;
    case 3:
      return l >= 3 ? l - 3 : l;
    case 4:
      return s8 + 3;
    case 5:
      return s8 + 7;
    case 6:
      return l + 2 < s8 + 8 ? l + 2 : l;
    case 7:
      return l - 2 >= s8 ? l - 2 : l;
    case 8:
      return l ^ 4;
    case 9:
      return (l & 8) ? l - 8 : l;  // lanes 8-15 read 0-7; 0-7 would reach 8-15: their own
    case 10:
      return l + 1 < s16 + 16 ? l + 1 : l;
    default:
      return l - 5 >= s16 ? l - 5 : l;
  }
}

// Partial masks: halves and even lanes shuffle on their own, in divergent branches.
__global__ void shfl_masks(int* out) {
  const int lane = threadIdx.x % 32;
  const int v = 100 + lane;
  if (lane < 16)
    out[lane] = __shfl_xor_sync(0x0000ffffu, v, 1);
  else
    out[lane] = __shfl_up_sync(0xffff0000u, v, 1, 16);  // width 32: lane 16 would read 15
  if (lane % 2 == 0) out[32 + lane] = __shfl_xor_sync(0x55555555u, v, 2);
  if (lane >= 8) out[64 + lane] = __shfl_sync(0xffffff00u, v, 8);
}
static int expect_masks(int c, int l) {
  if (c == 0) return l < 16 ? l ^ 1 : l == 16 ? l : l - 1;
  if (c == 1) return l % 2 == 0 ? l ^ 2 : -1;
  return l >= 8 ? 8 : -1;
}

// A warp of 16 threads: a full mask names lanes that do not exist; width 16 stays among those
// that do.
__global__ void shfl_small_warp(int* out) {
  const int lane = threadIdx.x % 32;
  out[lane] = __shfl_down_sync(0xffffffffu, 100 + lane, 1, 16);
}

// Misuses: each must fail its launch with a report.
__global__ void bad_self_outside_mask(int* out) {
  const int lane = threadIdx.x % 32;
  if (lane < 16) out[lane] = __shfl_sync(0xffff0000u, lane, 16);
}
__global__ void bad_source_outside_mask(int* out) {
  const int lane = threadIdx.x % 32;
  if (lane < 16) out[lane] = __shfl_down_sync(0x0000ffffu, lane, 1);  // lane 15 reads 16
}
__global__ void bad_width(int* out) {
  const int lane = threadIdx.x % 32;
  out[lane] = __shfl_xor_sync(0xffffffffu, lane, 1, 12);
}
__global__ void bad_missing_lane(int* out) {
  const int lane = threadIdx.x % 32;
  out[lane] = __shfl_down_sync(0xffffffffu, lane, 1);  // lane 15 of 16 reads 16
}
// Lanes 8-15 leave lanes 0-7 waiting for them: a deadlock.
__global__ void bad_masks_differ(int* out) {
  const int lane = threadIdx.x % 32;
  if (lane < 8)
    out[lane] = __shfl_xor_sync(0x0000ffffu, lane, 1);
  else if (lane < 16)
    out[lane] = __shfl_xor_sync(0x0000ff00u, lane, 1);
}

static std::vector<int> run_kernel(void (*k)(int*), int threads, const char* name) {
  int* d = nullptr;
  std::vector<int> h(kCases * 32, -1);
  cudaMalloc(&d, h.size() * sizeof(int));
  cudaMemcpy(d, h.data(), h.size() * sizeof(int), cudaMemcpyHostToDevice);
  k<<<1, threads>>>(d);
  cudaError_t e = cudaDeviceSynchronize();
  EXPECT(e == cudaSuccess, "%s: launch failed (%d)", name, static_cast<int>(e));
  cudaMemcpy(h.data(), d, h.size() * sizeof(int), cudaMemcpyDeviceToHost);
  cudaFree(d);
  return h;
}

static void misuse(void (*k)(int*), int threads, const char* name, const char* message) {
  int* d = nullptr;
  cudaMalloc(&d, 32 * sizeof(int));
  Capture cap;
  k<<<1, threads>>>(d);
  cudaError_t e = cudaDeviceSynchronize();
  const std::string err = cap.take();
  cudaGetLastError();
  cudaFree(d);
  EXPECT(e == cudaErrorLaunchFailure, "%s: launch did not fail (%d)", name, static_cast<int>(e));
  EXPECT(err.find(message) != std::string::npos, "%s: no \"%s\" in the report:\n%s", name, message,
         err.c_str());
}

int main() {
  std::vector<int> h = run_kernel(shfl_width, 32, "shfl_width");
  for (int c = 0; c < kCases; ++c)
    for (int l = 0; l < 32; ++l)
      EXPECT(h[c * 32 + l] == 100 + expect_width(c, l), "shfl_width case %d lane %d: %d, want %d",
             c, l, h[c * 32 + l], 100 + expect_width(c, l));

  h = run_kernel(shfl_masks, 32, "shfl_masks");
  for (int c = 0; c < 3; ++c)
    for (int l = 0; l < 32; ++l) {
      const int want = expect_masks(c, l) < 0 ? -1 : 100 + expect_masks(c, l);
      EXPECT(h[c * 32 + l] == want, "shfl_masks case %d lane %d: %d, want %d", c, l, h[c * 32 + l],
             want);
    }

  h = run_kernel(shfl_small_warp, 16, "shfl_small_warp");
  for (int l = 0; l < 16; ++l)
    EXPECT(h[l] == 100 + (l < 15 ? l + 1 : l), "shfl_small_warp lane %d: %d", l, h[l]);

  misuse(bad_self_outside_mask, 32, "bad_self_outside_mask", "which leaves it out");
  misuse(bad_source_outside_mask, 32, "bad_source_outside_mask",
         "lane 15 reads lane 16, which is not in the mask 0xffff");
  misuse(bad_width, 32, "bad_width", "width 12 is not a power of two");
  misuse(bad_missing_lane, 16, "bad_missing_lane", "lane 15 reads lane 16, which does not exist");
  misuse(bad_masks_differ, 32, "bad_masks_differ", "threads at warp shuffle line");

  // A stream that is no longer live: the report names the operation.
  cudaStream_t s;
  cudaStreamCreate(&s);
  cudaStreamDestroy(s);
  int* d = nullptr;
  int x = 0;
  cudaMalloc(&d, sizeof(int));
  {
    Capture cap;
    cudaError_t e = cudaMemcpyAsync(d, &x, sizeof(int), cudaMemcpyHostToDevice, s);
    const std::string err = cap.take();
    cudaGetLastError();
    EXPECT(e == cudaErrorInvalidResourceHandle, "cudaMemcpyAsync on a dead stream: %d",
           static_cast<int>(e));
    EXPECT(err.find("cudaMemcpyAsync on stream") != std::string::npos, "report: %s", err.c_str());
  }
  {
    Capture cap;
    cudaError_t e = cudaMemsetAsync(d, 0, sizeof(int), s);
    const std::string err = cap.take();
    cudaGetLastError();
    EXPECT(e == cudaErrorInvalidResourceHandle, "cudaMemsetAsync on a dead stream: %d",
           static_cast<int>(e));
    EXPECT(err.find("cudaMemsetAsync on stream") != std::string::npos, "report: %s", err.c_str());
  }
  cudaFree(d);

  if (failures) {
    fprintf(stderr, "emu_check: %d FAILED\n", failures);
    return 1;
  }
  printf("emu_check: all passed\n");
  return 0;
}
