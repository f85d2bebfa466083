#include "engine/scheduler.hpp"

#include <fmt/format.h>

#include <vector>

#include "cpu/cpu_backend.hpp"
#include "engine/module_loader.hpp"
#include "engine/parallel.hpp"
#include "ngvi/error.hpp"

namespace ngvi {

bool backend_available(Backend backend, std::string* why) {
  std::string reason;
  if (backend == Backend::Cuda)
    if (const detail::CudaModule* cuda = detail::cuda_module(&reason)) reason = cuda->device_unavailable();
  if (why) *why = reason;
  return reason.empty();
}

}  // namespace ngvi

namespace ngvi::detail {

// Auto takes the GPU when the CUDA module is found, a device is present and the model is a built-in
// one the GPU runs (or a ModelWithPrior of one); custom models run on the CPU.
template <class T>
Backend select_backend(const Model<T>& model, const Options& options) {
  if (options.backend == Backend::Cpu) return Backend::Cpu;
  std::string why_not;
  if (const CudaModule* cuda = cuda_module(&why_not)) why_not = cuda->unavailable(model);
  if (why_not.empty()) return Backend::Cuda;
  if (options.backend == Backend::Cuda) throw Error(fmt::format("ngvi::fit: options.backend = cuda, but {}", why_not));
  return Backend::Cpu;
}

namespace {

// options.devices as CPU devices (thread groups): one unless ordinals are listed.
std::vector<int> cpu_devices(const Options& options) {
  const bool all = options.devices.size() == 1 && options.devices[0] == kAllDevices;
  if (all || options.devices.empty()) return {0};
  return options.devices;
}

}  // namespace

template <class T>
std::string run_backend(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state) {
  // The CUDA module resolves options.devices to GPUs and shards the batch across them itself. A
  // Monte Carlo fit ends on the host, as on the CPU backend: the average, the ELBO, the diagnostics.
  if (plan.options.backend == Backend::Cuda) {
    std::string device = cuda_module(nullptr)->run(model, batch, plan, state);
    if (math::needs_samples(plan.step)) finish_on_cpu(model, batch, plan, state);
    return device;
  }
  FitPlan placed = plan;
  placed.devices = cpu_devices(plan.options);
  run_cpu(model, batch, placed, state);
  // Each device's share is capped by its work as parallel_for caps it (threads_for).
  const std::size_t per_device = (batch.size() + placed.devices.size() - 1) / placed.devices.size();
  return cpu_device_name(threads_for(per_device, threads_per_device(placed)), placed.devices.size());
}
template Backend select_backend(const Model<float>&, const Options&);
template Backend select_backend(const Model<double>&, const Options&);
template std::string run_backend(const Model<float>&, GaussianBatch<float>&, const FitPlan&, FitState<float>&);
template std::string run_backend(const Model<double>&, GaussianBatch<double>&, const FitPlan&, FitState<double>&);

}  // namespace ngvi::detail
