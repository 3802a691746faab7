// RECUR_AVX512_CLONE: a function attribute that makes GCC compile the function twice, for the
// build's instruction set (x86-64-v3, AVX2, by default) and for AVX-512, and pick one when the
// library loads (target_clones, an ifunc): hot loops written once, with GCC's vectoriser or
// vector extensions, run 512-bit vectors where the CPU has them. Functions such a clone inlines
// are compiled for its instruction set too. Empty elsewhere (other compilers and CPUs).
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(_M_X64))
#define RECUR_AVX512_CLONE __attribute__((target_clones("avx512f", "default")))
#else
#define RECUR_AVX512_CLONE
#endif
