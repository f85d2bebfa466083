// Generalized linear models: exact posteriors for linear regression on real data, the optimality
// conditions of Gaussian VI for logistic (Gauss-Hermite oracle) and Poisson (closed form), layouts,
// bad data and determinism.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "ngvi/error.hpp"
#include "ngvi/fit.hpp"
#include "ngvi/models.hpp"
#include "ngvi/synthetic.hpp"
#include "math/glm.cuh"
#include "models/glm_rows.hpp"
#include "real_data.hpp"
#include "test_util.hpp"

namespace ngvi {
namespace {

using testing::Matrix;
using testing::accurate_monte_carlo;
using testing::RealLinearData;
using testing::Vector;

// Per-distribution optimality residuals of Gaussian VI: ||E_q[grad f]|| and ||Lambda - E_q[hess f]||,
// both relative to the size of the prior-plus-data Hessian.
struct Residuals {
  double gradient = 0, precision = 0;
};

// Exact expectations of each row's derivatives (d1, d2) under a_n ~ N(x^T mu, x^T Sigma x).
template <class Expect>
Residuals optimality(const RegressionData<double>& data, const GaussianBatch<double>& batch, std::size_t b,
                     double prior_precision, Expect&& expect_row) {
  const int d = data.dimension;
  std::vector<double> cov(batch.size() * batch.matrix_size());
  batch.covariance(cov.data());
  const Matrix<double> Sigma = testing::block(cov, b, d);
  const Vector<double> mu = testing::segment(batch.mean(), b, d);
  Vector<double> g = prior_precision * mu;
  Matrix<double> H = prior_precision * Matrix<double>::Identity(d, d);
  for (std::size_t n = 0; n < data.rows(b); ++n) {
    const std::size_t row = data.begin(b) + n;
    const Eigen::Map<const Vector<double>> x(data.x + row * d, d);
    const auto [d1, d2] = expect_row(x.dot(mu), x.dot(Sigma * x), data.y[row]);
    g += d1 * x;
    H += d2 * x * x.transpose();
  }
  const Matrix<double> lambda = Sigma.inverse();
  return {g.norm() / H.norm(), (lambda - H).norm() / H.norm()};
}

// Each likelihood's row function and its Gauss-Hermite (60 nodes) or closed-form expectation.
struct RowOracle {
  Likelihood likelihood;
  double inv_variance = 1.0;
  math::RowTerms<double> at(double a, double y) const {
    switch (likelihood) {
      case Likelihood::Linear: return math::linear_row<true>(a, y, inv_variance);
      case Likelihood::Logistic: return math::logistic_row<true>(a, y);
      case Likelihood::Poisson: return math::poisson_row<true>(a, y);
      case Likelihood::Probit: return math::probit_row<true>(a, y);
    }
    return {};
  }
  std::pair<double, double> expected(double m, double v, double y) const {
    const testing::GaussHermite gh(60);
    return {gh.expect(m, v, [&](double a) { return at(a, y).d1; }),
            gh.expect(m, v, [&](double a) { return at(a, y).d2; })};
  }
};

TEST(Glm, VectorizedEvaluationMatchesTheScalarRowFunctions) {
  for (Likelihood likelihood : {Likelihood::Linear, Likelihood::Logistic, Likelihood::Poisson, Likelihood::Probit}) {
    const auto problems = SyntheticProblems<double>::generate(likelihood, 3, 4, 7, 13, 21);
    const GeneralizedLinearModel<double> model(likelihood, problems.data(), Prior<double>::none(), 0.7);
    const RowOracle oracle{likelihood, 1 / (0.7 * 0.7)};
    const int d = 4;
    // Samples are evaluated in chunks of a SIMD register's width: one partial chunk, then several.
    for (const int S : {5, 19}) {
      std::mt19937 rng(3);
      std::vector<double> z(S * d);
      for (double& v : z) v = testing::random_vector(1, rng)(0);
      std::vector<double> values(S), gradients(S * d), hessian(d * d), scratch(model.scratch_size(S));
      for (std::size_t b = 0; b < 3; ++b) {
        Evaluation<double> out{values.data(), gradients.data(), hessian.data(), false};
        model.evaluate(b, z.data(), S, out, scratch.data(), EvaluationContext());
        const auto data = problems.data();
        Matrix<double> H = Matrix<double>::Zero(d, d);
        for (int s = 0; s < S; ++s) {
          double value = 0;
          Vector<double> g = Vector<double>::Zero(d);
          for (std::size_t n = 0; n < data.rows(b); ++n) {
            const Eigen::Map<const Vector<double>> x(data.x + (data.begin(b) + n) * d, d);
            const auto t = oracle.at(x.dot(Eigen::Map<const Vector<double>>(z.data() + s * d, d)), data.y[data.begin(b) + n]);
            value += t.value;
            g += t.d1 * x;
            H += t.d2 * x * x.transpose() / S;
          }
          double constant = 0;  // the normalising constants of the fully normalised likelihood
          for (std::size_t n = 0; n < data.rows(b); ++n) {
            const double y = data.y[data.begin(b) + n];
            if (likelihood == Likelihood::Poisson) constant += std::lgamma(y + 1);
            if (likelihood == Likelihood::Linear) constant += 0.5 * std::log(2 * M_PI * 0.49);
          }
          EXPECT_NEAR(values[s], value + constant, 1e-12 * (1 + std::abs(value))) << likelihood_name(likelihood);
          EXPECT_LT((testing::segment(gradients.data(), s, d) - g).norm(), 1e-12 * (1 + g.norm()));
        }
        EXPECT_LT((Eigen::Map<Matrix<double>>(hessian.data(), d, d) - H).norm(), 1e-12 * (1 + H.norm()));
        // Asking for fewer outputs (the Stein estimator's case) gives the same gradients.
        std::vector<double> alone(S * d);
        model.evaluate(b, z.data(), S, Evaluation<double>{nullptr, alone.data(), nullptr, false}, scratch.data(),
                       EvaluationContext());
        EXPECT_EQ(alone, gradients);
      }
    }
  }
}

// The kernels of every x86-64 level this CPU runs (host/models/glm_rows.hpp) against the generic
// ones, which the test above checks against the scalar row functions: the same values, gradients,
// Hessian weights and products, and expectations, up to the rounding of fused multiply-adds.
template <class T>
void expect_level_matches_generic(const detail::GlmRows<T>& level, const detail::GlmRows<T>& generic, const char* name) {
  const double tolerance = std::is_same_v<T, float> ? 2e-4 : 1e-11;
  const auto close = [&](const std::vector<T>& a, const std::vector<T>& b, const char* what) {
    double scale = 1, error = 0;
    for (std::size_t k = 0; k < a.size(); ++k) {
      scale = std::max(scale, std::abs(double(b[k])));
      error = std::max(error, std::abs(double(a[k]) - double(b[k])));
    }
    EXPECT_LE(error, tolerance * scale) << name << ": " << what;
  };
  const int d = 5, S = 19;
  const std::ptrdiff_t N = 23;
  for (Likelihood likelihood : {Likelihood::Linear, Likelihood::Logistic, Likelihood::Poisson, Likelihood::Probit}) {
    const auto problems = SyntheticProblems<T>::generate(likelihood, 1, d, N, N, 5);
    const RegressionData<T> data = problems.data();
    std::mt19937 rng(7);
    std::normal_distribution<double> normal;
    std::vector<T> z(S * d), mean(d), factor(d * d, T(0)), diagonal(d);
    for (T& v : z) v = T(normal(rng));
    for (int i = 0; i < d; ++i) {
      mean[i] = T(0.3 * normal(rng));
      diagonal[i] = factor[i * d + i] = T(1.5 + 0.2 * i);
      for (int j = 0; j < i; ++j) factor[i * d + j] = T(0.2 * normal(rng));
    }
    const auto evaluate = [&](const detail::GlmRows<T>& k) {
      std::vector<T> out(S + S * d + N + d * d), weighted(N * d), work(2 * d * detail::kGlmLanes<T>);
      T* values = out.data();
      T* gradients = values + S;
      T* weights = gradients + S * d;
      k.evaluate(likelihood, T(0.7), data.x, data.y, N, d, z.data(), S, values, gradients, weights, work.data());
      k.hessian(data.x, weights, N, d, T(1) / S, false, weighted.data(), weights + N);
      return out;
    };
    const auto expectations = [&](const detail::GlmRows<T>& k, bool full) {
      std::vector<T> out(1 + d + d * d), scratch(N * (2 + 2 * d));
      out[0] = k.expectations(likelihood, T(0.7), data.x, data.y, N, d, mean.data(),
                              full ? factor.data() : diagonal.data(), full, true, out.data() + 1, out.data() + 1 + d,
                              scratch.data());
      return out;
    };
    SCOPED_TRACE(likelihood_name(likelihood));
    close(evaluate(level), evaluate(generic), "evaluate and hessian");
    close(expectations(level, true), expectations(generic, true), "expectations, full");
    close(expectations(level, false), expectations(generic, false), "expectations, diagonal");
  }
}

TEST(Glm, EveryCpuLevelComputesWhatTheGenericOneDoes) {
  std::vector<std::pair<const char*, detail::GlmRowKernels>> levels;
#if defined(NGVI_CPU_DISPATCH)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v3")) levels.emplace_back("x86-64-v3", detail::glm_rows_x86_64_v3());
  if (__builtin_cpu_supports("x86-64-v4")) levels.emplace_back("x86-64-v4", detail::glm_rows_x86_64_v4());
#endif
  if (levels.empty()) GTEST_SKIP() << "this build or this CPU has only the generic level";
  const detail::GlmRowKernels generic = detail::glm_rows_generic();
  for (const auto& [name, kernels] : levels) {
    expect_level_matches_generic(kernels.single, generic.single, name);
    expect_level_matches_generic(kernels.double_precision, generic.double_precision, name);
  }
}

TEST(Glm, QuadratureConvergesToTheExactOptimumForEveryLikelihood) {
  for (Likelihood likelihood : {Likelihood::Linear, Likelihood::Logistic, Likelihood::Poisson, Likelihood::Probit}) {
    for (Family family : {Family::Full, Family::Diagonal}) {
      const auto problems = SyntheticProblems<double>::generate(likelihood, 6, 3, 40, 90, 22);
      const GeneralizedLinearModel<double> model(likelihood, problems.data());
      GaussianBatch<double> batch(6, 3, family);
      Options options;  // Auto: quadrature
      options.tolerance = 1e-22;  // a relative change of about 1e-11 in the parameters
      options.patience = 1;
      options.max_steps = 100;
      const Summary s = fit(model, batch, options);
      EXPECT_EQ(s.estimator, Estimator::Quadrature);
      EXPECT_EQ(s.count(Status::Converged), 6u) << likelihood_name(likelihood) << "\n" << s.full_report();
      if (family == Family::Diagonal) continue;  // the full-covariance optimality conditions below
      const RowOracle oracle{likelihood};
      for (std::size_t b = 0; b < 6; ++b) {
        const Residuals r = optimality(problems.data(), batch, b, 1.0,
                                       [&](double m, double v, double y) { return oracle.expected(m, v, y); });
        EXPECT_LT(r.gradient, 1e-8) << likelihood_name(likelihood) << " problem " << b;
        EXPECT_LT(r.precision, 1e-8) << likelihood_name(likelihood) << " problem " << b;
      }
    }
  }
}

TEST(Glm, FloatExpectationsAgreeWithDouble) {
  // Float runs the quadrature's row terms in SIMD lanes (the logistic as a rational function): its
  // exact-expectation estimates agree with double's to float accuracy.
  const int d = 5;
  for (Likelihood likelihood : {Likelihood::Linear, Likelihood::Logistic, Likelihood::Poisson, Likelihood::Probit}) {
    const auto problems = SyntheticProblems<double>::generate(likelihood, 3, d, 40, 60, 9);
    const RegressionData<double> data = problems.data();
    const std::vector<float> x(data.x, data.x + data.total_rows() * d), y(data.y, data.y + data.total_rows());
    const auto data_float = data.offsets
                                ? RegressionData<float>::ragged(x.data(), y.data(), data.offsets, data.num_problems, d)
                                : RegressionData<float>::dense(x.data(), y.data(), data.num_problems,
                                                               data.rows_per_problem, d);
    const GeneralizedLinearModel<double> model(likelihood, data, Prior<double>::none());
    const GeneralizedLinearModel<float> model_float(likelihood, data_float, Prior<float>::none());
    std::mt19937 rng(4);
    const Matrix<double> L = testing::random_spd(d, rng).llt().matrixL();
    const Vector<double> mu = 0.3 * testing::random_vector(d, rng);
    const Matrix<float> L_float = L.cast<float>();
    const Vector<float> mu_float = mu.cast<float>();
    std::vector<double> scratch(model.expectation_scratch_size());
    std::vector<float> scratch_float(model_float.expectation_scratch_size());
    for (std::size_t b = 0; b < 3; ++b) {
      double value;
      float value_float;
      Vector<double> g(d);
      Vector<float> g_float(d);
      Matrix<double> H(d, d);
      Matrix<float> H_float(d, d);
      model.expectations(b, mu.data(), L.data(), Family::Full, &value, g.data(), H.data(), scratch.data());
      model_float.expectations(b, mu_float.data(), L_float.data(), Family::Full, &value_float, g_float.data(),
                               H_float.data(), scratch_float.data());
      const char* name = likelihood_name(likelihood);
      EXPECT_NEAR(value_float, value, 1e-5 * (1 + std::abs(value))) << name;
      EXPECT_LT((g_float.cast<double>() - g).norm(), 1e-5 * (1 + g.norm())) << name;
      EXPECT_LT((H_float.cast<double>() - H).norm(), 1e-5 * H.norm()) << name;
    }
  }
}

TEST(Glm, LogisticSatisfiesTheOptimalityConditions) {
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, 12, 3, 60, 120, 5);
  const LogisticRegression<double> model(problems.data());
  GaussianBatch<double> batch(problems.num_problems, problems.dimension);
  const Summary s = fit(model, batch, accurate_monte_carlo());
  EXPECT_EQ(s.failures(), 0u) << s.full_report();
  const testing::GaussHermite gh(40);
  for (std::size_t b = 0; b < batch.size(); ++b) {
    const Residuals r = optimality(problems.data(), batch, b, 1.0, [&](double m, double v, double y) {
      const double p = gh.expect(m, v, [](double a) { return 1 / (1 + std::exp(-a)); });
      const double w = gh.expect(m, v, [](double a) { return std::exp(-a) / std::pow(1 + std::exp(-a), 2); });
      return std::pair<double, double>{p - y, w};
    });
    EXPECT_LT(r.gradient, 5e-3) << "problem " << b;
    EXPECT_LT(r.precision, 2e-2) << "problem " << b;
  }
}

TEST(Glm, PoissonSatisfiesTheClosedFormOptimalityConditions) {
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Poisson, 12, 4, 80, 80, 6);
  const PoissonRegression<double> model(problems.data());
  GaussianBatch<double> batch(problems.num_problems, problems.dimension);
  const Summary s = fit(model, batch, accurate_monte_carlo());
  EXPECT_EQ(s.failures(), 0u) << s.full_report();
  for (std::size_t b = 0; b < batch.size(); ++b) {
    // E[exp(a)] = exp(m + v / 2): the expected gradient and Hessian in closed form.
    const Residuals r = optimality(problems.data(), batch, b, 1.0, [](double m, double v, double y) {
      const double w = std::exp(m + v / 2);
      return std::pair<double, double>{w - y, w};
    });
    EXPECT_LT(r.gradient, 5e-3) << "problem " << b;
    EXPECT_LT(r.precision, 2e-2) << "problem " << b;
  }
}

