// One warp takes one distribution through a step (CpuStepper::step, stage by stage) or through its
// final ELBO: the device functions of the fused kernels (kernels/cuda/fused_step.cuh, instantiated in kernels/fused_step_*.cu).
//
// The warp's area holds the distribution's state, the step workspace of kernels/math/step.cuh, a
// padded vector per lane and the model's scratch. The lanes share the work whose size grows with the
// samples or the rows (sampling, the model) and, as a math team (WarpTeam, kernels/math/team.cuh),
// the estimators' reductions (math::estimate) and the rule's and the KL's d x d algebra
// (math::take_step); the prior, the ELBO, the score estimator and the bookkeeping run on lane 0. All
// of it calls the functions the CPU backend calls, with the same order of operations per entry, so
// that both backends take the same decisions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/kernels.hpp"
#include "cuda/models.cuh"
#include "cuda/warp.cuh"
#include "math/step.cuh"

namespace ngvi::gpu {

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
    if (lane == 0 && args.want_values) {
      if (math::all_finite(a.w.values, p.samples)) {
        expected_f = math::mean_value(a.w.values, p.samples);
      } else {
        status = Status::NonFiniteValue;
      }
    }
    if (from_lane(static_cast<int>(status == Status::Running))) math::estimate(p, a.factor, a.w, WarpTeam{lane});
  }
  if (lane == 0) {
    if (status == Status::Running) {
      const math::PriorTerms<T> terms = prior.terms(i);
      if (args.want_values) chunk.elbo[i] = math::elbo(p, terms, a.mu, a.factor, expected_f, a.w.work);
      math::add_prior(terms, a.mu, a.w.g, a.w.H, p.diagonal, p.d);
      status = math::check_estimates(p, a.w);
    }
    if (status != Status::Running) chunk.status[i] = status;
  }
  const bool running = from_lane(static_cast<int>(status == Status::Running)) != 0;
  __syncwarp();  // g and H, prior included, for every lane
  if (running && args.targets) {  // for the host's convergence monitor, before the step moves mu
    const int d = p.d, m = math::factor_size(p);
    T* out = args.targets + i * monitor_targets_stride(p);
    for (int k = lane; k < d; k += kWarpSize) out[k] = a.mu[k];
    for (int k = lane; k < d; k += kWarpSize) out[d + k] = a.w.g[k];
    for (int k = lane; k < m; k += kWarpSize) out[2 * d + k] = a.w.H[k];
    __syncwarp();
  }
  if (running && math::take_step(p, args.rho_of(i), a.mu, a.factor, a.w, chunk.record(i), WarpTeam{lane})) {
    const int d = p.d, m = math::factor_size(p);  // the new state, in the area, goes back to the chunk
    for (int k = lane; k < d; k += kWarpSize) chunk.mean[static_cast<std::size_t>(i) * d + k] = a.mu[k];
    for (int k = lane; k < m; k += kWarpSize) chunk.factor[static_cast<std::size_t>(i) * m + k] = a.factor[k];
  }
  __syncwarp();
}

/// The exact final ELBO of distribution i of a quadrature fit (a Monte Carlo fit's final phase runs
/// on the host: detail::finish_on_cpu).
template <class T, class Model>
__device__ void final_elbo_one(const math::StepPlan& p, const ChunkState<T>& chunk, const Model& model,
                               const DevicePrior<T>& prior, std::uint32_t i, const Area<T>& a, int lane) {
  load_state(p, chunk, i, a, lane);
  T expected_f = T(0);  // lane 0's
  const WarpExpectations<T> out{&expected_f, a.w.g, a.w.H};
  model_expectations(model, p, i, a.mu, a.factor, out, a.scratch, lane);
  if (lane == 0) {
    const double elbo = math::elbo(p, prior.terms(i), a.mu, a.factor, expected_f, a.w.work);
    chunk.elbo[i] = elbo;
    if (!math::is_finite(elbo) && !is_failure(chunk.status[i])) chunk.status[i] = Status::NonFiniteValue;
  }
  __syncwarp();
}

}  // namespace ngvi::gpu
