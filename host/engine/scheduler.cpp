#include "engine/scheduler.hpp"

#include <fmt/format.h>

#include "cpu/cpu_backend.hpp"
#include "ngvi/error.hpp"
#include "engine/parallel.hpp"
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

template <class T>
std::string run_backend(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state) {
#if defined(NGVI_WITH_CUDA)
  if (plan.options.backend == Backend::Cuda) return run_cuda(model, batch, plan, state);
#endif
  run_cpu(model, batch, plan, state);
  return cpu_device_name(threads_for(batch.size(), resolve_threads(plan.options.num_threads)));
}

template Backend select_backend(const Model<float>&, const Options&);
template Backend select_backend(const Model<double>&, const Options&);
template std::string run_backend(const Model<float>&, GaussianBatch<float>&, const FitPlan&, FitState<float>&);
template std::string run_backend(const Model<double>&, GaussianBatch<double>&, const FitPlan&, FitState<double>&);

}  // namespace ngvi::detail
