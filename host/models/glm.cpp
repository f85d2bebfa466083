// Generalized linear models on the CPU: checks, constants and minibatches here; the work on the rows
// (values, gradients, Hessians, expectations) by the kernels of glm_rows.cpp compiled for this CPU.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

#include "engine/cpu_level.hpp"
#include "math/minibatch.cuh"
#include "models/glm_rows.hpp"
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

namespace detail {

const GlmRowKernels& glm_rows() {
  // Chosen at the first call that succeeds: a bad NGVI_CPU_LEVEL throws from every call.
  static const GlmRowKernels kernels = [] {
    switch (cpu_level()) {
#if defined(NGVI_CPU_DISPATCH)
      case CpuLevel::X86_64_V4: return glm_rows_x86_64_v4();
      case CpuLevel::X86_64_V3: return glm_rows_x86_64_v3();
#endif
      default: return glm_rows_generic();
    }
  }();
  return kernels;
}

const char* glm_rows_level() { return cpu_level_name(cpu_level()); }

}  // namespace detail

namespace {

template <class T>
const detail::GlmRows<T>& rows_kernels() {
  if constexpr (std::is_same_v<T, float>) return detail::glm_rows().single;
  else return detail::glm_rows().double_precision;
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
  detail::glm_rows();  // the kernels are chosen here, where a bad NGVI_CPU_LEVEL can be reported
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
  return rows * (1 + 2 * d + 1) + 2 * d * detail::kGlmLanes<T>;
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
  const std::ptrdiff_t N = static_cast<std::ptrdiff_t>(rows);
  rows_kernels<T>().evaluate(likelihood_, noise_sd_, x, y, N, d, points, S, out.values, out.gradients,
                             out.hessian_mean ? weights : nullptr, work);
  if (out.values)
    for (int s = 0; s < S; ++s) out.values[s] = scale * out.values[s] + constants_[problem];
  if (out.gradients && scale != T(1))
    for (int k = 0; k < S * d; ++k) out.gradients[k] *= scale;
  if (out.hessian_mean)
    rows_kernels<T>().hessian(x, weights, N, d, scale / T(S), out.hessian_diagonal, weighted, out.hessian_mean);
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
  const std::size_t begin = data_.begin(problem);
  const T expected_value =
      rows_kernels<T>().expectations(likelihood_, noise_sd_, data_.x + begin * d, data_.y + begin,
                                     static_cast<std::ptrdiff_t>(data_.rows(problem)), d, mean, factor,
                                     family == Family::Full, value != nullptr, gradient, hessian, scratch);
  if (value) *value = expected_value + constants_[problem];
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
