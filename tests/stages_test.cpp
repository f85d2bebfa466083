// The host's step stages (cpu/stages.hpp): every compilation of them (each fixed dimension, the one
// for any d, the x86-64-v3 level where the CPU has it) takes the step the shared math takes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cpu/sampling.hpp"
#include "cpu/stages.hpp"
#include "math/step.cuh"
#include "ngvi/options.hpp"

namespace ngvi {
namespace {

/// One distribution's step, from a fixed start, on a quadratic target f(z) = |z - c|^2_A / 2 whose
/// gradients and Hessians the test supplies between the stages.
template <class T>
struct Step {
  math::StepPlan p;
  std::vector<T> block, scratch, mu, factor, moments;
  math::StepWorkspace<T> w;
  Status status = Status::Running;
  int steps = 0, streak = 0, rejected = 0;
  T scale = T(1);
  double last_kl = 0.0;
  bool accepted = false;

  explicit Step(const math::StepPlan& plan) : p(plan) {
    const int d = p.d;
    block.assign(math::workspace_size(p), T(0));
    scratch.assign(detail::draw_scratch_size<T>(p), T(0));
    w = math::carve_workspace(p, block.data());
    mu.assign(d, T(0));
    factor.assign(math::factor_size(p), T(0));
    for (int i = 0; i < d; ++i) {
      mu[i] = T(0.3) * T(i % 3) - T(0.2);
      if (p.diagonal) {
        factor[i] = T(1.5) + T(0.1) * T(i);
      } else {
        factor[i * d + i] = T(1.5) + T(0.1) * T(i);
        for (int j = 0; j < i; ++j) factor[i * d + j] = T(0.05) * T((i + 2 * j) % 5) - T(0.1);
      }
    }
    moments.assign(math::rule_state_size(p), T(0));
  }

  // A = I + 0.2 (the all-ones matrix), c = (1, ..., 1): an SPD curvature with off-diagonal terms.
  void evaluate() {
    const int d = p.d;
    for (int s = 0; s < p.samples; ++s) {
      const T* z = w.points + s * d;
      T sum = T(0);
      for (int i = 0; i < d; ++i) sum += z[i] - T(1);
      for (int i = 0; i < d; ++i) w.gradients[s * d + i] = (z[i] - T(1)) + T(0.2) * sum;
    }
    const int m = math::factor_size(p);
    for (int k = 0; k < m; ++k) w.hessian_mean[k] = p.diagonal ? T(1.2) : (k % (d + 1) == 0 ? T(1.2) : T(0.2));
  }

  math::StepRecord<T> record() { return {&status, &steps, &streak, &scale, &rejected, &last_kl, moments.data()}; }

  void run(const detail::StepStages<T>* stages) {
    if (stages) stages->draw(p, 5u, 9u, mu.data(), factor.data(), w.eps, w.points, scratch.data());
    else detail::draw_samples(p, 5u, 9u, mu.data(), factor.data(), w.eps, w.points, scratch.data());
    evaluate();
    if (stages) stages->estimate(p, factor.data(), w);
    else math::estimate(p, factor.data(), w);
    accepted = stages ? stages->take_step(p, T(0.4), mu.data(), factor.data(), w, record())
                      : math::take_step(p, T(0.4), mu.data(), factor.data(), w, record());
  }
};

template <class T>
void expect_close(const std::vector<T>& a, const std::vector<T>& b, const std::string& what) {
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-12;
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t k = 0; k < a.size(); ++k)
    EXPECT_NEAR(a[k], b[k], tol * (1 + std::abs(static_cast<double>(b[k])))) << what << ", entry " << k;
}

template <class T>
void expect_same_step(const Step<T>& stages, const Step<T>& shared, const std::string& what) {
  EXPECT_EQ(stages.accepted, shared.accepted) << what;
  EXPECT_EQ(stages.status, shared.status) << what;
  EXPECT_EQ(stages.steps, shared.steps) << what;
  EXPECT_EQ(stages.scale, shared.scale) << what;  // the trust region halved alike
  const int n = stages.p.samples * stages.p.d;
  expect_close(std::vector<T>(stages.w.points, stages.w.points + n), std::vector<T>(shared.w.points, shared.w.points + n),
               what + ", points");
  expect_close(stages.mu, shared.mu, what + ", mean");
  expect_close(stages.factor, shared.factor, what + ", factor");
}

template <class T>
class StepStages : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(StepStages, Scalars);

TYPED_TEST(StepStages, EveryCompilationTakesTheStepOfTheSharedMath) {
  using T = TypeParam;
  std::vector<std::pair<std::string, detail::StepStageTables>> levels{{"generic", detail::step_stages_generic()}};
#if defined(NGVI_CPU_DISPATCH)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v3")) levels.emplace_back("x86-64-v3", detail::step_stages_x86_64_v3());
#endif
  const Rule rules[] = {Rule::IBLR, Rule::BLR, Rule::CholeskyFactor, Rule::Adam};
  for (int d = 1; d <= detail::kFixedDimensions + 2; ++d)
    for (const bool diagonal : {false, true})
      for (const Estimator estimator : {Estimator::Stein, Estimator::Price}) {
        math::StepPlan p;
        p.d = d;
        p.samples = 2 + d % 5;  // odd counts too: the last antithetic sample has no partner
        p.diagonal = diagonal;
        p.estimator = estimator;
        p.rule = rules[d % 4];
        p.seed = 42;
        p.max_steps = 100;
        p.max_step_kl = 0.05;  // small enough for the trust region to halve some steps
        Step<T> shared(p);
        shared.run(nullptr);
        const std::string what = "d = " + std::to_string(d) + (diagonal ? " diagonal " : " full ") +
                                 estimator_name(estimator) + " " + rule_name(p.rule);
        for (const auto& [level, tables] : levels) {
          // The dimension's own entry (past kFixedDimensions, the one for any d) and the one for any d.
          for (const int entry : {d <= detail::kFixedDimensions ? d : 0, 0}) {
            Step<T> staged(p);
            staged.run(&tables.template of<T>()[entry]);
            expect_same_step(staged, shared, what + ", " + level + " entry " + std::to_string(entry));
          }
        }
        // The stages the library takes for this CPU are among those.
        Step<T> chosen(p);
        const detail::StepStages<T> stages = detail::step_stages<T>(d);
        chosen.run(&stages);
        expect_same_step(chosen, shared, what + ", step_stages");
      }
}

}  // namespace
}  // namespace ngvi
