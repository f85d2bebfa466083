#include "engine/engine.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <string>

#include "math/dense.cuh"
#include "math/gaussian.cuh"
#include "ngvi/error.hpp"
#include "engine/checkpoint_io.hpp"
#include "engine/parallel.hpp"

namespace ngvi::detail {

template <class T>
math::StepRecord<T> FitState<T>::record(std::size_t b) {
  const std::size_t n = rule_state.size() / status.size();
  return {&status[b], &steps[b], &streak[b], &step_scale[b], &rejected[b], &last_kl[b], rule_state.data() + b * n};
}

template <class T>
MonitorRecord FitState<T>::monitor_record(std::size_t b) {
  const std::size_t n = monitor.size() / status.size();
  return {monitor.data() + b * n, monitor_counts.data() + b * kMonitorCounts};
}

namespace {

Estimator resolve_estimator(Estimator requested, Derivatives derivatives, bool has_expectations) {
  if (requested != Estimator::Auto) return requested;
  if (has_expectations) return Estimator::Quadrature;
  switch (derivatives) {
    case Derivatives::Hessian: return Estimator::Price;
    case Derivatives::Gradient: return Estimator::Stein;
    case Derivatives::Value: return Estimator::Score;
  }
  return Estimator::Score;
}

// The derivatives an estimator needs from the model.
Derivatives required_derivatives(Estimator estimator) {
  switch (estimator) {
    case Estimator::Price: return Derivatives::Hessian;
    case Estimator::Stein: return Derivatives::Gradient;
    default: return Derivatives::Value;
  }
}

}  // namespace

template <class T>
FitPlan plan_fit(const ProblemShape<T>& shape, const GaussianBatch<T>& batch, const Options& options) {
  const char* function = shape.function;
  if (const std::string problem = options.check(); !problem.empty()) throw Error(fmt::format("{}: {}", function, problem));
  if (shape.num_problems != batch.size())
    throw Error(fmt::format("{}: the model has {} problems but the batch has {} distributions", function,
                            shape.num_problems, batch.size()));
  if (shape.dimension != batch.dimension())
    throw Error(fmt::format("{}: the model's dimension is {} but the batch's is {}", function, shape.dimension,
                            batch.dimension()));
  shape.prior->check(function, shape.num_problems, shape.dimension);
  if (shape.num_problems > (std::uint64_t{1} << 32) - options.problem_offset)  // check() keeps the offset below 2^32
    throw Error(fmt::format("{}: options.problem_offset = {} with {} problems reaches beyond problem index 2^32 - 1",
                            function, options.problem_offset, shape.num_problems));

  FitPlan plan;
  plan.options = options;
  plan.options.estimator = resolve_estimator(options.estimator, shape.derivatives, shape.has_expectations);
  const Estimator estimator = plan.options.estimator;
  if (estimator == Estimator::Quadrature && !shape.has_expectations)
    throw Error(fmt::format("{}: options.estimator = quadrature needs a model with exact expectations "
                            "(the built-in GLMs and the quadratic model have them)",
                            function));
  if (static_cast<int>(shape.derivatives) < static_cast<int>(required_derivatives(estimator)))
    throw Error(fmt::format("{}: options.estimator = {} needs {} from the model, which provides only {}", function,
                            estimator_name(estimator), estimator == Estimator::Price ? "Hessians" : "gradients",
                            shape.derivatives == Derivatives::Value ? "values" : "values and gradients"));

  plan.step.d = batch.dimension();
  plan.step.samples = options.samples > 0 ? options.samples : default_samples(estimator, batch.dimension());
  plan.step.antithetic = options.antithetic;
  plan.step.diagonal = batch.family() == Family::Diagonal;
  plan.step.estimator = estimator;
  plan.step.rule = options.rule;
  plan.step.seed = options.seed;
  plan.step.first_problem = static_cast<std::uint32_t>(options.problem_offset);
  plan.step.adam.beta1 = options.adam_beta1;
  plan.step.adam.beta2 = options.adam_beta2;
  plan.step.adam.epsilon = options.adam_epsilon;
  plan.step.tolerance = options.tolerance;
  plan.step.patience = options.patience;
  plan.step.max_steps = options.max_steps;
  // Monte Carlo fits converge by the MCSE of their average (the host's ConvergenceMonitor) and keep
  // their steps in a trust region; exact ones converge by KL.
  const bool monte_carlo = math::needs_samples(plan.step);
  plan.step.kl_convergence = !monte_carlo;
  plan.step.max_step_kl = monte_carlo ? options.max_step_kl * plan.step.d : 0.0;
  return plan;
}

template <class T>
FitPlan plan_fit(const Model<T>& model, const GaussianBatch<T>& batch, const Options& options) {
  const ProblemShape<T> shape{"ngvi::fit",          model.num_problems(),       model.dimension(),
                              model.derivatives(), model.has_expectations(), &model.prior()};
  FitPlan plan = plan_fit(shape, batch, options);
  if (!options.checkpoint_path.empty()) plan.model_fingerprint = model.fingerprint();
  return plan;
}

template <class T>
FitState<T> initial_state(const Model<T>* model, const GaussianBatch<T>& batch, const FitPlan& plan) {
  const std::size_t B = batch.size();
  const int d = batch.dimension();
  const std::size_t m = batch.matrix_size();
  FitState<T> state;
  state.status.assign(B, Status::Running);
  state.steps.assign(B, 0);
  state.streak.assign(B, 0);
  state.step_scale.assign(B, T(1));
  state.rejected.assign(B, 0);
  state.rule_state.assign(B * static_cast<std::size_t>(math::rule_state_size(plan.step)), T(0));
  state.elbo.assign(B, std::numeric_limits<double>::quiet_NaN());
  state.last_kl.assign(B, std::numeric_limits<double>::quiet_NaN());
  const ConvergenceMonitor<T> monitor(plan.step, plan.options);
  state.monitor.assign(B * monitor.statistics_size(), 0.0);
  state.monitor_counts.assign(B * kMonitorCounts, 0);
  state.mean_mcse_sd.assign(B, monitor.active() ? std::numeric_limits<double>::quiet_NaN() : 0.0);
  clear_final_diagnostics(plan, state);
  parallel_for(B, resolve_threads(plan.options.num_threads), [&](std::size_t b, int) {
    if (model) {
      std::string why;
      bool ok = false;
      try {
        ok = model->check_problem(b, &why);
      } catch (...) {
        state.status[b] = Status::ModelError;
        return;
      }
      if (!ok) {
        state.status[b] = Status::InvalidData;
        return;
      }
    }
    const T* factor = batch.precision_cholesky() + b * m;
    const bool valid_factor =
        plan.step.diagonal ? math::is_valid_diagonal_factor(factor, d) : math::is_valid_factor(factor, d);
    if (!valid_factor || !math::all_finite(batch.mean() + b * d, d)) state.status[b] = Status::InvalidState;
  });
  return state;
}

template <class T>
void clear_final_diagnostics(const FitPlan& plan, FitState<T>& state) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  state.elbo_mcse.assign(state.status.size(), math::needs_samples(plan.step) ? nan : 0.0);
  state.pareto_k.assign(state.status.size(), nan);
}

