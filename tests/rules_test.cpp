// The update rules and estimators of kernels/math against their formulas (docs/math.md sections 4 and 5).
#include <gtest/gtest.h>

#include <vector>

#include "math/estimators.cuh"
#include "math/rules.cuh"
#include "test_util.hpp"

namespace ngvi::math {
namespace {

using testing::Matrix;
using testing::Vector;

Matrix<double> random_indefinite(int d, std::mt19937& rng) {
  // Eigenvalues of both signs, as a Monte Carlo Hessian of a non-convex target can have.
  Matrix<double> A = testing::random_spd(d, rng, 0.5, 3.0);
  return A - 2.0 * Matrix<double>::Identity(d, d);
}

TEST(Rules, IblrMatchesItsFormulaAndStaysPositiveDefiniteWhereBlrFails) {
  std::mt19937 rng(17);
  const int d = 6;
  int blr_failures = 0;
  for (int trial = 0; trial < 50; ++trial) {
    const Matrix<double> lambda = testing::random_spd(d, rng);
    const Matrix<double> L = lambda.llt().matrixL();
    const Matrix<double> H = random_indefinite(d, rng);
    const Vector<double> mu = testing::random_vector(d, rng), g = testing::random_vector(d, rng);
    const double rho = 0.9;
    Vector<double> mu_new(d);
    Matrix<double> L_new(d, d);
    std::vector<double> work(2 * d * d);

    ASSERT_TRUE(iblr_full(mu.data(), L.data(), g.data(), H.data(), rho, mu_new.data(), L_new.data(), work.data(), d));
    const Matrix<double> G = H - lambda;
    const Matrix<double> expected = lambda + rho * G + 0.5 * rho * rho * G * lambda.inverse() * G;
    const Matrix<double> got = L_new * L_new.transpose();
    EXPECT_LT((got - expected).norm(), 1e-10 * expected.norm());
    EXPECT_GT(Eigen::SelfAdjointEigenSolver<Matrix<double>>(got).eigenvalues().minCoeff(), 0.0);
    EXPECT_LT((mu_new - (mu - rho * expected.inverse() * g)).norm(), 1e-10 * (1 + mu.norm()));

    const bool blr_ok =
        blr_full(mu.data(), L.data(), g.data(), H.data(), rho, mu_new.data(), L_new.data(), work.data(), d);
    const double min_eig =
        Eigen::SelfAdjointEigenSolver<Matrix<double>>((1 - rho) * lambda + rho * H).eigenvalues().minCoeff();
    EXPECT_EQ(blr_ok, min_eig > 0) << "trial " << trial;
    blr_failures += !blr_ok;
  }
  EXPECT_GT(blr_failures, 25);  // the construction makes BLR leave the cone in most trials
}

TEST(Rules, DiagonalRulesMatchTheirFormulas) {
  const int d = 3;
  const double l[d] = {1.0, 2.0, 0.5}, mu[d] = {0.1, -0.2, 0.3}, g[d] = {1.0, 0.5, -1.0};
  const double h[d] = {2.0, -30.0, 1.0};  // the second entry makes BLR's precision negative
  const double rho = 0.5;
  double mu_new[d], l_new[d];
  ASSERT_TRUE(iblr_diagonal(mu, l, g, h, rho, mu_new, l_new, d));
  for (int i = 0; i < d; ++i) {
    const double lambda = l[i] * l[i], G = h[i] - lambda;
    const double expected = lambda + rho * G + 0.5 * rho * rho * G * G / lambda;
    EXPECT_NEAR(l_new[i] * l_new[i], expected, 1e-12);
    EXPECT_NEAR(mu_new[i], mu[i] - rho * g[i] / expected, 1e-12);
  }
  EXPECT_FALSE(blr_diagonal(mu, l, g, h, rho, mu_new, l_new, d));
}

TEST(Rules, CholeskyFactorRuleAgreesWithBlrToSecondOrder) {
  std::mt19937 rng(29);
  const int d = 5;
  const Matrix<double> lambda = testing::random_spd(d, rng);
  const Matrix<double> B = lambda.llt().matrixL();
  const Matrix<double> H = testing::random_spd(d, rng, 0.2, 5.0);
  const Vector<double> mu = testing::random_vector(d, rng), g = testing::random_vector(d, rng);
  std::vector<double> work(2 * d * d);
  auto difference = [&](double rho) {
    Vector<double> mu_c(d), mu_b(d);
    Matrix<double> B_c(d, d), L_b(d, d);
    EXPECT_TRUE(cholesky_factor_full(mu.data(), B.data(), g.data(), H.data(), rho, mu_c.data(), B_c.data(),
                                     work.data(), d));
    EXPECT_TRUE(blr_full(mu.data(), B.data(), g.data(), H.data(), rho, mu_b.data(), L_b.data(), work.data(), d));
    return (B_c * B_c.transpose() - L_b * L_b.transpose()).norm() + (mu_c - mu_b).norm();
  };
  // Halving rho divides an O(rho^2) difference by 4.
  for (double rho : {0.1, 0.05, 0.025}) {
    const double slope = difference(rho) / difference(rho / 2);
    EXPECT_GT(slope, 3.5) << "rho = " << rho;
    EXPECT_LT(slope, 4.5) << "rho = " << rho;
  }
}

TEST(Rules, CholeskyFactorRuleKeepsTheFactorInvertibleForAnyStep) {
  std::mt19937 rng(31);
  const int d = 4;
  std::vector<double> work(2 * d * d);
  for (int trial = 0; trial < 30; ++trial) {
    const Matrix<double> B = testing::random_spd(d, rng).llt().matrixL();
    const Matrix<double> H = 5.0 * random_indefinite(d, rng);
    const Vector<double> mu = testing::random_vector(d, rng), g = testing::random_vector(d, rng);
    Vector<double> mu_new(d);
    Matrix<double> B_new(d, d);
    ASSERT_TRUE(cholesky_factor_full(mu.data(), B.data(), g.data(), H.data(), 1.0, mu_new.data(), B_new.data(),
                                     work.data(), d));
    for (int i = 0; i < d; ++i) EXPECT_GT(B_new(i, i), 0.0);
    EXPECT_DOUBLE_EQ(B_new.triangularView<Eigen::StrictlyUpper>().toDenseMatrix().norm(), 0.0);
  }
  // The diagonal family's local step 1 + m + m^2/2 is positive for every m.
  const double l[2] = {1.0, 0.3}, h[2] = {-50.0, 1e4}, zero[2] = {0, 0};
  double mu_new[2], l_new[2];
  ASSERT_TRUE(cholesky_factor_diagonal(zero, l, zero, h, 1.0, mu_new, l_new, 2));
  EXPECT_GT(l_new[0], 0.0);
  EXPECT_GT(l_new[1], 0.0);
}

TEST(Rules, AdamGradientVanishesAtTheVariationalOptimum) {
  // At Lambda = H and g = 0 the Euclidean gradient in (mu, log diag L, strict lower L) is zero, so
  // the first Adam step leaves the state where it is.
  std::mt19937 rng(37);
  const int d = 4;
  const Matrix<double> H = testing::random_spd(d, rng);
  const Matrix<double> L = H.llt().matrixL();
  const Vector<double> mu = testing::random_vector(d, rng), g = Vector<double>::Zero(d);
  std::vector<double> moments(adam_moment_size(d, false), 0.0), work(2 * d * d + d);
  Vector<double> mu_new(d);
  Matrix<double> L_new(d, d);
  ASSERT_TRUE(adam_full(mu.data(), L.data(), g.data(), H.data(), 0.1, 1, moments.data(), AdamSettings(),
                        mu_new.data(), L_new.data(), work.data(), d));
  // Adam divides by sqrt(v) + 1e-8, so a gradient of rounding size e moves theta by 0.1 e / 1e-8:
  // below 1e-6 for e below 1e-13, where a wrong gradient would move it by the learning rate.
  EXPECT_LT((mu_new - mu).norm(), 1e-6);
  EXPECT_LT((L_new - L).norm(), 1e-6);
  // Away from it, the step moves every free parameter by about the learning rate (Adam's first step).
  const Matrix<double> H2 = 2.0 * H;
  ASSERT_TRUE(adam_full(mu.data(), L.data(), g.data(), H2.data(), 0.1, 1, moments.data(), AdamSettings(),
                        mu_new.data(), L_new.data(), work.data(), d));
  for (int i = 0; i < d; ++i) EXPECT_NEAR(std::log(L_new(i, i)) - std::log(L(i, i)), 0.1, 1e-6);
}

TEST(Estimators, SteinHessianIsTheSymmetrizedMeanOfItsTerms) {
  std::mt19937 rng(19);
  const int d = 4, S = 6;
  const Matrix<double> L = testing::random_spd(d, rng).llt().matrixL();
  Matrix<double> eps(S, d), grads(S, d);
  for (int s = 0; s < S; ++s) {
    eps.row(s) = testing::random_vector(d, rng).transpose();
    grads.row(s) = testing::random_vector(d, rng).transpose();
  }
  // The symmetrized mean of L eps_s grad_s^T over the first `count` samples.
  const auto reference = [&](int count) {
    Matrix<double> sum = Matrix<double>::Zero(d, d);
    for (int s = 0; s < count; ++s) {
      const Matrix<double> term = (L * eps.row(s).transpose()) * grads.row(s);
      sum += (term + term.transpose()) / (2.0 * count);
    }
    return sum;
  };
  Matrix<double> H(d, d), M(d, d);
  stein_hessian_full(L.data(), eps.data(), grads.data(), S, false, H.data(), M.data(), d);
  EXPECT_LT((H - reference(S)).norm(), 1e-12 * reference(S).norm());
  // Antithetic pairs, with and without an unpaired last sample: the paired reduction is the same estimate.
  for (int s = 1; s < S; s += 2) eps.row(s) = -eps.row(s - 1);
  for (const int count : {S, S - 1}) {
    stein_hessian_full(L.data(), eps.data(), grads.data(), count, true, H.data(), M.data(), d);
    EXPECT_LT((H - reference(count)).norm(), 1e-12 * reference(count).norm()) << count << " samples";
  }
}

TEST(Estimators, ScoreFunctionMatchesItsFormula) {
  std::mt19937 rng(23);
  const int d = 3, S = 8;
  const Matrix<double> lambda = testing::random_spd(d, rng);
  const Matrix<double> L = lambda.llt().matrixL();
  Matrix<double> eps(S, d);
  Vector<double> f(S);
  for (int s = 0; s < S; ++s) {
    eps.row(s) = testing::random_vector(d, rng).transpose();
    f(s) = testing::random_vector(1, rng)(0);
  }
  Vector<double> g(d);
  Matrix<double> H(d, d);
  std::vector<double> work(2 * d * d + d);
  score_full(L.data(), eps.data(), f.data(), S, g.data(), H.data(), work.data(), d);
  const double baseline = f.mean();
  Vector<double> g_expected = Vector<double>::Zero(d);
  Matrix<double> H_expected = Matrix<double>::Zero(d, d);
  for (int s = 0; s < S; ++s) {
    const Vector<double> u = L * eps.row(s).transpose();
    g_expected += (f(s) - baseline) * u / S;
    H_expected += (f(s) - baseline) * (u * u.transpose() - lambda) / S;
  }
  EXPECT_LT((g - g_expected).norm(), 1e-12 * (1 + g_expected.norm()));
  EXPECT_LT((H - H_expected).norm(), 1e-11 * (1 + H_expected.norm()));
}

}  // namespace
}  // namespace ngvi::math
