// Generalized linear models on the CPU: a problem's rows are evaluated at all S samples at once as
// matrix products (Eigen), with the row terms of kernels/math/glm.cuh in between.
#include <fmt/format.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "math/glm.cuh"
#include "math/minibatch.cuh"
#include "ngvi/error.hpp"
#include "ngvi/models.hpp"
#include "parallel.hpp"

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
using ColMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
template <class T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

// Calls visit(rows) with the kernels/math row type of the likelihood.
template <class T, class Visit>
void with_rows(Likelihood likelihood, T noise_sd, Visit&& visit) {
  switch (likelihood) {
    case Likelihood::Linear: visit(math::LinearRows<T>{T(1) / (noise_sd * noise_sd)}); return;
    case Likelihood::Logistic: visit(math::LogisticRows<T>{}); return;
    case Likelihood::Poisson: visit(math::PoissonRows<T>{}); return;
    case Likelihood::Probit: visit(math::ProbitRows<T>{}); return;
  }
}

// The row terms at every (sample s, row n) pair. On entry A (S, N) holds the linear predictors; on
// exit the first derivatives. weights[n] (when not null) receives the sum over samples of the second
// derivatives and values[s] (when not null) the sum over rows of the row values. These are the
// formulas of kernels/math/glm.cuh in Eigen's array form, so that exp and log run in SIMD (each
// transcendental is applied to a whole array before a reduction, inside which Eigen would evaluate it
// entry by entry); glm_test checks that they agree with the scalar functions. `work` holds S*N entries.
template <class T>
void evaluate_rows(Likelihood likelihood, T noise_sd, Eigen::Map<ColMajor<T>>& A, const T* y_data, T* values,
                   T* weights, T* work) {
  using Array = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::Index S = A.rows(), N = A.cols();
  auto a = A.array();
  const Eigen::Map<const Eigen::Array<T, 1, Eigen::Dynamic>> y(y_data, N);
  Eigen::Map<Eigen::Array<T, 1, Eigen::Dynamic>> w(weights, weights ? N : 0);
  Eigen::Map<Array> t(work, S, N);
  switch (likelihood) {
    case Likelihood::Linear: {
      const T inv_variance = T(1) / (noise_sd * noise_sd);
      a = (a.rowwise() - y) * inv_variance;  // d1 = (a - y) / sigma^2
      if (values) Eigen::Map<Vector<T>>(values, S) = (T(0.5) / inv_variance) * a.square().rowwise().sum().matrix();
      if (weights) w.setConstant(T(S) * inv_variance);
      return;
    }
    case Likelihood::Logistic: {
      if (values) {  // softplus(a) - y a = max(a, 0) + log1p(exp(-|a|)) - y a: nothing overflows
        t = (-a.abs()).exp();
        t = t.log1p();
        Eigen::Map<Vector<T>>(values, S) = (a.max(T(0)) + t - a.rowwise() * y).rowwise().sum().matrix();
      }
      t = (T(1) + (-a).exp()).inverse();  // sigmoid(a): exp(-a) = inf for a << 0 gives 0, never NaN
      if (weights) w = (t * (T(1) - t)).colwise().sum();
      a = t.rowwise() - y;
      return;
    }
    case Likelihood::Poisson: {
      t = a.exp();
      if (values) Eigen::Map<Vector<T>>(values, S) = (t - a.rowwise() * y).rowwise().sum().matrix();
      if (weights) w = t.colwise().sum();
      a = t.rowwise() - y;
      return;
    }
    case Likelihood::Probit: {  // erfc has no SIMD form here: the scalar function, row by row
      if (values) Eigen::Map<Vector<T>>(values, S).setZero();
      for (Eigen::Index n = 0; n < N; ++n) {
        T sum = T(0);
        for (Eigen::Index s = 0; s < S; ++s) {
          const math::RowTerms<T> r = values ? math::probit_row<true>(a(s, n), y(n)) : math::probit_row<false>(a(s, n), y(n));
          if (values) values[s] += r.value;
          a(s, n) = r.d1;
          sum += r.d2;
        }
        if (weights) w(n) = sum;
      }
      return;
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
std::size_t GeneralizedLinearModel<T>::scratch_size(int num_points) const {
  const std::size_t rows = max_rows_, d = static_cast<std::size_t>(data_.dimension), S = num_points;
  // Linear predictors (S, N), Hessian weights (N), weighted rows (N, d), gathered minibatch rows (N, d)
  // and (N), row-term work (S, N).
  return rows * (S + 1 + 2 * d + 1 + S);
}

template <class T>
void GeneralizedLinearModel<T>::evaluate(std::size_t problem, const T* points, int num_points, const Evaluation<T>& out,
                                         T* scratch, const EvaluationContext& context) const {
  const int d = data_.dimension;
  const Eigen::Index S = num_points;
  std::size_t rows = data_.rows(problem);
  const T* x = data_.x + data_.begin(problem) * d;
  const T* y = data_.y + data_.begin(problem);
  T* minibatch_x = scratch + max_rows_ * (S + 1 + d);
  T* minibatch_y = minibatch_x + max_rows_ * d;
  T scale = T(1);
  if (math::uses_minibatch(context.minibatch_rows, rows)) {
    const std::size_t M = context.minibatch_rows;
    for (std::size_t k = 0; k < M; ++k) {
      const std::size_t row = math::minibatch_row<T>(context.seed, static_cast<std::uint32_t>(problem), context.step,
                                                     static_cast<std::uint32_t>(k), rows);
      std::copy(x + row * d, x + (row + 1) * d, minibatch_x + k * d);
      minibatch_y[k] = y[row];
    }
    scale = T(rows) / T(M);
    rows = M;
    x = minibatch_x;
    y = minibatch_y;
  }
  const Eigen::Index N = static_cast<Eigen::Index>(rows);
  Eigen::Map<const RowMajor<T>> X(x, N, d);
  Eigen::Map<const RowMajor<T>> Z(points, S, d);
  Eigen::Map<ColMajor<T>> A(scratch, S, N);  // column n: the linear predictors of row n at every sample
  Eigen::Map<Vector<T>> weights(scratch + max_rows_ * S, N);
  A.noalias() = Z * X.transpose();

  evaluate_rows(likelihood_, noise_sd_, A, y, out.values, out.hessian_mean ? weights.data() : nullptr, scratch + max_rows_ * (S + 1 + 2 * d + 1));
  if (out.values)
    for (Eigen::Index s = 0; s < S; ++s) out.values[s] = scale * out.values[s] + constants_[problem];
  if (out.gradients) {
    Eigen::Map<RowMajor<T>> G(out.gradients, S, d);
    G.noalias() = scale * (A * X);
  }
  if (out.hessian_mean) {
    const T factor = scale / T(S);
    if (out.hessian_diagonal) {
      Eigen::Map<Vector<T>> h(out.hessian_mean, d);
      h.noalias() = factor * (X.array().square().matrix().transpose() * weights);
    } else {
      Eigen::Map<RowMajor<T>> weighted(scratch + max_rows_ * (S + 1), N, d);
      weighted.noalias() = weights.asDiagonal() * X;
      Eigen::Map<RowMajor<T>> H(out.hessian_mean, d, d);
      H.noalias() = factor * (X.transpose() * weighted);
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
  if (family == Family::Full) {
    Eigen::Map<ColMajor<T>> V(scratch + 2 * N, d, N);
    V = X.transpose();
    Eigen::Map<const RowMajor<T>>(factor, d, d).template triangularView<Eigen::Lower>().solveInPlace(V);
    v.noalias() = V.colwise().squaredNorm().transpose();
  } else {
    const Eigen::Map<const Vector<T>> l(factor, d);
    v.noalias() = X.array().square().matrix() * l.array().square().inverse().matrix();
  }
  // m and v are overwritten with the expected first and second derivatives.
  T expected_value = T(0);
  with_rows(likelihood_, noise_sd_, [&](auto rows) {
    for (Eigen::Index n = 0; n < N; ++n) {
      const math::RowTerms<T> e = value ? rows.template expected<true>(m[n], v[n], y[n])
                                        : rows.template expected<false>(m[n], v[n], y[n]);
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

template class GeneralizedLinearModel<float>;
template class GeneralizedLinearModel<double>;

}  // namespace ngvi
