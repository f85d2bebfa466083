// The rows of a generalized linear model on the CPU: a problem's rows are evaluated at a chunk of
// samples (or of Gauss-Hermite nodes) at once in SIMD lanes, with the row terms of kernels/math/glm.cuh
// in Eigen's array form. The hot loops of the CPU backend.
//
// Compiled once per x86-64 level (glm_rows.hpp): NGVI_CPU_LEVEL_TOKEN names the level, and the compiler
// flags of each compilation give Eigen its vector width. CMake localizes every symbol of a non-generic
// compilation but its entry point, so that no inline function compiled for AVX-512 can stand in for
// the generic one elsewhere in the library.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "math/dense.cuh"
#include "math/gauss_hermite.cuh"
#include "math/glm.cuh"
#include "models/glm_rows.hpp"

#if !defined(NGVI_CPU_LEVEL_TOKEN)
#define NGVI_CPU_LEVEL_TOKEN generic  // the library's own compilation
#endif
#define NGVI_PASTE(a, b) a##b
#define NGVI_GLM_ROWS_ENTRY(isa) NGVI_PASTE(glm_rows_, isa)

namespace ngvi::detail {
namespace {

// The samples of a call are evaluated in chunks of kLanes (one 64-byte vector of T), the last one
// padded with zeros, so that for each data row the chunk's linear predictors, row terms and gradient
// updates are whole-vector operations: one pass over a problem's rows computes A = Z X^T, the row
// terms and G = A X, with X read once and nothing of size S x N stored.
template <class T>
constexpr int kLanes = static_cast<int>(kGlmLanes<T>);
template <class T>
using Lanes = Eigen::Array<T, kLanes<T>, 1>;

// The Gauss-Hermite rule of kernels/math/gauss_hermite.cuh (its positive half) in chunks of kLanes.
template <class T>
struct GaussHermiteChunks {
  static constexpr int kChunks = math::kGaussHermiteHalf / kLanes<T>;
  static_assert(math::kGaussHermiteHalf % kLanes<T> == 0, "the nodes fill whole chunks");
  Lanes<T> node[kChunks], weight[kChunks];
  GaussHermiteChunks() {
    for (int k = 0; k < math::kGaussHermiteHalf; ++k) {
      node[k / kLanes<T>][k % kLanes<T>] = static_cast<T>(math::gauss_hermite_node(k));
      weight[k / kLanes<T>][k % kLanes<T>] = static_cast<T>(math::gauss_hermite_weight(k));
    }
  }
};

// math::gauss_hermite_expectation of a likelihood's chunk row terms at a ~ N(m, v), the nodes in
// SIMD lanes: the expectations of the likelihoods without a closed form.
template <bool kValue, class T, class Terms>
math::RowTerms<T> quadrature_expectation(const Terms& terms, T m, T v, T y) {
  using Chunk = Lanes<T>;
  static const GaussHermiteChunks<T> rule;
  const T sd = std::sqrt(v);
  Chunk value = Chunk::Zero(), d1 = Chunk::Zero(), d2 = Chunk::Zero();
  for (int c = 0; c < GaussHermiteChunks<T>::kChunks; ++c) {
    const Chunk offset = sd * rule.node[c];
    Chunk value_plus, d1_plus, d2_plus, value_minus, d1_minus, d2_minus;
    terms.template operator()<kValue, true>(m + offset, y, value_plus, d1_plus, d2_plus);
    terms.template operator()<kValue, true>(m - offset, y, value_minus, d1_minus, d2_minus);
    if (kValue) value += rule.weight[c] * (value_plus + value_minus);
    d1 += rule.weight[c] * (d1_plus + d1_minus);
    d2 += rule.weight[c] * (d2_plus + d2_minus);
  }
  return {kValue ? value.sum() : T(0), d1.sum(), d2.sum()};
}

// The row terms of kernels/math/glm.cuh at a chunk of linear predictors a, in Eigen's array form so
// that exp and log run in SIMD; glm_test checks them against the scalar functions. d1 always, the
// values and second derivatives when kValue and kD2 ask for them. expected() gives a row's terms in
// expectation over a ~ N(m, v) (the quadrature estimator's rows).
template <class T>
struct LinearTerms {
  T inv_variance;
  template <bool kValue, bool kD2>
  void operator()(const Lanes<T>& a, T y, Lanes<T>& value, Lanes<T>& d1, Lanes<T>& d2) const {
    const Lanes<T> r = a - y;
    d1 = r * inv_variance;
    if (kValue) value = (T(0.5) * inv_variance) * r.square();
    if (kD2) d2.setConstant(inv_variance);
  }
  template <bool kValue>
  math::RowTerms<T> expected(T m, T v, T y) const { return math::expected_linear_row<kValue>(m, v, y, inv_variance); }
};

template <class T>
struct LogisticTerms {
  template <bool kValue, bool kD2>
  void operator()(const Lanes<T>& a, T y, Lanes<T>& value, Lanes<T>& d1, Lanes<T>& d2) const {
    // softplus(a) - y a = max(a, 0) + log1p(exp(-|a|)) - y a: nothing overflows.
    if (kValue) value = a.max(T(0)) + (-a.abs()).exp().log1p() - y * a;
    // Eigen's logistic (a rational function in float) clamps a with a min that drops a NaN: a - a is
    // zero, or NaN where a is, so that a NaN point still gives a NaN gradient.
    const Lanes<T> p = a.logistic();
    d1 = p - y + (a - a);
    if (kD2) d2 = p * (T(1) - p);
  }
  template <bool kValue>
  math::RowTerms<T> expected(T m, T v, T y) const { return quadrature_expectation<kValue>(*this, m, v, y); }
};

template <class T>
struct PoissonTerms {
  template <bool kValue, bool kD2>
  void operator()(const Lanes<T>& a, T y, Lanes<T>& value, Lanes<T>& d1, Lanes<T>& d2) const {
    const Lanes<T> rate = a.exp();
    if (kValue) value = rate - y * a;
    d1 = rate - y;
    if (kD2) d2 = rate;
  }
  template <bool kValue>
  math::RowTerms<T> expected(T m, T v, T y) const { return math::expected_poisson_row<kValue>(m, v, y); }
};

template <class T>
struct ProbitTerms {  // erfc has no SIMD form here: the scalar function, lane by lane
  template <bool kValue, bool kD2>
  void operator()(const Lanes<T>& a, T y, Lanes<T>& value, Lanes<T>& d1, Lanes<T>& d2) const {
    for (int l = 0; l < kLanes<T>; ++l) {
      const math::RowTerms<T> r = math::probit_row<kValue>(a[l], y);
      if (kValue) value[l] = r.value;
      d1[l] = r.d1;
      if (kD2) d2[l] = r.d2;
    }
  }
  template <bool kValue>
  math::RowTerms<T> expected(T m, T v, T y) const { return quadrature_expectation<kValue>(*this, m, v, y); }
};

// Calls visit(terms) with the chunk row terms of the likelihood.
template <class T, class Visit>
void with_terms(Likelihood likelihood, T noise_sd, Visit&& visit) {
  switch (likelihood) {
    case Likelihood::Linear: visit(LinearTerms<T>{T(1) / (noise_sd * noise_sd)}); return;
    case Likelihood::Logistic: visit(LogisticTerms<T>{}); return;
    case Likelihood::Poisson: visit(PoissonTerms<T>{}); return;
    case Likelihood::Probit: visit(ProbitTerms<T>{}); return;
  }
}

// One problem's rows (x (N, d) row-major, y (N)) at the S points z (S, d): values[s] and
// gradients (S, d) (when not null) receive the sums over rows of the row values and of d1 x_n, and
// weights[n] (when not null) the sum over samples of the second derivatives. `work` holds
// 2 * d * kLanes entries.
template <class T, class Terms, bool kValue, bool kD2>
void evaluate_rows(const Terms& terms, const T* x, const T* y, Eigen::Index N, int d, const T* z, int S, T* values,
                   T* gradients, T* weights, T* work) {
  using Chunk = Lanes<T>;
  using Slot = Eigen::Map<Chunk, Eigen::Unaligned>;
  constexpr int P = kLanes<T>;
  T* zt = work;          // (d, P): the chunk's points, transposed
  T* gt = work + d * P;  // (d, P): its gradients, transposed
  if (kD2) std::fill(weights, weights + N, T(0));
  for (int s0 = 0; s0 < S; s0 += P) {
    const int lanes = std::min(P, S - s0);
    for (int i = 0; i < d; ++i)
      for (int l = 0; l < P; ++l) zt[i * P + l] = l < lanes ? z[(s0 + l) * d + i] : T(0);
    std::fill(gt, gt + d * P, T(0));
    Chunk value_sum = Chunk::Zero();
    const Chunk valid = (Eigen::Array<int, P, 1>::LinSpaced(0, P - 1) < lanes).template cast<T>();
    // R rows at a time: R independent dot products in flight, and one update of G for R rows.
    const auto rows = [&](auto block, Eigen::Index n0) {
      constexpr int R = decltype(block)::value;
      const T* xr = x + n0 * d;
      Chunk a[R], value[R], d1[R], d2[R];
      for (int r = 0; r < R; ++r) a[r].setZero();
      for (int i = 0; i < d; ++i) {
        const Chunk zi = Slot(zt + i * P);
        for (int r = 0; r < R; ++r) a[r] += xr[r * d + i] * zi;
      }
      for (int r = 0; r < R; ++r) {
        terms.template operator()<kValue, kD2>(a[r], y[n0 + r], value[r], d1[r], d2[r]);
        if (kValue) value_sum += value[r];
        if (kD2) weights[n0 + r] += (valid * d2[r]).sum();
      }
      for (int i = 0; i < d; ++i) {
        Chunk gi = Slot(gt + i * P);  // in a register: gt could alias x as far as the compiler knows
        for (int r = 0; r < R; ++r) gi += xr[r * d + i] * d1[r];
        Slot(gt + i * P) = gi;
      }
    };
    constexpr int kBlock = 8;
    Eigen::Index n = 0;
    for (; n + kBlock <= N; n += kBlock) rows(std::integral_constant<int, kBlock>(), n);
    for (; n < N; ++n) rows(std::integral_constant<int, 1>(), n);
    for (int l = 0; l < lanes; ++l) {
      if (kValue) values[s0 + l] = value_sum[l];
      if (gradients)
        for (int i = 0; i < d; ++i) gradients[(s0 + l) * d + i] = gt[i * P + l];
    }
  }
}


template <class T>
void evaluate(Likelihood likelihood, T noise_sd, const T* x, const T* y, std::ptrdiff_t N, int d, const T* z, int S,
              T* values, T* gradients, T* weights, T* work) {
  with_terms(likelihood, noise_sd, [&](auto terms) {
    using Terms = decltype(terms);
    const auto run = [&](auto value, auto d2) {
      evaluate_rows<T, Terms, decltype(value)::value, decltype(d2)::value>(terms, x, y, N, d, z, S, values, gradients,
                                                                           weights, work);
    };
    if (values) {
      weights ? run(std::true_type(), std::true_type()) : run(std::true_type(), std::false_type());
    } else {
      weights ? run(std::false_type(), std::true_type()) : run(std::false_type(), std::false_type());
    }
  });
}

template <class T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

template <class T>
void hessian(const T* x, const T* weights, std::ptrdiff_t N, int d, T factor, bool diagonal, T* weighted, T* out) {
  Eigen::Map<const RowMajor<T>> X(x, N, d);
  Eigen::Map<const Vector<T>> w(weights, N);
  if (diagonal) {
    Eigen::Map<Vector<T>>(out, d).noalias() = factor * (X.array().square().matrix().transpose() * w);
  } else {
    Eigen::Map<RowMajor<T>> XW(weighted, N, d);
    XW.noalias() = w.asDiagonal() * X;
    Eigen::Map<RowMajor<T>>(out, d, d).noalias() = factor * (X.transpose() * XW);
  }
}

// Every row's linear predictor a_n = x_n^T z is N(m_n, v_n) under q, with m_n = x_n^T mu and
// v_n = x_n^T Sigma x_n = ||L^-1 x_n||^2: the expectations are sums of one-dimensional ones.
template <class T>
T expectations(Likelihood likelihood, T noise_sd, const T* x, const T* y, std::ptrdiff_t N, int d, const T* mean,
               const T* factor, bool full, bool value, T* gradient, T* hessian, T* scratch) {
  Eigen::Map<const RowMajor<T>> X(x, N, d);
  Eigen::Map<const Vector<T>> mu(mean, d);
  Eigen::Map<Vector<T>> m(scratch, N), v(scratch + N, N);
  m.noalias() = X * mu;
  if (full) {  // V = L^-1 X^T by row axpys over all N rows at once
    Eigen::Map<RowMajor<T>> V(scratch + 2 * N, d, N);
    V = X.transpose();
    math::solve_lower_rows(factor, V.data(), d, static_cast<int>(N));
    v.noalias() = V.colwise().squaredNorm().transpose();
  } else {
    const Eigen::Map<const Vector<T>> l(factor, d);
    v.noalias() = X.array().square().matrix() * l.array().square().inverse().matrix();
  }
  // m and v are overwritten with the expected first and second derivatives.
  T expected_value = T(0);
  with_terms(likelihood, noise_sd, [&](auto terms) {
    for (std::ptrdiff_t n = 0; n < N; ++n) {
      const math::RowTerms<T> e = value ? terms.template expected<true>(m[n], v[n], y[n])
                                        : terms.template expected<false>(m[n], v[n], y[n]);
      expected_value += e.value;
      m[n] = e.d1;
      v[n] = e.d2;
    }
  });
  Eigen::Map<Vector<T>>(gradient, d).noalias() = X.transpose() * m;
  if (full) {
    Eigen::Map<RowMajor<T>> weighted(scratch + 2 * N + static_cast<std::ptrdiff_t>(d) * N, N, d);
    weighted.noalias() = v.asDiagonal() * X;
    Eigen::Map<RowMajor<T>>(hessian, d, d).noalias() = X.transpose() * weighted;
  } else {
    Eigen::Map<Vector<T>>(hessian, d).noalias() = X.array().square().matrix().transpose() * v;
  }
  return expected_value;
}

}  // namespace

GlmRowKernels NGVI_GLM_ROWS_ENTRY(NGVI_CPU_LEVEL_TOKEN)() {
  return {{&evaluate<float>, &hessian<float>, &expectations<float>},
          {&evaluate<double>, &hessian<double>, &expectations<double>}};
}

}  // namespace ngvi::detail
