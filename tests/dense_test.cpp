#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <random>

#include "math/dense.cuh"

namespace ngvi::math {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Matrix random_spd(int d, std::mt19937& rng) {
  std::normal_distribution<double> normal;
  Matrix A(d, d);
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) A(i, j) = normal(rng);
  return A * A.transpose() / d + Matrix::Identity(d, d);
}

TEST(Dense, CholeskyMatchesEigen) {
  std::mt19937 rng(1);
  for (int d : {1, 2, 3, 7, 16, 33}) {
    const Matrix A = random_spd(d, rng);
    Matrix L = A;
    ASSERT_TRUE(cholesky_in_place(L.data(), d));
    const Matrix expected = A.llt().matrixL();
    EXPECT_LT((L - expected).norm(), 1e-12 * expected.norm()) << "d = " << d;
  }
}

TEST(Dense, CholeskyRejectsIndefiniteAndNonFinite) {
  Matrix A(2, 2);
  A << 1, 2, 2, 1;  // eigenvalues 3 and -1
  EXPECT_FALSE(cholesky_in_place(A.data(), 2));
  A << 1, 0, 0, std::nan("");
  EXPECT_FALSE(cholesky_in_place(A.data(), 2));
  A << 1, 0, 0, INFINITY;
  EXPECT_FALSE(cholesky_in_place(A.data(), 2));
}

TEST(Dense, TriangularSolvesAndProductsMatchEigen) {
  std::mt19937 rng(2);
  std::normal_distribution<double> normal;
  const int d = 9;
  const Matrix A = random_spd(d, rng);
  const Matrix L = A.llt().matrixL();
  Eigen::VectorXd x(d);
  for (int i = 0; i < d; ++i) x(i) = normal(rng);
  Eigen::VectorXd y = x;
  solve_lower(L.data(), y.data(), d);
  EXPECT_LT((L * y - x).norm(), 1e-12);
  y = x;
  solve_lower_transpose(L.data(), y.data(), d);
  EXPECT_LT((L.transpose() * y - x).norm(), 1e-12);
  multiply_lower(L.data(), x.data(), y.data(), d);
  EXPECT_LT((y - L * x).norm(), 1e-12);
  multiply_lower_transpose(L.data(), x.data(), y.data(), d);
  EXPECT_LT((y - L.transpose() * x).norm(), 1e-12);
  Matrix G(d, d), Inv(d, d);
  gram_lower(L.data(), G.data(), d);
  EXPECT_LT((G - A).norm(), 1e-12 * A.norm());
  inverse_gram_lower(L.data(), Inv.data(), d);
  EXPECT_LT((Inv * A - Matrix::Identity(d, d)).norm(), 1e-10);
  EXPECT_NEAR(2 * log_diagonal_sum(L.data(), d), std::log(A.determinant()), 1e-10);
}

}  // namespace
}  // namespace ngvi::math
