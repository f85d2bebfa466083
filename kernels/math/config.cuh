// Compilation switches shared by every per-distribution math header.
//
// The headers under kernels/math/ are the single source of the mathematics: nvcc compiles them
// into the CUDA kernels, g++ into the CPU backend. NGVI_HD marks a function for both.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define NGVI_HD __host__ __device__ __forceinline__
#else
#define NGVI_HD inline
#endif

// NGVI_HD_OUTLINED marks a stage that nvcc must keep out of line: inlined into a fused kernel with
// the model and every other stage, its loops kept values live across the whole kernel and ptxas
// spilled (bench/README.md, resource usage). A host compiler inlines as it sees fit.
#if defined(__CUDACC__)
#define NGVI_HD_OUTLINED __host__ __device__ __noinline__
#else
#define NGVI_HD_OUTLINED inline
#endif

#if defined(__CUDACC__) || defined(__GNUC__)
#define NGVI_RESTRICT __restrict__
#else
#define NGVI_RESTRICT
#endif

// Marks an inner loop whose iterations are independent (an axpy over a row) for the host
// compiler's vectorizer; no reassociation is asked for, so results do not change. Empty for nvcc.
// NGVI_SIMD_SUM(s) marks a sum into s whose order does not matter (terms that are all zero or NaN,
// or all non-negative), so that the vectorizer may reassociate it.
// NGVI_UNROLL unrolls a loop of a small fixed count completely (so that a struct updated in it can
// live in registers, and a loop around it can be vectorized).
#if defined(__CUDACC__)
#define NGVI_SIMD
#define NGVI_SIMD_SUM(s)
#if defined(__CUDA_ARCH__)  // nvcc's device pass (its host pass hands the code to a host compiler)
#define NGVI_UNROLL _Pragma("unroll")
#else
#define NGVI_UNROLL
#endif
#else
#define NGVI_PRAGMA(x) _Pragma(#x)
#define NGVI_SIMD NGVI_PRAGMA(omp simd)
#define NGVI_SIMD_SUM(s) NGVI_PRAGMA(omp simd reduction(+ : s))
#define NGVI_UNROLL NGVI_PRAGMA(GCC unroll 16)
#endif

namespace ngvi::math {

/// True when x is neither NaN nor infinite (usable in host and device code).
template <class T>
NGVI_HD bool is_finite(T x) {
  return std::isfinite(x);
}

template <class T>
NGVI_HD T square(T x) {
  return x * x;
}

/// log(2 pi), to double precision.
constexpr double kLog2Pi = 1.8378770664093454835606594728112;
constexpr double kPi = 3.1415926535897932384626433832795;

}  // namespace ngvi::math
