// What every backend shares: the plan of a fit (options resolved against the model), the
// per-distribution bookkeeping, and the summary. Backends only run steps over a FitState.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "math/bookkeeping.cuh"
#include "math/prior.cuh"
#include "math/step.cuh"
#include "ngvi/fit.hpp"

namespace ngvi::detail {

/// Everything fixed for one fit.
struct FitPlan {
  math::StepPlan step;
  Options options;  ///< as given, with the estimator resolved (the backend is resolved by the scheduler)
};

/// Per-distribution bookkeeping of a fit, kept by the host whatever the backend.
template <class T>
struct FitState {
  std::vector<Status> status;
  std::vector<int> steps;
  std::vector<int> streak;       ///< consecutive steps with KL below the tolerance
  std::vector<T> step_scale;     ///< multiplier of rho, halved after each rejected step
  std::vector<int> rejected;     ///< rejected steps
  std::vector<double> elbo;      ///< latest ELBO estimate (NaN until one is computed)
  std::vector<double> last_kl;   ///< KL(q_new || q_old) of the latest accepted step
  int iteration = 0;             ///< steps taken by the batch (every active distribution has taken this many)
  std::vector<double> elbo_trace;

  /// Indices of the distributions still running, in increasing order.
  std::vector<std::uint32_t> active() const;
  /// Distribution b's counters, for math::record_step.
  math::StepCounters<T> counters(std::size_t b) {
    return {&steps[b], &streak[b], &step_scale[b], &rejected[b], &last_kl[b]};
  }
};

/// The stopping rule of the options.
inline math::StopRule stop_rule(const Options& options) {
  return {options.tolerance, options.patience, options.max_steps};
}

/// Resolves Auto choices and checks options, shapes and derivatives; throws ngvi::Error.
template <class T>
FitPlan plan_fit(const Model<T>& model, const GaussianBatch<T>& batch, const Options& options);

/// Fresh bookkeeping: Running, or InvalidData / InvalidState for problems that cannot start.
template <class T>
FitState<T> initial_state(const Model<T>& model, const GaussianBatch<T>& batch, const FitPlan& plan);

/// rho at a given iteration under the options' schedule.
double step_size_at(const Options& options, int iteration);

/// One problem's prior as the shared math sees it.
template <class T>
math::PriorTerms<T> prior_terms(const Prior<T>& prior, std::size_t problem, int dimension);

/// Mean of the ELBOs of the distributions that have not failed (NaN if none).
template <class T>
double mean_elbo(const FitState<T>& state);

template <class T>
Summary summarize(const GaussianBatch<T>& batch, const FitPlan& plan, const FitState<T>& state, double seconds,
                  std::string device);

}  // namespace ngvi::detail
