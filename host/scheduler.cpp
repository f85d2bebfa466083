#include "scheduler.hpp"

#include <fmt/format.h>

#include "cpu/cpu_backend.hpp"
#include "ngvi/error.hpp"
#include "parallel.hpp"

namespace ngvi::detail {

template <class T>
Backend select_backend(const Model<T>&, const Options& options) {
  if (options.backend == Backend::Cuda)
    throw Error("ngvi::fit: options.backend = cuda, but this build of ngvi has no CUDA backend");
  return Backend::Cpu;
}

template <class T>
std::string run_backend(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state) {
  run_cpu(model, batch, plan, state);
  return cpu_device_name(resolve_threads(plan.options.num_threads));
}

template Backend select_backend(const Model<float>&, const Options&);
template Backend select_backend(const Model<double>&, const Options&);
template std::string run_backend(const Model<float>&, GaussianBatch<float>&, const FitPlan&, FitState<float>&);
template std::string run_backend(const Model<double>&, GaussianBatch<double>&, const FitPlan&, FitState<double>&);

}  // namespace ngvi::detail
