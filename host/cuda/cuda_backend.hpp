// The CUDA backend as the scheduler sees it (plain C++): whether it can run a fit, and running one.
#pragma once

#include <cstddef>
#include <string>

#include "engine/engine.hpp"

namespace ngvi::detail {

/// Why the CUDA backend cannot run here (no usable device), or empty if it can. Never throws.
std::string cuda_device_unavailable();

/// Why the CUDA backend cannot fit `model` here (no device, a custom model), or empty if it can; a
/// ModelWithPrior is judged by the model it wraps. Never throws.
template <class T>
std::string cuda_unavailable(const Model<T>& model);

/// What run_cuda did on one device.
struct CudaRun {
  std::string description;  ///< the device and how its range was run
  /// Steps taken by the range's longest-running distribution (state.iteration at the start if none ran).
  int iterations = 0;
};

/// Runs distributions [first, first + count) of the fit on CUDA device `device` (made the calling
/// thread's current one), mirroring run_cpu: the same per-distribution results up to rounding, the
/// same statuses, counters, progress calls and final ELBOs. Touches only the range's entries of the
/// batch and the state, except with a progress callback, an ELBO trace or checkpoints, which need
/// the whole batch in one range (then state.iteration is kept up to date). Throws ngvi::Error when a
/// CUDA call fails.
template <class T>
CudaRun run_cuda(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state,
                 std::size_t first, std::size_t count, int device);

/// Runs a planned fit on the GPUs options.devices names (none: the current device; {kAllDevices}: every
/// usable one), the batch cut into contiguous ranges holding equal numbers of running distributions,
/// one per device, each run on a thread of its own; returns a description of the devices. A fit with
/// an ELBO trace or checkpoints, which need the whole batch after every step, is refused on several
/// devices; the progress callback is called only on one.
template <class T>
std::string run_cuda_devices(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state);

/// How the CUDA backend takes a step.
enum class CudaPath {
  Auto,     ///< fused for d <= CudaTuning::fused_max_dimension or the diagonal family, else batched
  Fused,    ///< one warp per distribution, the whole step in one kernel (kernels/cuda/fused_step.cuh, instantiated in kernels/fused_step_*.cu)
  Batched,  ///< cuBLAS / cuSOLVER batched algebra over the active set (full family, IBLR and BLR)
};

/// Knobs of the CUDA backend for tests and tuning (not part of the public API).
struct CudaTuning {
  CudaPath path = CudaPath::Auto;
  int fused_max_dimension = 32;
  /// At most this many distributions per chunk (0: as many as fit in device memory).
  std::size_t max_chunk = 0;
  /// Device memory the backend may use, in bytes (0: what the device has free, less a margin).
  std::size_t memory_budget = 0;
};

/// The tuning used by later fits (process-wide; set it before fitting, from one thread).
CudaTuning& cuda_tuning();

}  // namespace ngvi::detail