TEST(Glm, LinearRegressionOnRealDataIsExactInOneBlrStep) {
  const RealLinearData real;
  const int d = 5;
  const auto data = RegressionData<double>::dense(real.x.data(), real.y.data(), 2, 100, d);
  const double prior_precision = 0.01, noise_sd = 1.5;
  const LinearRegression<double> model(data, noise_sd, Prior<double>::isotropic(prior_precision));
  GaussianBatch<double> batch(2, d);
  Options options;
  options.estimator = Estimator::Price;
  options.rule = Rule::BLR;
  options.step_size = 1.0;
  options.max_steps = 1;
  options.samples = 4096;  // only the final ELBO estimate is Monte Carlo here
  options.max_step_kl = 0;  // the whole step: Price's trust region would shorten this far a move
  const Summary s = fit(model, batch, options);
  std::vector<double> cov(2 * d * d);
  batch.covariance(cov.data());
  for (std::size_t b = 0; b < 2; ++b) {
    const Eigen::Map<const Matrix<double>> X(real.x.data() + b * 100 * d, 100, d);
    const Eigen::Map<const Vector<double>> y(real.y.data() + b * 100, 100);
    const Matrix<double> lambda = X.transpose() * X / (noise_sd * noise_sd) +
                                  prior_precision * Matrix<double>::Identity(d, d);
    const Vector<double> mean = lambda.ldlt().solve(X.transpose() * y / (noise_sd * noise_sd));
    EXPECT_LT((testing::segment(batch.mean(), b, d) - mean).norm(), 1e-9 * mean.norm());
    EXPECT_LT((testing::block(cov, b, d) * lambda - Matrix<double>::Identity(d, d)).norm(), 1e-8);
    // At the exact posterior the ELBO is the log marginal likelihood log N(y; 0, sigma^2 I + X X^T / delta).
    const Matrix<double> marginal =
        noise_sd * noise_sd * Matrix<double>::Identity(100, 100) + X * X.transpose() / prior_precision;
    const Eigen::LDLT<Matrix<double>> ldlt(marginal);
    const double log_evidence = -0.5 * (y.dot(ldlt.solve(y)) + ldlt.vectorD().array().log().sum() +
                                        100 * std::log(2 * M_PI));
    EXPECT_NEAR(s.elbo[b], log_evidence, 0.15) << "problem " << b;
  }
}

