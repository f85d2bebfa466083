/// @file model_with_prior.hpp
/// @brief ModelWithPrior: another model's likelihood under a different prior, without copying its data.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "ngvi/model.hpp"
#include "ngvi/prior.hpp"

namespace ngvi {

/// @brief A view of `model` whose prior() is `prior` instead of the model's own: everything else
/// (evaluate, expectations, data checks) is forwarded. Empirical Bayes (fit_pooled) and online
/// rounds (fit_online_round) refit the same data under a new prior each time with it.
///
/// The wrapped model must outlive the view. The CUDA backend runs the view when the wrapped model is
/// a built-in one (GeneralizedLinearModel, QuadraticModel): it reads the data through the view and
/// uploads the view's prior.
template <class T>
class ModelWithPrior final : public Model<T> {
 public:
  ModelWithPrior(const Model<T>& model, Prior<T> prior) : model_(model), prior_(std::move(prior)) {}

  const Model<T>& model() const { return model_; }
  /// Replaces the prior; the next fit() uses it.
  void set_prior(Prior<T> prior) { prior_ = std::move(prior); }

  std::size_t num_problems() const override { return model_.num_problems(); }
  int dimension() const override { return model_.dimension(); }
  Derivatives derivatives() const override { return model_.derivatives(); }
  void evaluate(std::size_t problem, const T* points, int num_points, const Evaluation<T>& out, T* scratch,
                const EvaluationContext& context) const override {
    model_.evaluate(problem, points, num_points, out, scratch, context);
  }
  std::size_t scratch_size(int num_points) const override { return model_.scratch_size(num_points); }
  const Prior<T>& prior() const override { return prior_; }
  bool has_expectations() const override { return model_.has_expectations(); }
  void expectations(std::size_t problem, const T* mean, const T* factor, Family family, T* value, T* gradient,
                    T* hessian, T* scratch) const override {
    model_.expectations(problem, mean, factor, family, value, gradient, hessian, scratch);
  }
  std::size_t expectation_scratch_size() const override { return model_.expectation_scratch_size(); }
  bool check_problem(std::size_t problem, std::string* why) const override {
    return model_.check_problem(problem, why);
  }

 private:
  const Model<T>& model_;
  Prior<T> prior_;
};

}  // namespace ngvi
