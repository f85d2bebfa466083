// Fused step kernels: one warp takes one distribution through a whole step (sample, model,
// estimator, prior, rule, KL, bookkeeping; kernels/cuda/fused.cuh) without going back to global
// memory between stages. The warp's area lives in shared memory when it is small enough, else in a
// per-warp slice of global memory.
#include <cuda_runtime.h>

#include "cuda/error.hpp"
#include "cuda/fused.cuh"
#include "cuda/kernels.hpp"
#include "cuda/shared_memory_limit.hpp"
#include "cuda/warp.cuh"

namespace ngvi::gpu {
namespace {

constexpr int kMaxWarpsPerBlock = 4;
/// Per-warp areas larger than this go to global memory: in shared memory they would leave too few
/// warps on a multiprocessor to hide latency.
constexpr std::size_t kMaxSharedAreaBytes = 64 * 1024;

extern __shared__ __align__(16) unsigned char shared_areas[];

/// This warp's area and its rank among all warps of the grid.
template <class T>
__device__ T* warp_area(T* global_areas, std::size_t area_entries, bool shared_area, std::size_t global_warp) {
  const std::size_t warp_in_block = threadIdx.x / kWarpSize;
  return shared_area ? reinterpret_cast<T*>(shared_areas) + warp_in_block * area_entries
                     : global_areas + global_warp * area_entries;
}

template <class T, class Model>
__global__ void __launch_bounds__(kMaxWarpsPerBlock* kWarpSize)
    fused_step_kernel(math::StepPlan p, ChunkState<T> chunk, Model model, DevicePrior<T> prior, StepArgs<T> args,
                      T* global_areas, std::size_t area_entries, bool shared_area) {
  const int lane = threadIdx.x % kWarpSize;
  const std::size_t warps = blockDim.x / kWarpSize;
  const std::size_t global_warp = blockIdx.x * warps + threadIdx.x / kWarpSize;
  const Area<T> a = carve_area(p, warp_area(global_areas, area_entries, shared_area, global_warp));
  for (std::size_t k = global_warp; k < static_cast<std::size_t>(args.count); k += gridDim.x * warps)
    step_one(p, chunk, model, prior, args, args.active[k], a, lane);
}

template <class T, class Model>
__global__ void __launch_bounds__(kMaxWarpsPerBlock* kWarpSize)
    final_elbo_kernel(math::StepPlan p, ChunkState<T> chunk, Model model, DevicePrior<T> prior,
                      const std::uint32_t* list, int count, T* global_areas, std::size_t area_entries,
                      bool shared_area) {
  const int lane = threadIdx.x % kWarpSize;
  const std::size_t warps = blockDim.x / kWarpSize;
  const std::size_t global_warp = blockIdx.x * warps + threadIdx.x / kWarpSize;
  const Area<T> a = carve_area(p, warp_area(global_areas, area_entries, shared_area, global_warp));
  for (std::size_t k = global_warp; k < static_cast<std::size_t>(count); k += gridDim.x * warps)
    final_elbo_one(p, chunk, model, prior, list[k], a, lane);
}

/// Lets `kernel` launch with `bytes` of dynamic shared memory on `device`, for every fit of the process.
void allow_shared_memory(const void* kernel, int device, std::size_t bytes) {
  static SharedMemoryLimits limits;
  limits.raise(kernel, device, bytes, [&](std::size_t allowed) {
    NGVI_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(allowed)));
  });
}

}  // namespace

