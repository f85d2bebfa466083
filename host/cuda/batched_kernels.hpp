// The kernels of the batched path (kernels/batched_step.cu): the element-wise and per-distribution
// stages between the cuBLAS and cuSOLVER calls of host/cuda/batched.cpp. They work on a micro-batch
// of K slots of a workspace, slot k holding one distribution of the active set.
//
// Matrices in the workspace keep the row-major layout of kernels/math (element (i, j) of a d x d
// matrix at i * d + j), which cuBLAS, being column-major, reads as the transpose.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cuda/kernels.hpp"

namespace ngvi::gpu {

/// The batched path's workspace: K slots of each array, slot k of an array of per-slot size n at k * n.
template <class T>
struct BatchedWorkspace {
  int d = 0;         ///< dimension
  int samples = 0;   ///< S (at least 1)
  int rows = 0;      ///< rows per slot (the largest problem's, or the minibatch size), at least 1
  int capacity = 0;  ///< K

  T* mu = nullptr;      ///< (K, d) gathered means
  T* L = nullptr;       ///< (K, d, d) gathered precision factors
  T* x = nullptr;       ///< (K, rows, d) gathered rows, zero beyond the slot's rows
  T* y = nullptr;       ///< (K, rows)
  T* eps = nullptr;     ///< (K, S, d)
  T* z = nullptr;       ///< (K, S, d) points
  T* a = nullptr;       ///< (K, S, rows): column-major rows x S, a = x^T z, then d/da of the row terms
  T* v = nullptr;       ///< (K, S, rows): values of the row terms
  T* w = nullptr;       ///< (K, rows): second derivatives (Hessian weights)
  T* xw = nullptr;      ///< (K, rows, d): weighted rows, or L^-1 x_n (column n) for the expectations
  T* grad = nullptr;    ///< (K, S, d) gradients at the points
  T* values = nullptr;  ///< (K, S) f at the points
  T* g = nullptr;       ///< (K, d) expected gradient
  T* H = nullptr;       ///< (K, d, d) expected Hessian
  T* G = nullptr;       ///< (K, d, d) Stein's mean eps grad^T, then E^2 (IBLR)
  T* W = nullptr;       ///< (K, d, d) M of the rule, then chol(M)
  T* L_new = nullptr;   ///< (K, d, d) L^-1 H L^-T (K, or E = K - I), then the candidate factor L chol(M)
  T* Y = nullptr;       ///< (K, d, d) triangular solves of the KL and of the ELBO
  T* solve = nullptr;   ///< (K, d) Lambda_new^-1 g
  T* expected_f = nullptr;  ///< (K)

