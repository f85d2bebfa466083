// The quadratic target f(z) = 1/2 (z - a)^T A (z - a) of one problem (docs/math.md section 8.4): its values
// and derivatives at points and its exact expectations under a Gaussian, for every backend.
#pragma once

#include "config.cuh"
#include "dense.cuh"
#include "gaussian.cuh"

namespace ngvi::math {

/// f(z); writes grad f(z) = A (z - a) to `gradient` unless it is null. `r` is d scratch entries.
template <class T>
NGVI_HD T quadratic_at(const T* A, const T* a, const T* z, T* gradient, T* r, int d) {
  for (int i = 0; i < d; ++i) r[i] = z[i] - a[i];
  T value = T(0);
  for (int i = 0; i < d; ++i) {
    const T Ar = dot(A + i * d, r, d);
    value += r[i] * Ar;
    if (gradient) gradient[i] = Ar;
  }
  return T(0.5) * value;
}

/// hess f = A, or its diagonal.
template <class T>
NGVI_HD void quadratic_hessian(const T* A, bool diagonal, T* hessian, int d) {
  for (int i = 0; i < d; ++i) {
    if (diagonal) {
      hessian[i] = A[i * d + i];
    } else {
      for (int j = 0; j < d; ++j) hessian[i * d + j] = A[i * d + j];
    }
  }
}

/// Entries of scratch quadratic_expectations needs.
NGVI_HD int quadratic_expectation_scratch(int d) { return d * d + 2 * d; }

/// Exact expectations under N(mean, Lambda^-1) with precision factor L (or l when `diagonal`):
/// E[f] = 1/2 [tr(A Sigma) + (mu - a)^T A (mu - a)] (written unless value is null),
/// E[grad f] = A (mu - a) and E[hess f] = A (its diagonal when `diagonal`).
template <class T>
NGVI_HD void quadratic_expectations(const T* A, const T* a, const T* mean, const T* factor, bool diagonal, T* value,
                                    T* gradient, T* hessian, T* scratch, int d) {
  T trace = T(0);  // tr(A Sigma), only needed for the value
  if (value && diagonal) {
    for (int i = 0; i < d; ++i) trace += A[i * d + i] / (factor[i] * factor[i]);
  } else if (value) {
    T* Sigma = scratch;
    covariance_full(factor, Sigma, d);
    for (int i = 0; i < d; ++i) trace += dot(A + i * d, Sigma + i * d, d);  // Sigma symmetric
  }
  const T at_mean = quadratic_at(A, a, mean, gradient, scratch + d * d + d, d);  // E[f] = f(mu) + tr(A Sigma) / 2
  quadratic_hessian(A, diagonal, hessian, d);
  if (value) *value = T(0.5) * trace + at_mean;
}

}  // namespace ngvi::math
