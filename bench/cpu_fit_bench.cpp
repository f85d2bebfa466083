// Google Benchmark of whole CPU fit steps on the standard workload of the issues: logistic
// regression, N = 256 rows per problem, S = 16 samples, full covariance, iBLR, float32, with the
// Stein and Price estimators (and exact quadrature), B = 2000, d in {4, 16, 64}. Items per second are
// distribution-steps per second on all the threads OpenMP gives.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <tuple>

#include "ngvi/fit.hpp"
#include "ngvi/models.hpp"
#include "ngvi/synthetic.hpp"

namespace {

using namespace ngvi;

const SyntheticProblems<float>& problems(int d) {
  static std::map<int, std::unique_ptr<SyntheticProblems<float>>> cache;
  auto& p = cache[d];
  if (!p)
    p = std::make_unique<SyntheticProblems<float>>(
        SyntheticProblems<float>::generate(Likelihood::Logistic, 2000, d, 256, 256, 2026));
  return *p;
}

void BM_FitSteps(benchmark::State& state) {
  const int d = static_cast<int>(state.range(0));
  const auto estimator = static_cast<Estimator>(state.range(1));
  const LogisticRegression<float> model(problems(d).data());
  Options options;
  options.estimator = estimator;
  options.samples = 16;
  options.max_steps = 5;
  options.tolerance = 0;  // every distribution takes every step
  std::size_t steps = 0;
  for (auto _ : state) {
    GaussianBatch<float> q(2000, d);
    steps += fit(model, q, options).distribution_steps;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(steps));
  state.SetLabel(estimator_name(estimator));
}

BENCHMARK(BM_FitSteps)
    ->ArgsProduct({{4, 16, 64},
                   {static_cast<int>(Estimator::Stein), static_cast<int>(Estimator::Price),
                    static_cast<int>(Estimator::Quadrature)}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
