// A whole f32 GEMM (the input projection of all T steps, dx, the weight gradients, a Linear)
// through recur's register-blocked kernel over packed panels (kernels/cpu/packed_step_gemm.h)
// instead of OpenBLAS, on CPUs where recur runs a wider instruction set than OpenBLAS does: recur's
// AVX-512 kernel where OpenBLAS runs an AVX2 core (OPENBLAS_CORETYPE=Haswell on an AVX-512 CPU,
// as this project's VMs set, or an OpenBLAS that does not know the CPU). Where OpenBLAS runs its
// own AVX-512 kernels the two were even (within 0.9x-1.1x), so OpenBLAS keeps those.
//
// Measured on an AMD EPYC (Zen 5) VM, 2 cores, OpenBLAS 0.3.21 as Haswell, the pack included:
// the product alone 1.6x-1.9x OpenBLAS from M x K x N = 512 x 512 x 2048 to 16384 x 1024 x 4096
// (300-357 against 177-194 GFLOP/s), 1.3x-1.7x at 32 to 128 rows, even or slower at 16 rows;
// the Recurrent layer (A/B in alternation against RECUR_GEMM=openblas, T=64): 1.26x-2.03x at
// B=8 and 64, H=512 (the 2-layer bidirectional LSTM 1.40x-1.45x), 1.25x-1.8x at B=64, H=256,
// within noise at B=1 (0.8x-1.14x, both ways).
#pragma once

#include <cstdint>

namespace recur {

// Whether large f32 products go to the packed kernel here: its AVX-512 kernel runs and OpenBLAS's
// core (openblas_get_corename) is not an AVX-512 one. RECUR_GEMM=openblas or RECUR_GEMM=packed
// forces either (packed where a packed kernel runs at all).
bool packed_gemm_preferred();

// Whether gemm_cpu<float> runs an M x K x N product here: where preferred, and large enough to
// repay packing op(B).
bool packed_gemm_pays(int64_t M, int64_t N, int64_t K);

// C[M,N] (row stride ldc) = alpha * op(A)[M,K] op(B)[K,N] + beta * C through the packed kernel
// (PackedWeights::supported() must hold). A is stored [M,K] (row stride lda), or [K,M] where
// trans_a; B [K,N] (row stride ldb), or [N,K] where trans_b. C is not read where beta is 0.
void packed_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                 const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                 int64_t ldc);

}  // namespace recur
