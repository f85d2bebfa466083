// The built-in models on the device, evaluated by one warp for one distribution: what
// Model::evaluate and Model::expectations compute on the CPU, with the same row terms and the same
// closed forms (kernels/math), summed in another order.
//
// GLM rows are streamed through shared memory in tiles of 32: lane t owns row t of a tile for the
// row terms, then lanes own entries of the gradients and of the Hessian, which they accumulate over
// the tiles. All scratch is the caller's (per-warp area), sized by model_scratch_entries().
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/kernels.hpp"
#include "cuda/warp.cuh"
#include "math/dense.cuh"
#include "math/glm.cuh"
#include "math/minibatch.cuh"
#include "math/quadratic.cuh"
#include "math/step.cuh"

namespace ngvi::gpu {

/// Where a model evaluation writes: null pointers are not wanted. All in the warp's area.
template <class T>
struct WarpEvaluation {
  T* values = nullptr;        ///< (S)
  T* gradients = nullptr;     ///< (S, d)
  T* hessian_mean = nullptr;  ///< (d, d), or (d) for the diagonal family
};

/// Where model_expectations writes; value may be null (not wanted). The value is valid on lane 0.
template <class T>
struct WarpExpectations {
  T* value = nullptr;
  T* gradient = nullptr;  ///< (d)
  T* hessian = nullptr;   ///< (d, d), or (d)
};

// ---------------------------------------------------------------- generalized linear models

constexpr int kTileRows = kWarpSize;
constexpr int kTileStride = kTileRows + 1;  // rows of (sample, tile row) arrays, padded against bank conflicts

/// The per-warp scratch of the GLM functions, carved from one block.
template <class T>
struct GlmScratch {
  unsigned* row;  ///< (32): the tile's row indices within the problem
  T* x;           ///< (32, xs): the tile's covariates
  T* y;           ///< (32)
  T* r;           ///< (S, 33): first derivatives of the row terms
  T* v;           ///< (S, 33): values of the row terms
  T* w;           ///< (32): second derivatives, summed over the samples
  T* solved;      ///< (32, xs): L^-1 x_n for the rows of a tile (expectations, full family)
  int xs;         ///< row stride of x and solved: odd, >= d

