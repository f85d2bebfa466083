// The boundary between libngvi.so and its CUDA backend, libngvi_cuda.so, which the library opens at
// run time (engine/module_loader.hpp) so that it depends on no CUDA library itself.
//
// Why a C++ abstract class and not a C function table: what crosses the boundary is C++ anyway
// (Model<T>, GaussianBatch<T>, FitPlan, FitState<T>, std::string, ngvi::Error), and a table of C
// functions would only hide those types behind void* and casts. A C boundary earns its keep when the
// two sides are built apart, by different compilers or versions; these never are. The module is
// compiled from the same sources in the same build as the library, and the entry point refuses any
// library whose module ABI number or version differs, so the vtable and every type's layout agree.
// Only the one symbol dlsym looks up is extern "C".
//
// The module needs some of the engine's functions (after_iteration, step_size_at and the convergence
// monitor's monitor_device_steps and monitored_step_size), which libngvi.so does not export; the
// library lends them through EngineServices.
#pragma once

#include <cstddef>
#include <string>

#include "engine/engine.hpp"

namespace ngvi::detail {

/// Bumped whenever CudaModule, EngineServices or a type that crosses them changes.
// 2: Options::problem_offset and devices, FitPlan::devices; 3: the convergence monitor's services
inline constexpr int kCudaModuleAbi = 3;

/// The module's file name, and the symbol the library looks up in it.
inline constexpr const char* kCudaModuleFile = "libngvi_cuda.so";
inline constexpr const char* kCudaModuleEntry = "ngvi_cuda_module";

/// The engine functions the CUDA backend calls back into libngvi.so.
struct EngineServices {
  bool (*after_iteration_float)(const FitPlan&, const GaussianBatch<float>&, FitState<float>&, std::size_t, double);
  bool (*after_iteration_double)(const FitPlan&, const GaussianBatch<double>&, FitState<double>&, std::size_t,
                                 double);
  double (*step_size_at)(const Options&, int);
  void (*monitor_device_steps_float)(const FitPlan&, const GaussianBatch<float>&, FitState<float>&, std::size_t,
                                     const std::uint32_t*, std::size_t, const float*, std::size_t, const int*);
  void (*monitor_device_steps_double)(const FitPlan&, const GaussianBatch<double>&, FitState<double>&, std::size_t,
                                      const std::uint32_t*, std::size_t, const double*, std::size_t, const int*);
  double (*monitored_step_size_float)(const FitPlan&, const FitState<float>&, std::size_t, int);
  double (*monitored_step_size_double)(const FitPlan&, const FitState<double>&, std::size_t, int);
};

/// The CUDA backend as the scheduler sees it. Lives as long as the process.
class CudaModule {
 public:
  /// Why no fit can run on the GPU here (no usable device), or empty. Never throws.
  virtual std::string device_unavailable() const = 0;
  /// Why `model` cannot be fitted on the GPU here (a custom model, no device), or empty. Never throws.
  virtual std::string unavailable(const Model<float>& model) const = 0;
  virtual std::string unavailable(const Model<double>& model) const = 0;
  /// Runs a planned fit on the devices options.devices names (see run_cuda_devices); returns a description.
  virtual std::string run(const Model<float>& model, GaussianBatch<float>& batch, const FitPlan& plan,
                          FitState<float>& state) const = 0;
  virtual std::string run(const Model<double>& model, GaussianBatch<double>& batch, const FitPlan& plan,
                          FitState<double>& state) const = 0;

 protected:
  ~CudaModule() = default;  // never deleted through this interface
};

/// The module's entry point: its CudaModule when `abi` and `version` are its own (and then it keeps
/// `services`), else null. `*built_for` is always set to what the module was built for, e.g.
/// "ngvi 0.1.0, module ABI 1", for the library's message.
using CudaModuleEntry = const CudaModule* (*)(int abi, const char* version, const EngineServices* services,
                                              const char** built_for);

/// The CUDA backend compiled into this binary (the module's objects, linked statically).
const CudaModule& cuda_backend_module();

}  // namespace ngvi::detail
