#include "engine/scheduler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "ngvi/error.hpp"
#include "engine/parallel.hpp"
#include "engine/sharding.hpp"
#if defined(NGVI_WITH_CUDA)
#include "cuda/cuda_backend.hpp"
#endif

namespace ngvi {
namespace {
constexpr const char* kNoCudaBackend = "this build of ngvi has no CUDA backend";
}

bool backend_available(Backend backend, std::string* why) {
  std::string reason;
  if (backend == Backend::Cuda) {
#if defined(NGVI_WITH_CUDA)
    reason = detail::cuda_device_unavailable();
#else
    reason = kNoCudaBackend;
#endif
  }
  if (why) *why = reason;
  return reason.empty();
}

}  // namespace ngvi

namespace ngvi::detail {

// Auto takes the GPU when this build has the CUDA backend, a device is present and the model is a
// built-in one the GPU runs (or a ModelWithPrior of one); custom models run on the CPU.
template <class T>
Backend select_backend(const Model<T>& model, const Options& options) {
  if (options.backend == Backend::Cpu) return Backend::Cpu;
#if defined(NGVI_WITH_CUDA)
  const std::string why_not = cuda_unavailable(model);
  if (why_not.empty()) return Backend::Cuda;
  if (options.backend == Backend::Cuda)
    throw Error(fmt::format("ngvi::fit: options.backend = cuda, but {}", why_not));
#else
  (void)model;
  if (options.backend == Backend::Cuda)
    throw Error(fmt::format("ngvi::fit: options.backend = cuda, but {}", kNoCudaBackend));
#endif
  return Backend::Cpu;
}

namespace {

// options.devices as the ordinals of `backend`'s devices (Cpu or Cuda, already selected).
std::vector<int> resolve_devices(const Options& options, Backend backend) {
  const bool all = options.devices.size() == 1 && options.devices[0] == kAllDevices;
  if (backend == Backend::Cpu) {
    if (all || options.devices.empty()) return {0};  // the CPU is one device unless thread groups are listed
    return options.devices;
  }
#if defined(NGVI_WITH_CUDA)
  const int count = cuda_device_count();
  if (options.devices.empty()) return {cuda_current_device()};
  if (all) {
    std::vector<int> every(static_cast<std::size_t>(count));
    std::iota(every.begin(), every.end(), 0);
    return every;
  }
  for (std::size_t k = 0; k < options.devices.size(); ++k)
    if (options.devices[k] >= count)
      throw Error(fmt::format("ngvi::fit: options.devices[{}] = {}, but this process sees {} CUDA device{}", k,
                              options.devices[k], count, count == 1 ? "" : "s"));
#endif
  return options.devices;
}

#if defined(NGVI_WITH_CUDA)
// A fit on several GPUs: the batch cut into contiguous ranges holding equal numbers of running
// distributions, one range per device, each run to its end on a thread of its own. Its state stays
// on its device, so the ranges are dealt once. An ELBO trace and checkpoints, which need the whole
// batch after every step, need one device; the progress callback is not called.
template <class T>
std::string run_cuda_devices(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state) {
  const std::vector<int>& devices = plan.devices;
  const std::vector<std::uint32_t> active = state.active();
  if (devices.size() == 1 || active.empty())
    return run_cuda(model, batch, plan, state, 0, batch.size(), devices[0]).description;
  if (plan.options.trace_elbo || !plan.options.checkpoint_path.empty())
    throw Error(fmt::format("ngvi::fit: options.devices lists {} CUDA devices, but a fit with an ELBO trace or "
                            "checkpoints runs on one (give one device, or one MPI rank per device: docs/scaling.md)",
                            devices.size()));
  FitPlan unobserved = plan;
  unobserved.options.progress = nullptr;
  const std::vector<Shard> shards = balanced_shards(active.size(), devices.size());
  std::vector<CudaRun> runs(devices.size());
  for_each_shard(devices.size(), [&](std::size_t k) {
    if (shards[k].size() == 0) return;
    // The range runs from the shard's first running distribution to the next shard's.
    const std::size_t first = k == 0 ? 0 : active[shards[k].begin];
    const bool last = k + 1 == devices.size() || shards[k + 1].size() == 0;
    const std::size_t end = last ? batch.size() : active[shards[k + 1].begin];
    runs[k] = run_cuda(model, batch, unobserved, state, first, end - first, devices[k]);
  });
  std::string description;
  int iterations = state.iteration;
  for (const CudaRun& run : runs) {
    if (run.description.empty()) continue;
    description += (description.empty() ? "" : " | ") + run.description;
    iterations = std::max(iterations, run.iterations);
  }
  state.iteration = iterations;
  return description;
}
#endif

}  // namespace

template <class T>
std::string run_backend(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state) {
  FitPlan placed = plan;
  placed.devices = resolve_devices(plan.options, plan.options.backend);
#if defined(NGVI_WITH_CUDA)
  if (placed.options.backend == Backend::Cuda) return run_cuda_devices(model, batch, placed, state);
#endif
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
