/// @file model.hpp
/// @brief The model contract: what the engine asks of a batch of targets f_b(z) = -log p(data_b, z).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ngvi/autodiff.hpp"
#include "ngvi/family.hpp"
#include "ngvi/prior.hpp"

namespace ngvi {

/// @brief The highest derivative a model provides.
enum class Derivatives : std::int32_t {
  Value = 0,     ///< f only: the Score estimator
  Gradient = 1,  ///< f and grad f: Stein and Score
  Hessian = 2,   ///< f, grad f and hess f: every estimator
};

/// @brief Where the outputs of Model::evaluate go. A null pointer means "not needed this time".
template <class T>
struct Evaluation {
  T* values = nullptr;        ///< (S): f(z_s)
  T* gradients = nullptr;     ///< (S, d): grad f(z_s)
  T* hessian_mean = nullptr;  ///< mean over the S points of hess f(z_s): (d, d), or its diagonal (d)
  bool hessian_diagonal = false;  ///< true when only the diagonal of the Hessian is wanted
};

/// @brief Where in the fit an evaluation happens; stochastic models (minibatches) key their
/// randomness on it so that results stay reproducible.
struct EvaluationContext {
  std::uint64_t seed = 0;
  std::uint32_t step = 0;
  std::uint32_t first_problem = 0;  ///< random numbers of problem b are keyed by first_problem + b (Options::problem_offset)
  std::size_t minibatch_rows = 0;  ///< 0: use every row; M > 0: M random rows, rescaled by N_b / M
};

/// @brief A batch of B targets in d dimensions: the negative log joint of problem b, f_b(z), without
/// the Gaussian prior, which the engine adds analytically from prior().
///
/// Implementations are called concurrently from several threads for different problems: evaluate()
/// must not modify shared state. All pointers are valid only for the duration of the call.
template <class T>
class Model {
 public:
  virtual ~Model() = default;

  /// Number of problems B (one per distribution of the batch being fitted).
  virtual std::size_t num_problems() const = 0;
  /// Dimension d of every problem's parameter.
  virtual int dimension() const = 0;
  /// Which derivatives evaluate() can produce; it decides which estimators may be used.
  virtual Derivatives derivatives() const = 0;

  /// @brief Evaluate problem `problem` at `num_points` points (num_points, d), row-major.
  /// Fill each non-null output of `out`; `scratch` holds scratch_size(num_points) entries and, when the
  /// engine calls, starts on a 64-byte boundary (vectorized models may round differently on other
  /// alignments; to reproduce a fit bit for bit outside the engine, pass aligned scratch too).
  virtual void evaluate(std::size_t problem, const T* points, int num_points, const Evaluation<T>& out, T* scratch,
                        const EvaluationContext& context) const = 0;
  /// Scratch entries evaluate() needs for `num_points` points.
  virtual std::size_t scratch_size(int num_points) const {
    (void)num_points;
    return 0;
  }

  /// The Gaussian prior added to every problem (default: none).
  virtual const Prior<T>& prior() const {
    static const Prior<T> kNone;
    return kNone;
  }

  /// @brief True when expectations() gives exact E_q[f], E_q[grad f] and E_q[hess f] (the Quadrature
  /// estimator).
  virtual bool has_expectations() const { return false; }
  /// @brief Exact expectations under q = N(mean, Lambda^-1), Lambda = L L^T (Full) or diag(l)^2
  /// (Diagonal), `factor` being L or l. Writes E[f] to *value (unless value is null: not needed),
  /// E[grad f] (d) to gradient and E[hess f] to hessian ((d, d), or (d) for Diagonal). `scratch` holds
  /// expectation_scratch_size() entries.
  virtual void expectations(std::size_t problem, const T* mean, const T* factor, Family family, T* value,
                            T* gradient, T* hessian, T* scratch) const {
    (void)problem, (void)mean, (void)factor, (void)family, (void)value, (void)gradient, (void)hessian,
        (void)scratch;
  }
  virtual std::size_t expectation_scratch_size() const { return 0; }

  /// @brief Checks the data of one problem before a fit; on failure writes the reason to *why and
  /// returns false, and that problem's status becomes Status::InvalidData. The default accepts all.
  virtual bool check_problem(std::size_t problem, std::string* why) const {
    (void)problem, (void)why;
    return true;
  }

