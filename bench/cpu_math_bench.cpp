// Google Benchmark of the per-distribution mathematics on the CPU (kernels/math): the stages of one
// full-covariance step, for d in {4, 10, 16, 64}, S = 16, in float and double. Each iteration is one
// distribution's stage; items per second are distribution-stages per second on one core.
// BM_Step runs a whole Monte Carlo step (the host's draw, the Stein estimate, the iBLR rule with its
// trust region) by the library's stages for the plan's dimension (cpu/stages.hpp) or, for comparison,
// by the same functions compiled for any d.
#include <benchmark/benchmark.h>

#include <vector>

#include "cpu/sampling.hpp"
#include "cpu/stages.hpp"
#include "math/step.cuh"

namespace {

using namespace ngvi;
using namespace ngvi::math;

template <class T>
struct Stage {
  StepPlan plan;
  std::vector<T> block, mu, L, moments;
  StepWorkspace<T> w;
  explicit Stage(int d, Rule rule = Rule::IBLR) {
    plan.d = d;
    plan.samples = 16;
    plan.estimator = Estimator::Stein;
    plan.rule = rule;
    block.assign(workspace_size(plan), T(0));
    w = carve_workspace(plan, block.data());
    mu.assign(d, T(0.1));
    L.assign(d * d, T(0));
    for (int i = 0; i < d; ++i) {
      L[i * d + i] = T(2);
      if (i) L[i * d + i - 1] = T(0.3);
    }
    for (int k = 0; k < plan.samples * d; ++k) w.gradients[k] = T(0.01) * T(k % 7);
    for (int i = 0; i < d * d; ++i) w.H[i] = i % (d + 1) == 0 ? T(3) : T(0.01);
    moments.assign(rule_state_size(plan), T(0));
  }
};

template <class T>
void BM_Draw(benchmark::State& state) {
  Stage<T> s(static_cast<int>(state.range(0)));
  std::uint32_t step = 0;
  for (auto _ : state) {
    draw_eps(s.plan, 7u, step++, s.w.eps);
    draw_points(s.plan, s.mu.data(), s.L.data(), s.w.eps, s.w.points);
    benchmark::DoNotOptimize(s.w.points[0]);
  }
  state.SetItemsProcessed(state.iterations());
}

template <class T>
void BM_SteinEstimate(benchmark::State& state) {
  Stage<T> s(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    estimate(s.plan, s.L.data(), s.w);
    benchmark::DoNotOptimize(s.w.H[0]);
  }
  state.SetItemsProcessed(state.iterations());
}

template <class T, Rule kRule>
void BM_Rule(benchmark::State& state) {
  Stage<T> s(static_cast<int>(state.range(0)), kRule);
  for (auto _ : state) {
    benchmark::DoNotOptimize(apply_rule(s.plan, s.mu.data(), s.L.data(), T(0.5), s.w, s.moments.data(), 1));
    benchmark::DoNotOptimize(step_kl(s.plan, s.mu.data(), s.L.data(), s.w));
  }
  state.SetItemsProcessed(state.iterations());
}

template <class T, bool kLibraryStages>
void BM_Step(benchmark::State& state) {
  Stage<T> s(static_cast<int>(state.range(0)));
  s.plan.max_step_kl = 1.0;
  s.plan.max_steps = 1 << 30;
  const int d = s.plan.d;
  const detail::StepStages<T> stages = detail::step_stages<T>(d);
  std::vector<T> draw_scratch(detail::draw_scratch_size<T>(s.plan)), mu = s.mu, L = s.L;
  Status status = Status::Running;
  int steps = 0, streak = 0, rejected = 0;
  T scale = T(1);
  double last_kl = 0.0;
  const StepRecord<T> record{&status, &steps, &streak, &scale, &rejected, &last_kl, s.moments.data()};
  std::uint32_t step = 0;
  for (auto _ : state) {
    std::copy(s.mu.begin(), s.mu.end(), mu.begin());  // every iteration steps from the same state
    std::copy(s.L.begin(), s.L.end(), L.begin());
    if (kLibraryStages) {
      stages.draw(s.plan, 7u, step++, mu.data(), L.data(), s.w.eps, s.w.points, draw_scratch.data());
      stages.estimate(s.plan, L.data(), s.w);
    } else {
      detail::draw_samples(s.plan, 7u, step++, mu.data(), L.data(), s.w.eps, s.w.points, draw_scratch.data());
      estimate(s.plan, L.data(), s.w);
    }
    for (int i = 0; i < d; ++i) s.w.H[i * d + i] += T(1);  // a positive-definite target
    status = Status::Running;
    benchmark::DoNotOptimize(kLibraryStages ? stages.take_step(s.plan, T(0.5), mu.data(), L.data(), s.w, record)
                                            : take_step(s.plan, T(0.5), mu.data(), L.data(), s.w, record));
  }
  state.SetItemsProcessed(state.iterations());
}

#define NGVI_SIZES ->Arg(4)->Arg(10)->Arg(16)->Arg(64)
BENCHMARK_TEMPLATE(BM_Draw, float) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_Draw, double) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_SteinEstimate, float) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_SteinEstimate, double) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_Rule, float, Rule::IBLR) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_Rule, double, Rule::IBLR) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_Rule, float, Rule::BLR) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_Rule, float, Rule::CholeskyFactor) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_Rule, float, Rule::Adam) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_Step, double, true) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_Step, double, false) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_Step, float, true) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_Step, float, false) NGVI_SIZES;

}  // namespace

BENCHMARK_MAIN();
