// The hot loops of the GLMs on the CPU (glm_rows.cpp: their rows' terms, products and solves), compiled once per x86-64 level so that one
// library uses AVX-512 or AVX2 where the CPU has them and runs everywhere else: the generic level
// (x86-64 with SSE2, or whatever the compiler targets off x86-64), x86-64-v3 (AVX2, FMA) and
// x86-64-v4 (AVX-512). glm_rows() picks the highest the CPU supports, once.
#pragma once

#include <cstddef>

#include "engine/scratch.hpp"
#include "ngvi/models.hpp"

namespace ngvi::detail {

/// Samples evaluated at once: one 64-byte vector of T (a chunk's lanes).
template <class T>
inline constexpr std::size_t kGlmLanes = kScratchAlignment / sizeof(T);

template <class T>
struct GlmRows {
  /// One problem's rows (x (N, d) row-major, y (N)) at the S points z (S, d): values[s] and
  /// gradients (S, d) (when not null) receive the sums over rows of the row values and of d1 x_n,
  /// and weights[n] (when not null) the sum over samples of the second derivatives. `work` holds
  /// 2 d kGlmLanes<T> entries.
  void (*evaluate)(Likelihood likelihood, T noise_sd, const T* x, const T* y, std::ptrdiff_t N, int d, const T* z,
                   int S, T* values, T* gradients, T* weights, T* work);
  /// The Price Hessian's mean, factor X^T diag(weights) X (its diagonal when `diagonal`), into out;
  /// `weighted` holds N d entries.
  void (*hessian)(const T* x, const T* weights, std::ptrdiff_t N, int d, T factor, bool diagonal, T* weighted, T* out);
  /// E_q[grad f] and E_q[hess f] (its diagonal unless `full`) of one problem's rows under
  /// q = N(mean, (L L^T)^-1), L = factor; returns the sum of the rows' expected values (0 unless
  /// `value`). `scratch` holds N (2 + 2 d) entries.
  T (*expectations)(Likelihood likelihood, T noise_sd, const T* x, const T* y, std::ptrdiff_t N, int d, const T* mean,
                    const T* factor, bool full, bool value, T* gradient, T* hessian, T* scratch);
};

struct GlmRowKernels {
  GlmRows<float> single;
  GlmRows<double> double_precision;
};

/// Each compilation's kernels (x86-64 levels exist only in an x86-64 build without -march=native).
GlmRowKernels glm_rows_generic();
GlmRowKernels glm_rows_x86_64_v3();
GlmRowKernels glm_rows_x86_64_v4();

/// The kernels for this CPU; NGVI_CPU_LEVEL=generic|x86-64-v3|x86-64-v4 caps the choice (to test or
/// compare the levels on one machine).
const GlmRowKernels& glm_rows();
/// The level glm_rows() chose, e.g. "x86-64-v4".
const char* glm_rows_level();

}  // namespace ngvi::detail
