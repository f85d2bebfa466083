#include "ngvi/fit.hpp"

#include <chrono>

#include "cpu/cpu_backend.hpp"
#include "engine.hpp"
#include "parallel.hpp"

namespace ngvi {

template <class T>
Summary fit(const Model<T>& model, GaussianBatch<T>& batch, const Options& options) {
  const auto start = std::chrono::steady_clock::now();
  const detail::FitPlan plan = detail::plan_fit(model, batch, options);
  detail::FitState<T> state = detail::initial_state(model, batch, plan);
  detail::run_cpu(model, batch, plan, state);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return detail::summarize(batch, plan, state, seconds,
                           detail::cpu_device_name(detail::resolve_threads(options.num_threads)));
}

template NGVI_API Summary fit<float>(const Model<float>&, GaussianBatch<float>&, const Options&);
template NGVI_API Summary fit<double>(const Model<double>&, GaussianBatch<double>&, const Options&);

}  // namespace ngvi
