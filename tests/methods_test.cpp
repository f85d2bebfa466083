// Every estimator x rule x family reaches the same Gaussian-VI optimum; natural gradients need far
// fewer steps than Adam; the score estimator with the Cholesky-factor rule (xNES) minimises black-box
// functions; custom pointwise models get exactly the estimators their derivatives allow.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "ngvi/error.hpp"
#include "ngvi/fit.hpp"
#include "ngvi/models.hpp"
#include "ngvi/synthetic.hpp"
#include "test_util.hpp"

namespace ngvi {
namespace {

using testing::Matrix;
using testing::Vector;

struct LogisticBatch {
  SyntheticProblems<double> problems = SyntheticProblems<double>::generate(Likelihood::Logistic, 12, 3, 60, 100, 41);
  LogisticRegression<double> model{problems.data()};
};

// The optimum of a family by exact quadrature and iBLR, to a tight tolerance.
GaussianBatch<double> reference_optimum(const Model<double>& model, Family family) {
  GaussianBatch<double> q(model.num_problems(), model.dimension(), family);
  Options options;
  options.estimator = Estimator::Quadrature;
  options.tolerance = 1e-22;
  options.max_steps = 200;
  fit(model, q, options);
  return q;
}

double max_difference(const GaussianBatch<double>& a, const GaussianBatch<double>& b) {
  double worst = 0;
  for (std::size_t k = 0; k < a.size() * a.dimension(); ++k) worst = std::max(worst, std::abs(a.mean()[k] - b.mean()[k]));
  for (std::size_t k = 0; k < a.size() * a.matrix_size(); ++k)
    worst = std::max(worst, std::abs(a.precision_cholesky()[k] - b.precision_cholesky()[k]));
  return worst;
}

TEST(Methods, EveryRuleAndFamilyReachesTheSameOptimumWithExactExpectations) {
  const LogisticBatch batch;
  for (Family family : {Family::Full, Family::Diagonal}) {
    const GaussianBatch<double> reference = reference_optimum(batch.model, family);
    for (Rule rule : {Rule::BLR, Rule::CholeskyFactor, Rule::Adam}) {
      GaussianBatch<double> q(12, 3, family);
      Options options;
      options.estimator = Estimator::Quadrature;
      options.rule = rule;
      options.tolerance = 1e-22;
      options.max_steps = rule == Rule::Adam ? 4000 : 200;
      if (rule == Rule::Adam) options.step_size = 0.03;
      fit(batch.model, q, options);
      EXPECT_LT(max_difference(q, reference), rule == Rule::Adam ? 1e-4 : 1e-9)
          << rule_name(rule) << (family == Family::Full ? " full" : " diagonal");
    }
  }
}

TEST(Methods, MonteCarloEstimatorsReachTheOptimumWithinTheirNoise) {
  const LogisticBatch batch;
  const GaussianBatch<double> reference = reference_optimum(batch.model, Family::Full);
  std::vector<double> cov(12 * 9);
  reference.covariance(cov.data());
  for (Estimator estimator : {Estimator::Price, Estimator::Stein, Estimator::Score}) {
    GaussianBatch<double> q(12, 3);
    Options options;
    options.estimator = estimator;
    options.samples = estimator == Estimator::Score ? 64 : 32;
    options.schedule = Schedule::RobbinsMonro;
    options.step_size = estimator == Estimator::Score ? 0.3 : 1.0;
    options.decay_steps = 20;
    options.decay_power = 1.0;
    options.max_steps = estimator == Estimator::Score ? 1500 : 400;
    options.tolerance = 0;
    fit(batch.model, q, options);
    double error = 0;  // in posterior standard deviations, averaged
    for (std::size_t b = 0; b < 12; ++b)
      for (int i = 0; i < 3; ++i)
        error += std::abs(q.mean()[b * 3 + i] - reference.mean()[b * 3 + i]) / std::sqrt(cov[b * 9 + i * 4]) / 36;
    EXPECT_LT(error, estimator == Estimator::Score ? 0.15 : 0.03) << estimator_name(estimator);
  }
}

TEST(Methods, NaturalGradientsNeedFarFewerStepsThanAdam) {
  const LogisticBatch batch;
  auto steps_to = [&](Rule rule, double step_size, double target) {
    GaussianBatch<double> q(12, 3);
    Options options;
    options.rule = rule;
    options.step_size = step_size;
    options.trace_elbo = true;
    options.tolerance = 0;
    options.max_steps = rule == Rule::Adam ? 3000 : 100;
    int reached = options.max_steps + 1;
    options.progress = [&](const Progress& p) {
      if (p.mean_elbo >= target) reached = p.iteration;
      return p.mean_elbo < target;  // stop once there
    };
    fit(batch.model, q, options);
    return reached;
  };
  GaussianBatch<double> optimum(12, 3);
  Options exact;
  exact.trace_elbo = true;
  exact.tolerance = 1e-22;
  const double best = fit(batch.model, optimum, exact).elbo_trace.back();
  const double target = best - 1e-3;  // mean ELBO within 1e-3 nats of the optimum
  const int natural = steps_to(Rule::IBLR, 0.5, target);
  int adam = 1 << 30;
  for (double learning_rate : {0.01, 0.03, 0.1, 0.3}) adam = std::min(adam, steps_to(Rule::Adam, learning_rate, target));
  std::cout << "steps to reach the optimal mean ELBO within 1e-3: iBLR " << natural << ", Adam (best of 4 rates) "
            << adam << "\n";
  RecordProperty("ngd_steps", natural);
  RecordProperty("adam_steps", adam);
  EXPECT_LT(4 * natural, adam);
}

// f(z) = beta * sum_i (R (z - c))_i^2 scaled per axis, or a rotated, shifted Rosenbrock: the score
// estimator sees only values.
struct BlackBox {
  std::vector<double> shift;     // (B, d)
  std::vector<double> rotation;  // (B, d, d)
  int d;
  bool rosenbrock;
  double value(std::size_t b, const double* z) const {
    double y[8];
    for (int i = 0; i < d; ++i) {
      y[i] = 0;
      for (int j = 0; j < d; ++j) y[i] += rotation[b * d * d + i * d + j] * (z[j] - shift[b * d + j]);
    }
    double f = 0;
    if (rosenbrock) {
      for (int i = 0; i + 1 < d; ++i) f += 100 * std::pow(y[i + 1] - y[i] * y[i], 2) + std::pow(1 - y[i], 2);
    } else {
      for (int i = 0; i < d; ++i) f += (i + 1) * y[i] * y[i];
    }
    return 1e4 * f;  // a cold target: the fitted q concentrates at the minimiser
  }
};

TEST(Methods, ScoreEstimatorWithTheCholeskyRuleMinimisesBlackBoxFunctions) {
  for (bool rosenbrock : {false, true}) {
    const int d = rosenbrock ? 2 : 4;
    const std::size_t B = 20;
    BlackBox f{{}, {}, d, rosenbrock};
    std::mt19937 rng(43);
    for (std::size_t b = 0; b < B; ++b) {
      testing::append(f.shift, testing::random_vector(d, rng));
      const Eigen::HouseholderQR<Matrix<double>> qr(Matrix<double>(testing::random_spd(d, rng)));
      testing::append(f.rotation, Matrix<double>(qr.householderQ()));
    }
    const auto model = make_model<double>(B, d, f);
    static_assert(!decltype(model)::kHasGradient);
    EXPECT_EQ(model.derivatives(), Derivatives::Value);
    GaussianBatch<double> q(B, d);
    Options options;  // Auto: the score estimator is all a value-only model allows
    options.rule = Rule::CholeskyFactor;
    options.samples = 16;
    options.step_size = 0.2;
    options.max_steps = 3000;
    options.tolerance = 1e-10;
    const Summary s = fit(model, q, options);
    EXPECT_EQ(s.estimator, Estimator::Score);
    EXPECT_EQ(s.failures(), 0u);
    EXPECT_GT(s.iterations, 20);  // it had to walk there from N(0, I)
    for (std::size_t b = 0; b < B; ++b) {
      // The minimiser: y = 0 (quadratic) or y = 1 (Rosenbrock), i.e. z = c + R^T y.
      const Eigen::Map<const Matrix<double>> R(f.rotation.data() + b * d * d, d, d);
      const Vector<double> y = Vector<double>::Constant(d, rosenbrock ? 1.0 : 0.0);
      const Vector<double> minimiser = testing::segment(f.shift.data(), b, d) + R.transpose() * y;
      EXPECT_LT((testing::segment(q.mean(), b, d) - minimiser).norm(), 2e-2)
          << (rosenbrock ? "rosenbrock " : "quadratic ") << b;
    }
  }
}

// A custom model with a gradient but no Hessian: f_b(z) = sum log cosh(z_i - b).
struct LogCosh {
  double value(std::size_t b, const double* z) const {
    double f = 0;
    for (int i = 0; i < 2; ++i) f += std::log(std::cosh(z[i] - double(b)));
    return f;
  }
  double gradient(std::size_t b, const double* z, double* grad) const {
    for (int i = 0; i < 2; ++i) grad[i] = std::tanh(z[i] - double(b));
    return value(b, z);
  }
};

TEST(Methods, CustomModelsGetTheEstimatorsTheirDerivativesAllow) {
  const auto model = make_model<double>(3, 2, LogCosh{}, Prior<double>::isotropic(1.0));
  EXPECT_EQ(model.derivatives(), Derivatives::Gradient);
  GaussianBatch<double> q(3, 2);
  Options options;
  const Summary s = fit(model, q, options);
  EXPECT_EQ(s.estimator, Estimator::Stein);
  options.estimator = Estimator::Price;
  try {
    fit(model, q, options);
    ADD_FAILURE() << "Price without a Hessian was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("options.estimator = price needs Hessians"), std::string::npos) << e.what();
  }
  options.estimator = Estimator::Quadrature;
  EXPECT_THROW(fit(model, q, options), Error);
}

}  // namespace
}  // namespace ngvi