  NGVI_HD static std::size_t entries(const math::StepPlan& p) {
    const std::size_t xs = static_cast<std::size_t>(odd_stride(p.d)), S = static_cast<std::size_t>(p.samples);
    const std::size_t rows_per_sample = S > 1 ? S : 1;
    // row indices take 32 entries of T (T is at least as wide as unsigned)
    return aligned_entries(kTileRows) + 2 * aligned_entries(kTileRows * xs) + 2 * aligned_entries(kTileRows) +
           2 * aligned_entries(rows_per_sample * kTileStride);
  }
  __device__ static GlmScratch carve(const math::StepPlan& p, T* block) {
    const std::size_t xs = static_cast<std::size_t>(odd_stride(p.d)), S = static_cast<std::size_t>(p.samples);
    const std::size_t rows_per_sample = S > 1 ? S : 1;
    GlmScratch s;
    s.xs = static_cast<int>(xs);
    s.row = reinterpret_cast<unsigned*>(block);
    block += aligned_entries(kTileRows);
    s.x = block;
    block += aligned_entries(kTileRows * xs);
    s.solved = block;
    block += aligned_entries(kTileRows * xs);
    s.y = block;
    block += aligned_entries(kTileRows);
    s.w = block;
    block += aligned_entries(kTileRows);
    s.r = block;
    block += aligned_entries(rows_per_sample * kTileStride);
    s.v = block;
    return s;
  }
};

template <class T>
NGVI_HD std::size_t model_scratch_entries(const DeviceGlm<T>&, const math::StepPlan& p) {
  return GlmScratch<T>::entries(p);
}

/// Calls f(rows) with the kernels/math row type of the model's likelihood.
template <class T, class F>
__device__ void visit_rows(const DeviceGlm<T>& model, F&& f) {
  switch (model.likelihood) {
    case Likelihood::Linear: f(math::LinearRows<T>{model.inv_variance}); return;
    case Likelihood::Logistic: f(math::LogisticRows<T>{}); return;
    case Likelihood::Poisson: f(math::PoissonRows<T>{}); return;
    case Likelihood::Probit: f(math::ProbitRows<T>{}); return;
  }
}

/// Loads rows [first, first + n) of a problem's row list into the tile (row k of the list is row k of
/// the problem, or its k-th minibatch row). Ends with the warp synchronized.
template <class T>
__device__ void load_tile(const GlmScratch<T>& sc, const T* x, const T* y, int d, std::size_t first, int n,
                          bool minibatch, std::size_t problem_rows, std::uint64_t seed, std::uint32_t problem,
                          std::uint32_t step, int lane) {
  if (lane < n) {
    const std::size_t k = first + static_cast<std::size_t>(lane);
    sc.row[lane] = static_cast<unsigned>(
        minibatch ? math::minibatch_row<T>(seed, problem, step, static_cast<std::uint32_t>(k), problem_rows) : k);
  }
  __syncwarp();
  // Consecutive lanes read consecutive entries: coalesced when the rows are consecutive.
  for (int e = lane; e < n * d; e += kWarpSize) {
    const int t = e / d, i = e - t * d;
    sc.x[t * sc.xs + i] = x[static_cast<std::size_t>(sc.row[t]) * d + i];
  }
  if (lane < n) sc.y[lane] = y[sc.row[lane]];
  __syncwarp();
}

/// hessian[i][j] += sum over the tile's rows t < n of w[t] x[t][i] x[t][j] (lower triangle; the
/// diagonal only for the diagonal family). Each lane owns fixed entries.
template <class T>
__device__ void accumulate_tile_hessian(const GlmScratch<T>& sc, int n, bool diagonal, T* hessian, int d, int lane) {
  if (diagonal) {
    for (int i = lane; i < d; i += kWarpSize) {
      T acc = T(0);
      for (int t = 0; t < n; ++t) {
        const T xi = sc.x[t * sc.xs + i];
        acc += sc.w[t] * (xi * xi);
      }
      hessian[i] += acc;
    }
    return;
  }
  for (int q = lane; q < lower_triangle_size(d); q += kWarpSize) {
    int i, j;
    lower_triangle_entry(q, i, j);
    T acc = T(0);
    for (int t = 0; t < n; ++t) acc += sc.w[t] * sc.x[t * sc.xs + i] * sc.x[t * sc.xs + j];
    hessian[i * d + j] += acc;
  }
}

/// Copies the lower triangle onto the upper one, scaling both by `factor`.
template <class T>
__device__ void finish_symmetric(T* A, T factor, int d, int lane) {
  for (int q = lane; q < lower_triangle_size(d); q += kWarpSize) {
    int i, j;
    lower_triangle_entry(q, i, j);
    const T a = factor * A[i * d + j];
    A[i * d + j] = a;
    A[j * d + i] = a;
  }
}

template <bool kValue, class T, class Rows>
__device__ void glm_sample_tiles(const DeviceGlm<T>& model, const Rows& rows, const GlmScratch<T>& sc,
                                 const math::StepPlan& p, std::uint32_t i, std::uint32_t b, std::uint32_t step,
                                 const T* points, const WarpEvaluation<T>& out, int lane) {
  const int d = p.d, S = p.samples;
  const std::size_t N = model.rows(i);
  const T* x = model.x + model.begin(i) * d;
  const T* y = model.y + model.begin(i);
  const bool minibatch = math::uses_minibatch(model.minibatch_rows, N);
  const std::size_t M = minibatch ? model.minibatch_rows : N;
  for (std::size_t first = 0; first < M; first += kTileRows) {
    const int n = static_cast<int>(M - first < kTileRows ? M - first : kTileRows);
    load_tile(sc, x, y, d, first, n, minibatch, N, p.seed, p.first_problem + b, step, lane);
    // Row terms: lane t takes row t of the tile at every sample.
    T weight = T(0);
    for (int s = 0; s < S; ++s) {
      math::RowTerms<T> terms{T(0), T(0), T(0)};
      if (lane < n) {
        const T a = math::dot(points + s * d, sc.x + lane * sc.xs, d);
        terms = rows.template at<kValue>(a, sc.y[lane]);
      }
      sc.r[s * kTileStride + lane] = terms.d1;
      if (kValue) sc.v[s * kTileStride + lane] = terms.value;
      weight += terms.d2;
    }
    sc.w[lane] = weight;
    __syncwarp();
    if (out.gradients) {
      for (int q = lane; q < S * d; q += kWarpSize) {
        const int s = q / d, k = q - s * d;
        T acc = T(0);
        for (int t = 0; t < n; ++t) acc += sc.r[s * kTileStride + t] * sc.x[t * sc.xs + k];
        out.gradients[q] += acc;
      }
    }
    if (kValue) {
      for (int s = lane; s < S; s += kWarpSize) {
        T acc = T(0);
        for (int t = 0; t < n; ++t) acc += sc.v[s * kTileStride + t];
        out.values[s] += acc;
      }
    }
    if (out.hessian_mean) accumulate_tile_hessian(sc, n, p.diagonal, out.hessian_mean, d, lane);
    __syncwarp();
  }
}

/// f, grad f and the mean Hessian of problem i at the S points, as GeneralizedLinearModel::evaluate:
/// minibatch rows rescaled by N / M, the problem's constant added to the values.
template <class T>
__device__ void model_evaluate(const DeviceGlm<T>& model, const math::StepPlan& p, std::uint32_t i, std::uint32_t b,
                               std::uint32_t step, const T* points, const WarpEvaluation<T>& out, T* scratch,
                               int lane) {
  const int d = p.d, S = p.samples, m = math::factor_size(p);
  const GlmScratch<T> sc = GlmScratch<T>::carve(p, scratch);
  if (out.values)
    for (int s = lane; s < S; s += kWarpSize) out.values[s] = T(0);
  if (out.gradients)
    for (int q = lane; q < S * d; q += kWarpSize) out.gradients[q] = T(0);
  if (out.hessian_mean)
    for (int q = lane; q < m; q += kWarpSize) out.hessian_mean[q] = T(0);
  __syncwarp();
  visit_rows(model, [&](const auto& rows) {
    if (out.values) {
      glm_sample_tiles<true>(model, rows, sc, p, i, b, step, points, out, lane);
    } else {
      glm_sample_tiles<false>(model, rows, sc, p, i, b, step, points, out, lane);
    }
  });
  const std::size_t N = model.rows(i);
  const T scale = math::uses_minibatch(model.minibatch_rows, N) ? T(N) / T(model.minibatch_rows) : T(1);
  if (out.values)
    for (int s = lane; s < S; s += kWarpSize) out.values[s] = scale * out.values[s] + model.constants[i];
  if (out.gradients)
    for (int q = lane; q < S * d; q += kWarpSize) out.gradients[q] *= scale;
  if (out.hessian_mean) {
    const T factor = scale / T(S);
    if (p.diagonal) {
      for (int k = lane; k < d; k += kWarpSize) out.hessian_mean[k] *= factor;
    } else {
      finish_symmetric(out.hessian_mean, factor, d, lane);
    }
  }
  __syncwarp();
}

template <bool kValue, class T, class Rows>
__device__ T glm_expectation_tiles(const DeviceGlm<T>& model, const Rows& rows, const GlmScratch<T>& sc,
                                   const math::StepPlan& p, std::uint32_t i, const T* mu, const T* factor,
                                   const WarpExpectations<T>& out, int lane) {
  const int d = p.d;
  const std::size_t N = model.rows(i);
  const T* x = model.x + model.begin(i) * d;
  const T* y = model.y + model.begin(i);
  T value = T(0);  // this lane's rows
  for (std::size_t first = 0; first < N; first += kTileRows) {
    const int n = static_cast<int>(N - first < kTileRows ? N - first : kTileRows);
    load_tile(sc, x, y, d, first, n, false, N, 0, 0, 0, lane);
    // a_n = x_n^T z ~ N(m_n, v_n) with m_n = x_n^T mu and v_n = x_n^T Sigma x_n.
    math::RowTerms<T> e{T(0), T(0), T(0)};
    if (lane < n) {
      const T* xr = sc.x + lane * sc.xs;
      const T mean = math::dot(xr, mu, d);
      T variance = T(0);
      if (p.diagonal) {
        for (int k = 0; k < d; ++k) variance += (xr[k] * xr[k]) * (T(1) / (factor[k] * factor[k]));
      } else {
        T* solved = sc.solved + lane * sc.xs;
        for (int k = 0; k < d; ++k) solved[k] = xr[k];
        math::solve_lower(factor, solved, d);
        variance = math::dot(solved, solved, d);
      }
      e = rows.template expected<kValue>(mean, variance, sc.y[lane]);
    }
    sc.r[lane] = e.d1;
    sc.w[lane] = e.d2;
    value += e.value;
    __syncwarp();
    for (int k = lane; k < d; k += kWarpSize) {
      T acc = T(0);
      for (int t = 0; t < n; ++t) acc += sc.r[t] * sc.x[t * sc.xs + k];
      out.gradient[k] += acc;
    }
    accumulate_tile_hessian(sc, n, p.diagonal, out.hessian, d, lane);
    __syncwarp();
  }
  return value;
}

/// Exact E_q[f], E_q[grad f], E_q[hess f] of problem i, as GeneralizedLinearModel::expectations.
template <class T>
__device__ void model_expectations(const DeviceGlm<T>& model, const math::StepPlan& p, std::uint32_t i, const T* mu,
                                   const T* factor, const WarpExpectations<T>& out, T* scratch, int lane) {
  const int d = p.d, m = math::factor_size(p);
  const GlmScratch<T> sc = GlmScratch<T>::carve(p, scratch);
  for (int k = lane; k < d; k += kWarpSize) out.gradient[k] = T(0);
  for (int q = lane; q < m; q += kWarpSize) out.hessian[q] = T(0);
  __syncwarp();
  T value = T(0);
  visit_rows(model, [&](const auto& rows) {
    value = out.value ? glm_expectation_tiles<true>(model, rows, sc, p, i, mu, factor, out, lane)
                      : glm_expectation_tiles<false>(model, rows, sc, p, i, mu, factor, out, lane);
  });
  if (!p.diagonal) finish_symmetric(out.hessian, T(1), d, lane);
  if (out.value) {
    value = warp_sum(value);
    if (lane == 0) *out.value = value + model.constants[i];
  }
  __syncwarp();
}

// ---------------------------------------------------------------- quadratic targets

template <class T>
NGVI_HD std::size_t model_scratch_entries(const DeviceQuadratic<T>&, const math::StepPlan& p) {
  const std::size_t per_lane = static_cast<std::size_t>(kWarpSize) * static_cast<std::size_t>(p.d);
  const std::size_t expectations = static_cast<std::size_t>(math::quadratic_expectation_scratch(p.d));
  return per_lane > expectations ? per_lane : expectations;
}

/// As QuadraticModel::evaluate: lane s takes sample s.
template <class T>
__device__ void model_evaluate(const DeviceQuadratic<T>& model, const math::StepPlan& p, std::uint32_t i,
                               std::uint32_t, std::uint32_t, const T* points, const WarpEvaluation<T>& out, T* scratch,
                               int lane) {
  const int d = p.d;
  const T* A = model.curvature(i);
  const T* a = model.centers + static_cast<std::size_t>(i) * d;
  for (int s = lane; s < p.samples; s += kWarpSize) {
    const T value =
        math::quadratic_at(A, a, points + s * d, out.gradients ? out.gradients + s * d : nullptr, scratch + lane * d, d);
    if (out.values) out.values[s] = value;
  }
  if (out.hessian_mean && lane == 0) math::quadratic_hessian(A, p.diagonal, out.hessian_mean, d);
  __syncwarp();
}

/// As QuadraticModel::expectations, on lane 0.
template <class T>
__device__ void model_expectations(const DeviceQuadratic<T>& model, const math::StepPlan& p, std::uint32_t i,
                                   const T* mu, const T* factor, const WarpExpectations<T>& out, T* scratch,
                                   int lane) {
  if (lane == 0)
    math::quadratic_expectations(model.curvature(i), model.centers + static_cast<std::size_t>(i) * p.d, mu, factor,
                                 p.diagonal, out.value, out.gradient, out.hessian, scratch, p.d);
  __syncwarp();
}

}  // namespace ngvi::gpu
