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

/// Runs the fit on the current CUDA device, mirroring run_cpu: the same per-distribution results up
/// to rounding, the same statuses, counters, progress calls and final ELBOs. Returns a description
/// of the device and of how the batch was run. Throws ngvi::Error when a CUDA call fails.
template <class T>
std::string run_cuda(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state);

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
