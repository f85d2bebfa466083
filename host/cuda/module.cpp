// The CUDA backend behind the CudaModule interface: what libngvi_cuda.so hands to the library, and
// what a binary that links the backend's objects statically uses (cuda/linked_module.cpp).
#include "cuda/module.hpp"

#include "cuda/cuda_backend.hpp"

namespace ngvi::detail {
namespace {

class CudaBackendModule final : public CudaModule {
 public:
  std::string device_unavailable() const override { return cuda_device_unavailable(); }
  std::string unavailable(const Model<float>& model) const override { return cuda_unavailable(model); }
  std::string unavailable(const Model<double>& model) const override { return cuda_unavailable(model); }
  std::string run(const Model<float>& model, GaussianBatch<float>& batch, const FitPlan& plan,
                  FitState<float>& state) const override {
    return run_cuda_devices(model, batch, plan, state);
  }
  std::string run(const Model<double>& model, GaussianBatch<double>& batch, const FitPlan& plan,
                  FitState<double>& state) const override {
    return run_cuda_devices(model, batch, plan, state);
  }
};

}  // namespace

const CudaModule& cuda_backend_module() {
  static const CudaBackendModule module;
  return module;
}

}  // namespace ngvi::detail