double step_size_at(const Options& options, int iteration) {
  if (options.schedule == Schedule::RobbinsMonro)
    return options.step_size / std::pow(1.0 + iteration / options.decay_steps, options.decay_power);
  return options.step_size;
}

template <class T>
math::PriorTerms<T> prior_terms(const Prior<T>& prior, std::size_t problem, int dimension) {
  math::PriorTerms<T> terms;
  switch (prior.kind()) {
    case Prior<T>::Kind::None: return terms;
    case Prior<T>::Kind::Isotropic: terms.kind = math::PriorKind::Isotropic; break;
    case Prior<T>::Kind::Full: terms.kind = math::PriorKind::Full; break;
  }
  terms.precision = prior.precision(problem);
  terms.factor = prior.precision_cholesky(problem);
  terms.mean = prior.mean(problem, dimension);
  terms.log_det_precision = prior.log_det_precision(problem, dimension);
  return terms;
}

double mean_elbo(const std::vector<Status>& status, const std::vector<double>& elbo) {
  double sum = 0.0;
  std::size_t count = 0;
  for (std::size_t b = 0; b < elbo.size(); ++b)
    if (!is_failure(status[b]) && std::isfinite(elbo[b])) {
      sum += elbo[b];
      ++count;
    }
  return count ? sum / static_cast<double>(count) : std::numeric_limits<double>::quiet_NaN();
}

