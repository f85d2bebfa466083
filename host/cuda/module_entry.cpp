// libngvi_cuda.so's entry point, and the engine functions it borrows from the library that opened it
// (compiled into the module only: a binary that links the backend statically has the engine itself).
#include <fmt/format.h>

#include <string>
#include <type_traits>

#include "cuda/module.hpp"
#include "ngvi/version.hpp"

namespace ngvi::detail {
namespace {
const EngineServices* engine = nullptr;  // set once, by the entry point, before any fit
}

template <class T>
bool after_iteration(const FitPlan& plan, const GaussianBatch<T>& batch, FitState<T>& state, std::size_t active,
                     double seconds) {
  if constexpr (std::is_same_v<T, float>) return engine->after_iteration_float(plan, batch, state, active, seconds);
  else return engine->after_iteration_double(plan, batch, state, active, seconds);
}
template bool after_iteration(const FitPlan&, const GaussianBatch<float>&, FitState<float>&, std::size_t, double);
template bool after_iteration(const FitPlan&, const GaussianBatch<double>&, FitState<double>&, std::size_t, double);

double step_size_at(const Options& options, int iteration) { return engine->step_size_at(options, iteration); }

template <class T>
void monitor_device_steps(const FitPlan& plan, const GaussianBatch<T>& batch, FitState<T>& state, std::size_t first,
                          const std::uint32_t* positions, std::size_t count, const T* targets, std::size_t stride,
                          const int* rejected_before) {
  if constexpr (std::is_same_v<T, float>)
    engine->monitor_device_steps_float(plan, batch, state, first, positions, count, targets, stride, rejected_before);
  else
    engine->monitor_device_steps_double(plan, batch, state, first, positions, count, targets, stride, rejected_before);
}
template void monitor_device_steps(const FitPlan&, const GaussianBatch<float>&, FitState<float>&, std::size_t,
                                   const std::uint32_t*, std::size_t, const float*, std::size_t, const int*);
template void monitor_device_steps(const FitPlan&, const GaussianBatch<double>&, FitState<double>&, std::size_t,
                                   const std::uint32_t*, std::size_t, const double*, std::size_t, const int*);

template <class T>
double monitored_step_size(const FitPlan& plan, const FitState<T>& state, std::size_t b, int iteration) {
  if constexpr (std::is_same_v<T, float>) return engine->monitored_step_size_float(plan, state, b, iteration);
  else return engine->monitored_step_size_double(plan, state, b, iteration);
}
template double monitored_step_size(const FitPlan&, const FitState<float>&, std::size_t, int);
template double monitored_step_size(const FitPlan&, const FitState<double>&, std::size_t, int);

}  // namespace ngvi::detail

extern "C" __attribute__((visibility("default"))) const ngvi::detail::CudaModule* ngvi_cuda_module(
    int abi, const char* version, const ngvi::detail::EngineServices* services, const char** built_for) {
  using namespace ngvi::detail;
  static const std::string mine = fmt::format("ngvi {}, module ABI {}", NGVI_VERSION_STRING, kCudaModuleAbi);
  *built_for = mine.c_str();
  // The ABI first: only then may the other arguments be read as this module knows them.
  if (abi != kCudaModuleAbi || std::string(version) != NGVI_VERSION_STRING) return nullptr;
  engine = services;
  return &cuda_backend_module();
}
