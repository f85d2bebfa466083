// The device side of the CUDA backend as the host sees it: plain structs of device pointers that
// describe a chunk of distributions, its model and its prior, and the launch wrappers of
// kernels/*.cu. Every wrapper takes a stream and checks its launch. Compiled by g++ and nvcc alike.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cuda/device.hpp"
#include "math/prior.cuh"
#include "math/step.cuh"
#include "ngvi/models.hpp"
#include "ngvi/status.hpp"

namespace ngvi::gpu {

/// The distributions of one chunk on the device, indexed by their position in the chunk, with the
/// bookkeeping of FitState (same meanings).
template <class T>
struct ChunkState {
  T* mean = nullptr;    ///< (C, d)
  T* factor = nullptr;  ///< (C, m): L (d x d) or l (d)
  Status* status = nullptr;
  int* steps = nullptr;
  int* streak = nullptr;
  T* step_scale = nullptr;
  int* rejected = nullptr;
  double* elbo = nullptr;
  double* last_kl = nullptr;
  T* rule_state = nullptr;  ///< (C, rule_state_size): Adam's moments
  int rule_state_size = 0;  ///< math::rule_state_size
  std::uint32_t first = 0;  ///< batch index of the chunk's first distribution: the random numbers' key

  /// Distribution i's entries, for math::take_step and math::record_step.
  NGVI_HD math::StepRecord<T> record(std::uint32_t i) const {
    return {status + i, steps + i, streak + i, step_scale + i, rejected + i, last_kl + i,
            rule_state + static_cast<std::size_t>(i) * rule_state_size};
  }
};

/// A Prior<T> on the device for the problems of one chunk: each part is either shared (stride 0) or
/// one per problem (stride = its size).
template <class T>
struct DevicePrior {
  math::PriorKind kind = math::PriorKind::None;
  const T* precision = nullptr;
  std::size_t precision_stride = 0;
  const T* factor = nullptr;
  std::size_t factor_stride = 0;
  const T* mean = nullptr;  ///< nullptr for a zero mean
  std::size_t mean_stride = 0;
  const T* log_det = nullptr;  ///< one per problem of the chunk

  NGVI_HD math::PriorTerms<T> terms(std::uint32_t i) const {
    math::PriorTerms<T> t;
    t.kind = kind;
    if (kind == math::PriorKind::None) return t;
    t.precision = precision + i * precision_stride;
    t.factor = factor ? factor + i * factor_stride : nullptr;
    t.mean = mean ? mean + i * mean_stride : nullptr;
    t.log_det_precision = log_det[i];
    return t;
  }
};

/// A GeneralizedLinearModel's rows for the problems of one chunk (row indices relative to the chunk).
template <class T>
struct DeviceGlm {
  Likelihood likelihood = Likelihood::Logistic;
  T inv_variance = T(1);  ///< Linear: 1 / noise_sd^2
  int d = 0;
  const T* x = nullptr;                  ///< (rows, d)
  const T* y = nullptr;                  ///< (rows)
  const std::int64_t* offsets = nullptr;  ///< ragged: (C + 1), starting at 0; nullptr when dense
  std::size_t rows_per_problem = 0;      ///< dense
  const T* constants = nullptr;          ///< (C): GeneralizedLinearModel::value_constant
  std::size_t minibatch_rows = 0;        ///< Options::minibatch_rows

  NGVI_HD std::size_t begin(std::uint32_t i) const {
    return offsets ? static_cast<std::size_t>(offsets[i]) : i * rows_per_problem;
  }
  NGVI_HD std::size_t rows(std::uint32_t i) const {
    return offsets ? static_cast<std::size_t>(offsets[i + 1] - offsets[i]) : rows_per_problem;
  }
};

/// A QuadraticModel's centers and curvatures for the problems of one chunk.
template <class T>
struct DeviceQuadratic {
  int d = 0;
  const T* centers = nullptr;     ///< (C, d)
  const T* curvatures = nullptr;  ///< (C, d, d), or one (d, d) when shared
  bool shared = false;

  NGVI_HD const T* curvature(std::uint32_t i) const {
    return shared ? curvatures : curvatures + static_cast<std::size_t>(i) * d * d;
  }
};

/// What one step of the active distributions needs besides the chunk.
template <class T>
struct StepArgs {
  const std::uint32_t* active = nullptr;  ///< positions in the chunk of the running distributions
  int count = 0;
  std::uint32_t iteration = 0;  ///< the batch's step number: keys the random numbers
  T rho = T(0);                 ///< step size of the schedule (times each distribution's step_scale)
  bool want_values = false;     ///< evaluate f at the samples (Score, or Options::trace_elbo)
  /// Set when the host runs the convergence monitor (Monte Carlo fits), else null: per position in
  /// the chunk, the distribution's own rho (ConvergenceMonitor::step_size; replaces `rho`), and
  /// where the step writes what ConvergenceMonitor::add_targets takes (monitor_targets_stride entries).
  const T* rho_each = nullptr;
  T* targets = nullptr;

