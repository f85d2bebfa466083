// The fused step kernels for the GLMs in float (kernels/cuda/fused_step.cuh).
#include "cuda/fused_step.cuh"

namespace ngvi::gpu {
NGVI_GPU_INSTANTIATE_FUSED(float, DeviceGlm<float>)
}  // namespace ngvi::gpu
