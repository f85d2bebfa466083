/// @file prior.hpp
/// @brief Gaussian priors N(m, P^-1), added to every step analytically (never by Monte Carlo).
#pragma once

#include <cstddef>
#include <vector>

#include "ngvi/export.hpp"

namespace ngvi {

/// @brief A Gaussian prior N(m, P^-1) on each problem's parameter, shared by all problems or one per
/// problem. Its gradient P (mu - m) and Hessian P are added exactly to the model's estimates, and its
/// normalised expected log density enters the ELBO in closed form.
///
/// Sizes are checked against the model's (B, d) when a fit starts:
///  - isotropic precision: 1 value (shared) or B values;
///  - full precision: d*d values (shared) or B*d*d values (per problem), positive definite;
///  - mean: empty (zero), d values (shared) or B*d values.
/// @tparam T float or double.
template <class T>
class NGVI_API Prior {
 public:
  enum class Kind { None, Isotropic, Full };

  /// No prior: the model's target is the whole negative log joint.
  Prior() = default;
  static Prior none() { return Prior(); }
  /// N(mean, precision^-1 I) with one precision shared by all problems.
  static Prior isotropic(T precision, std::vector<T> mean = {});
  /// N(mean_b, precision_b^-1 I): one precision per problem.
  static Prior isotropic(std::vector<T> precisions, std::vector<T> mean = {});
  /// N(mean, P^-1) with a full precision P (d*d, shared) or one per problem (B*d*d).
  /// Throws ngvi::Error if a precision is not symmetric positive definite.
  static Prior full(int dimension, std::vector<T> precisions, std::vector<T> mean = {});

  Kind kind() const { return kind_; }

  /// Throws ngvi::Error naming `function` if the sizes do not fit B problems of dimension d.
  void check(const char* function, std::size_t num_problems, int dimension) const;

  /// @name Per-problem views (after check())
  /// @{
  // Whether a value is shared or per problem follows from the sizes, checked by check().
  /// Isotropic: the scalar precision; Full: the d*d precision matrix.
  const T* precision(std::size_t problem) const;
  /// Full only: the lower Cholesky factor of the precision (d*d).
  const T* precision_cholesky(std::size_t problem) const;
  /// The mean (d values), or nullptr for a zero mean.
  const T* mean(std::size_t problem, int dimension) const;
  /// log det P for problem b in dimension d.
  T log_det_precision(std::size_t problem, int dimension) const;
  /// @}

 private:
  Kind kind_ = Kind::None;
  int dimension_ = 0;  // Full only
  std::vector<T> precision_;
  std::vector<T> factor_;  // Full only
  std::vector<T> log_det_;  // Full only, one per stored matrix
  std::vector<T> mean_;
};

extern template class Prior<float>;
extern template class Prior<double>;

}  // namespace ngvi
