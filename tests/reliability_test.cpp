// Reliability: concurrent fits do not disturb each other; float32 factorization failures are
// detected, reported and never corrupt a state.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "ngvi/fit.hpp"
#include "ngvi/models.hpp"
#include "ngvi/synthetic.hpp"

namespace ngvi {
namespace {

template <class T>
std::vector<T> state_of(const GaussianBatch<T>& q) {
  std::vector<T> s(q.mean(), q.mean() + q.size() * q.dimension());
  s.insert(s.end(), q.precision_cholesky(), q.precision_cholesky() + q.size() * q.matrix_size());
  return s;
}

TEST(Reliability, TwoFitsFromTwoThreadsGiveWhatEachGivesAlone) {
  const auto logistic = SyntheticProblems<double>::generate(Likelihood::Logistic, 300, 4, 30, 80, 1);
  const auto poisson = SyntheticProblems<float>::generate(Likelihood::Poisson, 200, 3, 30, 80, 2);
  const LogisticRegression<double> model_a(logistic.data());
  const PoissonRegression<float> model_b(poisson.data());
  Options a;
  a.estimator = Estimator::Stein;
  a.max_steps = 40;
  a.num_threads = 2;
  Options b = a;
  b.estimator = Estimator::Price;
  b.seed = 5;

  GaussianBatch<double> alone_a(300, 4);
  GaussianBatch<float> alone_b(200, 3);
  const Summary sa = fit(model_a, alone_a, a);
  const Summary sb = fit(model_b, alone_b, b);

  GaussianBatch<double> together_a(300, 4);
  GaussianBatch<float> together_b(200, 3);
  Summary ta, tb;
  std::thread first([&] { ta = fit(model_a, together_a, a); });
  std::thread second([&] { tb = fit(model_b, together_b, b); });
  first.join();
  second.join();
  EXPECT_EQ(state_of(alone_a), state_of(together_a));
  EXPECT_EQ(state_of(alone_b), state_of(together_b));
  EXPECT_EQ(sa.elbo, ta.elbo);
  EXPECT_EQ(sb.elbo, tb.elbo);
}

TEST(Reliability, Float32FactorizationFailuresAreReportedAndNeverCorruptTheState) {
  // A singular curvature and no prior: BLR with rho = 1 asks for Lambda' = A exactly, whose
  // factorization fails: that candidate is rejected and the step halved. The target is improper along
  // z1 - z2, so the precision then shrinks towards A's null space step by step and the ELBO grows
  // without bound until it overflows float32: reported as non_finite_value, never as a corrupt state.
  const float center[2] = {1.f, -1.f}, curvature[4] = {1.f, 1.f, 1.f, 1.f};
  const QuadraticModel<float> model(1, 2, center, curvature);
  Options options;
  options.estimator = Estimator::Quadrature;
  options.rule = Rule::BLR;
  options.step_size = 1.0;
  options.max_steps = 200;
  GaussianBatch<float> q(1, 2);
  const Summary s = fit(model, q, options);
  EXPECT_GT(s.rejected_steps[0], 0);
  EXPECT_TRUE(s.status[0] == Status::NotPositiveDefinite || s.status[0] == Status::StepBudget ||
              s.status[0] == Status::NonFiniteValue)
      << status_name(s.status[0]) << ", " << s.rejected_steps[0] << " rejected";
  for (float v : state_of(q)) EXPECT_TRUE(std::isfinite(v));
  EXPECT_GT(q.precision_cholesky()[0], 0.f);
  EXPECT_GT(q.precision_cholesky()[3], 0.f);
}

}  // namespace
}  // namespace ngvi
