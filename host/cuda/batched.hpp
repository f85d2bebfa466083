// The batched path of the CUDA backend, for larger d: a step of the active set as batched cuBLAS and
// cuSOLVER calls (GEMM, TRSM, potrf, potrs) over micro-batches of distributions, with small kernels
// in between (host/cuda/batched_kernels.hpp). GLMs, full covariance, IBLR and BLR.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cusolverDn.h>

#include <cstddef>
#include <cstdint>

#include "cuda/batched_kernels.hpp"
#include "cuda/kernels.hpp"
#include "cuda/memory.hpp"

namespace ngvi::gpu {

/// True when the batched path runs a fit with this plan (a GLM, full family, IBLR or BLR, the Price,
/// Stein or Quadrature estimator).
bool batched_supports(const math::StepPlan& plan, bool glm);
/// What the batched path runs, for error messages.
const char* batched_limits();

/// Rows of data a workspace slot holds: the largest problem's, or the minibatch size.
std::size_t batched_slot_rows(const math::StepPlan& plan, std::size_t max_rows, std::size_t minibatch_rows);

template <class T>
class BatchedStepper {
 public:
  /// Workspace for min(capacity, what fits in `budget` bytes, at least one) distributions at a time.
  BatchedStepper(const math::StepPlan& plan, std::size_t slot_rows, std::size_t budget, std::size_t capacity,
                 cudaStream_t stream);
  ~BatchedStepper();
  BatchedStepper(const BatchedStepper&) = delete;
  BatchedStepper& operator=(const BatchedStepper&) = delete;

  /// Device bytes the constructor allocates.
  static std::size_t workspace_bytes(const math::StepPlan& plan, std::size_t slot_rows, std::size_t budget,
                                     std::size_t capacity);

  void step(const ChunkState<T>& chunk, const DeviceGlm<T>& model, const DevicePrior<T>& prior,
            const StepArgs<T>& args, cudaStream_t stream);
  /// The exact final ELBOs of a quadrature fit (a Monte Carlo fit's final phase runs on the host).
  void final_elbo(const ChunkState<T>& chunk, const DeviceGlm<T>& model, const DevicePrior<T>& prior,
                  const std::uint32_t* list, int count, cudaStream_t stream);

 private:
  // z = mu + L^-T eps for every sample of slots 0 .. n-1 (already gathered), and a = X z.
  void sample(const ChunkState<T>& chunk, int n, cudaStream_t stream);
  // The rows' exact expectations (Quadrature): a[:, 0] = E d1, w = E d2, and the values when wanted.
  void expect_rows(const DeviceGlm<T>& model, bool values, int n, cudaStream_t stream);
  // g and H of slots 0 .. n-1 by the plan's estimator (values too when wanted).
  void estimate(const ChunkState<T>& chunk, const DeviceGlm<T>& model, bool values, int n, cudaStream_t stream);
  // ws_.Y <- C^T L^-T and the ELBO of each slot.
  void elbo(const ChunkState<T>& chunk, const DevicePrior<T>& prior, GatherFor purpose, int n, cudaStream_t stream);
  void rule(const ChunkState<T>& chunk, int n, cudaStream_t stream);

  math::StepPlan plan_;
  int slots_;
  cublasHandle_t blas_ = nullptr;
  cusolverDnHandle_t solver_ = nullptr;
  DeviceBuffer<T> arena_;
  DeviceBuffer<std::uint32_t> indices_;
  DeviceBuffer<int> ints_;
  DeviceBuffer<Status> status_;
  DeviceBuffer<T*> pointers_;
  BatchedWorkspace<T> ws_;
  // Per-slot pointers for the pointer-array APIs (trsmBatched, potrfBatched, potrsBatched).
  T** L_ = nullptr;
  T** z_ = nullptr;
  T** xw_ = nullptr;
  T** W_ = nullptr;
  T** L_new_ = nullptr;
  T** Y_ = nullptr;
  T** solve_ = nullptr;
  int* potrs_info_ = nullptr;
};

}  // namespace ngvi::gpu
