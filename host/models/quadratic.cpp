#include <fmt/format.h>

#include "math/dense.cuh"
#include "math/gaussian.cuh"
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
  T* r = scratch;
  for (int s = 0; s < num_points; ++s) {
    const T* z = points + s * d;
    for (int i = 0; i < d; ++i) r[i] = z[i] - a[i];
    T value = T(0);
    for (int i = 0; i < d; ++i) {
      const T Ar = math::dot(A + i * d, r, d);
      value += r[i] * Ar;
      if (out.gradients) out.gradients[s * d + i] = Ar;
    }
    if (out.values) out.values[s] = T(0.5) * value;
  }
  if (out.hessian_mean) {
    for (int i = 0; i < d; ++i) {
      if (out.hessian_diagonal) {
        out.hessian_mean[i] = A[i * d + i];
      } else {
        for (int j = 0; j < d; ++j) out.hessian_mean[i * d + j] = A[i * d + j];
      }
    }
  }
}

template <class T>
std::size_t QuadraticModel<T>::expectation_scratch_size() const {
  return static_cast<std::size_t>(dimension_) * dimension_ + 2 * static_cast<std::size_t>(dimension_);
}

// E[f] = 1/2 [tr(A Sigma) + (mu - a)^T A (mu - a)], E[grad f] = A (mu - a), E[hess f] = A.
template <class T>
void QuadraticModel<T>::expectations(std::size_t problem, const T* mean, const T* factor, Family family, T* value,
                                     T* gradient, T* hessian, T* scratch) const {
  const int d = dimension_;
  const T* a = centers_ + problem * d;
  const T* A = curvature(problem);
  const bool diagonal = family == Family::Diagonal;
  T trace = T(0);  // tr(A Sigma), only needed for the value
  if (value && diagonal) {
    for (int i = 0; i < d; ++i) trace += A[i * d + i] / (factor[i] * factor[i]);
  } else if (value) {
    T* Sigma = scratch;
    math::covariance_full(factor, Sigma, d);
    for (int i = 0; i < d; ++i) trace += math::dot(A + i * d, Sigma + i * d, d);  // Sigma symmetric
  }
  T* r = scratch + d * d + d;
  for (int i = 0; i < d; ++i) r[i] = mean[i] - a[i];
  T quadratic = T(0);
  for (int i = 0; i < d; ++i) {
    gradient[i] = math::dot(A + i * d, r, d);
    quadratic += r[i] * gradient[i];
    for (int j = 0; j < d; ++j) {
      if (diagonal) {
        if (j == i) hessian[i] = A[i * d + i];
      } else {
        hessian[i * d + j] = A[i * d + j];
      }
    }
  }
  if (value) *value = T(0.5) * (trace + quadratic);
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

template class QuadraticModel<float>;
template class QuadraticModel<double>;

}  // namespace ngvi
