#include "cpu/cpu_backend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <vector>

#include "cpu/stepper.hpp"
#include "engine/parallel.hpp"
#include "engine/scratch.hpp"
#include "engine/sharding.hpp"

namespace ngvi::detail {
namespace {

// The CPU backend's step: the model is evaluated between the stages of a Stepper. Everything a call
// touches is one distribution's state, its bookkeeping entries and the calling thread's scratch.
template <class T>
class CpuStep {
 public:
  CpuStep(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state)
      : model_(model), stepper_(batch, model.prior(), plan, state), p_(plan.step), plan_(plan), family_(batch.family()) {}

  /// Scratch entries one thread needs: the workspace of a step or of the final draws, then on its own
  /// line the model's scratch, which the draw uses before the model runs.
  std::size_t scratch_size() const {
    const math::StepPlan& f = stepper_.final_plan();
    return model_offset() + std::max({model_.scratch_size(p_.samples), model_.scratch_size(f.samples),
                                      model_.expectation_scratch_size(), draw_scratch_size<T>(p_),
                                      draw_scratch_size<T>(f)});
  }

  void step(std::size_t b, int iteration, T* scratch) {
    const math::StepWorkspace<T> w = math::carve_workspace(p_, scratch);
    T* model_scratch = scratch + model_offset();
    const bool values = stepper_.wants_values();
    try {
      if (p_.estimator == Estimator::Quadrature) {
        T expected_f = T(0);
        model_.expectations(b, stepper_.mean(b), stepper_.factor(b), family_, values ? &expected_f : nullptr, w.g,
                            w.H, model_scratch);
        return stepper_.complete_exact(b, w, expected_f);
      }
      stepper_.draw(b, static_cast<std::uint32_t>(iteration), w, model_scratch);
      Evaluation<T> out;
      out.values = values ? w.values : nullptr;
      out.gradients = math::needs_gradients(p_) ? w.gradients : nullptr;
      out.hessian_mean = math::needs_hessians(p_) ? w.hessian_mean : nullptr;
      out.hessian_diagonal = p_.diagonal;
      model_.evaluate(b, w.points, p_.samples, out, model_scratch, context(iteration));
    } catch (...) {
      return stepper_.fail(b, Status::ModelError);
    }
    stepper_.complete_sampled(b, w);
  }

  /// The final distribution (the average of a Monte Carlo fit's stationary iterates), its ELBO
  /// (exact with Quadrature) and diagnostics from fresh draws.
  void finish(std::size_t b, int steps, T* scratch) {
    if (!stepper_.evaluable(b)) return;
    stepper_.conclude(b);
    const math::StepPlan& f = stepper_.final_plan();
    const math::StepWorkspace<T> w = math::carve_workspace(f, scratch);
    T* model_scratch = scratch + model_offset();
    T expected_f = std::numeric_limits<T>::quiet_NaN();
    try {
      if (p_.estimator == Estimator::Quadrature)
        model_.expectations(b, stepper_.mean(b), stepper_.factor(b), family_, &expected_f, w.g, w.H, model_scratch);
      stepper_.draw_final(b, w, model_scratch);
      Evaluation<T> out;
      out.values = w.values;
      EvaluationContext every_row = context(steps);  // the diagnostics are of the whole posterior
      every_row.minibatch_rows = 0;
      model_.evaluate(b, w.points, f.samples, out, model_scratch, every_row);
    } catch (...) {
      return stepper_.fail(b, Status::ModelError);
    }
    stepper_.finish(b, w, expected_f);
  }

 private:
  std::size_t model_offset() const {
    return round_up_to_line<T>(std::max(math::workspace_size(p_), math::workspace_size(stepper_.final_plan())));
  }

  EvaluationContext context(int iteration) const {
    EvaluationContext c;
    c.seed = p_.seed;
    c.first_problem = p_.first_problem;
    c.step = static_cast<std::uint32_t>(iteration);
    c.minibatch_rows = plan_.options.minibatch_rows;
    return c;
  }

  const Model<T>& model_;
  Stepper<T> stepper_;
  const math::StepPlan& p_;
  const FitPlan& plan_;
  Family family_;
};

}  // namespace

int threads_per_device(const FitPlan& plan) {
  return std::max(1, resolve_threads(plan.options.num_threads) / static_cast<int>(plan.devices.size()));
}

std::string cpu_device_name(int threads, std::size_t devices) {
  const std::string each = fmt::format("{} thread{}", threads, threads == 1 ? "" : "s");
  return devices == 1 ? fmt::format("CPU ({})", each) : fmt::format("CPU ({} devices of {})", devices, each);
}

template <class T>
void run_cpu(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Options& options = plan.options;
  // Each device of plan.devices is a group of threads with scratch of its own; they share the threads.
  const std::size_t devices = plan.devices.size();
  const int threads = threads_per_device(plan);
  CpuStep<T> step(model, batch, plan, state);
  std::vector<ThreadScratch<T>> scratch;
  for (std::size_t k = 0; k < devices; ++k) scratch.emplace_back(threads, step.scratch_size());
  // body(b, thread scratch) for every b of `items`, dealt to the devices in balanced contiguous shards.
  auto over_devices = [&](const std::vector<std::uint32_t>& items, auto&& body) {
    for_each_shard(devices, [&](std::size_t k) {
      const Shard shard = balanced_shard(items.size(), devices, k);
      parallel_for(shard.size(), threads,
                   [&](std::size_t i, int thread) { body(items[shard.begin + i], scratch[k](thread)); });
    });
  };

  std::vector<std::uint32_t> active = state.active();
  while (!active.empty() && state.iteration < options.max_steps) {
    const int iteration = state.iteration;
    over_devices(active, [&](std::uint32_t b, T* s) { step.step(b, iteration, s); });
    ++state.iteration;
    active.erase(std::remove_if(active.begin(), active.end(),
                                [&](std::uint32_t b) { return state.status[b] != Status::Running; }),
                 active.end());
    if (!after_iteration(plan, batch, state, active.size(),
                         std::chrono::duration<double>(Clock::now() - start).count()))
      break;
  }
  finish_on_cpu(model, batch, plan, state);
}

template <class T>
void finish_on_cpu(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state) {
  CpuStep<T> step(model, batch, plan, state);
  const int threads = resolve_threads(plan.options.num_threads);
  ThreadScratch<T> scratch(threads, step.scratch_size());
  parallel_for(batch.size(), threads,
               [&](std::size_t b, int thread) { step.finish(b, state.steps[b], scratch(thread)); });
}

template void run_cpu(const Model<float>&, GaussianBatch<float>&, const FitPlan&, FitState<float>&);
template void run_cpu(const Model<double>&, GaussianBatch<double>&, const FitPlan&, FitState<double>&);
template void finish_on_cpu(const Model<float>&, GaussianBatch<float>&, const FitPlan&, FitState<float>&);
template void finish_on_cpu(const Model<double>&, GaussianBatch<double>&, const FitPlan&, FitState<double>&);

}  // namespace ngvi::detail