TEST(Glm, DenseAndRaggedLayoutsGiveIdenticalResults) {
  const auto problems = SyntheticProblems<float>::generate(Likelihood::Logistic, 20, 4, 50, 50, 7);
  const auto dense = problems.data();
  ASSERT_EQ(dense.offsets, nullptr);
  const auto ragged = RegressionData<float>::ragged(problems.x.data(), problems.y.data(), problems.offsets.data(),
                                                    problems.num_problems, problems.dimension);
  Options options;
  options.estimator = Estimator::Stein;
  options.max_steps = 30;
  GaussianBatch<float> a(20, 4), b(20, 4);
  fit(LogisticRegression<float>(dense), a, options);
  fit(LogisticRegression<float>(ragged), b, options);
  EXPECT_EQ(std::vector<float>(a.mean(), a.mean() + 80), std::vector<float>(b.mean(), b.mean() + 80));
}

TEST(Glm, BadDataFailsItsProblemAndLeavesTheOthersBitIdentical) {
  auto problems = SyntheticProblems<double>::generate(Likelihood::Poisson, 8, 3, 30, 60, 8);
  Options options;
  options.estimator = Estimator::Stein;
  options.max_steps = 50;
  GaussianBatch<double> clean(8, 3);
  const Summary reference = fit(PoissonRegression<double>(problems.data()), clean, options);

  const std::size_t first_row_of_2 = static_cast<std::size_t>(problems.offsets[2]);
  const std::size_t first_row_of_5 = static_cast<std::size_t>(problems.offsets[5]);
  problems.x[first_row_of_2 * 3 + 1] = std::numeric_limits<double>::quiet_NaN();  // NaN covariate
  problems.y[first_row_of_5] = -1;                                                 // negative count
  GaussianBatch<double> batch(8, 3);
  const Summary s = fit(PoissonRegression<double>(problems.data()), batch, options);
  EXPECT_EQ(s.status[2], Status::InvalidData);
  EXPECT_EQ(s.status[5], Status::InvalidData);
  EXPECT_TRUE(std::isnan(s.elbo[2]));
  for (std::size_t b : {0, 1, 3, 4, 6, 7}) {
    EXPECT_EQ(s.status[b], reference.status[b]);
    EXPECT_EQ(s.elbo[b], reference.elbo[b]);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(batch.mean()[b * 3 + i], clean.mean()[b * 3 + i]);
  }
  std::string why;
  EXPECT_FALSE(PoissonRegression<double>(problems.data()).check_problem(5, &why));
  EXPECT_NE(why.find("not a non-negative integer count"), std::string::npos) << why;

  auto labels = SyntheticProblems<double>::generate(Likelihood::Logistic, 2, 2, 10, 10, 9);
  labels.y[3] = 0.5;
  EXPECT_FALSE(LogisticRegression<double>(labels.data()).check_problem(0, &why));
  EXPECT_NE(why.find("not a label in {0, 1}"), std::string::npos) << why;
}

