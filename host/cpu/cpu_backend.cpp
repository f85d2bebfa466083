#include "cpu/cpu_backend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <vector>

#include "math/bookkeeping.cuh"
#include "math/step.cuh"
#include "parallel.hpp"

namespace ngvi::detail {
namespace {

// One distribution's step and final ELBO on the host. Everything a call touches is this
// distribution's state, its bookkeeping entries and the calling thread's scratch.
template <class T>
class CpuStepper {
 public:
  CpuStepper(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state)
      : model_(model), batch_(batch), plan_(plan), p_(plan.step), state_(state) {}

  /// Scratch entries one thread needs.
  std::size_t scratch_size() const {
    return math::workspace_size(p_) +
           std::max(model_.scratch_size(p_.samples), model_.expectation_scratch_size());
  }

  void step(std::size_t b, int iteration, T rho, T* scratch) {
    const math::StepWorkspace<T> w = math::carve_workspace(p_, scratch);
    T* model_scratch = scratch + math::workspace_size(p_);
    T* mu = batch_.mean() + b * p_.d;
    T* factor = batch_.precision_cholesky() + b * batch_.matrix_size();
    const math::PriorTerms<T> prior = prior_terms(model_.prior(), b, p_.d);
    const bool want_values = p_.estimator == Estimator::Score || plan_.options.trace_elbo;

    T expected_f = T(0);
    Status outcome = Status::Running;
    try {
      outcome = estimate(b, iteration, mu, factor, want_values, w, model_scratch, &expected_f);
    } catch (...) {
      outcome = Status::ModelError;
    }
    if (outcome != Status::Running) {
      state_.status[b] = outcome;
      return;
    }
    if (want_values) state_.elbo[b] = math::elbo(p_, prior, mu, factor, expected_f, w.work);
    math::add_prior(prior, mu, w.g, w.H, p_.diagonal, p_.d);
    if ((outcome = math::check_estimates(p_, w)) != Status::Running) {
      state_.status[b] = outcome;
      return;
    }

    const bool accepted = math::apply_rule(p_, mu, factor, rho * state_.step_scale[b], w);
    T kl = T(0);
    if (accepted) {
      kl = math::step_kl(p_, mu, factor, w);
      std::copy(w.mu_new, w.mu_new + p_.d, mu);
      std::copy(w.factor_new, w.factor_new + batch_.matrix_size(), factor);
    }
    // A rejected candidate left the positive-definite cone (or overflowed): the state is kept.
    state_.status[b] = math::record_step(stop_rule(plan_.options), accepted, kl, state_.counters(b));
  }

  /// ELBO of the final distribution: exact with Quadrature, else a fresh Monte Carlo sample.
  void final_elbo(std::size_t b, T* scratch) {
    const Status s = state_.status[b];
    if (s == Status::InvalidData || s == Status::InvalidState || s == Status::ModelError) return;
    const math::StepWorkspace<T> w = math::carve_workspace(p_, scratch);
    T* model_scratch = scratch + math::workspace_size(p_);
    T* mu = batch_.mean() + b * p_.d;
    T* factor = batch_.precision_cholesky() + b * batch_.matrix_size();
    T expected_f = std::numeric_limits<T>::quiet_NaN();
    try {
      if (p_.estimator == Estimator::Quadrature) {
        model_.expectations(b, mu, factor, batch_.family(), &expected_f, w.g, w.H, model_scratch);
      } else {
        draw(b, static_cast<std::uint32_t>(state_.steps[b]), mu, factor, w);
        Evaluation<T> out;
        out.values = w.values;
        model_.evaluate(b, w.points, p_.samples, out, model_scratch, context(state_.steps[b]));
        expected_f = math::mean_value(w.values, p_.samples);
      }
    } catch (...) {
      state_.status[b] = Status::ModelError;
      return;
    }
    const math::PriorTerms<T> prior = prior_terms(model_.prior(), b, p_.d);
    state_.elbo[b] = math::elbo(p_, prior, mu, factor, expected_f, w.work);
    if (!std::isfinite(state_.elbo[b]) && !is_failure(s)) state_.status[b] = Status::NonFiniteValue;
  }

