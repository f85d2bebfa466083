#include "ngvi/optimizer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cpu/stepper.hpp"
#include "engine/engine.hpp"
#include "ngvi/error.hpp"
#include "engine/parallel.hpp"
#include "engine/scratch.hpp"

namespace ngvi {

template <class T>
struct Optimizer<T>::Impl {
  using Clock = std::chrono::steady_clock;
  enum class Phase { Steps, Final, Done };

  Impl(GaussianBatch<T>& batch_, const Options& options, Derivatives provided, Prior<T> prior_)
      : batch(batch_),
        prior(std::move(prior_)),
        plan(make_plan(batch_, options, provided, prior)),
        state(detail::initial_state<T>(nullptr, batch_, plan)),
        stepper(batch_, prior, plan, state),
        threads(detail::resolve_threads(options.num_threads)),
        scratch(threads, draw_offset() + std::max(detail::draw_scratch_size<T>(plan.step),
                                                  detail::draw_scratch_size<T>(stepper.final_plan()))),
        start(Clock::now()) {}

  static detail::FitPlan make_plan(const GaussianBatch<T>& batch, const Options& options, Derivatives provided,
                                   const Prior<T>& prior) {
    const char* function = "ngvi::Optimizer";
    if (options.estimator == Estimator::Quadrature)
      throw Error(fmt::format("{}: options.estimator = quadrature needs the model's exact expectations; ask/tell "
                              "offers the Monte Carlo estimators (price, stein, score)",
                              function));
    if (options.backend == Backend::Cuda)
      throw Error(fmt::format("{}: options.backend = cuda, but ask/tell steps run on the CPU", function));
    const detail::ProblemShape<T> shape{function, batch.size(), batch.dimension(), provided, false, &prior};
    detail::FitPlan p = detail::plan_fit(shape, batch, options);
    p.options.backend = Backend::Cpu;
    return p;
  }

  const Ask<T>& next_request() {
    if (pending) return request;
    if (phase == Phase::Steps) {
      distributions = state.active();
      if (distributions.empty() || state.iteration >= plan.options.max_steps) phase = Phase::Final;
    }
    if (phase == Phase::Final) {
      distributions.clear();
      for (std::size_t b = 0; b < batch.size(); ++b)
        if (stepper.evaluable(b)) distributions.push_back(static_cast<std::uint32_t>(b));
    }
    const math::StepPlan& p = phase == Phase::Final ? stepper.final_plan() : plan.step;
    const std::size_t per = static_cast<std::size_t>(p.samples) * p.d;
    eps.resize(distributions.size() * per);
    points.resize(distributions.size() * per);
    detail::parallel_for(distributions.size(), threads, [&](std::size_t k, int thread) {
      const std::uint32_t b = distributions[k];
      const math::StepWorkspace<T> w = workspace(phase == Phase::Final, k, thread, nullptr, nullptr);
      if (phase == Phase::Steps) return stepper.draw(b, static_cast<std::uint32_t>(state.iteration), w,
                                                     scratch(thread) + draw_offset());
      stepper.conclude(b);
      stepper.draw_final(b, w, scratch(thread) + draw_offset());
    });
    request = Ask<T>();
    request.distributions = distributions.data();
    request.count = distributions.size();
    request.points = points.data();
    request.samples = p.samples;
    request.dimension = plan.step.d;
    request.final = phase == Phase::Final;
    request.needs_values = request.final || stepper.wants_values();
    request.needs_gradients = !request.final && math::needs_gradients(plan.step);
    request.needs_hessians = !request.final && math::needs_hessians(plan.step);
    pending = true;
    return request;
  }

  // The draw's scratch follows the workspace of a step or of the final draws in a thread's scratch.
  std::size_t draw_offset() const {
    return detail::round_up_to_line<T>(
        std::max(math::workspace_size(plan.step), math::workspace_size(stepper.final_plan())));
  }