  std::uint32_t* index = nullptr;  ///< (K) position of the slot's distribution in the chunk
  std::uint32_t* key = nullptr;    ///< (K) step number keying its random numbers
  int* rows_used = nullptr;        ///< (K)
  T* scale = nullptr;              ///< (K) N / M for minibatches, else 1
  T* rho = nullptr;                ///< (K) step size times the distribution's step_scale
  Status* status = nullptr;        ///< (K) Running, or why the step stopped before the rule
  int* info = nullptr;             ///< (K) potrf's
};

/// Which keys and rows a gather takes.
enum class GatherFor {
  Step,       ///< random numbers keyed by the batch's step, minibatch rows for Monte Carlo estimators
  FinalElbo,  ///< keyed by each distribution's step count
};

/// Slots 0 .. count-1 take distributions list[0 .. count-1]: their state, rows and metadata. Their
/// rho: `rho`, or rho_each[position in the chunk] when rho_each is not null (StepArgs::rho_each).
template <class T>
void batched_gather(const BatchedWorkspace<T>& ws, const math::StepPlan& plan, const ChunkState<T>& chunk,
                    const DeviceGlm<T>& model, const std::uint32_t* list, int count, GatherFor purpose,
                    std::uint32_t iteration, T rho, const T* rho_each, cudaStream_t stream);

/// eps of every sample (draw_eps_sample) into ws.eps and ws.z.
template <class T>
void batched_draw(const BatchedWorkspace<T>& ws, const math::StepPlan& plan, const ChunkState<T>& chunk, int count,
                  cudaStream_t stream);

/// z += mu, after z = L^-T eps.
template <class T>
void batched_add_mean(const BatchedWorkspace<T>& ws, int count, cudaStream_t stream);

/// Row terms at every (row, sample) of a: a <- scale * d1, v <- value (when `values`), and
/// w <- hessian_factor * scale * sum_s d2 / S... (see the kernel) when `weights`.
template <class T>
void batched_row_terms(const BatchedWorkspace<T>& ws, const DeviceGlm<T>& model, int count, bool values,
                       bool weights, cudaStream_t stream);

/// Exact row expectations (Quadrature): from m = a[:, 0] and L^-1 x_n = xw column n, a[:, 0] <- E d1,
/// w <- E d2, v[:, 0] <- E value.
template <class T>
void batched_expected_rows(const BatchedWorkspace<T>& ws, const DeviceGlm<T>& model, int count, bool values,
                           cudaStream_t stream);

/// values[s] = scale * sum of v[:, s] + the problem's constant for `columns` columns, then
/// expected_f = their mean, and status NonFiniteValue when one is not finite.
template <class T>
void batched_values(const BatchedWorkspace<T>& ws, const DeviceGlm<T>& model, int count, int columns,
                    cudaStream_t stream);

/// xw = diag(w) x.
template <class T>
void batched_weight_rows(const BatchedWorkspace<T>& ws, int count, cudaStream_t stream);

/// The Monte Carlo estimator's g and H (math::estimate): g = mean gradient; H = sym(H) (Price: the
/// mean Hessian; Stein: L times the mean of eps grad^T).
template <class T>
void batched_estimate(const BatchedWorkspace<T>& ws, int count, cudaStream_t stream);

/// math::add_prior, then math::check_estimates into the slot's status; when `targets` is not null
/// (StepArgs::targets), a slot still running writes its mean, g and H there.
template <class T>
void batched_prior(const BatchedWorkspace<T>& ws, const DevicePrior<T>& prior, T* targets, int count,
                   cudaStream_t stream);

/// Y <- the prior's factor C, read column-major (identity for an isotropic prior), ahead of the
/// solve that gives ||L^-1 C||_F for the ELBO's tr(P Sigma).
template <class T>
void batched_prior_factor(const BatchedWorkspace<T>& ws, const DevicePrior<T>& prior, int count, cudaStream_t stream);

/// math::elbo from expected_f and Y (= C^T L^-T); the step writes it for slots still running, the
/// final pass for every slot, failing with NonFiniteValue a distribution whose ELBO is not finite.
template <class T>
void batched_elbo(const BatchedWorkspace<T>& ws, const DevicePrior<T>& prior, const ChunkState<T>& chunk, int count,
                  GatherFor purpose, cudaStream_t stream);

// The rules in whitened coordinates (kernels/math/rules.cuh): K = L^-1 H L^-T, the new precision
// L M L^T, its factor L chol(M).

/// L_new <- sym(L_new) - shift I, after L_new = L^-1 H L^-T: K (BLR, shift 0) or E = K - I (IBLR).
template <class T>
void batched_whitened(const BatchedWorkspace<T>& ws, T shift, int count, cudaStream_t stream);

/// W <- M: IBLR I + rho E + rho^2 / 2 E^2 (L_new holding E, G holding E^2), BLR (1 - rho) I + rho K
/// (L_new holding K); and solve <- g.
template <class T>
void batched_candidate(const BatchedWorkspace<T>& ws, Rule rule, int count, cudaStream_t stream);

/// Clears the upper triangle of W, leaving chol(M) (potrf wrote the lower one).
template <class T>
void batched_lower_factor(const BatchedWorkspace<T>& ws, int count, cudaStream_t stream);

/// Accepts or rejects each candidate (potrf's info, finite factor and mean), measures its KL from
/// Y = L^T L_new^-T, records the step (math::record_step) and writes accepted states to the chunk.
template <class T>
void batched_accept(const BatchedWorkspace<T>& ws, const ChunkState<T>& chunk, const math::StepPlan& plan, int count,
                    cudaStream_t stream);

}  // namespace ngvi::gpu
