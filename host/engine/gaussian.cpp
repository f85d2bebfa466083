#include "ngvi/gaussian.hpp"

#include <fmt/format.h>

#include <vector>

#include "cpu/sampling.hpp"
#include "ngvi/error.hpp"
#include "math/dense.cuh"
#include "math/gaussian.cuh"
#include "math/step.cuh"
#include "engine/parallel.hpp"
#include "engine/scratch.hpp"

namespace ngvi {
namespace {

// Scratch entries the conversions need: the largest any of them uses (2 d^2 + d).
std::size_t conversion_scratch(int d) { return 2 * static_cast<std::size_t>(d) * d + d; }

}  // namespace

template <class T>
GaussianBatch<T>::GaussianBatch(std::size_t batch_size, int dimension, Family family)
    : size_(batch_size), dimension_(dimension), family_(family) {
  if (dimension < 1) throw Error(fmt::format("GaussianBatch: dimension must be at least 1 (got {})", dimension));
  if (family != Family::Full && family != Family::Diagonal)
    throw Error(fmt::format("GaussianBatch: family {} is not a Family", static_cast<int>(family)));
  if (batch_size > 0xFFFFFFFFull)
    throw Error(fmt::format("GaussianBatch: batch_size {} exceeds 2^32 - 1 distributions", batch_size));
  const std::size_t d = static_cast<std::size_t>(dimension);
  mean_.assign(size_ * d, T(0));
  factor_.assign(size_ * matrix_size(), T(0));
  for (std::size_t b = 0; b < size_; ++b)
    for (std::size_t i = 0; i < d; ++i) factor_[b * matrix_size() + (family == Family::Full ? i * d + i : i)] = T(1);
}

template <class T>
std::size_t GaussianBatch<T>::matrix_size() const {
  const std::size_t d = static_cast<std::size_t>(dimension_);
  return family_ == Family::Full ? d * d : d;
}

// Applies `convert(b, first, second, mu, factor, scratch) -> bool` to every distribution whose inputs
// are finite, writing into temporaries and committing only on success.
template <class T, class Convert>
std::vector<ConversionStatus> convert_each(GaussianBatch<T>& batch, const T* first, std::size_t first_size,
                                           const T* second, std::size_t second_size, Convert&& convert) {
  const int d = batch.dimension();
  const std::size_t m = batch.matrix_size();
  const int threads = detail::resolve_threads(0);
  std::vector<ConversionStatus> result(batch.size(), ConversionStatus::Ok);
  const detail::ThreadScratch<T> scratch(threads, conversion_scratch(d));
  std::vector<T> candidates(static_cast<std::size_t>(threads) * (d + m));
  detail::parallel_for(batch.size(), threads, [&](std::size_t b, int thread) {
    const T* a = first + b * first_size;
    const T* c = second + b * second_size;
    if (!math::all_finite(a, static_cast<int>(first_size)) || !math::all_finite(c, static_cast<int>(second_size))) {
      result[b] = ConversionStatus::NonFinite;
      return;
    }
    T* mu = candidates.data() + thread * (d + m);
    T* factor = mu + d;
    if (!convert(a, c, mu, factor, scratch(thread))) {
      result[b] = ConversionStatus::NotPositiveDefinite;
      return;
    }
    std::copy(mu, mu + d, batch.mean() + b * d);
    std::copy(factor, factor + m, batch.precision_cholesky() + b * m);
  });
  return result;
}

template <class T>
std::vector<ConversionStatus> GaussianBatch<T>::set_moments(const T* mean, const T* covariance) {
  const int d = dimension_;
  return convert_each(*this, mean, d, covariance, matrix_size(), [&](const T* a, const T* c, T* mu, T* f, T* work) {
    return family_ == Family::Full ? math::factor_from_moments_full(a, c, mu, f, work, d)
                                   : math::factor_from_moments_diagonal(a, c, mu, f, d);
  });
}

template <class T>
std::vector<ConversionStatus> GaussianBatch<T>::set_precision(const T* mean, const T* precision) {
  const int d = dimension_;
  return convert_each(*this, mean, d, precision, matrix_size(), [&](const T* a, const T* c, T* mu, T* f, T*) {
    return family_ == Family::Full ? math::factor_from_precision_full(a, c, mu, f, d)
                                   : math::factor_from_precision_diagonal(a, c, mu, f, d);
  });
}

template <class T>
std::vector<ConversionStatus> GaussianBatch<T>::set_precision_cholesky(const T* mean, const T* precision_cholesky) {
  const int d = dimension_;
  return convert_each(*this, mean, d, precision_cholesky, matrix_size(), [&](const T* a, const T* c, T* mu, T* f, T*) {
    const bool full = family_ == Family::Full;
    if (full ? !math::is_valid_factor(c, d) : !math::is_valid_diagonal_factor(c, d)) return false;
    std::copy(a, a + d, mu);
    for (int i = 0; i < (full ? d * d : d); ++i) f[i] = c[i];
    if (full)  // only the lower triangle is the factor
      for (int i = 0; i < d; ++i)
        for (int j = i + 1; j < d; ++j) f[i * d + j] = T(0);
    return true;
  });
}

template <class T>
std::vector<ConversionStatus> GaussianBatch<T>::set_natural(const T* eta1, const T* eta2) {
  const int d = dimension_;
  return convert_each(*this, eta1, d, eta2, matrix_size(), [&](const T* a, const T* c, T* mu, T* f, T*) {
    return family_ == Family::Full ? math::factor_from_natural_full(a, c, mu, f, d)
                                   : math::factor_from_natural_diagonal(a, c, mu, f, d);
  });
}

template <class T>
std::vector<ConversionStatus> GaussianBatch<T>::set_expectation(const T* m1, const T* m2) {
  const int d = dimension_;
  return convert_each(*this, m1, d, m2, matrix_size(), [&](const T* a, const T* c, T* mu, T* f, T* work) {
    return family_ == Family::Full ? math::factor_from_expectation_full(a, c, mu, f, work, d)
                                   : math::factor_from_expectation_diagonal(a, c, mu, f, d);
  });
}

// Calls body(b, mu, factor, scratch) for every distribution, in parallel.
template <class T, class Body>
void for_each_distribution(const GaussianBatch<T>& batch, Body&& body) {
  const int threads = detail::resolve_threads(0);
  const detail::ThreadScratch<T> scratch(threads, conversion_scratch(batch.dimension()));
  const std::size_t d = static_cast<std::size_t>(batch.dimension()), m = batch.matrix_size();
  detail::parallel_for(batch.size(), threads, [&](std::size_t b, int thread) {
    body(b, batch.mean() + b * d, batch.precision_cholesky() + b * m, scratch(thread));
  });
}

template <class T>
void GaussianBatch<T>::covariance(T* out) const {
  const int d = dimension_;
  const std::size_t m = matrix_size();
  for_each_distribution(*this, [&](std::size_t b, const T*, const T* f, T*) {
    if (family_ == Family::Full) {
      math::covariance_full(f, out + b * m, d);
    } else {
      math::covariance_diagonal(f, out + b * m, d);
    }
  });
}

template <class T>
void GaussianBatch<T>::precision(T* out) const {
  const int d = dimension_;
  const std::size_t m = matrix_size();
  for_each_distribution(*this, [&](std::size_t b, const T*, const T* f, T*) {
    if (family_ == Family::Full) {
      math::gram_lower(f, out + b * m, d);
    } else {
      for (int i = 0; i < d; ++i) out[b * m + i] = f[i] * f[i];
    }
  });
}

template <class T>
void GaussianBatch<T>::natural(T* eta1, T* eta2) const {
  const int d = dimension_;
  const std::size_t m = matrix_size();
  for_each_distribution(*this, [&](std::size_t b, const T* mu, const T* f, T* work) {
    if (family_ == Family::Full) {
      math::natural_full(mu, f, eta1 + b * d, eta2 + b * m, work, d);
    } else {
      math::natural_diagonal(mu, f, eta1 + b * d, eta2 + b * m, d);
    }
  });
}

template <class T>
void GaussianBatch<T>::expectation(T* m1, T* m2) const {
  const int d = dimension_;
  const std::size_t m = matrix_size();
  for_each_distribution(*this, [&](std::size_t b, const T* mu, const T* f, T*) {
    if (family_ == Family::Full) {
      math::expectation_full(mu, f, m1 + b * d, m2 + b * m, d);
    } else {
      math::expectation_diagonal(mu, f, m1 + b * d, m2 + b * m, d);
    }
  });
}

template <class T>
void GaussianBatch<T>::log_det_covariance(T* out) const {
  const int d = dimension_;
  for_each_distribution(*this, [&](std::size_t b, const T*, const T* f, T*) {
    out[b] = family_ == Family::Full ? math::log_det_covariance_full(f, d) : math::log_det_covariance_diagonal(f, d);
  });
}

template <class T>
void GaussianBatch<T>::entropy(T* out) const {
  const int d = dimension_;
  for_each_distribution(*this, [&](std::size_t b, const T*, const T* f, T*) {
    out[b] = family_ == Family::Full ? math::entropy_full(f, d) : math::entropy_diagonal(f, d);
  });
}

template <class T>
void GaussianBatch<T>::kl_divergence(const GaussianBatch& other, T* out) const {
  if (other.size_ != size_ || other.dimension_ != dimension_ || other.family_ != family_)
    throw Error(fmt::format(
        "GaussianBatch::kl_divergence: other has (B, d, family) = ({}, {}, {}) but this batch has ({}, {}, {})",
        other.size_, other.dimension_, static_cast<int>(other.family_), size_, dimension_, static_cast<int>(family_)));
  const int d = dimension_;
  const std::size_t m = matrix_size();
  for_each_distribution(*this, [&](std::size_t b, const T* mu, const T* f, T* work) {
    const T* mu2 = other.mean() + b * d;
    const T* f2 = other.precision_cholesky() + b * m;
    out[b] = family_ == Family::Full ? math::kl_full(mu, f, mu2, f2, work, d) : math::kl_diagonal(mu, f, mu2, f2, d);
  });
}

template <class T>
void GaussianBatch<T>::sample(std::uint64_t seed, std::uint32_t step, int num_samples, T* out, bool antithetic) const {
  if (num_samples < 1)
    throw Error(fmt::format("GaussianBatch::sample: num_samples must be at least 1 (got {})", num_samples));
  math::StepPlan plan;
  plan.d = dimension_;
  plan.samples = num_samples;
  plan.antithetic = antithetic;
  plan.diagonal = family_ == Family::Diagonal;
  plan.seed = seed;
  const std::size_t per_distribution = static_cast<std::size_t>(num_samples) * dimension_;
  const std::size_t per_thread = per_distribution + detail::draw_scratch_size<T>(plan);
  const int threads = detail::resolve_threads(0);
  std::vector<T> scratch(threads * per_thread);
  const std::size_t m = matrix_size();
  detail::parallel_for(size_, threads, [&](std::size_t b, int thread) {
    T* eps = scratch.data() + thread * per_thread;
    detail::draw_samples(plan, static_cast<std::uint32_t>(b), step, mean() + b * dimension_,
                         precision_cholesky() + b * m, eps, out + b * per_distribution, eps + per_distribution);
  });
}

template class GaussianBatch<float>;
template class GaussianBatch<double>;

}  // namespace ngvi
