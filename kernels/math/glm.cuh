// Row terms of the generalized linear models: the negative log-likelihood of one row as a function
// of its linear predictor a = x^T z, with its first and second derivatives in a. A model's gradient
// is then X^T d1 and its Hessian X^T diag(d2) X. Constants that do not depend on a (log y!, the
// Gaussian normaliser) are added once per problem by the caller, not per row and sample.
#pragma once

#include "config.cuh"
#include "gauss_hermite.cuh"

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

/// y in {0, 1}, p(y = 1) = Phi(a): -log Phi(u) with u = (2y - 1) a. Derivatives in u: -r and
/// r (r + u) with r = phi(u) / Phi(u). Computed in double whatever T: far in the lower tail Phi
/// underflows in float, and there r and log Phi come from their asymptotic series.
template <bool kValue, class T>
NGVI_HD RowTerms<T> probit_row(T a_in, T y) {
  const double s = y > T(0.5) ? 1.0 : -1.0;
  const double u = s * static_cast<double>(a_in);
  double r, log_phi = 0.0;
  if (u > -20.0) {
    const double Phi = 0.5 * std::erfc(-u * 0.70710678118654752440);
    r = 0.39894228040143267794 * std::exp(-0.5 * u * u) / Phi;
    if (kValue) log_phi = std::log(Phi);
  } else {  // Phi(u) = phi(u) / (-u) * (1 - 1/u^2 + 3/u^4 - 15/u^6 + ...), error below 1e-9 here
    const double inv2 = 1.0 / (u * u);
    const double series = 1.0 - inv2 * (1.0 - inv2 * (3.0 - 15.0 * inv2));
    r = -u / series;
    if (kValue) log_phi = -0.5 * u * u - std::log(-u) - 0.5 * kLog2Pi + std::log(series);
  }
  return {static_cast<T>(-log_phi), static_cast<T>(-s * r), static_cast<T>(r * (r + u))};
}

// ---------------------------------------------------------------- expectations over a ~ N(m, v)
// The deterministic GLM estimator (docs/math.md section 4.1): each row's expected value and
// derivatives under the Gaussian marginal of its linear predictor.

/// Gauss-Hermite expectation of any row function of a.
template <class T, class Row>
NGVI_HD RowTerms<T> gauss_hermite_expectation(Row&& row, T m, T v) {
  const T sd = std::sqrt(v);
  RowTerms<T> e{T(0), T(0), T(0)};
  // Unrolled, the nodes and weights are immediates: rolled, the device code rebuilds both tables in
  // local memory on every call.
  NGVI_UNROLL
  for (int k = 0; k < kGaussHermiteHalf; ++k) {
    const T w = static_cast<T>(gauss_hermite_weight(k));
    const T offset = sd * static_cast<T>(gauss_hermite_node(k));
    const RowTerms<T> plus = row(m + offset), minus = row(m - offset);
    e.value += w * (plus.value + minus.value);
    e.d1 += w * (plus.d1 + minus.d1);
    e.d2 += w * (plus.d2 + minus.d2);
  }
  return e;
}

/// Linear: E[(y - a)^2] = (y - m)^2 + v, exactly.
template <bool kValue, class T>
NGVI_HD RowTerms<T> expected_linear_row(T m, T v, T y, T inv_variance) {
  const RowTerms<T> at_mean = linear_row<kValue>(m, y, inv_variance);
  return {kValue ? at_mean.value + T(0.5) * v * inv_variance : T(0), at_mean.d1, at_mean.d2};
}

/// Poisson: E[exp(a)] = exp(m + v / 2), exactly.
template <bool kValue, class T>
NGVI_HD RowTerms<T> expected_poisson_row(T m, T v, T y) {
  const T rate = std::exp(m + T(0.5) * v);
  return {kValue ? rate - y * m : T(0), rate - y, rate};
}

template <bool kValue, class T>
NGVI_HD RowTerms<T> expected_logistic_row(T m, T v, T y) {
  return gauss_hermite_expectation([y](T a) { return logistic_row<kValue>(a, y); }, m, v);
}

template <bool kValue, class T>
NGVI_HD RowTerms<T> expected_probit_row(T m, T v, T y) {
  return gauss_hermite_expectation([y](T a) { return probit_row<kValue>(a, y); }, m, v);
}

// ---------------------------------------------------------------- one type per likelihood
// at<kValue>(a, y): the row terms at a; expected<kValue>(m, v, y): their expectation over N(m, v).

template <class T>
struct LinearRows {
  T inv_variance;
  template <bool kValue>
  NGVI_HD RowTerms<T> at(T a, T y) const { return linear_row<kValue>(a, y, inv_variance); }
  template <bool kValue>
  NGVI_HD RowTerms<T> expected(T m, T v, T y) const { return expected_linear_row<kValue>(m, v, y, inv_variance); }
};

template <class T>
struct LogisticRows {
  template <bool kValue>
  NGVI_HD RowTerms<T> at(T a, T y) const { return logistic_row<kValue>(a, y); }
  template <bool kValue>
  NGVI_HD RowTerms<T> expected(T m, T v, T y) const { return expected_logistic_row<kValue>(m, v, y); }
};

template <class T>
struct PoissonRows {
  template <bool kValue>
  NGVI_HD RowTerms<T> at(T a, T y) const { return poisson_row<kValue>(a, y); }
  template <bool kValue>
  NGVI_HD RowTerms<T> expected(T m, T v, T y) const { return expected_poisson_row<kValue>(m, v, y); }
};

template <class T>
struct ProbitRows {
  template <bool kValue>
  NGVI_HD RowTerms<T> at(T a, T y) const { return probit_row<kValue>(a, y); }
  template <bool kValue>
  NGVI_HD RowTerms<T> expected(T m, T v, T y) const { return expected_probit_row<kValue>(m, v, y); }
};

}  // namespace ngvi::math
