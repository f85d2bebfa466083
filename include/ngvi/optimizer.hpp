/// @file optimizer.hpp
/// @brief Optimizer: the ask/tell form of fit(), for models evaluated outside ngvi (PyTorch, JAX, a
/// simulator): the engine hands out the sample points, the caller returns the model's outputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "ngvi/export.hpp"
#include "ngvi/fit.hpp"
#include "ngvi/gaussian.hpp"
#include "ngvi/model.hpp"
#include "ngvi/options.hpp"
#include "ngvi/prior.hpp"

namespace ngvi {

/// @brief One request of the Optimizer: evaluate the target at these points.
template <class T>
struct Ask {
  const std::uint32_t* distributions = nullptr;  ///< (count): whose points these are, in increasing order
  std::size_t count = 0;
  const T* points = nullptr;  ///< (count, samples, d): point s of the k-th listed distribution at (k * samples + s) * d
  int samples = 0;
  int dimension = 0;
  bool needs_values = false;     ///< tell() must be given f at every point
  bool needs_gradients = false;  ///< ... and grad f
  bool needs_hessians = false;   ///< ... and hess f
  bool final = false;            ///< the closing request, for the ELBO of every final distribution (values only)
};

/// @brief fit() turned inside out. The loop
/// @code
///   ngvi::Optimizer<double> optimizer(batch, options, ngvi::Derivatives::Gradient, prior);
///   while (!optimizer.done()) {
///     const ngvi::Ask<double>& ask = optimizer.ask();
///     // evaluate f (and grad f, hess f as asked) of problem ask.distributions[k] at each of its points
///     optimizer.tell(values, gradients, hessians);
///   }
///   ngvi::Summary summary = optimizer.summary();
/// @endcode
/// gives bit for bit what fit() gives on a Model computing the same values in the same arithmetic
/// (a PointwiseModel of the same functor), for the same seed and options: the steps, the statuses,
/// the final ELBOs. The last request (Ask::final) asks for values at fresh points of every
/// distribution, for its final ELBO. Steps run on the CPU; the Monte Carlo estimators are available
/// (Price with Hessians, Stein with gradients, Score with values), not Quadrature.
///
/// The batch is updated in place and must outlive the optimizer.
template <class T>
class NGVI_API Optimizer {
 public:
  /// @param batch    the distributions to fit, from their current state; updated in place.
  /// @param options  how the fit runs (Options::check() is applied first).
  /// @param provided what the caller will compute: it decides the Auto estimator (as in fit()).
  /// @param prior    a Gaussian prior added analytically to every target; Prior<T>() for none.
  /// Throws ngvi::Error for invalid options, a prior that does not fit the batch, the Quadrature
  /// estimator, an estimator needing more than `provided`, or options.backend = cuda.
  Optimizer(GaussianBatch<T>& batch, const Options& options, Derivatives provided, Prior<T> prior = Prior<T>());
  ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// True once the final ELBO values have been told.
  bool done() const;
  /// The next request. Calling it again before tell() returns the same request.
  /// Throws ngvi::Error once done().
  const Ask<T>& ask();
  /// The outputs at the points of the last ask(): values (count, S); gradients (count, S, d);
  /// hessians (count, S, d, d), or (count, S, d) diagonals for the diagonal family. Pass null for
  /// what the request does not need. Non-finite outputs fail their distribution only.
  /// Throws ngvi::Error if no request is pending or a needed array is null.
  void tell(const T* values, const T* gradients, const T* hessians);
  /// The outcome so far (Running distributions while not done()).
  Summary summary() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class Optimizer<float>;
extern template class Optimizer<double>;

}  // namespace ngvi
