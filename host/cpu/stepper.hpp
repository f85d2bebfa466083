// One distribution's step on the host, around the model's evaluation: the CPU backend (which calls
// the model) and the ask/tell Optimizer (whose caller evaluates) share it, so that the two give
// bit-identical results for the same model and seed.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "cpu/sampling.hpp"
#include "engine.hpp"
#include "math/step.cuh"

namespace ngvi::detail {

template <class T>
class Stepper {
 public:
  Stepper(GaussianBatch<T>& batch, const Prior<T>& prior, const FitPlan& plan, FitState<T>& state)
      : batch_(batch), prior_(prior), plan_(plan), p_(plan.step), state_(state) {}

  const math::StepPlan& plan() const { return p_; }
  /// Whether a step needs the target's values: the Score estimator, or an ELBO trace.
  bool wants_values() const { return p_.estimator == Estimator::Score || plan_.options.trace_elbo; }
  T* mean(std::size_t b) const { return batch_.mean() + b * p_.d; }
  T* factor(std::size_t b) const { return batch_.precision_cholesky() + b * batch_.matrix_size(); }

  /// eps and the points z = mu + L^-T eps of distribution b at `step`, into w.eps and w.points;
  /// `scratch` holds draw_scratch_size<T>(plan()) entries.
  void draw(std::size_t b, std::uint32_t step, const math::StepWorkspace<T>& w, T* scratch) const {
    draw_samples(p_, static_cast<std::uint32_t>(b), step, mean(b), factor(b), w.eps, w.points, scratch);
  }

  /// The rest of a Monte Carlo step, once the model has filled w.values (when wants_values()),
  /// w.gradients and w.hessian_mean (as the estimator needs).
  void complete_sampled(std::size_t b, T rho, const math::StepWorkspace<T>& w) {
    T expected_f = T(0);
    if (wants_values()) {
      if (!math::all_finite(w.values, p_.samples)) return fail(b, Status::NonFiniteValue);
      expected_f = math::mean_value(w.values, p_.samples);
    }
    math::estimate(p_, factor(b), w);
    accept(b, rho, w, expected_f);
  }

  /// The rest of a step with exact expectations: w.g and w.H hold E_q[grad f] and E_q[hess f], and
  /// expected_f E_q[f] when wants_values().
  void complete_exact(std::size_t b, T rho, const math::StepWorkspace<T>& w, T expected_f) {
    if (wants_values() && !std::isfinite(expected_f)) return fail(b, Status::NonFiniteValue);
    accept(b, rho, w, expected_f);
  }

  void fail(std::size_t b, Status status) { state_.status[b] = status; }

  /// Whether distribution b gets a final ELBO (not those that could not start or whose model threw).
  bool evaluable(std::size_t b) const {
    const Status s = state_.status[b];
    return s != Status::InvalidData && s != Status::InvalidState && s != Status::ModelError;
  }

  /// Records the ELBO of distribution b's final state from E_q[f] (exact or estimated).
  void finish(std::size_t b, T expected_f, T* work) {
    state_.elbo[b] = math::elbo(p_, terms(b), mean(b), factor(b), expected_f, work);
    if (!std::isfinite(state_.elbo[b]) && !is_failure(state_.status[b])) state_.status[b] = Status::NonFiniteValue;
  }

 private:
  math::PriorTerms<T> terms(std::size_t b) const { return prior_terms(prior_, b, p_.d); }

  void accept(std::size_t b, T rho, const math::StepWorkspace<T>& w, T expected_f) {
    const math::PriorTerms<T> prior = terms(b);
    if (wants_values()) state_.elbo[b] = math::elbo(p_, prior, mean(b), factor(b), expected_f, w.work);
    math::add_prior(prior, mean(b), w.g, w.H, p_.diagonal, p_.d);
    const Status estimates = math::check_estimates(p_, w);
    if (estimates != Status::Running) return fail(b, estimates);
    math::take_step(p_, rho, mean(b), factor(b), w, state_.record(b));
  }

  GaussianBatch<T>& batch_;
  const Prior<T>& prior_;
  const FitPlan& plan_;
  const math::StepPlan& p_;
  FitState<T>& state_;
};

}  // namespace ngvi::detail
