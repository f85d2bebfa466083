// The fused kernels' per-warp device code (kernels/cuda/fused.cuh and models.cuh), compiled for the
// host and run by an emulated warp of 32 threads, against the CPU backend. It checks, wherever the
// tests run and without a GPU, the lanes' division of the work (the samples, the rows, and the dense
// algebra of a step as a math team for every fused d), the row tiles (full and partial),
// the layout of the warp's area and the bookkeeping of every estimator, rule, family and built-in
// model. What it cannot check (launches, shared memory, the runners and their chunks, the batched
// path) cuda_backend_test checks on a device.
#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <random>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

// ---------------------------------------------------------------- an emulated warp
// Enough of CUDA's device API for the per-warp code: every lane is a thread, __syncwarp a barrier of
// the 32 threads and a shuffle an exchange through the barrier. A lane that skips a barrier the
// others reach (divergent warp code) stops the test instead of hanging it. For a host compiler, the
// runtime's headers define __device__ and __host__ away.
#include <cuda_runtime_api.h>

namespace ngvi::emulation {

constexpr int kLanes = 32;

class Warp {
 public:
  void barrier() {
    std::unique_lock<std::mutex> lock(mutex_);
    const long generation = generation_;
    if (++arrived_ == kLanes) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    if (!cv_.wait_for(lock, std::chrono::seconds(20), [&] { return generation_ != generation; })) {
      std::fprintf(stderr, "emulated warp: only %d of 32 lanes reached a barrier (divergent warp code)\n", arrived_);
      std::abort();
    }
  }
  template <class T>
  T exchange(T x, int lane, int source) {
    static_assert(sizeof(T) <= 8, "shuffles move at most 8 bytes");
    std::memcpy(slots_[lane], &x, sizeof(T));
    barrier();
    T y;
    std::memcpy(&y, slots_[source], sizeof(T));
    barrier();
    return y;
  }
  bool all(bool x, int lane) {
    slots_[lane][0] = x;
    barrier();
    bool every = true;
    for (int l = 0; l < kLanes; ++l) every = every && slots_[l][0] != 0;
    barrier();
    return every;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int arrived_ = 0;
  long generation_ = 0;
  alignas(8) unsigned char slots_[kLanes][8];
};

inline thread_local Warp* current_warp = nullptr;
inline thread_local int current_lane = 0;

/// Runs body(lane) on the 32 threads of one warp.
template <class Body>
void run_warp(Body&& body) {
  Warp warp;
  std::vector<std::thread> lanes;
  for (int lane = 0; lane < kLanes; ++lane)
    lanes.emplace_back([&, lane] {
      current_warp = &warp;
      current_lane = lane;
      body(lane);
    });
  for (std::thread& t : lanes) t.join();
}

}  // namespace ngvi::emulation

inline void __syncwarp(unsigned = 0xffffffffu) { ngvi::emulation::current_warp->barrier(); }
template <class T>
T __shfl_sync(unsigned, T x, int source) {
  return ngvi::emulation::current_warp->exchange(x, ngvi::emulation::current_lane, source);
}
template <class T>
T __shfl_xor_sync(unsigned, T x, int offset) {
  const int lane = ngvi::emulation::current_lane;
  return ngvi::emulation::current_warp->exchange(x, lane, lane ^ offset);
}

inline int __all_sync(unsigned, int predicate) {
  return ngvi::emulation::current_warp->all(predicate != 0, ngvi::emulation::current_lane);
}

#include "cpu/cpu_backend.hpp"
#include "cuda/fused.cuh"
#include "engine/engine.hpp"
#include "ngvi/fit.hpp"
#include "ngvi/models.hpp"
#include "ngvi/synthetic.hpp"
#include "test_util.hpp"

namespace ngvi {
namespace {

// ---------------------------------------------------------------- device views of host data

/// A Prior's device view over host memory (each part shared or one per problem, as Prior keeps it).
template <class T>
gpu::DevicePrior<T> prior_view(const Prior<T>& prior, std::size_t B, int d, std::vector<T>& log_det) {
  gpu::DevicePrior<T> view;
  if (prior.kind() == Prior<T>::Kind::None) return view;
  view.kind = prior.kind() == Prior<T>::Kind::Isotropic ? math::PriorKind::Isotropic : math::PriorKind::Full;
  const std::size_t second = B > 1 ? 1 : 0;
  auto stride = [&](const T* first, const T* next) {
    return first && first != next ? static_cast<std::size_t>(next - first) : std::size_t(0);
  };
  view.precision = prior.precision(0);
  view.precision_stride = stride(prior.precision(0), prior.precision(second));
  view.factor = prior.precision_cholesky(0);
  view.factor_stride = stride(prior.precision_cholesky(0), prior.precision_cholesky(second));
  view.mean = prior.mean(0, d);
  view.mean_stride = stride(prior.mean(0, d), prior.mean(second, d));
  log_det.resize(B);
  for (std::size_t b = 0; b < B; ++b) log_det[b] = prior.log_det_precision(b, d);
  view.log_det = log_det.data();
  return view;
}

template <class T>
struct GlmView {
  std::vector<T> constants;
  gpu::DeviceGlm<T> view;
  GlmView(const GeneralizedLinearModel<T>& model, std::size_t minibatch_rows) {
    for (std::size_t b = 0; b < model.num_problems(); ++b) constants.push_back(model.value_constant(b));
    view.likelihood = model.likelihood();
    view.inv_variance = T(1) / (model.noise_sd() * model.noise_sd());
    view.d = model.dimension();
    view.x = model.data().x;
    view.y = model.data().y;
    view.offsets = model.data().offsets;
    view.rows_per_problem = model.data().rows_per_problem;
    view.constants = constants.data();
    view.minibatch_rows = minibatch_rows;
  }
};

template <class T>
gpu::DeviceQuadratic<T> quadratic_view(const QuadraticModel<T>& model) {
  gpu::DeviceQuadratic<T> view;
  view.d = model.dimension();
  view.centers = model.centers();
  view.curvatures = model.curvatures();
  view.shared = model.shared_curvature();
  return view;
}

// ---------------------------------------------------------------- fits with the emulated warp

template <class T>
struct Fitted {
  std::vector<Status> status;
  std::vector<int> steps, rejected;
  std::vector<double> elbo;
  std::vector<T> mean, factor;
};

template <class T>
Fitted<T> outcome(const GaussianBatch<T>& batch, const std::vector<Status>& status, const std::vector<int>& steps,
                  const std::vector<int>& rejected, const std::vector<double>& elbo) {
  Fitted<T> f{status, steps, rejected, elbo, {}, {}};
  f.mean.assign(batch.mean(), batch.mean() + batch.size() * batch.dimension());
  f.factor.assign(batch.precision_cholesky(), batch.precision_cholesky() + batch.size() * batch.matrix_size());
  return f;
}

template <class T>
Fitted<T> fit_on_cpu(const Model<T>& model, GaussianBatch<T> batch, Options options) {
  options.backend = Backend::Cpu;
  const Summary s = fit(model, batch, options);
  return outcome(batch, s.status, s.steps, s.rejected_steps, s.elbo);
}

/// fit() with the fused kernels' per-warp code in place of the CPU backend: the same plan, initial
/// state and loop (every running distribution takes a step, the batch's step after step, then the
/// final ELBOs), one emulated warp going through the distributions as a warp of the kernels does.
/// As the CUDA backend's runner, a Monte Carlo fit runs the host's convergence monitor around each
/// step (each distribution's rho in, the step's targets out) and ends with the host's final phase.
template <class T, class View>
Fitted<T> fit_with_warp(const Model<T>& model, const View& view, GaussianBatch<T> batch, const Options& options) {
  const detail::FitPlan plan = detail::plan_fit(model, batch, options);
  detail::FitState<T> state = detail::initial_state(&model, batch, plan);
  const math::StepPlan& p = plan.step;
  std::vector<T> log_det;
  const gpu::DevicePrior<T> prior = prior_view(model.prior(), batch.size(), batch.dimension(), log_det);
  gpu::ChunkState<T> chunk;
  chunk.mean = batch.mean();
  chunk.factor = batch.precision_cholesky();
  chunk.status = state.status.data();
  chunk.steps = state.steps.data();
  chunk.streak = state.streak.data();
  chunk.step_scale = state.step_scale.data();
  chunk.rejected = state.rejected.data();
  chunk.elbo = state.elbo.data();
  chunk.last_kl = state.last_kl.data();
  chunk.rule_state = state.rule_state.data();
  chunk.rule_state_size = math::rule_state_size(p);
  std::vector<T> area(gpu::area_entries<T>(p, view), std::numeric_limits<T>::quiet_NaN());
  const bool monitored = math::needs_samples(p);
  const std::size_t stride = gpu::monitor_targets_stride(p);
  std::vector<T> rho_each(batch.size()), targets(batch.size() * stride);
  std::vector<int> rejected_before;
  gpu::StepArgs<T> args;
  args.want_values = p.estimator == Estimator::Score || options.trace_elbo;
  if (monitored) {
    args.rho_each = rho_each.data();
    args.targets = targets.data();
  }
  emulation::run_warp([&](int lane) {
    const gpu::Area<T> a = gpu::carve_area(p, area.data());
    for (int t = 0; t < options.max_steps; ++t) {
      const std::vector<std::uint32_t> active = state.active();  // read by every lane between barriers
      __syncwarp();
      if (active.empty()) break;
      if (monitored && lane == 0) {  // the runner's host side, before the step
        rejected_before.clear();
        for (const std::uint32_t i : active) {
          rho_each[i] = static_cast<T>(detail::monitored_step_size(plan, state, i, t));
          rejected_before.push_back(state.rejected[i]);
        }
      }
      __syncwarp();
      gpu::StepArgs<T> step = args;
      step.iteration = static_cast<std::uint32_t>(t);
      step.rho = static_cast<T>(detail::step_size_at(options, t));
      for (const std::uint32_t i : active) gpu::step_one(p, chunk, view, prior, step, i, a, lane);
      if (monitored && lane == 0)  // and after it
        detail::monitor_device_steps(plan, batch, state, 0, active.data(), active.size(), targets.data(), stride,
                                     rejected_before.data());
      __syncwarp();
    }
    if (monitored) return;
    for (std::uint32_t i = 0; i < batch.size(); ++i) {
      const Status s = state.status[i];
      if (s != Status::InvalidData && s != Status::InvalidState && s != Status::ModelError)
        gpu::final_elbo_one(p, chunk, view, prior, i, a, lane);
    }
  });
  if (monitored) detail::finish_on_cpu(model, batch, plan, state);
  return outcome(batch, state.status, state.steps, state.rejected, state.elbo);
}

template <class T>
double tolerance() {
  return sizeof(T) == 4 ? 1e-4 : 1e-11;
}

template <class T>
void expect_same(const Fitted<T>& cpu, const Fitted<T>& warp, const std::string& what) {
  EXPECT_EQ(cpu.status, warp.status) << what;
  EXPECT_EQ(cpu.steps, warp.steps) << what;
  EXPECT_EQ(cpu.rejected, warp.rejected) << what;
  const double tol = tolerance<T>();
  auto close = [&](double a, double b) { return std::abs(a - b) <= tol * (1 + std::abs(a)); };
  for (std::size_t k = 0; k < cpu.mean.size(); ++k)
    EXPECT_PRED2(close, cpu.mean[k], warp.mean[k]) << what << ", mean entry " << k;
  for (std::size_t k = 0; k < cpu.factor.size(); ++k)
    EXPECT_PRED2(close, cpu.factor[k], warp.factor[k]) << what << ", factor entry " << k;
  for (std::size_t k = 0; k < cpu.elbo.size(); ++k) {
    EXPECT_EQ(std::isfinite(cpu.elbo[k]), std::isfinite(warp.elbo[k])) << what << ", elbo " << k;
    if (std::isfinite(cpu.elbo[k])) EXPECT_PRED2(close, cpu.elbo[k], warp.elbo[k]) << what << ", elbo " << k;
  }
}

template <class T>
class WarpEmulation : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(WarpEmulation, Scalars);

TYPED_TEST(WarpEmulation, QuadraticTargetsWithEveryEstimatorRuleAndFamily) {
  using T = TypeParam;
  const testing::Quadratics<T> q(3, 4, 1);
  const QuadraticModel<T> model = q.model(Prior<T>::isotropic(T(0.5)));
  testing::for_each_method([&](Family family, Options options, const std::string& what) {
    options.max_steps = 6;
    options.tolerance = 0.0;
    options.trace_elbo = options.estimator == Estimator::Stein;
    const GaussianBatch<T> start(q.B, q.d, family);
    expect_same(fit_on_cpu(model, start, options), fit_with_warp(model, quadratic_view(model), start, options), what);
  });
}

// A Monte Carlo fit with the defaults, run to convergence: the monitor averages the targets the warp
// writes out (StepArgs::targets) and sets each distribution's rho (StepArgs::rho_each), so the
// statuses, the averaged states and the final ELBOs must be the CPU's.
TEST(WarpEmulationDouble, AMonteCarloFitWithTheDefaultsConvergesAsOnTheCpu) {
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, 2, 2, 40, 60, 3);
  const GeneralizedLinearModel<double> model(Likelihood::Logistic, problems.data());
  Options options;
  options.estimator = Estimator::Stein;
  options.seed = 4;
  const GaussianBatch<double> start(2, 2);
  const Fitted<double> cpu = fit_on_cpu(model, start, options);
  ASSERT_EQ(cpu.status, std::vector<Status>(2, Status::Converged));
  expect_same(cpu, fit_with_warp(model, GlmView<double>(model, 0).view, start, options), "Stein, defaults");
}

TYPED_TEST(WarpEmulation, GlmsWithEveryLikelihoodEstimatorAndLayout) {
  using T = TypeParam;
  for (Likelihood likelihood : {Likelihood::Linear, Likelihood::Logistic, Likelihood::Poisson, Likelihood::Probit})
    for (const bool ragged : {false, true}) {
      // 45 rows: a full tile of 32 and a partial one; ragged: 0 to 70 rows.
      const auto problems = SyntheticProblems<T>::generate(likelihood, 3, 3, ragged ? 0 : 45, ragged ? 70 : 45,
                                                           10 + static_cast<int>(likelihood));
      const GeneralizedLinearModel<T> model(likelihood, problems.data());
      for (Family family : {Family::Full, Family::Diagonal})
        for (Estimator estimator : {Estimator::Price, Estimator::Stein, Estimator::Score, Estimator::Quadrature}) {
          Options options;
          options.estimator = estimator;
          options.step_size = estimator == Estimator::Score ? 0.05 : 0.3;
          options.max_steps = 5;
          options.tolerance = 0.0;
          options.trace_elbo = estimator == Estimator::Stein || estimator == Estimator::Quadrature;
          const GaussianBatch<T> start(3, 3, family);
          expect_same(fit_on_cpu(model, start, options), fit_with_warp(model, GlmView<T>(model, 0).view, start, options),
                      std::string(likelihood_name(likelihood)) + (ragged ? " ragged " : " dense ") +
                          estimator_name(estimator) + (family == Family::Full ? " full" : " diagonal"));
        }
    }
}

TYPED_TEST(WarpEmulation, OneDimensionAndTheLargestFusedDimensions) {
  using T = TypeParam;
  // d = 1; d = 32, every lane one entry; d = 33, the first past a warp (and the fused/batched boundary).
  for (const int d : {1, 32, 33}) {
    const auto problems = SyntheticProblems<T>::generate(Likelihood::Logistic, 2, d, 40, 40, 20 + d);
    const LogisticRegression<T> model(problems.data());
    for (Family family : {Family::Full, Family::Diagonal})
      for (Estimator estimator : {Estimator::Stein, Estimator::Quadrature}) {
        Options options;
        options.estimator = estimator;
        options.max_steps = 3;
        options.tolerance = 0.0;
        options.trace_elbo = true;
        const GaussianBatch<T> start(2, d, family);
        expect_same(fit_on_cpu(model, start, options), fit_with_warp(model, GlmView<T>(model, 0).view, start, options),
                    "d = " + std::to_string(d) + " " + estimator_name(estimator) +
                        (family == Family::Full ? " full" : " diagonal"));
      }
  }
}

TYPED_TEST(WarpEmulation, WarpAlgebraForEveryFusedDimension) {
  using T = TypeParam;
  // The lanes split the Cholesky factorizations, the solves, the products and the KL (team.cuh) over
  // columns or rows: every d from 1 to 33 (fewer columns than lanes, exactly 32, one past a warp),
  // the natural-gradient rules and Adam in turn, Price's and Stein's Hessians (the team's estimators).
  const Rule rules[] = {Rule::IBLR, Rule::BLR, Rule::CholeskyFactor, Rule::Adam};
  for (int d = 1; d <= 33; ++d) {
    const testing::Quadratics<T> q(2, d, 40 + static_cast<std::uint32_t>(d));
    const QuadraticModel<T> model = q.model(Prior<T>::isotropic(T(0.5)));
    for (Family family : {Family::Full, Family::Diagonal}) {
      Options options;
      options.rule = rules[d % 4];
      options.estimator = d % 2 ? Estimator::Price : Estimator::Stein;
      options.step_size = options.rule == Rule::Adam ? 0.05 : 0.3;
      options.max_steps = 3;
      options.tolerance = 0.0;
      options.trace_elbo = true;
      const GaussianBatch<T> start(q.B, d, family);
      expect_same(fit_on_cpu(model, start, options), fit_with_warp(model, quadratic_view(model), start, options),
                  "d = " + std::to_string(d) + " " + estimator_name(options.estimator) + " " +
                      rule_name(options.rule) + (family == Family::Full ? " full" : " diagonal"));
    }
  }
}

/// One step's team algebra (math::estimate and math::take_step) on the emulated warp and on one
/// thread, compiled alike in this file: the warp must reproduce the serial results bit for bit.
template <class T>
void expect_team_step_bitwise(int d, Rule rule, Estimator estimator, std::uint32_t seed) {
  math::StepPlan p;
  p.d = d;
  p.samples = 8;
  p.estimator = estimator;
  p.rule = rule;
  p.max_steps = 100;
  p.max_step_kl = 0.5;  // the trust region halves some of the steps
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<T> mu(d), factor(d * d), A(d * d);
  for (T& x : mu) x = T(normal(rng));
  std::vector<double> G(d * d);
  for (double& x : G) x = normal(rng);
  for (int i = 0; i < d; ++i)  // A = G G^T / d + I: the precision, whose factor is the state
    for (int j = 0; j < d; ++j) {
      double s = i == j ? 1.0 : 0.0;
      for (int k = 0; k < d; ++k) s += G[i * d + k] * G[j * d + k] / d;
      A[i * d + j] = T(s);
    }
  factor = A;
  ASSERT_TRUE(math::cholesky_in_place(factor.data(), d));
  std::vector<T> block(math::workspace_size(p));
  math::StepWorkspace<T> w = math::carve_workspace(p, block.data());
  for (int k = 0; k < p.samples * d; ++k) {
    w.eps[k] = T(normal(rng));
    w.gradients[k] = T(normal(rng));
  }
  for (int k = 0; k < d * d; ++k) w.hessian_mean[k] = A[k] + T(0.1) * T(normal(rng));  // not symmetric
  struct Run {
    std::vector<T> mu, factor, block, rule_state;
    Status status = Status::Running;
    int steps = 0, streak = 0, rejected = 0;
    T step_scale = T(1);
    double last_kl = 0;
    bool accepted = false;
  };
  auto start = [&] { return Run{mu, factor, block, std::vector<T>(math::rule_state_size(p), T(0))}; };
  auto step = [&](Run& r, auto team) {
    const math::StepWorkspace<T> rw = math::carve_workspace(p, r.block.data());
    const math::StepRecord<T> record{&r.status, &r.steps, &r.streak, &r.step_scale,
                                     &r.rejected, &r.last_kl, r.rule_state.data()};
    math::estimate(p, r.factor.data(), rw, team);
    const bool accepted = math::take_step(p, T(0.7), r.mu.data(), r.factor.data(), rw, record, team);
    if (team.leader()) r.accepted = accepted;
  };
  Run serial = start(), warp = start();
  step(serial, math::SerialTeam{});
  emulation::run_warp([&](int lane) { step(warp, gpu::WarpTeam{lane}); });
  const std::string what = "d = " + std::to_string(d) + " " + rule_name(rule) + " " + estimator_name(estimator);
  auto same_bits = [](const std::vector<T>& x, const std::vector<T>& y) {
    return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(T)) == 0;
  };
  EXPECT_EQ(serial.accepted, warp.accepted) << what;
  EXPECT_EQ(serial.status, warp.status) << what;
  EXPECT_EQ(serial.rejected, warp.rejected) << what;
  EXPECT_EQ(serial.step_scale, warp.step_scale) << what;  // the trust region's halvings
  EXPECT_EQ(std::memcmp(&serial.last_kl, &warp.last_kl, sizeof(double)), 0) << what;
  EXPECT_TRUE(same_bits(serial.mu, warp.mu)) << what;
  EXPECT_TRUE(same_bits(serial.factor, warp.factor)) << what;
  EXPECT_TRUE(same_bits(serial.block, warp.block)) << what;  // g, H, the candidate and the scratch
  EXPECT_TRUE(same_bits(serial.rule_state, warp.rule_state)) << what;
}

TYPED_TEST(WarpEmulation, TeamAlgebraIsTheSerialAlgebraBitForBit) {
  for (int d = 1; d <= 33; ++d)
    for (Rule rule : {Rule::IBLR, Rule::BLR, Rule::CholeskyFactor, Rule::Adam})
      expect_team_step_bitwise<TypeParam>(d, rule, d % 2 ? Estimator::Stein : Estimator::Price,
                                          static_cast<std::uint32_t>(100 * d + static_cast<int>(rule)));
}

TEST(WarpEmulationDouble, MinibatchesManySamplesAndLargeDimensions) {
  // S = 40 samples (lanes loop over them), d = 35 (lanes loop over entries), minibatches of 20 rows.
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, 2, 35, 60, 90, 3);
  const std::vector<double> prior_mean(35, 0.25);
  const LogisticRegression<double> model(problems.data(), Prior<double>::isotropic(2.0, prior_mean));
  for (Estimator estimator : {Estimator::Price, Estimator::Stein}) {
    Options options;
    options.estimator = estimator;
    options.samples = 40;
    options.minibatch_rows = 20;
    options.max_steps = 3;
    options.tolerance = 0.0;
    const GaussianBatch<double> start(2, 35);
    expect_same(fit_on_cpu(model, start, options),
                fit_with_warp(model, GlmView<double>(model, 20).view, start, options), estimator_name(estimator));
  }
}

