// Kernels of the batched path (host/cuda/batched.cpp): gathers into the workspace, row terms,
// reductions and the per-distribution stages between the cuBLAS and cuSOLVER calls. Per-slot stages
// take one block per slot; element-wise ones a grid-stride loop. Where a stage is a function of
// kernels/math of size O(d) (draw_eps_sample, mean_value, entropy, record_step) it is called as is.
#include <cuda_runtime.h>

#include "cuda/batched_kernels.hpp"
#include "cuda/error.hpp"
#include "cuda/models.cuh"
#include "cuda/warp.cuh"
#include "math/estimators.cuh"
#include "math/gaussian.cuh"
#include "math/minibatch.cuh"
#include "math/step.cuh"

namespace ngvi::gpu {
namespace {

constexpr int kBlock = 256;
constexpr int kWarpsPerBlock = kBlock / kWarpSize;

int grid_for(std::size_t work) {
  const std::size_t blocks = (work + kBlock - 1) / kBlock;
  return static_cast<int>(blocks < 65535 * 16 ? (blocks > 0 ? blocks : 1) : 65535 * 16);
}

/// Sum of x over the block (every thread gets it, added in the same order on all).
template <class T>
__device__ T block_sum(T x) {
  __shared__ T partial[kWarpsPerBlock];
  x = warp_sum(x);
  __syncthreads();  // earlier readers of `partial` are done
  if (threadIdx.x % kWarpSize == 0) partial[threadIdx.x / kWarpSize] = x;
  __syncthreads();
  T total = T(0);
  for (int k = 0; k < kWarpsPerBlock; ++k) total += partial[k];
  return total;
}

template <class T>
__device__ std::size_t slot_offset(int k, std::size_t per_slot) {
  return static_cast<std::size_t>(k) * per_slot;
}

// ---------------------------------------------------------------- gather

template <class T>
__global__ void __launch_bounds__(kBlock)
    gather_kernel(BatchedWorkspace<T> ws, math::StepPlan p, ChunkState<T> chunk, DeviceGlm<T> model,
                  const std::uint32_t* list, GatherFor purpose, std::uint32_t iteration, T rho, const T* rho_each) {
  const int k = blockIdx.x;
  const std::uint32_t i = list[k];
  const int d = ws.d, rows = ws.rows;
  const std::size_t dd = static_cast<std::size_t>(d) * d;
  const std::size_t N = model.rows(i);
  const bool minibatch = p.estimator != Estimator::Quadrature && math::uses_minibatch(model.minibatch_rows, N);
  const int used = static_cast<int>(minibatch ? model.minibatch_rows : N);
  const std::uint32_t key = purpose == GatherFor::Step ? iteration : static_cast<std::uint32_t>(chunk.steps[i]);
  if (threadIdx.x == 0) {
    ws.index[k] = i;
    ws.key[k] = key;
    ws.rows_used[k] = used;
    ws.scale[k] = minibatch ? T(N) / T(model.minibatch_rows) : T(1);
    ws.rho[k] = (rho_each ? rho_each[i] : rho) * chunk.step_scale[i];
    ws.status[k] = Status::Running;
  }
  for (int e = threadIdx.x; e < d; e += kBlock) ws.mu[slot_offset<T>(k, d) + e] = chunk.mean[std::size_t(i) * d + e];
  // Only the lower triangle is the factor: the upper one is zero here whatever the state holds.
  for (std::size_t e = threadIdx.x; e < dd; e += kBlock) {
    const std::size_t r = e / d, c = e - r * d;
    ws.L[k * dd + e] = c <= r ? chunk.factor[i * dd + e] : T(0);
  }
  // Warp per row, lanes over its entries; rows past the slot's are zero (they then add nothing).
  const T* x = model.x + model.begin(i) * d;
  const T* y = model.y + model.begin(i);
  const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
  for (int n = warp; n < rows; n += kWarpsPerBlock) {
    std::size_t row = 0;
    if (n < used && lane == 0)
      row = minibatch ? math::minibatch_row<T>(p.seed, p.first_problem + chunk.first + i, key,
                                               static_cast<std::uint32_t>(n), N)
                      : static_cast<std::size_t>(n);
    row = __shfl_sync(kFullMask, row, 0);
    T* to = ws.x + slot_offset<T>(k, std::size_t(rows) * d) + std::size_t(n) * d;
    for (int c = lane; c < d; c += kWarpSize) to[c] = n < used ? x[row * d + c] : T(0);
    if (lane == 0) ws.y[slot_offset<T>(k, rows) + n] = n < used ? y[row] : T(0);
  }
}

// ---------------------------------------------------------------- samples

template <class T>
__global__ void __launch_bounds__(kBlock) draw_kernel(BatchedWorkspace<T> ws, math::StepPlan p, std::uint32_t first,
                                                      int count) {
  const int S = ws.samples, d = ws.d;
  for (std::size_t t = blockIdx.x * std::size_t(kBlock) + threadIdx.x; t < std::size_t(count) * S;
       t += std::size_t(gridDim.x) * kBlock) {
    const int k = static_cast<int>(t / S), s = static_cast<int>(t - std::size_t(k) * S);
    T* e = ws.eps + t * d;
    math::draw_eps_sample(p, first + ws.index[k], ws.key[k], s, e);
    T* z = ws.z + t * d;
    for (int c = 0; c < d; ++c) z[c] = e[c];
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock) add_mean_kernel(BatchedWorkspace<T> ws, int count) {
  const std::size_t per_slot = std::size_t(ws.samples) * ws.d;
  for (std::size_t t = blockIdx.x * std::size_t(kBlock) + threadIdx.x; t < std::size_t(count) * per_slot;
       t += std::size_t(gridDim.x) * kBlock) {
    const std::size_t k = t / per_slot;
    ws.z[t] += ws.mu[k * ws.d + (t - k * per_slot) % ws.d];
  }
}

// ---------------------------------------------------------------- row terms

template <bool kValue, class T, class Rows>
__device__ void row_terms_at(const BatchedWorkspace<T>& ws, const Rows& rows, int count, bool weights) {
  const int S = ws.samples, R = ws.rows;
  for (std::size_t t = blockIdx.x * std::size_t(kBlock) + threadIdx.x; t < std::size_t(count) * R;
       t += std::size_t(gridDim.x) * kBlock) {
    const int k = static_cast<int>(t / R), n = static_cast<int>(t - std::size_t(k) * R);
    const bool used = n < ws.rows_used[k];
    const T scale = ws.scale[k], y = ws.y[t];
    T weight = T(0);
    for (int s = 0; s < S; ++s) {
      const std::size_t at = std::size_t(k) * S * R + std::size_t(s) * R + n;
      math::RowTerms<T> terms{T(0), T(0), T(0)};
      if (used) terms = rows.template at<kValue>(ws.a[at], y);
      ws.a[at] = scale * terms.d1;
      if (kValue) ws.v[at] = terms.value;
      weight += terms.d2;
    }
    // The mean Hessian of GeneralizedLinearModel::evaluate: scale / S times X^T diag(sum_s d2) X.
    if (weights) ws.w[t] = weight * (scale / T(S));
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock) row_terms_kernel(BatchedWorkspace<T> ws, DeviceGlm<T> model, int count,
                                                           bool values, bool weights) {
  visit_rows(model, [&](const auto& rows) {
    if (values) {
      row_terms_at<true>(ws, rows, count, weights);
    } else {
      row_terms_at<false>(ws, rows, count, weights);
    }
  });
}

template <bool kValue, class T, class Rows>
__device__ void expected_rows_at(const BatchedWorkspace<T>& ws, const Rows& rows, int count) {
  const int S = ws.samples, R = ws.rows, d = ws.d;
  for (std::size_t t = blockIdx.x * std::size_t(kBlock) + threadIdx.x; t < std::size_t(count) * R;
       t += std::size_t(gridDim.x) * kBlock) {
    const int k = static_cast<int>(t / R), n = static_cast<int>(t - std::size_t(k) * R);
    const std::size_t at = std::size_t(k) * S * R + n;  // column 0 of the slot's a and v
    math::RowTerms<T> e{T(0), T(0), T(0)};
    if (n < ws.rows_used[k]) {
      const T* solved = ws.xw + t * d;  // L^-1 x_n: column n of the slot's d x rows block
      e = rows.template expected<kValue>(ws.a[at], math::dot(solved, solved, d), ws.y[t]);
    }
    ws.a[at] = e.d1;
    ws.w[t] = e.d2;
    if (kValue) ws.v[at] = e.value;
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock) expected_rows_kernel(BatchedWorkspace<T> ws, DeviceGlm<T> model, int count,
                                                               bool values) {
  visit_rows(model, [&](const auto& rows) {
    if (values) {
      expected_rows_at<true>(ws, rows, count);
    } else {
      expected_rows_at<false>(ws, rows, count);
    }
  });
}

// Warp per slot: values of `columns` samples, then their mean.
template <class T>
__global__ void __launch_bounds__(kBlock) values_kernel(BatchedWorkspace<T> ws, DeviceGlm<T> model, int count,
                                                        int columns) {
  const int k = blockIdx.x * kWarpsPerBlock + threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
  if (k >= count) return;
  const int S = ws.samples, R = ws.rows;
  const T* v = ws.v + std::size_t(k) * S * R;
  T* values = ws.values + std::size_t(k) * S;
  for (int s = 0; s < columns; ++s) {
    T sum = T(0);
    for (int n = lane; n < R; n += kWarpSize) sum += v[std::size_t(s) * R + n];
    sum = warp_sum(sum);
    if (lane == 0) values[s] = ws.scale[k] * sum + model.constants[ws.index[k]];
  }
  if (lane == 0) {
    ws.expected_f[k] = math::mean_value(values, columns);
    if (!math::all_finite(values, columns)) ws.status[k] = Status::NonFiniteValue;
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock) weight_rows_kernel(BatchedWorkspace<T> ws, int count) {
  const std::size_t d = ws.d;
  for (std::size_t t = blockIdx.x * std::size_t(kBlock) + threadIdx.x; t < std::size_t(count) * ws.rows * d;
       t += std::size_t(gridDim.x) * kBlock)
    ws.xw[t] = ws.w[t / d] * ws.x[t];
}

// ---------------------------------------------------------------- estimator and prior (block per slot)

template <class T>
__global__ void __launch_bounds__(kBlock) estimate_kernel(BatchedWorkspace<T> ws) {
  const int k = blockIdx.x, d = ws.d, S = ws.samples;
  const std::size_t dd = std::size_t(d) * d;
  const T* grad = ws.grad + std::size_t(k) * S * d;
  // math::mean_gradient, entry by entry in the same order.
  for (int i = threadIdx.x; i < d; i += kBlock) {
    T sum = T(0);
    for (int s = 0; s < S; ++s) sum += grad[s * d + i];
    ws.g[std::size_t(k) * d + i] = sum * (T(1) / T(S));
  }
  // H = sym(H): each unordered pair by one thread.
  T* H = ws.H + k * dd;
  for (std::size_t e = threadIdx.x; e < dd; e += kBlock) {
    const std::size_t r = e / d, c = e - r * d;
    if (c < r) {
      const T h = T(0.5) * (H[r * d + c] + H[c * d + r]);
      H[r * d + c] = h;
      H[c * d + r] = h;
    }
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock) prior_kernel(BatchedWorkspace<T> ws, DevicePrior<T> prior, T* targets) {
  const int k = blockIdx.x, d = ws.d;
  const std::size_t dd = std::size_t(d) * d;
  const math::PriorTerms<T> p = prior.terms(ws.index[k]);
  const T* mu = ws.mu + std::size_t(k) * d;
  T* g = ws.g + std::size_t(k) * d;
  T* H = ws.H + k * dd;
  // math::add_prior, entry by entry.
  if (p.kind == math::PriorKind::Isotropic) {
    const T delta = p.precision[0];
    for (int i = threadIdx.x; i < d; i += kBlock) {
      g[i] += delta * math::prior_offset(p, mu, i);
      H[i * d + i] += delta;
    }
  } else if (p.kind == math::PriorKind::Full) {
    for (int i = threadIdx.x; i < d; i += kBlock) {
      T s = T(0);
      for (int j = 0; j < d; ++j) s += p.precision[i * d + j] * math::prior_offset(p, mu, j);
      g[i] += s;
    }
    for (std::size_t e = threadIdx.x; e < dd; e += kBlock) H[e] += p.precision[e];
  }
  __syncthreads();
  // math::check_estimates.
  int bad_g = 0, bad_H = 0;
  for (int i = threadIdx.x; i < d; i += kBlock) bad_g |= !math::is_finite(g[i]);
  for (std::size_t e = threadIdx.x; e < dd; e += kBlock) bad_H |= !math::is_finite(H[e]);
  bad_g = __syncthreads_or(bad_g);
  bad_H = __syncthreads_or(bad_H);
  if (threadIdx.x == 0 && ws.status[k] == Status::Running)
    ws.status[k] = bad_g ? Status::NonFiniteGradient : bad_H ? Status::NonFiniteHessian : Status::Running;
  if (!targets) return;
  __syncthreads();
  if (ws.status[k] != Status::Running) return;
  // For the host's convergence monitor (the layout of monitor_targets_stride, full family).
  T* out = targets + ws.index[k] * (2 * d + dd);
  for (int i = threadIdx.x; i < d; i += kBlock) {
    out[i] = mu[i];
    out[d + i] = g[i];
  }
  for (std::size_t e = threadIdx.x; e < dd; e += kBlock) out[2 * d + e] = H[e];
}

// ---------------------------------------------------------------- ELBO

template <class T>
__global__ void __launch_bounds__(kBlock) prior_factor_kernel(BatchedWorkspace<T> ws, DevicePrior<T> prior) {
  const int k = blockIdx.x, d = ws.d;
  const std::size_t dd = std::size_t(d) * d;
  const math::PriorTerms<T> p = prior.terms(ws.index[k]);
  for (std::size_t e = threadIdx.x; e < dd; e += kBlock) {
    const std::size_t r = e / d, c = e - r * d;
    ws.Y[k * dd + e] = p.kind == math::PriorKind::Full ? p.factor[e] : T(r == c);
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock) elbo_kernel(BatchedWorkspace<T> ws, DevicePrior<T> prior,
                                                      ChunkState<T> chunk, GatherFor purpose) {
  const int k = blockIdx.x, d = ws.d;
  const std::size_t dd = std::size_t(d) * d;
  const std::uint32_t i = ws.index[k];
  const math::PriorTerms<T> p = prior.terms(i);
  const T* mu = ws.mu + std::size_t(k) * d;
  // E_q[-log prior] (math::prior_cross_entropy_full) with tr(P Sigma) = ||Y||_F^2, Y = C^T L^-T.
  T cross = T(0);
  if (p.kind != math::PriorKind::None) {
    T trace = T(0), quadratic = T(0);
    for (std::size_t e = threadIdx.x; e < dd; e += kBlock) trace += ws.Y[k * dd + e] * ws.Y[k * dd + e];
    for (int j = threadIdx.x; j < d; j += kBlock) {
      if (p.kind == math::PriorKind::Isotropic) {
        quadratic += math::square(math::prior_offset(p, mu, j));
      } else {
        T s = T(0);  // (C^T offset)_j
        for (int l = j; l < d; ++l) s += p.factor[l * d + j] * math::prior_offset(p, mu, l);
        quadratic += s * s;
      }
    }
    trace = block_sum(trace);
    quadratic = block_sum(quadratic);
    if (p.kind == math::PriorKind::Isotropic) {
      trace *= p.precision[0];
      quadratic *= p.precision[0];
    }
    cross = T(0.5) * (trace + quadratic - p.log_det_precision + T(d) * T(math::kLog2Pi));
  }
  if (threadIdx.x != 0) return;
  const T elbo = -ws.expected_f[k] - cross + math::entropy_full(ws.L + k * dd, d);
  if (purpose == GatherFor::Step) {
    // As in the step on the CPU: the ELBO of the state before the step, when its values were finite.
    if (ws.status[k] == Status::Running) chunk.elbo[i] = elbo;
  } else {
    chunk.elbo[i] = elbo;
    if (!math::is_finite(elbo) && !is_failure(chunk.status[i])) chunk.status[i] = Status::NonFiniteValue;
  }
}

// ---------------------------------------------------------------- the rule and the bookkeeping

template <class T>
__global__ void __launch_bounds__(kBlock) whitened_kernel(BatchedWorkspace<T> ws, T shift) {
  const int k = blockIdx.x, d = ws.d;
  const std::size_t dd = std::size_t(d) * d;
  T* K = ws.L_new + k * dd;
  // math::whiten's symmetrize_average (each unordered pair by one thread), then K - shift I.
  for (std::size_t e = threadIdx.x; e < dd; e += kBlock) {
    const std::size_t r = e / d, c = e - r * d;
    if (c < r) {
      const T h = T(0.5) * (K[r * d + c] + K[c * d + r]);
      K[r * d + c] = h;
      K[c * d + r] = h;
    } else if (c == r) {
      K[e] -= shift;
    }
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock) candidate_kernel(BatchedWorkspace<T> ws, Rule rule) {
  const int k = blockIdx.x, d = ws.d;
  const std::size_t dd = std::size_t(d) * d;
  const T rho = ws.rho[k];
  const T* K = ws.L_new + k * dd;  // IBLR: E = K - I
  const T* E2 = ws.G + k * dd;
  T* M = ws.W + k * dd;
  for (std::size_t e = threadIdx.x; e < dd; e += kBlock) {
    // The M of math::iblr_full and math::blr_full, entry by entry.
    const T identity = T(e / d == e % d);
    M[e] = rule == Rule::BLR ? (T(1) - rho) * identity + rho * K[e] : identity + rho * K[e] + T(0.5) * rho * rho * E2[e];
  }
  for (int j = threadIdx.x; j < d; j += kBlock) ws.solve[std::size_t(k) * d + j] = ws.g[std::size_t(k) * d + j];
}

template <class T>
__global__ void __launch_bounds__(kBlock) lower_factor_kernel(BatchedWorkspace<T> ws) {
  const int k = blockIdx.x, d = ws.d;
  const std::size_t dd = std::size_t(d) * d;
  T* C = ws.W + k * dd;
  for (std::size_t e = threadIdx.x; e < dd; e += kBlock)
    if (e % d > e / d) C[e] = T(0);
}

template <class T>
__global__ void __launch_bounds__(kBlock) accept_kernel(BatchedWorkspace<T> ws, ChunkState<T> chunk,
                                                        math::StepPlan p) {
  const int k = blockIdx.x, d = ws.d;
  const std::size_t dd = std::size_t(d) * d;
  const std::uint32_t i = ws.index[k];
  const Status before = ws.status[k];
  if (before != Status::Running) {  // the step stopped before its rule
    if (threadIdx.x == 0) chunk.status[i] = before;
    return;
  }
  const T rho = ws.rho[k];
  const T* mu = ws.mu + std::size_t(k) * d;
  const T* L = ws.L + k * dd;
  T* mu_new = ws.solve + std::size_t(k) * d;  // Lambda_new^-1 g, overwritten by mu - rho Lambda_new^-1 g
  const T* L_new = ws.L_new + k * dd;
  int valid = 1;
  for (int j = threadIdx.x; j < d; j += kBlock) {
    mu_new[j] = mu[j] - rho * mu_new[j];
    valid &= math::is_finite(mu_new[j]) && L_new[j * d + j] > T(0);
  }
  for (std::size_t e = threadIdx.x; e < dd; e += kBlock)
    if (e % d <= e / d) valid &= math::is_finite(L_new[e]);
  valid = __syncthreads_and(valid) && ws.info[k] == 0;
  // KL(q_new || q) (math::kl_full) from Y = L_new^-1 L (row-major), the threads sharing its rows.
  const T kl = T(0.5) * block_sum(math::kl_terms(ws.Y + k * dd, mu_new, L_new, mu, L, d, threadIdx.x, kBlock));
  if (threadIdx.x == 0) math::record_step(p, valid != 0, valid ? kl : T(0), chunk.record(i));
  if (!valid) return;
  for (int j = threadIdx.x; j < d; j += kBlock) chunk.mean[std::size_t(i) * d + j] = mu_new[j];
  for (std::size_t e = threadIdx.x; e < dd; e += kBlock)
    chunk.factor[i * dd + e] = e % d <= e / d ? L_new[e] : T(0);
}

}  // namespace

// ---------------------------------------------------------------- launch wrappers

template <class T>
void batched_gather(const BatchedWorkspace<T>& ws, const math::StepPlan& plan, const ChunkState<T>& chunk,
                    const DeviceGlm<T>& model, const std::uint32_t* list, int count, GatherFor purpose,
                    std::uint32_t iteration, T rho, const T* rho_each, cudaStream_t stream) {
  gather_kernel<<<count, kBlock, 0, stream>>>(ws, plan, chunk, model, list, purpose, iteration, rho, rho_each);
  NGVI_CUDA_CHECK_LAUNCH("gather_kernel");
}

template <class T>
void batched_draw(const BatchedWorkspace<T>& ws, const math::StepPlan& plan, const ChunkState<T>& chunk, int count,
                  cudaStream_t stream) {
  draw_kernel<<<grid_for(std::size_t(count) * ws.samples), kBlock, 0, stream>>>(ws, plan, chunk.first, count);
  NGVI_CUDA_CHECK_LAUNCH("draw_kernel");
}

template <class T>
void batched_add_mean(const BatchedWorkspace<T>& ws, int count, cudaStream_t stream) {
  add_mean_kernel<<<grid_for(std::size_t(count) * ws.samples * ws.d), kBlock, 0, stream>>>(ws, count);
  NGVI_CUDA_CHECK_LAUNCH("add_mean_kernel");
}

template <class T>
void batched_row_terms(const BatchedWorkspace<T>& ws, const DeviceGlm<T>& model, int count, bool values,
                       bool weights, cudaStream_t stream) {
  row_terms_kernel<<<grid_for(std::size_t(count) * ws.rows), kBlock, 0, stream>>>(ws, model, count, values, weights);
  NGVI_CUDA_CHECK_LAUNCH("row_terms_kernel");
}

template <class T>
void batched_expected_rows(const BatchedWorkspace<T>& ws, const DeviceGlm<T>& model, int count, bool values,
                           cudaStream_t stream) {
  expected_rows_kernel<<<grid_for(std::size_t(count) * ws.rows), kBlock, 0, stream>>>(ws, model, count, values);
  NGVI_CUDA_CHECK_LAUNCH("expected_rows_kernel");
}

template <class T>
void batched_values(const BatchedWorkspace<T>& ws, const DeviceGlm<T>& model, int count, int columns,
                    cudaStream_t stream) {
  values_kernel<<<(count + kWarpsPerBlock - 1) / kWarpsPerBlock, kBlock, 0, stream>>>(ws, model, count, columns);
  NGVI_CUDA_CHECK_LAUNCH("values_kernel");
}

template <class T>
void batched_weight_rows(const BatchedWorkspace<T>& ws, int count, cudaStream_t stream) {
  weight_rows_kernel<<<grid_for(std::size_t(count) * ws.rows * ws.d), kBlock, 0, stream>>>(ws, count);
  NGVI_CUDA_CHECK_LAUNCH("weight_rows_kernel");
}

template <class T>
void batched_estimate(const BatchedWorkspace<T>& ws, int count, cudaStream_t stream) {
  estimate_kernel<<<count, kBlock, 0, stream>>>(ws);
  NGVI_CUDA_CHECK_LAUNCH("estimate_kernel");
}

template <class T>
void batched_prior(const BatchedWorkspace<T>& ws, const DevicePrior<T>& prior, T* targets, int count,
                   cudaStream_t stream) {
  prior_kernel<<<count, kBlock, 0, stream>>>(ws, prior, targets);
  NGVI_CUDA_CHECK_LAUNCH("prior_kernel");
}

template <class T>
void batched_prior_factor(const BatchedWorkspace<T>& ws, const DevicePrior<T>& prior, int count, cudaStream_t stream) {
  prior_factor_kernel<<<count, kBlock, 0, stream>>>(ws, prior);
  NGVI_CUDA_CHECK_LAUNCH("prior_factor_kernel");
}

template <class T>
void batched_elbo(const BatchedWorkspace<T>& ws, const DevicePrior<T>& prior, const ChunkState<T>& chunk, int count,
                  GatherFor purpose, cudaStream_t stream) {
  elbo_kernel<<<count, kBlock, 0, stream>>>(ws, prior, chunk, purpose);
  NGVI_CUDA_CHECK_LAUNCH("elbo_kernel");
}

template <class T>
void batched_whitened(const BatchedWorkspace<T>& ws, T shift, int count, cudaStream_t stream) {
  whitened_kernel<<<count, kBlock, 0, stream>>>(ws, shift);
  NGVI_CUDA_CHECK_LAUNCH("whitened_kernel");
}

template <class T>
void batched_candidate(const BatchedWorkspace<T>& ws, Rule rule, int count, cudaStream_t stream) {
  candidate_kernel<<<count, kBlock, 0, stream>>>(ws, rule);
  NGVI_CUDA_CHECK_LAUNCH("candidate_kernel");
}

template <class T>
void batched_lower_factor(const BatchedWorkspace<T>& ws, int count, cudaStream_t stream) {
  lower_factor_kernel<<<count, kBlock, 0, stream>>>(ws);
  NGVI_CUDA_CHECK_LAUNCH("lower_factor_kernel");
}

template <class T>
void batched_accept(const BatchedWorkspace<T>& ws, const ChunkState<T>& chunk, const math::StepPlan& plan, int count,
                    cudaStream_t stream) {
  accept_kernel<<<count, kBlock, 0, stream>>>(ws, chunk, plan);
  NGVI_CUDA_CHECK_LAUNCH("accept_kernel");
}

#define NGVI_GPU_INSTANTIATE_BATCHED(T)                                                                             \
  template void batched_gather(const BatchedWorkspace<T>&, const math::StepPlan&, const ChunkState<T>&,            \
                               const DeviceGlm<T>&, const std::uint32_t*, int, GatherFor, std::uint32_t, T,        \
                               const T*, cudaStream_t);                                                             \
  template void batched_draw(const BatchedWorkspace<T>&, const math::StepPlan&, const ChunkState<T>&, int,         \
                             cudaStream_t);                                                                         \
  template void batched_add_mean(const BatchedWorkspace<T>&, int, cudaStream_t);                                   \
  template void batched_row_terms(const BatchedWorkspace<T>&, const DeviceGlm<T>&, int, bool, bool, cudaStream_t); \
  template void batched_expected_rows(const BatchedWorkspace<T>&, const DeviceGlm<T>&, int, bool, cudaStream_t);   \
  template void batched_values(const BatchedWorkspace<T>&, const DeviceGlm<T>&, int, int, cudaStream_t);           \
  template void batched_weight_rows(const BatchedWorkspace<T>&, int, cudaStream_t);                                \
  template void batched_estimate(const BatchedWorkspace<T>&, int, cudaStream_t);                                   \
  template void batched_prior(const BatchedWorkspace<T>&, const DevicePrior<T>&, T*, int, cudaStream_t);           \
  template void batched_prior_factor(const BatchedWorkspace<T>&, const DevicePrior<T>&, int, cudaStream_t);        \
  template void batched_elbo(const BatchedWorkspace<T>&, const DevicePrior<T>&, const ChunkState<T>&, int,         \
                             GatherFor, cudaStream_t);                                                              \
  template void batched_whitened(const BatchedWorkspace<T>&, T, int, cudaStream_t);                                \
  template void batched_candidate(const BatchedWorkspace<T>&, Rule, int, cudaStream_t);                            \
  template void batched_lower_factor(const BatchedWorkspace<T>&, int, cudaStream_t);                               \
  template void batched_accept(const BatchedWorkspace<T>&, const ChunkState<T>&, const math::StepPlan&, int,       \
                               cudaStream_t);
NGVI_GPU_INSTANTIATE_BATCHED(float)
NGVI_GPU_INSTANTIATE_BATCHED(double)
#undef NGVI_GPU_INSTANTIATE_BATCHED

}  // namespace ngvi::gpu