 private:
  EvaluationContext context(int iteration) const {
    EvaluationContext c;
    c.seed = p_.seed;
    c.step = static_cast<std::uint32_t>(iteration);
    c.minibatch_rows = plan_.options.minibatch_rows;
    return c;
  }

  void draw(std::size_t b, std::uint32_t step, const T* mu, const T* factor, const math::StepWorkspace<T>& w) const {
    math::draw_eps(p_, static_cast<std::uint32_t>(b), step, w.eps);
    math::draw_points(p_, mu, factor, w.eps, w.points);
  }

  // g and H into the workspace (before the prior); Running when they could be formed.
  Status estimate(std::size_t b, int iteration, const T* mu, const T* factor, bool want_values,
                  const math::StepWorkspace<T>& w, T* model_scratch, T* expected_f) const {
    if (p_.estimator == Estimator::Quadrature) {
      model_.expectations(b, mu, factor, batch_.family(), want_values ? expected_f : nullptr, w.g, w.H,
                          model_scratch);
      return !want_values || std::isfinite(*expected_f) ? Status::Running : Status::NonFiniteValue;
    }
    draw(b, static_cast<std::uint32_t>(iteration), mu, factor, w);
    Evaluation<T> out;
    out.values = want_values ? w.values : nullptr;
    out.gradients = math::needs_gradients(p_) ? w.gradients : nullptr;
    out.hessian_mean = math::needs_hessians(p_) ? w.hessian_mean : nullptr;
    out.hessian_diagonal = p_.diagonal;
    model_.evaluate(b, w.points, p_.samples, out, model_scratch, context(iteration));
    if (want_values) {
      if (!math::all_finite(w.values, p_.samples)) return Status::NonFiniteValue;
      *expected_f = math::mean_value(w.values, p_.samples);
    }
    math::estimate(p_, factor, w);
    return Status::Running;
  }

  const Model<T>& model_;
  GaussianBatch<T>& batch_;
  const FitPlan& plan_;
  const math::StepPlan& p_;
  FitState<T>& state_;
};

}  // namespace

std::string cpu_device_name(int threads) { return fmt::format("CPU ({} thread{})", threads, threads == 1 ? "" : "s"); }

template <class T>
void run_cpu(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Options& options = plan.options;
  const int threads = resolve_threads(options.num_threads);
  CpuStepper<T> stepper(model, batch, plan, state);
  const std::size_t stride = stepper.scratch_size();
  std::vector<T> scratch(static_cast<std::size_t>(threads) * stride);

  std::vector<std::uint32_t> active = state.active();
  while (!active.empty() && state.iteration < options.max_steps) {
    const T rho = static_cast<T>(step_size_at(options, state.iteration));
    const int iteration = state.iteration;
    parallel_for(active.size(), threads, [&](std::size_t i, int thread) {
      stepper.step(active[i], iteration, rho, scratch.data() + thread * stride);
    });
    ++state.iteration;
    active.erase(std::remove_if(active.begin(), active.end(), [&](std::uint32_t b) {
                   return state.status[b] != Status::Running;
                 }),
                 active.end());
    const double mean = options.trace_elbo ? mean_elbo(state) : std::numeric_limits<double>::quiet_NaN();
    if (options.trace_elbo) state.elbo_trace.push_back(mean);
    if (options.progress) {
      Progress progress;
      progress.iteration = state.iteration;
      progress.active = active.size();
      progress.mean_elbo = mean;
      progress.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (!options.progress(progress)) break;
    }
  }
  parallel_for(batch.size(), threads,
               [&](std::size_t b, int thread) { stepper.final_elbo(b, scratch.data() + thread * stride); });
}

template void run_cpu(const Model<float>&, GaussianBatch<float>&, const FitPlan&, FitState<float>&);
template void run_cpu(const Model<double>&, GaussianBatch<double>&, const FitPlan&, FitState<double>&);

}  // namespace ngvi::detail
