// The fused step kernels for the GLMs in double (kernels/cuda/fused_step.cuh).
#include "cuda/fused_step.cuh"

namespace ngvi::gpu {
NGVI_GPU_INSTANTIATE_FUSED(double, DeviceGlm<double>)
}  // namespace ngvi::gpu