TEST(Glm, MalformedDataIsRejectedUpFront) {
  const std::vector<double> x(10), y(5);
  const std::vector<std::int64_t> decreasing = {0, 3, 2};
  EXPECT_THROW(LogisticRegression<double>(RegressionData<double>::ragged(x.data(), y.data(), decreasing.data(), 2, 2)),
               Error);
  EXPECT_THROW(LogisticRegression<double>(RegressionData<double>::dense(nullptr, y.data(), 1, 5, 2)), Error);
  EXPECT_THROW(LinearRegression<double>(RegressionData<double>::dense(x.data(), y.data(), 1, 5, 2), -1.0), Error);
  try {
    LogisticRegression<double>(RegressionData<double>::ragged(x.data(), y.data(), decreasing.data(), 2, 2));
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("offsets must not decrease"), std::string::npos) << e.what();
  }
}

TEST(Glm, MinibatchedStepsConvergeNearTheFullDataOptimum) {
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, 10, 3, 400, 400, 10);
  const LogisticRegression<double> model(problems.data());
  GaussianBatch<double> full(10, 3), mini(10, 3);
  Options options = accurate_monte_carlo();
  fit(model, full, options);
  // A quarter of the rows per step, rescaled by 4: noisier steps, so more and smaller ones.
  options.minibatch_rows = 100;
  options.samples = 16;
  options.max_steps = 3000;
  options.decay_steps = 50;
  fit(model, mini, options);
  std::vector<double> cov(10 * 9);
  full.covariance(cov.data());
  double mean_error = 0;
  for (std::size_t b = 0; b < 10; ++b) {
    const Vector<double> a = testing::segment(full.mean(), b, 3), m = testing::segment(mini.mean(), b, 3);
    const double sd = std::sqrt(testing::block(cov, b, 3).diagonal().maxCoeff());
    mean_error += (a - m).norm() / sd / 10;
  }
  EXPECT_LT(mean_error, 0.6);  // in posterior standard deviations; the noise shrinks like sqrt(rho_t)
}

}  // namespace
}  // namespace ngvi