template <class T>
double mean_elbo(const FitState<T>& state) {
  return mean_elbo(state.status, state.elbo);
}

template <class T>
bool after_iteration(const FitPlan& plan, const GaussianBatch<T>& batch, FitState<T>& state, std::size_t active,
                     double seconds) {
  const Options& options = plan.options;
  const double mean = options.trace_elbo ? mean_elbo(state) : std::numeric_limits<double>::quiet_NaN();
  if (options.trace_elbo) state.elbo_trace.push_back(mean);
  bool keep_going = true;
  if (options.progress) {
    Progress progress;
    progress.iteration = state.iteration;
    progress.active = active;
    progress.mean_elbo = mean;
    progress.seconds = seconds;
    keep_going = options.progress(progress);
  }
  const bool due = options.checkpoint_every > 0 && state.iteration % options.checkpoint_every == 0;
  if (!options.checkpoint_path.empty() && (due || !keep_going)) {
    try {
      write_checkpoint(options.checkpoint_path, plan, batch, state);
      state.checkpoint_error.clear();
    } catch (const std::exception& e) {
      state.checkpoint_error = e.what();
    }
  }
  return keep_going;
}

template <class T>
Summary summarize(const GaussianBatch<T>& batch, const FitPlan& plan, const FitState<T>& state, double seconds,
                  std::string device) {
  Summary s;
  s.batch_size = batch.size();
  s.dimension = batch.dimension();
  s.family = batch.family();
  s.estimator = plan.options.estimator;
  s.rule = plan.options.rule;
  s.backend = plan.options.backend;
  s.device = std::move(device);
  s.status = state.status;
  s.steps = state.steps;
  s.elbo = state.elbo;
  s.last_kl = state.last_kl;
  s.rejected_steps = state.rejected;
  s.elbo_mcse = state.elbo_mcse;
  s.mean_mcse_sd = state.mean_mcse_sd;
  s.pareto_k = state.pareto_k;
  s.iterations = state.iteration;
  s.seconds = seconds;
  s.recount();
  s.elbo_trace = state.elbo_trace;
  s.checkpoint_error = state.checkpoint_error;
  return s;
}

#define NGVI_INSTANTIATE(T)                                                                                   \
  template struct FitState<T>;                                                                                \
  template FitPlan plan_fit(const ProblemShape<T>&, const GaussianBatch<T>&, const Options&);                 \
  template FitPlan plan_fit(const Model<T>&, const GaussianBatch<T>&, const Options&);                        \
  template FitState<T> initial_state(const Model<T>*, const GaussianBatch<T>&, const FitPlan&);               \
  template void clear_final_diagnostics(const FitPlan&, FitState<T>&);                                        \
  template math::PriorTerms<T> prior_terms(const Prior<T>&, std::size_t, int);                                \
  template double mean_elbo(const FitState<T>&);                                                              \
  template bool after_iteration(const FitPlan&, const GaussianBatch<T>&, FitState<T>&, std::size_t, double);  \
  template Summary summarize(const GaussianBatch<T>&, const FitPlan&, const FitState<T>&, double, std::string);
NGVI_INSTANTIATE(float)
NGVI_INSTANTIATE(double)
#undef NGVI_INSTANTIATE

}  // namespace ngvi::detail
