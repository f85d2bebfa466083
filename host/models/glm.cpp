// Generalized linear models on the CPU: a problem's rows are evaluated at a chunk of samples (or of
// Gauss-Hermite nodes) at once in SIMD lanes, with the row terms of kernels/math/glm.cuh in Eigen's
// array form; the Price Hessian X^T diag(w) X is one Eigen product.
#include <fmt/format.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "math/dense.cuh"
#include "math/gauss_hermite.cuh"
#include "math/glm.cuh"
#include "math/minibatch.cuh"
#include "ngvi/error.hpp"
#include "engine/fingerprint.hpp"
#include "ngvi/models.hpp"
#include "engine/parallel.hpp"
#include "engine/scratch.hpp"

namespace ngvi {

const char* likelihood_name(Likelihood likelihood) {
  switch (likelihood) {
    case Likelihood::Linear: return "linear";
    case Likelihood::Logistic: return "logistic";
    case Likelihood::Poisson: return "poisson";
    case Likelihood::Probit: return "probit";
  }
  return "unknown";
}

namespace {

template <class T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

// The samples of a call are evaluated in chunks of kLanes (one 64-byte vector of T), the last one
// padded with zeros, so that for each data row the chunk's linear predictors, row terms and gradient
// updates are whole-vector operations: one pass over a problem's rows computes A = Z X^T, the row
// terms and G = A X, with X read once and nothing of size S x N stored.
template <class T>
constexpr int kLanes = static_cast<int>(detail::kScratchAlignment / sizeof(T));
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

}  // namespace

template <class T>
GeneralizedLinearModel<T>::GeneralizedLinearModel(Likelihood likelihood, RegressionData<T> data, Prior<T> prior,
                                                  T noise_sd)
    : likelihood_(likelihood), data_(data), prior_(std::move(prior)), noise_sd_(noise_sd) {
  const char* function = "GeneralizedLinearModel";
  if (likelihood < Likelihood::Linear || likelihood > Likelihood::Probit)
    throw Error(fmt::format("{}: likelihood {} is not a Likelihood", function, static_cast<int>(likelihood)));
  data_.check(function);
  prior_.check(function, data_.num_problems, data_.dimension);
  if (!(noise_sd > T(0)) || !std::isfinite(noise_sd))
    throw Error(fmt::format("{}: noise_sd must be positive and finite (got {})", function, noise_sd));
  max_rows_ = data_.max_rows();
  // Per-problem constants of the fully normalised log-likelihood, so that rows need not recompute them.
  constants_.assign(data_.num_problems, T(0));
  const T log_normaliser = T(0.5) * std::log(T(2 * math::kPi) * noise_sd * noise_sd);
  detail::parallel_for(data_.num_problems, detail::resolve_threads(0), [&](std::size_t b, int) {
    const T* y = data_.y + data_.begin(b);
    const std::size_t n = data_.rows(b);
    double c = 0.0;
    if (likelihood_ == Likelihood::Linear) c = static_cast<double>(n) * log_normaliser;
    if (likelihood_ == Likelihood::Poisson)
      for (std::size_t k = 0; k < n; ++k) {
        int sign;
        c += lgamma_r(static_cast<double>(y[k]) + 1.0, &sign);  // log y!, thread-safe variant
      }
    constants_[b] = static_cast<T>(c);
  });
}

template <class T>
std::size_t GeneralizedLinearModel<T>::scratch_size(int /*num_points: evaluated in chunks*/) const {
  const std::size_t rows = max_rows_, d = static_cast<std::size_t>(data_.dimension);
  // Hessian weights (N), weighted rows (N, d), gathered minibatch rows (N, d) and (N), and the
  // chunk of points and gradients of evaluate_rows (2 d kLanes).
  return rows * (1 + 2 * d + 1) + 2 * d * static_cast<std::size_t>(kLanes<T>);
}

template <class T>
void GeneralizedLinearModel<T>::evaluate(std::size_t problem, const T* points, int num_points, const Evaluation<T>& out,
                                         T* scratch, const EvaluationContext& context) const {
  const int d = data_.dimension, S = num_points;
  std::size_t rows = data_.rows(problem);
  const T* x = data_.x + data_.begin(problem) * d;
  const T* y = data_.y + data_.begin(problem);
  T* weights = scratch;
  T* weighted = weights + max_rows_;
  T* minibatch_x = weighted + max_rows_ * d;
  T* minibatch_y = minibatch_x + max_rows_ * d;
  T* work = minibatch_y + max_rows_;
  T scale = T(1);
  if (math::uses_minibatch(context.minibatch_rows, rows)) {
    const std::size_t M = context.minibatch_rows;
    for (std::size_t k = 0; k < M; ++k) {
      const std::uint32_t key = context.first_problem + static_cast<std::uint32_t>(problem);
      const std::size_t row =
          math::minibatch_row<T>(context.seed, key, context.step, static_cast<std::uint32_t>(k), rows);
      std::copy(x + row * d, x + (row + 1) * d, minibatch_x + k * d);
      minibatch_y[k] = y[row];
    }
    scale = T(rows) / T(M);
    rows = M;
    x = minibatch_x;
    y = minibatch_y;
  }
  const Eigen::Index N = static_cast<Eigen::Index>(rows);
  with_terms(likelihood_, noise_sd_, [&](auto terms) {
    using Terms = decltype(terms);
    const auto run = [&](auto value, auto d2) {
      evaluate_rows<T, Terms, decltype(value)::value, decltype(d2)::value>(
          terms, x, y, N, d, points, S, out.values, out.gradients, weights, work);
    };
    if (out.values) {
      out.hessian_mean ? run(std::true_type(), std::true_type()) : run(std::true_type(), std::false_type());
    } else {
      out.hessian_mean ? run(std::false_type(), std::true_type()) : run(std::false_type(), std::false_type());
    }
  });
  if (out.values)
    for (int s = 0; s < S; ++s) out.values[s] = scale * out.values[s] + constants_[problem];
  if (out.gradients && scale != T(1))
    for (int k = 0; k < S * d; ++k) out.gradients[k] *= scale;
  if (out.hessian_mean) {
    Eigen::Map<const RowMajor<T>> X(x, N, d);
    Eigen::Map<const Vector<T>> w(weights, N);
    const T factor = scale / T(S);
    if (out.hessian_diagonal) {
      Eigen::Map<Vector<T>> h(out.hessian_mean, d);
      h.noalias() = factor * (X.array().square().matrix().transpose() * w);
    } else {
      Eigen::Map<RowMajor<T>> XW(weighted, N, d);
      XW.noalias() = w.asDiagonal() * X;
      Eigen::Map<RowMajor<T>> H(out.hessian_mean, d, d);
      H.noalias() = factor * (X.transpose() * XW);
    }
  }
}

template <class T>
std::size_t GeneralizedLinearModel<T>::expectation_scratch_size() const {
  return max_rows_ * (2 + 2 * static_cast<std::size_t>(data_.dimension));
}

// Every row's linear predictor a_n = x_n^T z is N(m_n, v_n) under q, with m_n = x_n^T mu and
// v_n = x_n^T Sigma x_n = ||L^-1 x_n||^2: the expectations are sums of one-dimensional ones.
template <class T>
void GeneralizedLinearModel<T>::expectations(std::size_t problem, const T* mean, const T* factor, Family family,
                                             T* value, T* gradient, T* hessian, T* scratch) const {
  const int d = data_.dimension;
  const Eigen::Index N = static_cast<Eigen::Index>(data_.rows(problem));
  const std::size_t begin = data_.begin(problem);
  Eigen::Map<const RowMajor<T>> X(data_.x + begin * d, N, d);
  const T* y = data_.y + begin;
  Eigen::Map<const Vector<T>> mu(mean, d);
  Eigen::Map<Vector<T>> m(scratch, N), v(scratch + N, N);
  m.noalias() = X * mu;
  if (family == Family::Full) {  // V = L^-1 X^T by row axpys over all N rows at once
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
  with_terms(likelihood_, noise_sd_, [&](auto terms) {
    for (Eigen::Index n = 0; n < N; ++n) {
      const math::RowTerms<T> e = value ? terms.template expected<true>(m[n], v[n], y[n])
                                        : terms.template expected<false>(m[n], v[n], y[n]);
      expected_value += e.value;
      m[n] = e.d1;
      v[n] = e.d2;
    }
  });
  if (value) *value = expected_value + constants_[problem];
  Eigen::Map<Vector<T>>(gradient, d).noalias() = X.transpose() * m;
  if (family == Family::Full) {
    Eigen::Map<RowMajor<T>> weighted(scratch + 2 * N + static_cast<Eigen::Index>(d) * N, N, d);
    weighted.noalias() = v.asDiagonal() * X;
    Eigen::Map<RowMajor<T>>(hessian, d, d).noalias() = X.transpose() * weighted;
  } else {
    Eigen::Map<Vector<T>>(hessian, d).noalias() = X.array().square().matrix().transpose() * v;
  }
}

template <class T>
bool GeneralizedLinearModel<T>::check_problem(std::size_t problem, std::string* why) const {
  const int d = data_.dimension;
  const std::size_t begin = data_.begin(problem), rows = data_.rows(problem);
  for (std::size_t k = 0; k < rows; ++k) {
    const T* x = data_.x + (begin + k) * d;
    for (int i = 0; i < d; ++i)
      if (!std::isfinite(x[i])) {
        *why = fmt::format("x[row {}, column {}] = {} is not finite", k, i, x[i]);
        return false;
      }
    const T y = data_.y[begin + k];
    if (!std::isfinite(y)) {
      *why = fmt::format("y[row {}] = {} is not finite", k, y);
      return false;
    }
    if ((likelihood_ == Likelihood::Logistic || likelihood_ == Likelihood::Probit) && y != T(0) && y != T(1)) {
      *why = fmt::format("y[row {}] = {} is not a label in {{0, 1}}", k, y);
      return false;
    }
    if (likelihood_ == Likelihood::Poisson && (y < T(0) || y != std::floor(y))) {
      *why = fmt::format("y[row {}] = {} is not a non-negative integer count", k, y);
      return false;
    }
  }
  return true;
}

template <class T>
std::uint64_t GeneralizedLinearModel<T>::fingerprint() const {
  detail::Fingerprint f;
  f.add_value(static_cast<int>(likelihood_));
  f.add_value(noise_sd_);
  f.add_value(data_.num_problems);
  f.add_value(data_.dimension);
  for (std::size_t b = 0; b < data_.num_problems; ++b) f.add_value(data_.rows(b));
  const std::size_t rows = data_.total_rows();
  f.add_values(data_.x, rows * static_cast<std::size_t>(data_.dimension));
  f.add_values(data_.y, rows);
  detail::add_prior(f, prior_, data_.num_problems, data_.dimension);
  return f.value();
}

template class GeneralizedLinearModel<float>;
template class GeneralizedLinearModel<double>;

}  // namespace ngvi