TEST(WarpEmulationDouble, FullPriorsAndFailuresAsOnTheCpu) {
  auto problems = SyntheticProblems<double>::generate(Likelihood::Poisson, 5, 2, 20, 40, 4);
  problems.y[static_cast<std::size_t>(problems.offsets[1])] = 0.5;  // problem 1: not a count
  for (int i = 0; i < 2; ++i) problems.x[static_cast<std::size_t>(problems.offsets[3]) * 2 + i] = 400.0;  // overflows
  std::mt19937 rng(5);
  std::vector<double> precisions;
  for (int b = 0; b < 5; ++b) testing::append(precisions, testing::random_spd(2, rng, 0.5, 2.0));
  const PoissonRegression<double> model(problems.data(), Prior<double>::full(2, precisions, {0.1, -0.2}));
  GaussianBatch<double> start(5, 2);
  start.precision_cholesky()[4 * 4] = 0.0;  // problem 4: not a valid factor
  Options options;
  options.estimator = Estimator::Stein;
  options.max_steps = 8;
  const Fitted<double> cpu = fit_on_cpu(model, start, options);
  EXPECT_EQ(cpu.status[1], Status::InvalidData);
  EXPECT_TRUE(is_failure(cpu.status[3]));
  EXPECT_EQ(cpu.status[4], Status::InvalidState);
  expect_same(cpu, fit_with_warp(model, GlmView<double>(model, 0).view, start, options), "failures");

  // A saddle: BLR rejects steps and halves them, as on the CPU.
  const std::vector<double> center = {0.0, 0.0}, curvature = {1.0, 0.0, 0.0, -3.0};
  const QuadraticModel<double> saddle(1, 2, center.data(), curvature.data(), false, Prior<double>::isotropic(1.0));
  options.estimator = Estimator::Price;
  options.rule = Rule::BLR;
  options.step_size = 1.0;
  options.max_steps = 30;
  const Fitted<double> blr = fit_on_cpu(saddle, GaussianBatch<double>(1, 2), options);
  EXPECT_GT(blr.rejected[0], 0);
  expect_same(blr, fit_with_warp(saddle, quadratic_view(saddle), GaussianBatch<double>(1, 2), options), "saddle");
}

}  // namespace
}  // namespace ngvi
