#include "engine/convergence.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/engine.hpp"
#include "engine/parallel.hpp"
#include "math/gaussian.cuh"

namespace ngvi::detail {

// Layout of a distribution's statistics: the sums of the averaged target natural parameters
// (H mu - g: d; H: d*d or d); the previous and current windows' sums and sums of squares of the tracked
// scalars (4 n); the current batch's sum (n); the latest scalars (n); the batch means (kMaxBatches n).

template <class T>
ConvergenceMonitor<T>::ConvergenceMonitor(const math::StepPlan& plan, const Options& options)
    : d_(plan.d),
      matrix_size_(static_cast<std::size_t>(math::factor_size(plan))),
      diagonal_(plan.diagonal),
      active_(math::needs_samples(plan)),
      options_(options) {}

template <class T>
std::size_t ConvergenceMonitor<T>::statistics_size() const {
  if (!active_) return 0;
  const std::size_t n = static_cast<std::size_t>(scalars());
  return natural_size() + 6 * n + static_cast<std::size_t>(kMaxBatches) * n;
}

template <class T>
double ConvergenceMonitor<T>::step_size(const int* counts, int iteration) const {
  if (options_.schedule != Schedule::Adaptive) return step_size_at(options_, iteration);
  if (!active_) return options_.step_size;
  return options_.step_size / std::pow(1.0 + counts[kAveraged] / options_.decay_steps, options_.decay_power);
}

template <class T>
void ConvergenceMonitor<T>::tracked_scalars(const T* mu, const T* factor, double* x, T* column) const {
  const int d = d_;
  for (int i = 0; i < d; ++i) {
    x[i] = static_cast<double>(mu[i]);
    // log sd_i = log Sigma_ii / 2; Sigma_ii = |L^-1 e_i|^2 (column i of L^-1, rows i.. d-1).
    double variance = 0.0;
    if (diagonal_) {
      variance = 1.0 / (static_cast<double>(factor[i]) * factor[i]);
    } else {
      for (int k = i; k < d; ++k) {
        T s = k == i ? T(1) : T(0);
        for (int j = i; j < k; ++j) s -= factor[k * d + j] * column[j];
        column[k] = s * (T(1) / factor[k * d + k]);  // the reciprocal does not wait on s
        variance += static_cast<double>(column[k]) * column[k];
      }
    }
    x[d + i] = 0.5 * std::log(variance);
  }
}

// Split-R-hat with the two windows as chains (Gelman et al., BDA3 section 11.4): below the threshold
// for every scalar. A scalar that did not move in either window has no R-hat: it counts as
// stationary if it kept its value, but some scalar must move, or the iterates are frozen (or exact,
// which the KL test handles).
template <class T>
bool ConvergenceMonitor<T>::stationary(const double* previous, const double* current) const {
  const int n = scalars();
  const double w = kWindow;
  bool moving = false;
  for (int j = 0; j < n; ++j) {
    const double mean1 = previous[j] / w, mean2 = current[j] / w;
    const double var1 = std::max(0.0, (previous[n + j] - w * mean1 * mean1) / (w - 1));
    const double var2 = std::max(0.0, (current[n + j] - w * mean2 * mean2) / (w - 1));
    const double within = 0.5 * (var1 + var2);
    // Rounding leaves a constant scalar a variance of order eps^2 mean^2.
    if (!(within > 1e-24 * (mean1 * mean1 + mean2 * mean2))) {
      if (mean1 != mean2) return false;
      continue;
    }
    moving = true;
    const double between_over_w = 0.5 * (mean1 - mean2) * (mean1 - mean2);
    const double rhat = std::sqrt(((w - 1) / w * within + between_over_w) / within);
    if (!(rhat < kRhatThreshold)) return false;
  }
  return moving;
}

template <class T>
void ConvergenceMonitor<T>::add_targets(const MonitorRecord& r, const T* mu, const T* g, const T* H) const {
  if (!active_ || r.counts[kPhase] != kAveraging) return;
  const int d = d_;
  double* eta1_sum = r.statistics;
  double* lambda_sum = eta1_sum + d;
  for (int i = 0; i < d; ++i) {
    double h_mu = 0.0;
    if (diagonal_) {
      h_mu = static_cast<double>(H[i]) * mu[i];
    } else {
      for (int j = 0; j < d; ++j) h_mu += static_cast<double>(H[i * d + j]) * mu[j];
    }
    eta1_sum[i] += h_mu - g[i];
  }
  for (std::size_t i = 0; i < matrix_size_; ++i) lambda_sum[i] += H[i];
  ++r.counts[kTargets];
}

template <class T>
void ConvergenceMonitor<T>::add_to_batch_means(const MonitorRecord& r, const double* x) const {
  const int n = scalars();
  ++r.counts[kAveraged];
  // Batch means, merging adjacent pairs when every slot is full.
  double* batch_sum = r.statistics + natural_size() + 4 * static_cast<std::size_t>(n);
  double* means = batch_sum + 2 * n;
  for (int j = 0; j < n; ++j) batch_sum[j] += x[j];
  if (++r.counts[kInBatch] < r.counts[kBatchSize]) return;
  double* slot = means + static_cast<std::size_t>(r.counts[kBatches]) * n;
  for (int j = 0; j < n; ++j) {
    slot[j] = batch_sum[j] / r.counts[kBatchSize];
    batch_sum[j] = 0.0;
  }
  r.counts[kInBatch] = 0;
  if (++r.counts[kBatches] < kMaxBatches) return;
  for (int b = 0; b < kMaxBatches / 2; ++b)
    for (int j = 0; j < n; ++j) means[b * n + j] = 0.5 * (means[2 * b * n + j] + means[(2 * b + 1) * n + j]);
  r.counts[kBatches] = kMaxBatches / 2;
  r.counts[kBatchSize] *= 2;
}

template <class T>
double ConvergenceMonitor<T>::mcse_sd(const MonitorRecord& r) const {
  const int d = d_, n = scalars(), batches = r.counts[kBatches];
  const double* latest = r.statistics + natural_size() + 5 * static_cast<std::size_t>(n);
  const double* means = latest + n;
  double worst = 0.0;
  for (int j = 0; j < n; ++j) {
    double mean = 0.0;
    for (int b = 0; b < batches; ++b) mean += means[b * n + j];
    mean /= batches;
    double sum_squares = 0.0;
    for (int b = 0; b < batches; ++b) sum_squares += (means[b * n + j] - mean) * (means[b * n + j] - mean);
    const double mcse = std::sqrt(sum_squares / (batches - 1) / batches);
    // mu_i in units of the latest iterate's marginal sd; log sd_i is a relative error already.
    worst = std::max(worst, j < d ? mcse / std::exp(latest[d + j]) : mcse);
  }
  return worst;
}

template <class T>
void ConvergenceMonitor<T>::observe(const MonitorRecord& r, const T* mu, const T* factor, bool accepted, double kl,
                                    T step_scale, int* streak, Status* status, double* mean_mcse_sd,
                                    T* work) const {
  if (!active_) return;
  const int n = scalars();
  const bool full_step = accepted && step_scale == T(1);
  double* scalars_now = r.statistics + natural_size() + 5 * static_cast<std::size_t>(n);
  tracked_scalars(mu, factor, scalars_now, work);

  if (r.counts[kPhase] == kTransient) {
    // Estimates without noise (a Gaussian target with antithetic samples) reach a fixed point, which
    // the KL test finds; a step shortened or rejected never counts.
    *streak = full_step && kl < options_.tolerance ? *streak + 1 : 0;
    if (*streak >= options_.patience && *status == Status::Running) {
      *status = Status::Converged;
      return;
    }
    double* previous = r.statistics + natural_size();
    double* current = previous + 2 * static_cast<std::size_t>(n);
    for (int j = 0; j < n; ++j) {
      current[j] += scalars_now[j];
      current[n + j] += scalars_now[j] * scalars_now[j];
    }
    if (++r.counts[kWindowFill] < kWindow) return;
    r.counts[kWindowFill] = 0;
    if (r.counts[kHasPreviousWindow] && stationary(previous, current)) {
      r.counts[kPhase] = kAveraging;
      r.counts[kBatchSize] = kFirstBatchSize;
      return;
    }
    std::copy(current, current + 2 * n, previous);
    std::fill(current, current + 2 * n, 0.0);
    r.counts[kHasPreviousWindow] = 1;
    return;
  }

  add_to_batch_means(r, scalars_now);
  if (r.counts[kInBatch] != 0 || r.counts[kBatches] < kMinBatches) return;
  *mean_mcse_sd = mcse_sd(r);
  if (*status == Status::Running && step_scale == T(1) && *mean_mcse_sd <= options_.tolerance_sd)
    *status = Status::Converged;
}

template <class T>
void ConvergenceMonitor<T>::observe(FitState<T>& state, std::size_t b, const T* mu, const T* factor, bool accepted,
                                    T* work) const {
  observe(state.monitor_record(b), mu, factor, accepted, accepted ? state.last_kl[b] : 0.0, state.step_scale[b],
          &state.streak[b], &state.status[b], &state.mean_mcse_sd[b], work);
}

template <class T>
bool ConvergenceMonitor<T>::average(const MonitorRecord& r, T* mu, T* factor) const {
  if (!active_ || r.counts[kTargets] == 0) return false;
  const int d = d_;
  const double averaged = r.counts[kTargets];
  std::vector<T> eta1(d), eta2(matrix_size_), mu_new(d), factor_new(matrix_size_);
  for (int i = 0; i < d; ++i) eta1[i] = static_cast<T>(r.statistics[i] / averaged);
  for (std::size_t i = 0; i < matrix_size_; ++i) eta2[i] = static_cast<T>(-0.5 * r.statistics[d + i] / averaged);
  const bool valid = diagonal_ ? math::factor_from_natural_diagonal(eta1.data(), eta2.data(), mu_new.data(), factor_new.data(), d)
                               : math::factor_from_natural_full(eta1.data(), eta2.data(), mu_new.data(),
                                                                factor_new.data(), d);
  if (!valid) return false;
  std::copy(mu_new.begin(), mu_new.end(), mu);
  std::copy(factor_new.begin(), factor_new.end(), factor);
  return true;
}

template class ConvergenceMonitor<float>;
template class ConvergenceMonitor<double>;

template <class T>
void monitor_device_steps(const FitPlan& plan, const GaussianBatch<T>& batch, FitState<T>& state, std::size_t first,
                          const std::uint32_t* positions, std::size_t count, const T* targets, std::size_t stride,
                          const int* rejected_before) {
  const ConvergenceMonitor<T> monitor(plan.step, plan.options);
  const std::size_t d = static_cast<std::size_t>(plan.step.d), m = batch.matrix_size();
  const int threads = resolve_threads(plan.options.num_threads);
  std::vector<T> work(static_cast<std::size_t>(threads) * d);
  parallel_for(count, threads, [&](std::size_t k, int thread) {
    const std::size_t b = first + positions[k];
    if (is_failure(state.status[b])) return;
    const T* mu_before = targets + positions[k] * stride;
    monitor.add_targets(state.monitor_record(b), mu_before, mu_before + d, mu_before + 2 * d);
    monitor.observe(state, b, batch.mean() + b * d, batch.precision_cholesky() + b * m,
                    state.rejected[b] == rejected_before[k], work.data() + thread * d);
  });
}

template <class T>
double monitored_step_size(const FitPlan& plan, const FitState<T>& state, std::size_t b, int iteration) {
  return ConvergenceMonitor<T>(plan.step, plan.options)
      .step_size(state.monitor_counts.data() + b * kMonitorCounts, iteration);
}

template void monitor_device_steps(const FitPlan&, const GaussianBatch<float>&, FitState<float>&, std::size_t,
                                   const std::uint32_t*, std::size_t, const float*, std::size_t, const int*);
template void monitor_device_steps(const FitPlan&, const GaussianBatch<double>&, FitState<double>&, std::size_t,
                                   const std::uint32_t*, std::size_t, const double*, std::size_t, const int*);
template double monitored_step_size(const FitPlan&, const FitState<float>&, std::size_t, int);
template double monitored_step_size(const FitPlan&, const FitState<double>&, std::size_t, int);

}  // namespace ngvi::detail
