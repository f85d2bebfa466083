// Google Benchmark of the per-distribution mathematics on the CPU (kernels/math): the stages of one
// full-covariance step, for d in {4, 16, 64}, S = 16, in float and double. Each iteration is one
// distribution's stage; items per second are distribution-stages per second on one core.
#include <benchmark/benchmark.h>

#include <vector>

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

#define NGVI_SIZES ->Arg(4)->Arg(16)->Arg(64)
BENCHMARK_TEMPLATE(BM_Draw, float) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_Draw, double) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_SteinEstimate, float) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_SteinEstimate, double) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_Rule, float, Rule::IBLR) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_Rule, double, Rule::IBLR) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_Rule, float, Rule::BLR) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_Rule, float, Rule::CholeskyFactor) NGVI_SIZES;
BENCHMARK_TEMPLATE(BM_Rule, float, Rule::Adam) NGVI_SIZES;

}  // namespace

BENCHMARK_MAIN();
