// What every backend shares: the plan of a fit (options resolved against the model), the
// per-distribution bookkeeping, and the summary. Backends only run steps over a FitState.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/convergence.hpp"
#include "math/prior.cuh"
#include "math/step.cuh"
#include "ngvi/fit.hpp"

namespace ngvi::detail {

/// Everything fixed for one fit.
struct FitPlan {
  math::StepPlan step;
  Options options;  ///< as given, with the estimator resolved (the backend is resolved by the scheduler)
  std::uint64_t model_fingerprint = 0;  ///< saved in checkpoints; computed only when they are written
  /// The devices the batch is sharded across (at least one), resolved by the scheduler from
  /// options.devices: CUDA ordinals, or CPU thread groups.
  std::vector<int> devices{0};
};

/// Per-distribution bookkeeping of a fit, kept by the host whatever the backend.
template <class T>
struct FitState {
  std::vector<Status> status;
  std::vector<int> steps;
  std::vector<int> streak;       ///< consecutive steps with KL below the tolerance
  std::vector<T> step_scale;     ///< multiplier of rho: halved by a rejected step, recovering by accepted ones
  std::vector<int> rejected;     ///< rejected steps
  std::vector<T> rule_state;     ///< per distribution, math::rule_state_size entries (Adam's moments)
  std::vector<double> elbo;      ///< latest ELBO estimate (NaN until one is computed)
  std::vector<double> last_kl;   ///< KL(q_new || q_old) of the latest accepted step
  std::vector<double> monitor;      ///< per distribution, ConvergenceMonitor::statistics_size() entries
  std::vector<int> monitor_counts;  ///< per distribution, kMonitorCounts entries
  std::vector<double> mean_mcse_sd; ///< latest MCSE of the averaged mean, in posterior sd (0: exact)
  std::vector<double> elbo_mcse;    ///< Monte Carlo standard error of the final ELBO (0: exact)
  std::vector<double> pareto_k;     ///< PSIS k-hat of p / q at the final distribution
  int iteration = 0;             ///< steps taken by the batch (every active distribution has taken this many)
  std::vector<double> elbo_trace;
  std::string checkpoint_error;  ///< why the last checkpoint failed, if it did

  /// Indices of the distributions still running, in increasing order.
  /// Inline: the CUDA module calls it too, and libngvi exports no engine symbol.
  std::vector<std::uint32_t> active() const {
    std::vector<std::uint32_t> running;
    for (std::size_t b = 0; b < status.size(); ++b)
      if (status[b] == Status::Running) running.push_back(static_cast<std::uint32_t>(b));
    return running;
  }
  /// Distribution b's entries, for math::take_step.
  math::StepRecord<T> record(std::size_t b);
  /// Distribution b's entries of the convergence monitor.
  MonitorRecord monitor_record(std::size_t b);
};

/// What planning needs to know of the problems (a Model, or what an ask/tell caller will provide).
template <class T>
struct ProblemShape {
  const char* function;  ///< named in error messages
  std::size_t num_problems;
  int dimension;
  Derivatives derivatives;
  bool has_expectations;
  const Prior<T>* prior;
};

/// Resolves Auto choices and checks options, shapes and derivatives; throws ngvi::Error.
template <class T>
FitPlan plan_fit(const ProblemShape<T>& shape, const GaussianBatch<T>& batch, const Options& options);
template <class T>
FitPlan plan_fit(const Model<T>& model, const GaussianBatch<T>& batch, const Options& options);

/// Fresh bookkeeping: Running, or InvalidData (model->check_problem failed; no check without a
/// model) / InvalidState for distributions that cannot start.
template <class T>
FitState<T> initial_state(const Model<T>* model, const GaussianBatch<T>& batch, const FitPlan& plan);

/// The final ELBO's MCSE and k-hat not yet computed (NaN; 0 MCSE for an exact fit).
template <class T>
void clear_final_diagnostics(const FitPlan& plan, FitState<T>& state);

/// The convergence monitor of a step that a device took (the CUDA backend), on the host after it:
/// what Stepper::accept does around math::take_step, with the same ConvergenceMonitor, for each
/// distribution b = first + positions[k] (k < count) that stepped. At targets + positions[k] *
/// stride: its mean before the step (d), then the step's g (d) and H (prior included);
/// rejected_before[k]: its rejected steps before the step (a rejected step adds one). The state after
/// the step is in `batch` and `state`. Leaves a distribution that failed in the step alone. On
/// Options::num_threads threads; for a plan whose monitor is active.
template <class T>
void monitor_device_steps(const FitPlan& plan, const GaussianBatch<T>& batch, FitState<T>& state, std::size_t first,
                          const std::uint32_t* positions, std::size_t count, const T* targets, std::size_t stride,
                          const int* rejected_before);

/// rho of distribution b's step at batch iteration `iteration` (ConvergenceMonitor::step_size).
template <class T>
double monitored_step_size(const FitPlan& plan, const FitState<T>& state, std::size_t b, int iteration);

/// rho at a given iteration under the options' schedule, for the whole batch (Adaptive, which is
/// per distribution, is ConvergenceMonitor::step_size; here it is its constant start).
double step_size_at(const Options& options, int iteration);

/// One problem's prior as the shared math sees it.
template <class T>
math::PriorTerms<T> prior_terms(const Prior<T>& prior, std::size_t problem, int dimension);

/// Mean of the ELBOs of the distributions that have not failed (NaN if none), in batch order.
double mean_elbo(const std::vector<Status>& status, const std::vector<double>& elbo);
template <class T>
double mean_elbo(const FitState<T>& state);

/// After a step of the batch: appends to the ELBO trace (Options::trace_elbo), calls
/// Options::progress, and writes a checkpoint when one is due (every checkpoint_every steps, or when
/// the callback stops the fit). Returns false when the callback asks to stop.
template <class T>
bool after_iteration(const FitPlan& plan, const GaussianBatch<T>& batch, FitState<T>& state, std::size_t active,
                     double seconds);

template <class T>
Summary summarize(const GaussianBatch<T>& batch, const FitPlan& plan, const FitState<T>& state, double seconds,
                  std::string device);

}  // namespace ngvi::detail
