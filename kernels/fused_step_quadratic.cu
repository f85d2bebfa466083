// The fused step kernels for the quadratic model in float and double (kernels/cuda/fused_step.cuh).
#include "cuda/fused_step.cuh"

namespace ngvi::gpu {
NGVI_GPU_INSTANTIATE_FUSED(float, DeviceQuadratic<float>)
NGVI_GPU_INSTANTIATE_FUSED(double, DeviceQuadratic<double>)
}  // namespace ngvi::gpu
