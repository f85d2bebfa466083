/// @file gaussian.hpp
/// @brief GaussianBatch: B Gaussian distributions in d dimensions and the conversions between their
/// parameterizations (docs/math.md, section 2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ngvi/export.hpp"
#include "ngvi/family.hpp"
#include "ngvi/status.hpp"

namespace ngvi {

/// @brief B independent distributions q_b = N(mu_b, Lambda_b^-1) in d dimensions.
///
/// The state of distribution b is its mean and the lower Cholesky factor of its precision,
/// Lambda_b = L_b L_b^T (family Full), or the square roots of the precision's diagonal (family
/// Diagonal). All arrays are flat and row-major with the batch index outermost:
///  - vectors (mean, eta1, m1): (B, d);
///  - matrices (covariance, precision, eta2, m2, L): (B, d, d) for Full, and their diagonals (B, d)
///    for Diagonal.
///
/// Setters convert every distribution independently; a distribution whose input is not finite or not
/// positive definite keeps its previous state and its entry of the returned vector says why.
///
/// @tparam T float or double.
template <class T>
class NGVI_API GaussianBatch {
 public:
  /// @brief B standard normals N(0, I) in d dimensions. Throws ngvi::Error if d < 1.
  GaussianBatch(std::size_t batch_size, int dimension, Family family = Family::Full);

  std::size_t size() const { return size_; }
  int dimension() const { return dimension_; }
  Family family() const { return family_; }
  /// Entries per distribution in matrix-shaped arrays: d*d (Full) or d (Diagonal).
  std::size_t matrix_size() const;

  /// @name Raw state
  /// Means (B, d) and precision factors (B, d, d) or (B, d). Writing through these pointers is allowed;
  /// a factor with a non-positive diagonal is reported as Status::InvalidState by fit().
  /// @{
  T* mean() { return mean_.data(); }
  const T* mean() const { return mean_.data(); }
  T* precision_cholesky() { return factor_.data(); }
  const T* precision_cholesky() const { return factor_.data(); }
  /// @}

  /// @name Setters (each returns one ConversionStatus per distribution)
  /// @{
  std::vector<ConversionStatus> set_moments(const T* mean, const T* covariance);
  std::vector<ConversionStatus> set_precision(const T* mean, const T* precision);
  std::vector<ConversionStatus> set_precision_cholesky(const T* mean, const T* precision_cholesky);
  /// eta1 = Lambda mu, eta2 = -Lambda / 2.
  std::vector<ConversionStatus> set_natural(const T* eta1, const T* eta2);
  /// m1 = mu, m2 = Sigma + mu mu^T (Diagonal: the diagonal of m2). Sigma must be positive definite.
  std::vector<ConversionStatus> set_expectation(const T* m1, const T* m2);
  /// @}

  /// @name Getters (write into caller-provided arrays of the documented shapes)
  /// @{
  void covariance(T* out) const;
  void precision(T* out) const;
  void natural(T* eta1, T* eta2) const;
  void expectation(T* m1, T* m2) const;
  /// log det Sigma_b, one per distribution.
  void log_det_covariance(T* out) const;
  /// Entropy H(q_b), one per distribution.
  void entropy(T* out) const;
  /// KL(q_b || other_b), one per distribution. Throws ngvi::Error if the shapes differ.
  void kl_divergence(const GaussianBatch& other, T* out) const;
  /// @}

  /// @brief Draws z[b, s] = mu_b + L_b^-T eps[b, s] into out (B, S, d).
  /// eps is keyed by (seed, b, step, s), exactly as fit() draws it: with `antithetic`, samples 2k and
  /// 2k+1 use eps_k and -eps_k.
  void sample(std::uint64_t seed, std::uint32_t step, int num_samples, T* out, bool antithetic = true) const;

 private:
  std::size_t size_;
  int dimension_;
  Family family_;
  std::vector<T> mean_;
  std::vector<T> factor_;
};

extern template class GaussianBatch<float>;
extern template class GaussianBatch<double>;

}  // namespace ngvi
