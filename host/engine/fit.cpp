#include "ngvi/fit.hpp"

#include <chrono>

#include "engine/engine.hpp"
#include "engine/scheduler.hpp"

namespace ngvi {

template <class T>
Summary fit(const Model<T>& model, GaussianBatch<T>& batch, const Options& options) {
  const auto start = std::chrono::steady_clock::now();
  detail::FitPlan plan = detail::plan_fit(model, batch, options);
  plan.options.backend = detail::select_backend(model, options);
  detail::FitState<T> state = detail::initial_state(&model, batch, plan);
  const std::string device = detail::run_backend(model, batch, plan, state);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return detail::summarize(batch, plan, state, seconds, device);
}

template NGVI_API Summary fit<float>(const Model<float>&, GaussianBatch<float>&, const Options&);
template NGVI_API Summary fit<double>(const Model<double>&, GaussianBatch<double>&, const Options&);

}  // namespace ngvi
