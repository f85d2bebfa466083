// When a Monte Carlo fit has converged (docs/convergence.md): a split-R-hat stationarity test on the
// iterates, Polyak-Ruppert averaging of natural parameters once they are stationary, and the Monte
// Carlo standard error of that average by batch means. One monitor serves the whole batch; each
// distribution's statistics live in flat arrays of FitState (so that checkpoints carry them).
#pragma once

#include <cstddef>

#include "math/step.cuh"
#include "ngvi/options.hpp"
#include "ngvi/status.hpp"

namespace ngvi::detail {

/// One distribution's monitor entries, in FitState::monitor and FitState::monitor_counts.
struct MonitorRecord {
  double* statistics;  // ConvergenceMonitor::statistics_size() entries
  int* counts;         // kMonitorCounts entries
};

inline constexpr int kMonitorCounts = 8;

template <class T>
struct FitState;

template <class T>
class ConvergenceMonitor {
 public:
  /// Iterates per window of the stationarity test (two consecutive windows are its two chains).
  static constexpr int kWindow = 50;
  /// R-hat below which a coordinate counts as stationary (Vehtari et al. 2021 suggest 1.01 for MCMC
  /// draws; Dhaka et al. 2020 use 1.1 for optimization iterates, whose windows are short).
  static constexpr double kRhatThreshold = 1.1;
  /// Batch means: first batch size, most batches kept (adjacent ones merge when full), and the
  /// fewest batches an MCSE is computed from.
  static constexpr int kFirstBatchSize = 8;
  static constexpr int kMaxBatches = 32;
  static constexpr int kMinBatches = 16;

  ConvergenceMonitor(const math::StepPlan& plan, const Options& options);

  /// Entries of FitState::monitor per distribution.
  std::size_t statistics_size() const;
  /// Whether the plan uses the monitor (Monte Carlo estimators) at all.
  bool active() const { return active_; }

  /// Steps averaged so far (0 while the distribution is not yet stationary).
  static int steps_averaged(const int* counts) { return counts[kAveraged]; }
  /// Whether the distribution is stationary, so that add_targets takes its step's targets.
  static bool averaging(const int* counts) { return counts[kPhase] == kAveraging; }
  /// rho of a distribution with these counts at batch iteration `iteration`, under the schedule.
  double step_size(const int* counts, int iteration) const;

  /// Before a step, with the estimates g and H (prior included) at the current mean mu: once the
  /// distribution is stationary, adds the step's target natural parameters (H mu - g, H) to the
  /// average. The average of the targets is the BLR's fixed point without the bias the iterates of
  /// iBLR carry (O(rho) in the precision), and its noise averages out like the iterates' (an
  /// iterate is a filter of the targets with unit gain at frequency zero). Never allocates.
  void add_targets(const MonitorRecord& r, const T* mu, const T* g, const T* H) const;

  /// After a step of a Running distribution (status as record_step left it): feeds the new state to
  /// the stationarity test or to the batch means, and decides convergence. `kl`: the step's KL(q_new || q_old) (0 if
  /// rejected); `step_scale`: the distribution's step scale after the step; `work`: d entries.
  /// Never allocates.
  /// Writes the latest MCSE of the mean, in posterior sd, to *mean_mcse_sd.
  void observe(const MonitorRecord& r, const T* mu, const T* factor, bool accepted, double kl, T step_scale,
               int* streak, Status* status, double* mean_mcse_sd, T* work) const;
  /// observe() with distribution b's entries of `state`, after its step to (mu, factor).
  void observe(FitState<T>& state, std::size_t b, const T* mu, const T* factor, bool accepted, T* work) const;

  /// Replaces (mu, factor) by the average of the targets, if any; false if none, or if that average
  /// is not a valid Gaussian (then the last iterate stays). Allocates: call it once, at the end.
  bool average(const MonitorRecord& r, T* mu, T* factor) const;

 private:
  enum Count { kPhase, kWindowFill, kHasPreviousWindow, kAveraged, kBatchSize, kBatches, kInBatch, kTargets };
  enum Phase { kTransient = 0, kAveraging = 1 };

  int scalars() const { return 2 * d_; }
  std::size_t natural_size() const { return static_cast<std::size_t>(d_) + matrix_size_; }
  /// The tracked scalars of a state: mu_i, then log sd_i (marginal); `column`: d entries.
  void tracked_scalars(const T* mu, const T* factor, double* x, T* column) const;
  bool stationary(const double* previous, const double* current) const;
  void add_to_batch_means(const MonitorRecord& r, const double* x) const;
  /// max_i MCSE(mu_i) / sd_i and max_i MCSE(log sd_i), over the batch means (sd_i of the latest iterate).
  double mcse_sd(const MonitorRecord& r) const;

  int d_;
  std::size_t matrix_size_;
  bool diagonal_;
  bool active_;
  const Options& options_;
};

}  // namespace ngvi::detail
