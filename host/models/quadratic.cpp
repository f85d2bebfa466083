#include <fmt/format.h>

#include "engine/fingerprint.hpp"
#include "math/dense.cuh"
#include "math/gaussian.cuh"
#include "math/quadratic.cuh"
#include "ngvi/error.hpp"
#include "ngvi/models.hpp"

namespace ngvi {

template <class T>
QuadraticModel<T>::QuadraticModel(std::size_t num_problems, int dimension, const T* centers, const T* curvatures,
                                  bool shared_curvature, Prior<T> prior)
    : num_problems_(num_problems),
      dimension_(dimension),
      centers_(centers),
      curvatures_(curvatures),
      shared_curvature_(shared_curvature),
      prior_(std::move(prior)) {
  if (num_problems < 1) throw Error("QuadraticModel: num_problems must be at least 1 (got 0)");
  if (dimension < 1) throw Error(fmt::format("QuadraticModel: dimension must be at least 1 (got {})", dimension));
  if (!centers || !curvatures) throw Error(fmt::format("QuadraticModel: {} is null", centers ? "curvatures" : "centers"));
  prior_.check("QuadraticModel", num_problems, dimension);
}

template <class T>
const T* QuadraticModel<T>::curvature(std::size_t problem) const {
  const std::size_t m = static_cast<std::size_t>(dimension_) * dimension_;
  return shared_curvature_ ? curvatures_ : curvatures_ + problem * m;
}

template <class T>
std::size_t QuadraticModel<T>::scratch_size(int) const {
  return static_cast<std::size_t>(dimension_);
}

template <class T>
void QuadraticModel<T>::evaluate(std::size_t problem, const T* points, int num_points, const Evaluation<T>& out,
                                 T* scratch, const EvaluationContext&) const {
  const int d = dimension_;
  const T* a = centers_ + problem * d;
  const T* A = curvature(problem);
  for (int s = 0; s < num_points; ++s) {
    const T value = math::quadratic_at(A, a, points + s * d, out.gradients ? out.gradients + s * d : nullptr, scratch, d);
    if (out.values) out.values[s] = value;
  }
  if (out.hessian_mean) math::quadratic_hessian(A, out.hessian_diagonal, out.hessian_mean, d);
}

template <class T>
std::size_t QuadraticModel<T>::expectation_scratch_size() const {
  return static_cast<std::size_t>(math::quadratic_expectation_scratch(dimension_));
}

template <class T>
void QuadraticModel<T>::expectations(std::size_t problem, const T* mean, const T* factor, Family family, T* value,
                                     T* gradient, T* hessian, T* scratch) const {
  math::quadratic_expectations(curvature(problem), centers_ + problem * dimension_, mean, factor,
                               family == Family::Diagonal, value, gradient, hessian, scratch, dimension_);
}

template <class T>
bool QuadraticModel<T>::check_problem(std::size_t problem, std::string* why) const {
  const int d = dimension_;
  if (!math::all_finite(centers_ + problem * d, d)) {
    *why = "the center is not finite";
    return false;
  }
  if (!math::all_finite(curvature(problem), d * d)) {
    *why = "the curvature matrix is not finite";
    return false;
  }
  return true;
}

template <class T>
std::uint64_t QuadraticModel<T>::fingerprint() const {
  detail::Fingerprint f;
  const std::size_t d = static_cast<std::size_t>(dimension_);
  f.add_value(num_problems_);
  f.add_value(dimension_);
  f.add_value(shared_curvature_);
  f.add_values(centers_, num_problems_ * d);
  f.add_values(curvatures_, (shared_curvature_ ? 1 : num_problems_) * d * d);
  detail::add_prior(f, prior_, num_problems_, dimension_);
  return f.value();
}

template class QuadraticModel<float>;
template class QuadraticModel<double>;

}  // namespace ngvi
