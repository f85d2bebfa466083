// One distribution's step on the host, around the model's evaluation: the CPU backend (which calls
// the model) and the ask/tell Optimizer (whose caller evaluates) share it, so that the two give
// bit-identical results for the same model and seed.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "engine/convergence.hpp"
#include "cpu/sampling.hpp"
#include "cpu/stages.hpp"
#include "engine/engine.hpp"
#include "math/step.cuh"
#include "engine/psis.hpp"

namespace ngvi::detail {

template <class T>
class Stepper {
 public:
  Stepper(GaussianBatch<T>& batch, const Prior<T>& prior, const FitPlan& plan, FitState<T>& state)
      : batch_(batch),
        prior_(prior),
        plan_(plan),
        p_(plan.step),
        final_(final_plan(plan)),
        state_(state),
        stages_(step_stages<T>(plan.step.d)),
        monitor_(plan.step, plan.options) {}

  const math::StepPlan& plan() const { return p_; }
  /// The plan of the final draws: Options::final_samples independent samples.
  const math::StepPlan& final_plan() const { return final_; }
  /// Whether a step needs the target's values: the Score estimator, or an ELBO trace.
  bool wants_values() const { return p_.estimator == Estimator::Score || plan_.options.trace_elbo; }
  T* mean(std::size_t b) const { return batch_.mean() + b * p_.d; }
  T* factor(std::size_t b) const { return batch_.precision_cholesky() + b * batch_.matrix_size(); }

  /// eps and the points z = mu + L^-T eps of distribution b at `step`, into w.eps and w.points;
  /// `scratch` holds draw_scratch_size<T>(plan()) entries.
  void draw(std::size_t b, std::uint32_t step, const math::StepWorkspace<T>& w, T* scratch) const {
    stages_.draw(p_, static_cast<std::uint32_t>(b), step, mean(b), factor(b), w.eps, w.points, scratch);
  }

  /// eps and points of distribution b's final draws (final_plan()), keyed by the step it would take next.
  void draw_final(std::size_t b, const math::StepWorkspace<T>& w, T* scratch) const {
    stages_.draw(final_, static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(state_.steps[b]), mean(b),
                 factor(b), w.eps, w.points, scratch);
  }

  /// The rest of a Monte Carlo step, once the model has filled w.values (when wants_values()),
  /// w.gradients and w.hessian_mean (as the estimator needs).
  void complete_sampled(std::size_t b, const math::StepWorkspace<T>& w) {
    T expected_f = T(0);
    if (wants_values()) {
      if (!math::all_finite(w.values, p_.samples)) return fail(b, Status::NonFiniteValue);
      expected_f = math::mean_value(w.values, p_.samples);
    }
    stages_.estimate(p_, factor(b), w);
    accept(b, w, expected_f);
  }

  /// The rest of a step with exact expectations: w.g and w.H hold E_q[grad f] and E_q[hess f], and
  /// expected_f E_q[f] when wants_values().
  void complete_exact(std::size_t b, const math::StepWorkspace<T>& w, T expected_f) {
    if (wants_values() && !std::isfinite(expected_f)) return fail(b, Status::NonFiniteValue);
    accept(b, w, expected_f);
  }

  void fail(std::size_t b, Status status) { state_.status[b] = status; }

  /// Whether distribution b gets a final ELBO (not those that could not start or whose model threw).
  bool evaluable(std::size_t b) const {
    const Status s = state_.status[b];
    return s != Status::InvalidData && s != Status::InvalidState && s != Status::ModelError;
  }

  /// Before the final draws: a distribution that was averaging ends at the average of its iterates
  /// (a failed one keeps its last valid state). Allocates; once per distribution.
  void conclude(std::size_t b) {
    if (!is_failure(state_.status[b])) monitor_.average(state_.monitor_record(b), mean(b), factor(b));
  }

  /// Records distribution b's final ELBO and diagnostics from the target's values at its final draws
  /// (w.eps, w.points, w.values of final_plan()); `exact_expected_f` is E_q[f] when the estimator
  /// has it (Quadrature), else NaN and the draws estimate it.
  void finish(std::size_t b, const math::StepWorkspace<T>& w, T exact_expected_f) {
    const int n = final_.samples, d = p_.d;
    const bool exact = p_.estimator == Estimator::Quadrature;
    double sum = 0.0, sum_squares = 0.0;
    for (int s = 0; s < n; ++s) {
      sum += w.values[s];
      sum_squares += static_cast<double>(w.values[s]) * w.values[s];
    }
    const double mean_f = sum / n;
    const T expected_f = exact ? exact_expected_f : static_cast<T>(mean_f);
    state_.elbo[b] = math::elbo(p_, terms(b), mean(b), factor(b), expected_f, w.work);
    state_.elbo_mcse[b] = exact ? 0.0 : std::sqrt(std::max(0.0, sum_squares / n - mean_f * mean_f) / (n - 1));
    // log p(z, data) - log q(z) up to a constant: -f(z) + log prior(z) + |eps|^2 / 2.
    const math::PriorTerms<T> prior = terms(b);
    std::vector<double> log_weights(static_cast<std::size_t>(n));
    for (int s = 0; s < n; ++s) {
      const T* e = w.eps + static_cast<std::size_t>(s) * d;
      log_weights[s] = -static_cast<double>(w.values[s]) + math::prior_log_kernel(prior, w.points + s * d, d) +
                       0.5 * static_cast<double>(math::dot(e, e, d));
    }
    state_.pareto_k[b] = pareto_k_hat(log_weights);
    if (!std::isfinite(state_.elbo[b]) && !is_failure(state_.status[b])) state_.status[b] = Status::NonFiniteValue;
  }

 private:
  static math::StepPlan final_plan(const FitPlan& plan) {
    math::StepPlan p = plan.step;
    p.samples = plan.options.final_samples;
    p.antithetic = false;  // independent draws, for the importance weights
    return p;
  }

  math::PriorTerms<T> terms(std::size_t b) const { return prior_terms(prior_, b, p_.d); }

  void accept(std::size_t b, const math::StepWorkspace<T>& w, T expected_f) {
    const math::PriorTerms<T> prior = terms(b);
    if (wants_values()) state_.elbo[b] = math::elbo(p_, prior, mean(b), factor(b), expected_f, w.work);
    math::add_prior(prior, mean(b), w.g, w.H, p_.diagonal, p_.d);
    const Status estimates = math::check_estimates(p_, w);
    if (estimates != Status::Running) return fail(b, estimates);
    const MonitorRecord monitor = state_.monitor_record(b);
    const T rho = static_cast<T>(monitor_.step_size(monitor.counts, state_.iteration));
    monitor_.add_targets(monitor, mean(b), w.g, w.H);
    const bool accepted = stages_.take_step(p_, rho, mean(b), factor(b), w, state_.record(b));
    if (is_failure(state_.status[b])) return;
    monitor_.observe(state_, b, mean(b), factor(b), accepted, w.work);
  }

  GaussianBatch<T>& batch_;
  const Prior<T>& prior_;
  const FitPlan& plan_;
  const math::StepPlan& p_;
  math::StepPlan final_;
  FitState<T>& state_;
  StepStages<T> stages_;
  ConvergenceMonitor<T> monitor_;
};

}  // namespace ngvi::detail