  NGVI_HD T rho_of(std::uint32_t i) const { return rho_each ? rho_each[i] : rho; }
};

/// Entries of StepArgs::targets per distribution: the mean before the step (d), then the step's
/// estimates g (d) and H (math::factor_size), prior included, as Stepper::accept hands them to the
/// monitor.
NGVI_HD std::size_t monitor_targets_stride(const math::StepPlan& p) {
  return 2 * static_cast<std::size_t>(p.d) + static_cast<std::size_t>(math::factor_size(p));
}

// ---------------------------------------------------------------- fused kernels (kernels/cuda/fused_step.cuh, instantiated in kernels/fused_step_*.cu)
// One warp per distribution: sampling, the model, the estimator, the prior, the rule, the KL and the
// bookkeeping of a step in one kernel, the distribution's state and workspace in shared memory (or,
// when they do not fit, in a per-warp area of global memory).

struct FusedConfig {
  int warps_per_block = 1;
  int max_blocks = 1;              ///< blocks resident on the whole device at once
  std::size_t area_entries = 0;    ///< entries of T per warp: state, step workspace, model scratch
  bool shared_area = true;         ///< areas in shared memory, else in global memory
  std::size_t shared_bytes = 0;    ///< dynamic shared memory per block

  /// Blocks a launch for `count` distributions takes: a warp each, at most what is resident at once
  /// (the kernels loop over the rest).
  std::size_t blocks(std::size_t count) const {
    const std::size_t wanted = (count + warps_per_block - 1) / warps_per_block;
    return wanted < static_cast<std::size_t>(max_blocks) ? wanted : static_cast<std::size_t>(max_blocks);
  }

  /// Per-warp areas to allocate in global memory for launches of up to `capacity` distributions: one
  /// per warp those launches start (0 when the areas live in shared memory).
  std::size_t global_areas(std::size_t capacity) const {
    return shared_area ? 0 : blocks(capacity) * static_cast<std::size_t>(warps_per_block);
  }
};

template <class T, class Model>
FusedConfig fused_config(const math::StepPlan& plan, const Model& model, const DeviceInfo& device);

/// One step of every distribution in args.active.
template <class T, class Model>
void launch_fused_step(const FusedConfig& config, const math::StepPlan& plan, const ChunkState<T>& chunk,
                       const Model& model, const DevicePrior<T>& prior, const StepArgs<T>& args, T* global_areas,
                       cudaStream_t stream);

/// The exact final ELBO of every distribution in `list` of a quadrature fit (a Monte Carlo fit's
/// final phase runs on the host); a non-finite one fails a distribution that had not failed
/// (NonFiniteValue).
template <class T, class Model>
void launch_final_elbo(const FusedConfig& config, const math::StepPlan& plan, const ChunkState<T>& chunk,
                       const Model& model, const DevicePrior<T>& prior, const std::uint32_t* list, int count,
                       T* global_areas, cudaStream_t stream);

#define NGVI_GPU_DECLARE_FUSED(T, Model)                                                                    \
  extern template FusedConfig fused_config<T, Model>(const math::StepPlan&, const Model&, const DeviceInfo&); \
  extern template void launch_fused_step<T, Model>(const FusedConfig&, const math::StepPlan&,                \
                                                   const ChunkState<T>&, const Model&, const DevicePrior<T>&, \
                                                   const StepArgs<T>&, T*, cudaStream_t);                    \
  extern template void launch_final_elbo<T, Model>(const FusedConfig&, const math::StepPlan&,                \
                                                   const ChunkState<T>&, const Model&, const DevicePrior<T>&, \
                                                   const std::uint32_t*, int, T*, cudaStream_t);
NGVI_GPU_DECLARE_FUSED(float, DeviceGlm<float>)
NGVI_GPU_DECLARE_FUSED(double, DeviceGlm<double>)
NGVI_GPU_DECLARE_FUSED(float, DeviceQuadratic<float>)
NGVI_GPU_DECLARE_FUSED(double, DeviceQuadratic<double>)
#undef NGVI_GPU_DECLARE_FUSED

// ---------------------------------------------------------------- active sets (kernels/active_set.cu)

/// Which distributions a selection keeps.
enum class Selection {
  Running,    ///< status Running: the active set of the next step
  FinalElbo,  ///< every status but InvalidData, InvalidState and ModelError: those get a final ELBO
};

/// Scratch bytes select() needs for up to `capacity` candidates.
std::size_t selection_scratch_bytes(int capacity);

/// Writes to `out`, in increasing order, the candidates (or, when candidates is null, the positions
/// 0 .. n-1) that `selection` keeps, and their number to *count (device memory).
void select(Selection selection, const Status* status, const std::uint32_t* candidates, int n, std::uint32_t* out,
            int* count, void* scratch, std::size_t scratch_bytes, cudaStream_t stream);

}  // namespace ngvi::gpu