template <class T, class Model>
FusedConfig fused_config(const math::StepPlan& p, const Model& model, const DeviceInfo& device) {
  FusedConfig config;
  config.area_entries = area_entries<T>(p, model);
  const std::size_t bytes = config.area_entries * sizeof(T);
  config.shared_area = bytes <= kMaxSharedAreaBytes && bytes <= device.shared_memory_per_block;
  int best_warps = 0;
  for (int warps = kMaxWarpsPerBlock; warps >= 1; warps /= 2) {
    const std::size_t shared_bytes = config.shared_area ? warps * bytes : 0;
    if (shared_bytes > device.shared_memory_per_block) continue;
    allow_shared_memory(reinterpret_cast<const void*>(fused_step_kernel<T, Model>), device.id, shared_bytes);
    allow_shared_memory(reinterpret_cast<const void*>(final_elbo_kernel<T, Model>), device.id, shared_bytes);
    int step_blocks = 0, elbo_blocks = 0;
    NGVI_CUDA_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&step_blocks, fused_step_kernel<T, Model>,
                                                                warps * kWarpSize, shared_bytes));
    NGVI_CUDA_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&elbo_blocks, final_elbo_kernel<T, Model>,
                                                                warps * kWarpSize, shared_bytes));
    const int blocks = step_blocks < elbo_blocks ? step_blocks : elbo_blocks;
    if (blocks * warps > best_warps) {  // the most resident warps; ties keep the larger blocks
      best_warps = blocks * warps;
      config.warps_per_block = warps;
      config.max_blocks = blocks * device.multiprocessors;
      config.shared_bytes = shared_bytes;
    }
  }
  if (best_warps == 0)
    throw CudaError("ngvi CUDA backend: the fused step kernel cannot be resident on " + device.description() +
                    " (per-warp area of " + std::to_string(bytes) + " bytes)");
  return config;
}

template <class T, class Model>
void launch_fused_step(const FusedConfig& config, const math::StepPlan& plan, const ChunkState<T>& chunk,
                       const Model& model, const DevicePrior<T>& prior, const StepArgs<T>& args, T* global_areas,
                       cudaStream_t stream) {
  if (args.count == 0) return;
  fused_step_kernel<T, Model><<<static_cast<unsigned>(config.blocks(args.count)), config.warps_per_block * kWarpSize,
                                config.shared_bytes, stream>>>(plan, chunk, model, prior, args, global_areas,
                                                               config.area_entries, config.shared_area);
  NGVI_CUDA_CHECK_LAUNCH("fused_step_kernel");
}

template <class T, class Model>
void launch_final_elbo(const FusedConfig& config, const math::StepPlan& plan, const ChunkState<T>& chunk,
                       const Model& model, const DevicePrior<T>& prior, const std::uint32_t* list, int count,
                       T* global_areas, cudaStream_t stream) {
  if (count == 0) return;
  final_elbo_kernel<T, Model><<<static_cast<unsigned>(config.blocks(count)), config.warps_per_block * kWarpSize,
                                config.shared_bytes, stream>>>(plan, chunk, model, prior, list, count, global_areas,
                                                               config.area_entries, config.shared_area);
  NGVI_CUDA_CHECK_LAUNCH("final_elbo_kernel");
}

#define NGVI_GPU_INSTANTIATE_FUSED(T, Model)                                                                        \
  template FusedConfig fused_config<T, Model>(const math::StepPlan&, const Model&, const DeviceInfo&);             \
  template void launch_fused_step<T, Model>(const FusedConfig&, const math::StepPlan&, const ChunkState<T>&,        \
                                            const Model&, const DevicePrior<T>&, const StepArgs<T>&, T*,           \
                                            cudaStream_t);                                                          \
  template void launch_final_elbo<T, Model>(const FusedConfig&, const math::StepPlan&, const ChunkState<T>&,        \
                                            const Model&, const DevicePrior<T>&, const std::uint32_t*, int, T*,    \
                                            cudaStream_t);
NGVI_GPU_INSTANTIATE_FUSED(float, DeviceGlm<float>)
NGVI_GPU_INSTANTIATE_FUSED(double, DeviceGlm<double>)
NGVI_GPU_INSTANTIATE_FUSED(float, DeviceQuadratic<float>)
NGVI_GPU_INSTANTIATE_FUSED(double, DeviceQuadratic<double>)
#undef NGVI_GPU_INSTANTIATE_FUSED

}  // namespace ngvi::gpu
