// fit_pooled() (empirical Bayes by variational EM) against closed forms: on linear-Gaussian problems
// with orthogonal designs X_b^T X_b = n I the marginal-likelihood maximiser is explicit; the ELBO of an
// exact posterior is the log marginal likelihood; the EM fixed point with a hyperprior is checked by
// an independent M-step; and with exact expectations the whole-batch ELBO never decreases.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "ngvi/error.hpp"
#include "ngvi/model_with_prior.hpp"
#include "ngvi/pooling.hpp"
#include "test_util.hpp"

namespace ngvi {
namespace {

using testing::exact_options;
using testing::Matrix;
using testing::Vector;

// B linear-regression problems y_b = X_b z_b + noise_sd * eps, z_b ~ N(m, C), with n rows each and
// X_b = sqrt(n) Q_b for a random Q_b with orthonormal columns, so that X_b^T X_b = n I.
struct PooledLinear {
  std::size_t B;
  int d, n;
  double noise_sd;
  std::vector<double> x, y;

  PooledLinear(std::size_t B_, int d_, int n_, double noise_sd_, std::uint32_t seed)
      : B(B_), d(d_), n(n_), noise_sd(noise_sd_) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> normal;
    const Vector<double> m = testing::random_vector(d, rng, 1.0);
    const Matrix<double> C = testing::random_spd(d, rng, 1.0, 3.0);
    const Matrix<double> C_factor = C.llt().matrixL();
    for (std::size_t b = 0; b < B; ++b) {
      Matrix<double> G(n, d);
      for (int r = 0; r < n; ++r)
        for (int i = 0; i < d; ++i) G(r, i) = normal(rng);
      const Matrix<double> Q = Eigen::HouseholderQR<Matrix<double>>(G).householderQ() * Matrix<double>::Identity(n, d);
      const Matrix<double> X = std::sqrt(double(n)) * Q;
      const Vector<double> z = m + C_factor * testing::random_vector(d, rng, 1.0);
      const Vector<double> yb = X * z + noise_sd * testing::random_vector(n, rng, 1.0);
      testing::append(x, X);
      testing::append(y, yb);
    }
  }
  Matrix<double> X(std::size_t b) const {
    return Eigen::Map<const Matrix<double>>(x.data() + b * n * d, n, d);
  }
  Vector<double> Y(std::size_t b) const { return Eigen::Map<const Vector<double>>(y.data() + b * n, n); }
  LinearRegression<double> model() const {
    return LinearRegression<double>(RegressionData<double>::dense(x.data(), y.data(), B, n, d), noise_sd);
  }
  // Least-squares estimates beta_b = X_b^T y_b / n ~ N(m, C + noise_sd^2 / n I) marginally: a sufficient
  // statistic, so the maximum of the marginal likelihood is m = mean beta_b, C = cov(beta) - noise_sd^2 / n I.
  Vector<double> beta(std::size_t b) const { return X(b).transpose() * Y(b) / double(n); }
  Vector<double> eb_mean() const {
    Vector<double> m = Vector<double>::Zero(d);
    for (std::size_t b = 0; b < B; ++b) m += beta(b);
    return m / double(B);
  }
  Matrix<double> eb_covariance(bool diagonal) const {
    const Vector<double> m = eb_mean();
    Matrix<double> K = Matrix<double>::Zero(d, d);
    for (std::size_t b = 0; b < B; ++b) K += (beta(b) - m) * (beta(b) - m).transpose();
    K /= double(B);
    if (diagonal) K = Matrix<double>(K.diagonal().asDiagonal());
    return K - noise_sd * noise_sd / n * Matrix<double>::Identity(d, d);
  }
  // sum_b log N(y_b; X_b m, noise_sd^2 I + X_b C X_b^T): the whole-batch ELBO at the exact posteriors.
  double log_marginal_likelihood(const Vector<double>& m, const Matrix<double>& C) const {
    double sum = 0;
    for (std::size_t b = 0; b < B; ++b) {
      const Matrix<double> K =
          noise_sd * noise_sd * Matrix<double>::Identity(n, n) + X(b) * C * X(b).transpose();
      const Eigen::LLT<Matrix<double>> llt(K);
      const Vector<double> r = Y(b) - X(b) * m;
      sum += -0.5 * r.dot(llt.solve(r)) - llt.matrixLLT().diagonal().array().log().sum() -
             0.5 * n * std::log(2 * M_PI);
    }
    return sum;
  }
};

Matrix<double> as_matrix(const std::vector<double>& flat, int d) {
  return Eigen::Map<const Matrix<double>>(flat.data(), d, d);
}

TEST(FitPooled, LinearGaussianReachesTheMarginalLikelihoodMaximum) {
  for (bool diagonal : {false, true}) {
    const PooledLinear problems(40, 3, 12, 0.5, 7);
    const Matrix<double> C = problems.eb_covariance(diagonal);
    ASSERT_GT(C.llt().matrixLLT().diagonal().minCoeff(), 0.1) << "the oracle needs an interior maximum";
    const LinearRegression<double> model = problems.model();
    GaussianBatch<double> batch(problems.B, problems.d);
    PoolingOptions pooling;
    pooling.diagonal_precision = diagonal;
    pooling.tolerance = 1e-15;
    const PooledFit<double> result = fit_pooled(model, batch, exact_options(), pooling);
    EXPECT_TRUE(result.converged);
    EXPECT_EQ(result.last_fit.failures(), 0u);
    const Vector<double> mean = Eigen::Map<const Vector<double>>(result.prior_mean.data(), problems.d);
    const Matrix<double> covariance = as_matrix(result.prior_precision, problems.d).inverse();
    EXPECT_LT((mean - problems.eb_mean()).norm(), 1e-8) << (diagonal ? "diagonal" : "full");
    EXPECT_LT((covariance - C).norm(), 1e-8 * C.norm()) << (diagonal ? "diagonal" : "full");
    if (diagonal) EXPECT_EQ(as_matrix(result.prior_precision, problems.d)(0, 1), 0.0);
    // At exact posteriors the ELBO is the log marginal likelihood under the learned prior.
    const double lml = problems.log_marginal_likelihood(mean, covariance);
    EXPECT_NEAR(result.elbo.back(), lml, 1e-9 * std::abs(lml));
  }
}

TEST(FitPooled, SinglePrecisionReachesTheMarginalLikelihoodMaximum) {
  const PooledLinear problems(40, 3, 12, 0.5, 7);
  const std::vector<float> x(problems.x.begin(), problems.x.end()), y(problems.y.begin(), problems.y.end());
  const LinearRegression<float> model(RegressionData<float>::dense(x.data(), y.data(), problems.B, problems.n,
                                                                   problems.d),
                                      0.5f);
  GaussianBatch<float> batch(problems.B, problems.d);
  PoolingOptions pooling;
  pooling.tolerance = 1e-7;  // float ELBOs carry about 7 digits
  const PooledFit<float> result = fit_pooled(model, batch, exact_options(), pooling);
  EXPECT_EQ(result.last_fit.failures(), 0u);
  Vector<double> mean(problems.d);
  Matrix<double> precision(problems.d, problems.d);
  for (int i = 0; i < problems.d; ++i) {
    mean(i) = result.prior_mean[i];
    for (int j = 0; j < problems.d; ++j) precision(i, j) = result.prior_precision[i * problems.d + j];
  }
  const Matrix<double> C = problems.eb_covariance(false);
  EXPECT_LT((mean - problems.eb_mean()).norm(), 1e-4 * (1 + problems.eb_mean().norm()));
  EXPECT_LT((precision.inverse() - C).norm(), 1e-3 * C.norm());
}

TEST(FitPooled, WholeBatchElboNeverDecreasesWithExactExpectations) {
  const PooledLinear linear(30, 3, 6, 1.5, 11);
  const LinearRegression<double> linear_model = linear.model();
  // Logistic labels from the same designs: a non-conjugate model with exact (quadrature) expectations.
  std::vector<double> labels(linear.y.size());
  for (std::size_t k = 0; k < labels.size(); ++k) labels[k] = linear.y[k] > 0 ? 1.0 : 0.0;
  const LogisticRegression<double> logistic_model(
      RegressionData<double>::dense(linear.x.data(), labels.data(), linear.B, linear.n, linear.d));
  for (const GeneralizedLinearModel<double>* model :
       {static_cast<const GeneralizedLinearModel<double>*>(&linear_model),
        static_cast<const GeneralizedLinearModel<double>*>(&logistic_model)}) {
    GaussianBatch<double> batch(linear.B, linear.d);
    Options options;  // iBLR at rho = 0.5: inner fits converge over several steps, to the KL tolerance
    options.estimator = Estimator::Quadrature;
    options.tolerance = 1e-14;
    options.max_steps = 2000;
    options.num_threads = 1;
    PoolingOptions pooling;
    pooling.max_rounds = 15;
    pooling.tolerance = 0.0;
    const PooledFit<double> result = fit_pooled(*model, batch, options, pooling);
    ASSERT_EQ(result.elbo.size(), 15u);
    EXPECT_EQ(result.last_fit.failures(), 0u);
    for (std::size_t k = 1; k < result.elbo.size(); ++k)
      EXPECT_GE(result.elbo[k], result.elbo[k - 1] - 1e-9 * std::abs(result.elbo[k]))
          << likelihood_name(model->likelihood()) << " round " << k;
    EXPECT_GT(result.elbo.back(), result.elbo.front() + 1.0) << "pooling should improve on the N(0, I) prior";
  }
}

TEST(FitPooled, HyperpriorFixedPointAndSmallBatchesStayProper) {
  const PooledLinear problems(3, 3, 4, 1.0, 5);
  const LinearRegression<double> model = problems.model();
  GaussianBatch<double> batch(problems.B, problems.d);
  PoolingOptions pooling;
  pooling.hyperprior_scale = 2.0;
  pooling.hyperprior_dof = 4.0;
  // The objective is flat at its maximum (a change of eps in the prior moves it by eps^2), so reach
  // the fixed point to 1e-8 by rounds, not by the objective's tolerance.
  pooling.tolerance = 0.0;
  pooling.max_rounds = 400;
  const PooledFit<double> result = fit_pooled(model, batch, exact_options(), pooling);
  for (std::size_t k = 1; k < result.objective.size(); ++k)
    EXPECT_GE(result.objective[k], result.objective[k - 1] - 1e-9 * std::abs(result.objective[k]));
  // Independent M-step on the exact posteriors under the returned prior: it must give that prior back.
  const int d = problems.d, n = problems.n;
  const Vector<double> m = Eigen::Map<const Vector<double>>(result.prior_mean.data(), d);
  const Matrix<double> P = as_matrix(result.prior_precision, d);
  std::vector<Vector<double>> mu;
  Matrix<double> scatter = Matrix<double>::Zero(d, d);
  const double s2 = problems.noise_sd * problems.noise_sd;
  for (std::size_t b = 0; b < problems.B; ++b) {
    const Matrix<double> Lambda = P + problems.X(b).transpose() * problems.X(b) / s2;
    const Matrix<double> Sigma = Lambda.inverse();
    mu.push_back(Sigma * (P * m + problems.X(b).transpose() * problems.Y(b) / s2));
    scatter += Sigma;
  }
  Vector<double> mean = Vector<double>::Zero(d);
  for (const auto& v : mu) mean += v / double(problems.B);
  for (const auto& v : mu) scatter += (v - mean) * (v - mean).transpose();
  const Matrix<double> C = (2.0 * Matrix<double>::Identity(d, d) + scatter) / (4.0 + problems.B + d + 1);
  EXPECT_LT((mean - m).norm(), 1e-8);
  EXPECT_LT((C - P.inverse()).norm(), 1e-8 * C.norm());

  // One problem: without a hyperprior P^-1 = Sigma_1 shrinks towards 0 round after round; with one,
  // P^-1 = (Psi + Sigma_1) / (nu + 1 + d + 1) stays at least Psi / (nu + 1 + d + 1).
  GaussianBatch<double> single(1, d);
  const PooledLinear one(1, 3, 4, 1.0, 9);
  const PooledFit<double> alone = fit_pooled(one.model(), single, exact_options(), pooling);
  const Eigen::SelfAdjointEigenSolver<Matrix<double>> eig(as_matrix(alone.prior_precision, d).inverse());
  EXPECT_GE(eig.eigenvalues().minCoeff(), 2.0 / (4.0 + 1 + d + 1) * (1 - 1e-12));
}

TEST(FitPooled, RunsWithEveryEstimatorAndRule) {
  const PooledLinear problems(6, 2, 10, 0.5, 3);
  const LinearRegression<double> model = problems.model();
  const Vector<double> oracle = problems.eb_mean();
  ASSERT_GT(oracle.norm(), 0.5) << "the initial prior mean 0 must be far from the oracle";
  testing::for_each_method([&](Family family, Options options, const std::string& name) {
    GaussianBatch<double> batch(problems.B, problems.d, family);
    options.samples = 8;
    options.max_steps = 100;
    options.num_threads = 1;  // small problems: threads would cost more than they save
    PoolingOptions pooling;
    pooling.max_rounds = 2;
    const PooledFit<double> result = fit_pooled(model, batch, options, pooling);
    EXPECT_EQ(result.elbo.size(), 2u) << name;
    EXPECT_EQ(result.last_fit.failures(), 0u) << name;
    // After two rounds the mean is near the empirical-Bayes mean: rows are informative (n = 10).
    const Vector<double> mean = Eigen::Map<const Vector<double>>(result.prior_mean.data(), problems.d);
    EXPECT_LT((mean - oracle).norm(), 0.2) << name;
    EXPECT_TRUE(std::isfinite(result.elbo.back())) << name;
  });
}

TEST(FitPooled, BadPoolingOptionsNameTheField) {
  const PooledLinear problems(2, 2, 3, 1.0, 1);
  const LinearRegression<double> model = problems.model();
  GaussianBatch<double> batch(problems.B, problems.d);
  auto message = [&](PoolingOptions pooling) {
    try {
      fit_pooled(model, batch, Options(), pooling);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  PoolingOptions rounds;
  rounds.max_rounds = 0;
  EXPECT_NE(message(rounds).find("pooling.max_rounds = 0"), std::string::npos) << message(rounds);
  PoolingOptions mean;
  mean.initial_mean = {1.0, 2.0, 3.0};
  EXPECT_NE(message(mean).find("pooling.initial_mean.size() = 3"), std::string::npos) << message(mean);
  PoolingOptions dof;
  dof.hyperprior_scale = 1.0;
  dof.hyperprior_dof = 0.5;
  EXPECT_NE(message(dof).find("pooling.hyperprior_dof = 0.5"), std::string::npos) << message(dof);
  PoolingOptions dof_alone;
  dof_alone.hyperprior_dof = 3.0;
  EXPECT_NE(message(dof_alone).find("pooling.hyperprior_dof = 3"), std::string::npos) << message(dof_alone);
}

}  // namespace
}  // namespace ngvi
