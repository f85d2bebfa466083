/// @file models.hpp
/// @brief Built-in models: a quadratic (Gaussian) target and generalized linear models on batched data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ngvi/data.hpp"
#include "ngvi/export.hpp"
#include "ngvi/model.hpp"
#include "ngvi/prior.hpp"

namespace ngvi {

/// @brief f_b(z) = 1/2 (z - a_b)^T A_b (z - a_b): the exact posterior is N(a_b, A_b^-1) when there is
/// no prior. The test oracle of docs/math.md (section 8.4), and a model with exact expectations.
///
/// A view of `centers` (B, d) and `curvatures`: (B, d, d), or one (d, d) matrix for every problem
/// when `shared_curvature` is true. The arrays must outlive the model.
template <class T>
class NGVI_API QuadraticModel final : public Model<T> {
 public:
  QuadraticModel(std::size_t num_problems, int dimension, const T* centers, const T* curvatures,
                 bool shared_curvature = false, Prior<T> prior = Prior<T>::none());

  /// The viewed arrays: centers (B, d), curvatures (B, d, d) or one (d, d) when shared_curvature().
  const T* centers() const { return centers_; }
  const T* curvatures() const { return curvatures_; }
  bool shared_curvature() const { return shared_curvature_; }

  std::size_t num_problems() const override { return num_problems_; }
  int dimension() const override { return dimension_; }
  Derivatives derivatives() const override { return Derivatives::Hessian; }
  void evaluate(std::size_t problem, const T* points, int num_points, const Evaluation<T>& out, T* scratch,
                const EvaluationContext& context) const override;
  std::size_t scratch_size(int num_points) const override;
  const Prior<T>& prior() const override { return prior_; }
  bool has_expectations() const override { return true; }
  void expectations(std::size_t problem, const T* mean, const T* factor, Family family, T* value, T* gradient,
                    T* hessian, T* scratch) const override;
  std::size_t expectation_scratch_size() const override;
  bool check_problem(std::size_t problem, std::string* why) const override;
  std::uint64_t fingerprint() const override;

 private:
  const T* curvature(std::size_t problem) const;

  std::size_t num_problems_;
  int dimension_;
  const T* centers_;
  const T* curvatures_;
  bool shared_curvature_;
  Prior<T> prior_;
};

/// @brief The likelihoods of the generalized linear models, each a function of a_n = x_n^T z.
enum class Likelihood : std::int32_t {
  Linear = 0,    ///< y_n ~ N(a_n, sigma^2), sigma known (noise_sd)
  Logistic = 1,  ///< y_n in {0, 1}, p(y_n = 1) = 1 / (1 + exp(-a_n))
  Poisson = 2,   ///< y_n in {0, 1, 2, ...}, rate exp(a_n)
  Probit = 3,    ///< y_n in {0, 1}, p(y_n = 1) = Phi(a_n)
};

/// @brief Name of a likelihood as the command line spells it ("linear", "logistic", ...).
NGVI_API const char* likelihood_name(Likelihood likelihood);

/// @brief f_b(z) = sum over the rows n of problem b of -log p(y_n | x_n^T z), fully normalised
/// (log y! for Poisson, 1/2 log(2 pi sigma^2) per row for Linear). Gradient X^T r and Hessian
/// X^T diag(w) X, with r and w the first and second derivatives of the row terms.
///
/// Exact expectations (the Quadrature estimator, the default): each row's linear predictor is
/// N(x^T mu, x^T Sigma x) under q, so E_q[f], its gradient and Hessian are sums of one-dimensional
/// expectations, in closed form for Linear and Poisson and by 32-node Gauss-Hermite quadrature for
/// Logistic and Probit.
///
/// The default prior is N(0, I). A view of the data, which must outlive the model.
template <class T>
class NGVI_API GeneralizedLinearModel : public Model<T> {
 public:
  GeneralizedLinearModel(Likelihood likelihood, RegressionData<T> data, Prior<T> prior = Prior<T>::isotropic(T(1)),
                         T noise_sd = T(1));

  Likelihood likelihood() const { return likelihood_; }
  const RegressionData<T>& data() const { return data_; }
  T noise_sd() const { return noise_sd_; }
  /// The part of f_b that does not depend on z (log y! for Poisson, the Gaussian normalisers for Linear).
  T value_constant(std::size_t problem) const { return constants_[problem]; }

  std::size_t num_problems() const override { return data_.num_problems; }
  int dimension() const override { return data_.dimension; }
  Derivatives derivatives() const override { return Derivatives::Hessian; }
  void evaluate(std::size_t problem, const T* points, int num_points, const Evaluation<T>& out, T* scratch,
                const EvaluationContext& context) const override;
  std::size_t scratch_size(int num_points) const override;
  const Prior<T>& prior() const override { return prior_; }
  bool has_expectations() const override { return true; }
  void expectations(std::size_t problem, const T* mean, const T* factor, Family family, T* value, T* gradient,
                    T* hessian, T* scratch) const override;
  std::size_t expectation_scratch_size() const override;
  bool check_problem(std::size_t problem, std::string* why) const override;
  std::uint64_t fingerprint() const override;

 private:
  Likelihood likelihood_;
  RegressionData<T> data_;
  Prior<T> prior_;
  T noise_sd_;
  std::size_t max_rows_;
  std::vector<T> constants_;  // per problem: the parts of f that do not depend on z (log y!, normalisers)
};

/// @brief Linear regression with known noise standard deviation.
template <class T>
class LinearRegression final : public GeneralizedLinearModel<T> {
 public:
  explicit LinearRegression(RegressionData<T> data, T noise_sd = T(1), Prior<T> prior = Prior<T>::isotropic(T(1)))
      : GeneralizedLinearModel<T>(Likelihood::Linear, data, std::move(prior), noise_sd) {}
};

/// @brief Logistic regression, labels 0/1.
template <class T>
class LogisticRegression final : public GeneralizedLinearModel<T> {
 public:
  explicit LogisticRegression(RegressionData<T> data, Prior<T> prior = Prior<T>::isotropic(T(1)))
      : GeneralizedLinearModel<T>(Likelihood::Logistic, data, std::move(prior)) {}
};

/// @brief Probit regression, labels 0/1.
template <class T>
class ProbitRegression final : public GeneralizedLinearModel<T> {
 public:
  explicit ProbitRegression(RegressionData<T> data, Prior<T> prior = Prior<T>::isotropic(T(1)))
      : GeneralizedLinearModel<T>(Likelihood::Probit, data, std::move(prior)) {}
};

/// @brief Poisson regression with a log link, non-negative counts.
template <class T>
class PoissonRegression final : public GeneralizedLinearModel<T> {
 public:
  explicit PoissonRegression(RegressionData<T> data, Prior<T> prior = Prior<T>::isotropic(T(1)))
      : GeneralizedLinearModel<T>(Likelihood::Poisson, data, std::move(prior)) {}
};

extern template class QuadraticModel<float>;
extern template class QuadraticModel<double>;
extern template class GeneralizedLinearModel<float>;
extern template class GeneralizedLinearModel<double>;

}  // namespace ngvi
