// Fused step kernels: one warp takes one distribution through a whole step (sample, model,
// estimator, prior, rule, KL, bookkeeping) without going back to global memory between stages.
//
// The warp's area (state, the step workspace of kernels/math/step.cuh and the model's scratch) lives
// in shared memory when it is small enough, else in a per-warp slice of global memory. The lanes
// share the work whose size grows with the samples or the rows (sampling, the model); the
// per-distribution stages of step.cuh run on lane 0, on the same functions the CPU backend calls,
// so that both backends take the same decisions for every distribution.
#include <cuda_runtime.h>

#include "cuda/error.hpp"
#include "cuda/kernels.hpp"
#include "cuda/models.cuh"
#include "cuda/warp.cuh"
#include "math/bookkeeping.cuh"
#include "math/step.cuh"

namespace ngvi::gpu {
namespace {

constexpr int kMaxWarpsPerBlock = 4;
/// Per-warp areas larger than this go to global memory: in shared memory they would leave too few
/// warps on a multiprocessor to hide latency.
constexpr std::size_t kMaxSharedAreaBytes = 64 * 1024;

extern __shared__ __align__(16) unsigned char shared_areas[];

/// A warp's area: its distribution's state, the step workspace, a padded vector per lane and the
/// model's scratch.
template <class T>
struct Area {
  T* mu;      // (d)
  T* factor;  // (m)
  math::StepWorkspace<T> w;
  T* lanes;    // (32, odd_stride(d)): one vector per lane, rows in distinct banks
  T* scratch;  // the model's
};

template <class T, class Model>
NGVI_HD std::size_t area_entries(const math::StepPlan& p, const Model& model) {
  return aligned_entries(p.d) + aligned_entries(math::factor_size(p)) + aligned_entries(math::workspace_size(p)) +
         aligned_entries(static_cast<std::size_t>(kWarpSize) * odd_stride(p.d)) + model_scratch_entries(model, p);
}

template <class T>
__device__ Area<T> carve_area(const math::StepPlan& p, T* base) {
  Area<T> a;
  a.mu = base;
  a.factor = a.mu + aligned_entries(p.d);
  T* block = a.factor + aligned_entries(math::factor_size(p));
  a.w = math::carve_workspace(p, block);
  a.lanes = block + aligned_entries(math::workspace_size(p));
  a.scratch = a.lanes + aligned_entries(static_cast<std::size_t>(kWarpSize) * odd_stride(p.d));
  return a;
}

/// This warp's area and its rank among all warps of the grid.
template <class T>
__device__ T* warp_area(T* global_areas, std::size_t area_entries, bool shared_area, std::size_t global_warp) {
  const std::size_t warp_in_block = threadIdx.x / kWarpSize;
  return shared_area ? reinterpret_cast<T*>(shared_areas) + warp_in_block * area_entries
                     : global_areas + global_warp * area_entries;
}

template <class T>
__device__ void load_state(const math::StepPlan& p, const ChunkState<T>& chunk, std::uint32_t i, const Area<T>& a,
                           int lane) {
  const int d = p.d, m = math::factor_size(p);
  for (int k = lane; k < d; k += kWarpSize) a.mu[k] = chunk.mean[static_cast<std::size_t>(i) * d + k];
  for (int k = lane; k < m; k += kWarpSize) a.factor[k] = chunk.factor[static_cast<std::size_t>(i) * m + k];
  __syncwarp();
}

/// eps and z for every sample (lane s draws sample s), then the model at the z.
template <class T, class Model>
__device__ void sample_and_evaluate(const math::StepPlan& p, const Model& model, std::uint32_t i, std::uint32_t b,
                                    std::uint32_t step, const Area<T>& a, bool values, bool gradients, bool hessians,
                                    int lane) {
  const int d = p.d;
  T* z = a.lanes + lane * odd_stride(d);  // the triangular solve runs in a conflict-free row
  for (int s = lane; s < p.samples; s += kWarpSize) {
    T* e = a.w.eps + s * d;
    math::draw_eps_sample(p, b, step, s, e);
    math::draw_point(p, a.mu, a.factor, e, z);
    for (int k = 0; k < d; ++k) a.w.points[s * d + k] = z[k];
  }
  __syncwarp();
  const WarpEvaluation<T> out{values ? a.w.values : nullptr, gradients ? a.w.gradients : nullptr,
                              hessians ? a.w.hessian_mean : nullptr};
  model_evaluate(model, p, i, b, step, a.w.points, out, a.scratch, lane);
}

/// One step of distribution i of the chunk: CpuStepper::step, stage by stage.
template <class T, class Model>
__device__ void step_one(const math::StepPlan& p, const ChunkState<T>& chunk, const Model& model,
                         const DevicePrior<T>& prior, const StepArgs<T>& args, std::uint32_t i, const Area<T>& a,
                         int lane) {
  const std::uint32_t b = chunk.first + i;
  load_state(p, chunk, i, a, lane);
  Status status = Status::Running;  // lane 0's
  T expected_f = T(0);              // lane 0's
  if (p.estimator == Estimator::Quadrature) {
    const WarpExpectations<T> out{args.want_values ? &expected_f : nullptr, a.w.g, a.w.H};
    model_expectations(model, p, i, a.mu, a.factor, out, a.scratch, lane);
    if (args.want_values && !math::is_finite(expected_f)) status = Status::NonFiniteValue;
  } else {
    sample_and_evaluate(p, model, i, b, args.iteration, a, args.want_values, math::needs_gradients(p),
                        math::needs_hessians(p), lane);
    if (lane == 0) {
      if (args.want_values) {
        if (math::all_finite(a.w.values, p.samples)) {
          expected_f = math::mean_value(a.w.values, p.samples);
        } else {
          status = Status::NonFiniteValue;
        }
      }
      if (status == Status::Running) math::estimate(p, a.factor, a.w);
    }
  }
  int accepted = 0;
  if (lane == 0) {
    if (status == Status::Running) {
      const math::PriorTerms<T> terms = prior.terms(i);
      if (args.want_values) chunk.elbo[i] = math::elbo(p, terms, a.mu, a.factor, expected_f, a.w.work);
      math::add_prior(terms, a.mu, a.w.g, a.w.H, p.diagonal, p.d);
      status = math::check_estimates(p, a.w);
      if (status == Status::Running) {
        accepted = math::apply_rule(p, a.mu, a.factor, args.rho * chunk.step_scale[i], a.w);
        const T kl = accepted ? math::step_kl(p, a.mu, a.factor, a.w) : T(0);
        status = math::record_step(args.stop, accepted != 0, kl, chunk.counters(i));
      }
    }
    chunk.status[i] = status;
  }
  if (from_lane(accepted)) {
    __syncwarp();
    const int d = p.d, m = math::factor_size(p);
    for (int k = lane; k < d; k += kWarpSize) chunk.mean[static_cast<std::size_t>(i) * d + k] = a.w.mu_new[k];
    for (int k = lane; k < m; k += kWarpSize) chunk.factor[static_cast<std::size_t>(i) * m + k] = a.w.factor_new[k];
  }
  __syncwarp();
}

/// The final ELBO of distribution i: CpuStepper::final_elbo.
template <class T, class Model>
__device__ void final_elbo_one(const math::StepPlan& p, const ChunkState<T>& chunk, const Model& model,
                               const DevicePrior<T>& prior, std::uint32_t i, const Area<T>& a, int lane) {
  const std::uint32_t b = chunk.first + i;
  load_state(p, chunk, i, a, lane);
  T expected_f = T(0);  // lane 0's
  if (p.estimator == Estimator::Quadrature) {
    const WarpExpectations<T> out{&expected_f, a.w.g, a.w.H};
    model_expectations(model, p, i, a.mu, a.factor, out, a.scratch, lane);
  } else {
    const std::uint32_t step = static_cast<std::uint32_t>(chunk.steps[i]);
    sample_and_evaluate(p, model, i, b, step, a, true, false, false, lane);
    if (lane == 0) expected_f = math::mean_value(a.w.values, p.samples);
  }
  if (lane == 0) {
    const double elbo = math::elbo(p, prior.terms(i), a.mu, a.factor, expected_f, a.w.work);
    chunk.elbo[i] = elbo;
    if (!math::is_finite(elbo) && !is_failure(chunk.status[i])) chunk.status[i] = Status::NonFiniteValue;
  }
  __syncwarp();
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

/// Blocks for `count` distributions: one warp each, at most what is resident at once (the kernels
/// loop over the rest), and never more than there are global areas.
int blocks_for(const FusedConfig& config, int count) {
  const int wanted = (count + config.warps_per_block - 1) / config.warps_per_block;
  return wanted < config.max_blocks ? wanted : config.max_blocks;
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
    NGVI_CUDA_TRY(cudaFuncSetAttribute(fused_step_kernel<T, Model>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(shared_bytes)));
    NGVI_CUDA_TRY(cudaFuncSetAttribute(final_elbo_kernel<T, Model>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(shared_bytes)));
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
  // Leave the attribute at the chosen size (the last loop pass may have set a smaller one).
  NGVI_CUDA_TRY(cudaFuncSetAttribute(fused_step_kernel<T, Model>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                     static_cast<int>(config.shared_bytes)));
  NGVI_CUDA_TRY(cudaFuncSetAttribute(final_elbo_kernel<T, Model>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                     static_cast<int>(config.shared_bytes)));
  return config;
}

template <class T, class Model>
void launch_fused_step(const FusedConfig& config, const math::StepPlan& plan, const ChunkState<T>& chunk,
                       const Model& model, const DevicePrior<T>& prior, const StepArgs<T>& args, T* global_areas,
                       cudaStream_t stream) {
  if (args.count == 0) return;
  fused_step_kernel<T, Model><<<blocks_for(config, args.count), config.warps_per_block * kWarpSize,
                                config.shared_bytes, stream>>>(plan, chunk, model, prior, args, global_areas,
                                                               config.area_entries, config.shared_area);
  NGVI_CUDA_CHECK_LAUNCH("fused_step_kernel");
}

template <class T, class Model>
void launch_final_elbo(const FusedConfig& config, const math::StepPlan& plan, const ChunkState<T>& chunk,
                       const Model& model, const DevicePrior<T>& prior, const std::uint32_t* list, int count,
                       T* global_areas, cudaStream_t stream) {
  if (count == 0) return;
  final_elbo_kernel<T, Model><<<blocks_for(config, count), config.warps_per_block * kWarpSize, config.shared_bytes,
                                stream>>>(plan, chunk, model, prior, list, count, global_areas, config.area_entries,
                                          config.shared_area);
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