  /// @brief A checksum of everything that decides this model's results (data, settings, prior),
  /// saved in checkpoints so that resuming on other data or another model of the same shape is
  /// refused. 0, the default, means unknown: such a checkpoint resumes on any model of its shape.
  virtual std::uint64_t fingerprint() const { return 0; }
};

// ---------------------------------------------------------------- pointwise user models

namespace detail {
template <class F, class T, class = void>
struct has_gradient : std::false_type {};
template <class F, class T>
struct has_gradient<F, T,
                    std::void_t<decltype(std::declval<const F&>().gradient(std::size_t{}, std::declval<const T*>(),
                                                                           std::declval<T*>()))>> : std::true_type {};
template <class F, class T, class = void>
struct has_hessian : std::false_type {};
template <class F, class T>
struct has_hessian<F, T,
                   std::void_t<decltype(std::declval<const F&>().hessian(std::size_t{}, std::declval<const T*>(),
                                                                         std::declval<T*>()))>> : std::true_type {};

/// A functor whose value() is generic: it also takes hyper-dual points (ngvi/autodiff.hpp).
template <class F, class T, class = void>
struct has_generic_value : std::false_type {};
template <class F, class T>
struct has_generic_value<
    F, T, std::void_t<decltype(std::declval<const F&>().value(std::size_t{}, std::declval<const HyperDual<T>*>()))>>
    : std::true_type {};

/// mean += hessian / S for one of S points: the (d, d) matrix, or into a diagonal mean (d) its
/// diagonal (`hessian_stride` d + 1 for a (d, d) input, 1 for a (d) diagonal input). PointwiseModel
/// and the ask/tell Optimizer average with it, so that they agree bit for bit.
template <class T>
void add_to_hessian_mean(const T* hessian, int d, int num_points, bool diagonal_mean, int hessian_stride, T* mean) {
  if (diagonal_mean) {
    for (int i = 0; i < d; ++i) mean[i] += hessian[i * hessian_stride] / T(num_points);
  } else {
    for (int k = 0; k < d * d; ++k) mean[k] += hessian[k] / T(num_points);
  }
}
}  // namespace detail

/// @brief A Model from a functor that evaluates one problem at one point: the easy way to bring a
/// custom model to every estimator its derivatives allow.
///
/// The functor F provides, for problem b and a point z (d entries):
/// @code
///   T value(std::size_t b, const T* z) const;                 // required: f_b(z)
///   T gradient(std::size_t b, const T* z, T* grad) const;     // optional: writes grad f_b(z), returns f_b(z)
///   void hessian(std::size_t b, const T* z, T* hess) const;   // optional: writes hess f_b(z), (d, d) row-major
/// @endcode
/// With value only, the Score estimator is available; with a gradient, Stein too; with a Hessian,
/// Price too. A value() written as a template over its scalar type (`template <class S> S value(
/// std::size_t b, const S* z) const`) and no gradient() gets exact gradients and Hessians by forward-mode
/// automatic differentiation (ngvi/autodiff.hpp): every estimator. Asking for an estimator the
/// functor cannot serve is an ngvi::Error from fit().
/// The functor is called concurrently for different problems and must be thread-safe.
template <class T, class F>
class PointwiseModel final : public Model<T> {
 public:
  /// Derivatives by automatic differentiation: a generic value() and no gradient() of its own.
  static constexpr bool kAutodiff = !detail::has_gradient<F, T>::value && detail::has_generic_value<F, T>::value;
  static constexpr bool kHasGradient = kAutodiff || detail::has_gradient<F, T>::value;
  static constexpr bool kHasHessian = kAutodiff || (kHasGradient && detail::has_hessian<F, T>::value);

  PointwiseModel(std::size_t num_problems, int dimension, F function, Prior<T> prior = Prior<T>())
      : num_problems_(num_problems), dimension_(dimension), function_(std::move(function)), prior_(std::move(prior)) {}

  std::size_t num_problems() const override { return num_problems_; }
  int dimension() const override { return dimension_; }
  Derivatives derivatives() const override {
    return kHasHessian ? Derivatives::Hessian : kHasGradient ? Derivatives::Gradient : Derivatives::Value;
  }
  const Prior<T>& prior() const override { return prior_; }
  const F& function() const { return function_; }

  std::size_t scratch_size(int) const override {
    return kHasHessian ? static_cast<std::size_t>(dimension_) * dimension_ : 0;
  }

  void evaluate(std::size_t problem, const T* points, int num_points, const Evaluation<T>& out, T* scratch,
                const EvaluationContext&) const override {
    const int d = dimension_;
    if (out.hessian_mean)
      for (int k = 0; k < (out.hessian_diagonal ? d : d * d); ++k) out.hessian_mean[k] = T(0);
    std::vector<HyperDual<T>> seeds(kAutodiff && (out.gradients || out.hessian_mean) ? d : 0);
    for (int s = 0; s < num_points; ++s) {
      const T* z = points + s * d;
      T* gradient = out.gradients ? out.gradients + s * d : nullptr;
      T* hessian = kHasHessian && out.hessian_mean ? scratch : nullptr;
      T value;
      if constexpr (kAutodiff) {
        value = gradient || hessian ? detail::value_and_derivatives(function_, problem, z, d, gradient, hessian,
                                                                    seeds.data())
                                    : function_.value(problem, z);
      } else if constexpr (kHasGradient) {
        value = gradient ? function_.gradient(problem, z, gradient) : function_.value(problem, z);
        if constexpr (kHasHessian)
          if (hessian) function_.hessian(problem, z, hessian);
      } else {
        value = function_.value(problem, z);
      }
      if (out.values) out.values[s] = value;
      if (hessian) detail::add_to_hessian_mean(hessian, d, num_points, out.hessian_diagonal, d + 1, out.hessian_mean);
    }
  }

 private:
  std::size_t num_problems_;
  int dimension_;
  F function_;
  Prior<T> prior_;
};

/// @brief Deduces PointwiseModel<T, F>: `auto model = ngvi::make_model<double>(B, d, functor);`
template <class T, class F>
PointwiseModel<T, std::decay_t<F>> make_model(std::size_t num_problems, int dimension, F&& function,
                                               Prior<T> prior = Prior<T>()) {
  return PointwiseModel<T, std::decay_t<F>>(num_problems, dimension, std::forward<F>(function), std::move(prior));
}

}  // namespace ngvi
