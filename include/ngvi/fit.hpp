/// @file fit.hpp
/// @brief fit(): natural-gradient variational inference on a whole batch, and its Summary.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "ngvi/export.hpp"
#include "ngvi/gaussian.hpp"
#include "ngvi/method.hpp"
#include "ngvi/model.hpp"
#include "ngvi/options.hpp"
#include "ngvi/status.hpp"

namespace ngvi {

/// @brief What a fit did: per-distribution outcomes, their counts, and the cost.
struct NGVI_API Summary {
  std::size_t batch_size = 0;
  int dimension = 0;
  Family family = Family::Full;
  /// The options the fit ran with, Auto choices resolved.
  Estimator estimator = Estimator::Auto;
  Rule rule = Rule::IBLR;
  Backend backend = Backend::Auto;
  std::string device;  ///< e.g. "CPU, 2 threads"

  /// Per distribution: outcome, steps taken (accepted and rejected), ELBO of the final distribution (MC estimate with the
  /// fit's sample size, exact with Quadrature), and the last KL(q_new || q_old).
  std::vector<Status> status;
  std::vector<int> steps;
  std::vector<double> elbo;
  std::vector<double> last_kl;
  /// Steps whose candidate was not a valid Gaussian: each was rejected and halved that
  /// distribution's step scale, which accepted steps restore (x 1.5 each); after 20 net halvings the
  /// distribution fails with NotPositiveDefinite.
  std::vector<int> rejected_steps;

  /// Diagnostics per distribution (README, "Accuracy and convergence"; docs/convergence.md).
  /// Monte Carlo standard error of `elbo` (0 when exact; NaN if not computed).
  std::vector<double> elbo_mcse;
  /// Monte Carlo standard error of the fitted mean (the average of the stationary iterates), in
  /// posterior standard deviations, the largest over the coordinates: at most Options::tolerance_sd
  /// for a converged Monte Carlo fit; 0 when exact; NaN while the iterates were never stationary.
  std::vector<double> mean_mcse_sd;
  /// Pareto k-hat of the importance weights p(z, data) / q(z), z ~ q (Yao, Vehtari, Simpson & Gelman
  /// 2018): < 0.5 q is a good approximation of the posterior; 0.5 to 0.7 usable with care; > 0.7 q
  /// misses the posterior's shape (its moments cannot be trusted). From Options::final_samples draws;
  /// NaN for a quadrature fit on the CUDA backend, whose final ELBO is the device's exact one.
  std::vector<double> pareto_k;

  /// Number of distributions with each Status (indexed by its value).
  std::array<std::size_t, kStatusCount> status_counts{};
  /// Steps of the longest-running distribution, and the sum of all distributions' steps.
  int iterations = 0;
  std::size_t distribution_steps = 0;
  double seconds = 0.0;
  /// distribution_steps / seconds.
  double distribution_steps_per_second = 0.0;
  /// Mean ELBO over the distributions that did not fail (NaN if all failed).
  double mean_elbo = 0.0;
  /// Mean ELBO over the batch after each step (only with Options::trace_elbo).
  std::vector<double> elbo_trace;
  /// Empty, or why the last checkpoint could not be written (the fit itself went on).
  std::string checkpoint_error;

  std::size_t count(Status s) const { return status_counts[static_cast<int>(s)]; }
  /// Recomputes status_counts, distribution_steps, mean_elbo and distribution_steps_per_second from
  /// the per-distribution arrays and `seconds`: what a fit of the whole batch reports, once the
  /// arrays are assembled from the summaries of its shards (docs/scaling.md).
  void recount();
  std::size_t failures() const;
  /// One line: statuses, steps, time, throughput.
  std::string brief_report() const;
  /// Several lines: the options, every nonzero status count with its meaning, timings.
  std::string full_report() const;
};

/// @brief Fits every distribution of `batch` to the matching problem of `model`, in place.
///
/// Distribution b starts from its current state in `batch` and ends at its fitted state; its outcome
/// is in the returned Summary. Throws ngvi::Error before doing any work if the options are invalid,
/// the shapes of batch, model and prior disagree, or the estimator needs derivatives the model lacks.
/// Problems of single distributions (bad data, non-finite values, failed factorizations) never throw
/// and never affect the other distributions.
template <class T>
NGVI_API Summary fit(const Model<T>& model, GaussianBatch<T>& batch, const Options& options = Options());

extern template NGVI_API Summary fit<float>(const Model<float>&, GaussianBatch<float>&, const Options&);
extern template NGVI_API Summary fit<double>(const Model<double>&, GaussianBatch<double>&, const Options&);

}  // namespace ngvi