  // Distribution k's workspace for a step, or for the final draws: eps and points in the request's
  // buffers, the model's outputs where the caller put them, the rest in the thread's scratch.
  math::StepWorkspace<T> workspace(bool final, std::size_t k, int thread, const T* values, const T* gradients) {
    const math::StepPlan& p = final ? stepper.final_plan() : plan.step;
    const std::size_t S = static_cast<std::size_t>(p.samples), per = S * p.d;
    math::StepWorkspace<T> w = math::carve_workspace(p, scratch(thread));
    w.eps = eps.data() + k * per;
    w.points = points.data() + k * per;
    if (values) w.values = const_cast<T*>(values) + k * S;  // read only: the estimators never write them
    if (gradients) w.gradients = const_cast<T*>(gradients) + k * per;
    return w;
  }

  void answer(const T* values, const T* gradients, const T* hessians) {
    if (!pending) throw Error("ngvi::Optimizer::tell: no request is pending (call ask() first)");
    auto require = [&](const T* array, bool needed, const char* name) {  // an empty request needs no arrays
      if (needed && !array && request.count > 0)
        throw Error(fmt::format("ngvi::Optimizer::tell: {} is null but the request needs it", name));
    };
    require(values, request.needs_values, "values");
    require(gradients, request.needs_gradients, "gradients");
    require(hessians, request.needs_hessians, "hessians");
    const int d = plan.step.d, S = plan.step.samples;
    if (phase == Phase::Final) {
      detail::parallel_for(distributions.size(), threads, [&](std::size_t k, int thread) {
        stepper.finish(distributions[k], workspace(true, k, thread, values, nullptr),
                       std::numeric_limits<T>::quiet_NaN());
      });
      phase = Phase::Done;
      pending = false;
      return;
    }
    const std::size_t hessian_size = plan.step.diagonal ? d : static_cast<std::size_t>(d) * d;
    detail::parallel_for(distributions.size(), threads, [&](std::size_t k, int thread) {
      const math::StepWorkspace<T> w =
          workspace(false, k, thread, request.needs_values ? values : nullptr, gradients);
      if (request.needs_hessians) {
        for (std::size_t i = 0; i < hessian_size; ++i) w.hessian_mean[i] = T(0);
        for (int s = 0; s < S; ++s)
          detail::add_to_hessian_mean(hessians + (k * S + s) * hessian_size, d, S, plan.step.diagonal, 1,
                                      w.hessian_mean);
      }
      stepper.complete_sampled(distributions[k], w);
    });
    ++state.iteration;
    pending = false;
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (!detail::after_iteration(plan, batch, state, state.active().size(), seconds)) phase = Phase::Final;
  }

  GaussianBatch<T>& batch;
  Prior<T> prior;
  detail::FitPlan plan;
  detail::FitState<T> state;
  detail::Stepper<T> stepper;
  int threads;
  detail::ThreadScratch<T> scratch;
  Clock::time_point start;
  Phase phase = Phase::Steps;
  bool pending = false;
  std::vector<std::uint32_t> distributions;
  std::vector<T> eps, points;
  Ask<T> request;
};

template <class T>
Optimizer<T>::Optimizer(GaussianBatch<T>& batch, const Options& options, Derivatives provided, Prior<T> prior)
    : impl_(std::make_unique<Impl>(batch, options, provided, std::move(prior))) {}

template <class T>
Optimizer<T>::~Optimizer() = default;

template <class T>
bool Optimizer<T>::done() const {
  return impl_->phase == Impl::Phase::Done;
}

template <class T>
const Ask<T>& Optimizer<T>::ask() {
  if (done()) throw Error("ngvi::Optimizer::ask: the optimizer is done");
  return impl_->next_request();
}

template <class T>
void Optimizer<T>::tell(const T* values, const T* gradients, const T* hessians) {
  impl_->answer(values, gradients, hessians);
}

template <class T>
Summary Optimizer<T>::summary() const {
  const double seconds = std::chrono::duration<double>(Impl::Clock::now() - impl_->start).count();
  return detail::summarize(impl_->batch, impl_->plan, impl_->state, seconds,
                           detail::cpu_device_name(impl_->threads) + ", ask/tell");
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace ngvi
