// Row terms of the generalized linear models: the negative log-likelihood of one row as a function
// of its linear predictor a = x^T z, with its first and second derivatives in a. A model's gradient
// is then X^T d1 and its Hessian X^T diag(d2) X. Constants that do not depend on a (log y!, the
// Gaussian normaliser) are added once per problem by the caller, not per row and sample.
#pragma once

#include "config.cuh"

namespace ngvi::math {

/// The row functions take kValue = false when only the derivatives are wanted, which skips the
/// logarithms of the value (most steps need no value).
template <class T>
struct RowTerms {
  T value;  ///< -log p(y | a), without the constant
  T d1;     ///< d/da
  T d2;     ///< d^2/da^2 (non-negative for every built-in likelihood: they are log-concave)
};

/// y ~ N(a, sigma^2): (y - a)^2 / (2 sigma^2).
template <bool kValue, class T>
NGVI_HD RowTerms<T> linear_row(T a, T y, T inv_variance) {
  const T r = a - y;
  return {kValue ? T(0.5) * r * r * inv_variance : T(0), r * inv_variance, inv_variance};
}

/// y in {0, 1}, p(y = 1) = sigmoid(a): softplus(a) - y a, written so that nothing overflows.
template <bool kValue, class T>
NGVI_HD RowTerms<T> logistic_row(T a, T y) {
  const T e = std::exp(-std::fabs(a));  // in (0, 1]
  const T inv = T(1) / (T(1) + e);
  const T p = a >= T(0) ? inv : e * inv;  // sigmoid(a)
  const T value = kValue ? (a > T(0) ? a : T(0)) + std::log1p(e) - y * a : T(0);  // softplus(a) - y a
  return {value, p - y, p * (T(1) - p)};
}

/// y counts, rate exp(a): exp(a) - y a.
template <bool kValue, class T>
NGVI_HD RowTerms<T> poisson_row(T a, T y) {
  const T rate = std::exp(a);
  return {kValue ? rate - y * a : T(0), rate - y, rate};
}

}  // namespace ngvi::math
