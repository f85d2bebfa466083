// GaussianBatch: conversions round-trip, failures are per distribution, and the derived quantities
// (log-determinant, entropy, KL, samples) match independent computations with Eigen.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "math/gaussian.cuh"
#include "ngvi/error.hpp"
#include "ngvi/gaussian.hpp"
#include "test_util.hpp"

namespace ngvi {
namespace {

using testing::Matrix;
using testing::Vector;

template <class T>
class GaussianBatchTest : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(GaussianBatchTest, Scalars);

// A batch of random (mu, Sigma) in dimension d, with the references kept in double.
struct Reference {
  std::vector<Vector<double>> mean;
  std::vector<Matrix<double>> covariance;
};

template <class T>
Reference make_batch(GaussianBatch<T>& batch, std::mt19937& rng) {
  Reference ref;
  std::vector<T> mean, covariance;
  const int d = batch.dimension();
  for (std::size_t b = 0; b < batch.size(); ++b) {
    ref.mean.push_back(testing::random_vector(d, rng));
    ref.covariance.push_back(testing::random_spd(d, rng));
    testing::append(mean, ref.mean.back());
    testing::append(covariance, ref.covariance.back());
  }
  for (ConversionStatus s : batch.set_moments(mean.data(), covariance.data())) EXPECT_EQ(s, ConversionStatus::Ok);
  return ref;
}

TYPED_TEST(GaussianBatchTest, FullConversionsRoundTrip) {
  using T = TypeParam;
  std::mt19937 rng(7);
  for (int d : {1, 2, 3, 5, 8, 16, 33, 64}) {
    const std::size_t B = 4;
    GaussianBatch<T> batch(B, d);
    const Reference ref = make_batch(batch, rng);
    const double tol = testing::tight<T>() * d;
    const std::size_t m = static_cast<std::size_t>(d) * d;

    std::vector<T> cov(B * m), prec(B * m), eta1(B * d), eta2(B * m), m1(B * d), m2(B * m);
    batch.covariance(cov.data());
    batch.precision(prec.data());
    batch.natural(eta1.data(), eta2.data());
    batch.expectation(m1.data(), m2.data());
    for (std::size_t b = 0; b < B; ++b) {
      const Matrix<double>& S = ref.covariance[b];
      EXPECT_LT((testing::block(cov, b, d) - S).norm(), tol * S.norm()) << "d = " << d;
      EXPECT_LT((testing::block(prec, b, d) * S - Matrix<double>::Identity(d, d)).norm(), tol * 10) << "d = " << d;
      const Matrix<double> lambda = S.inverse();
      EXPECT_LT((testing::segment(eta1.data(), b, d) - lambda * ref.mean[b]).norm(), tol * 10 * lambda.norm());
      EXPECT_LT((testing::block(eta2, b, d) + 0.5 * lambda).norm(), tol * lambda.norm());
      const Matrix<double> second = S + ref.mean[b] * ref.mean[b].transpose();
      EXPECT_LT((testing::block(m2, b, d) - second).norm(), tol * second.norm());
      EXPECT_LT((testing::segment(m1.data(), b, d) - ref.mean[b]).norm(), tol);
    }

    // Each setter recovers the same state.
    const std::vector<T> mean0(batch.mean(), batch.mean() + B * d);
    const std::vector<T> factor0(batch.precision_cholesky(), batch.precision_cholesky() + B * m);
    auto expect_same_state = [&](const char* how) {
      for (std::size_t b = 0; b < B; ++b) {
        const Matrix<double> L0 = testing::block(factor0, b, d);
        const Matrix<double> L(testing::block(std::vector<T>(batch.precision_cholesky(),
                                                             batch.precision_cholesky() + B * m),
                                              b, d));
        EXPECT_LT((L - L0).norm(), tol * 10 * L0.norm()) << how << ", d = " << d;
        EXPECT_LT((testing::segment(batch.mean(), b, d) - testing::segment(mean0.data(), b, d)).norm(),
                  tol * 10 * (1 + ref.mean[b].norm()))
            << how << ", d = " << d;
      }
    };
    for (ConversionStatus s : batch.set_natural(eta1.data(), eta2.data())) EXPECT_EQ(s, ConversionStatus::Ok);
    expect_same_state("natural");
    for (ConversionStatus s : batch.set_expectation(m1.data(), m2.data())) EXPECT_EQ(s, ConversionStatus::Ok);
    expect_same_state("expectation");
    for (ConversionStatus s : batch.set_precision(mean0.data(), prec.data())) EXPECT_EQ(s, ConversionStatus::Ok);
    expect_same_state("precision");
    for (ConversionStatus s : batch.set_moments(mean0.data(), cov.data())) EXPECT_EQ(s, ConversionStatus::Ok);
    expect_same_state("moments");
    for (ConversionStatus s : batch.set_precision_cholesky(mean0.data(), factor0.data()))
      EXPECT_EQ(s, ConversionStatus::Ok);
    expect_same_state("precision_cholesky");
  }
}

TYPED_TEST(GaussianBatchTest, DiagonalConversionsRoundTrip) {
  using T = TypeParam;
  const int d = 6;
  const std::size_t B = 3;
  std::vector<T> mean, variance;
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> uniform(0.3, 3.0);
  for (std::size_t k = 0; k < B * d; ++k) {
    mean.push_back(static_cast<T>(uniform(rng) - 1.5));
    variance.push_back(static_cast<T>(uniform(rng)));
  }
  GaussianBatch<T> batch(B, d, Family::Diagonal);
  for (ConversionStatus s : batch.set_moments(mean.data(), variance.data())) EXPECT_EQ(s, ConversionStatus::Ok);
  std::vector<T> var(B * d), eta1(B * d), eta2(B * d), m1(B * d), m2(B * d), prec(B * d);
  batch.covariance(var.data());
  batch.natural(eta1.data(), eta2.data());
  batch.expectation(m1.data(), m2.data());
  batch.precision(prec.data());
  for (std::size_t k = 0; k < B * d; ++k) {
    EXPECT_NEAR(var[k], variance[k], testing::tight<T>() * variance[k]);
    EXPECT_NEAR(eta1[k], mean[k] / variance[k], testing::tight<T>() * 10);
    EXPECT_NEAR(eta2[k], -0.5 / variance[k], testing::tight<T>() * 10);
    EXPECT_NEAR(m2[k], variance[k] + mean[k] * mean[k], testing::tight<T>() * 10);
    EXPECT_NEAR(prec[k] * variance[k], 1.0, testing::tight<T>() * 10);
  }
  GaussianBatch<T> other(B, d, Family::Diagonal);
  for (ConversionStatus s : other.set_natural(eta1.data(), eta2.data())) EXPECT_EQ(s, ConversionStatus::Ok);
  for (ConversionStatus s : other.set_expectation(m1.data(), m2.data())) EXPECT_EQ(s, ConversionStatus::Ok);
  for (std::size_t k = 0; k < B * d; ++k) {
    EXPECT_NEAR(other.mean()[k], mean[k], testing::tight<T>() * 10);
    EXPECT_NEAR(other.precision_cholesky()[k], batch.precision_cholesky()[k], testing::tight<T>() * 10);
  }
}

TYPED_TEST(GaussianBatchTest, InvalidInputFailsOnlyItsOwnDistribution) {
  using T = TypeParam;
  const int d = 3;
  const std::size_t B = 3, m = d * d;
  std::mt19937 rng(5);
  GaussianBatch<T> batch(B, d);
  make_batch(batch, rng);
  const std::vector<T> factor_before(batch.precision_cholesky(), batch.precision_cholesky() + B * m);
  std::vector<T> m1(B * d), m2(B * m);
  batch.expectation(m1.data(), m2.data());
  const std::vector<T> mean_before = m1;

  // Distribution 1: m2 = m1 m1^T, so Sigma = 0 is not positive definite. Distribution 2: a NaN.
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) m2[m + i * d + j] = m1[d + i] * m1[d + j];
  m1[2 * d] = std::numeric_limits<T>::quiet_NaN();
  for (std::size_t k = 0; k < B * d; ++k) batch.mean()[k] += T(1);  // so that a successful set shows
  const std::vector<ConversionStatus> result = batch.set_expectation(m1.data(), m2.data());
  EXPECT_EQ(result[0], ConversionStatus::Ok);
  EXPECT_EQ(result[1], ConversionStatus::NotPositiveDefinite);
  EXPECT_EQ(result[2], ConversionStatus::NonFinite);
  for (std::size_t b = 0; b < B; ++b)
    for (int i = 0; i < d; ++i) {
      EXPECT_TRUE(std::isfinite(batch.mean()[b * d + i]));
      // Distribution 0 was set back from m1; 1 and 2 kept their shifted means.
      EXPECT_NEAR(batch.mean()[b * d + i], mean_before[b * d + i] + (b == 0 ? 0 : 1), 1e-3) << b;
    }
  for (std::size_t k = m; k < B * m; ++k) EXPECT_EQ(batch.precision_cholesky()[k], factor_before[k]);

  std::vector<T> eta2(B * m, T(0));
  for (int i = 0; i < d; ++i) eta2[i * d + i] = T(0.5);  // Lambda = -I: not positive definite
  const std::vector<T> eta1(B * d, T(0));
  EXPECT_EQ(batch.set_natural(eta1.data(), eta2.data())[0], ConversionStatus::NotPositiveDefinite);
}

TYPED_TEST(GaussianBatchTest, LogDetEntropyAndKlMatchEigen) {
  using T = TypeParam;
  const int d = 5;
  const std::size_t B = 4;
  std::mt19937 rng(11);
  GaussianBatch<T> p(B, d), q(B, d);
  const Reference rp = make_batch(p, rng), rq = make_batch(q, rng);
  std::vector<T> logdet(B), entropy(B), kl(B), self(B);
  p.log_det_covariance(logdet.data());
  p.entropy(entropy.data());
  p.kl_divergence(q, kl.data());
  p.kl_divergence(p, self.data());
  const double tol = sizeof(T) == 4 ? 1e-4 : 1e-10;
  for (std::size_t b = 0; b < B; ++b) {
    const double ld = std::log(rp.covariance[b].determinant());
    EXPECT_NEAR(logdet[b], ld, tol * 10);
    EXPECT_NEAR(entropy[b], 0.5 * d * (1 + std::log(2 * M_PI)) + 0.5 * ld, tol * 10);
    const Matrix<double> lambda_q = rq.covariance[b].inverse();
    const Vector<double> diff = rq.mean[b] - rp.mean[b];
    const double expected = 0.5 * ((lambda_q * rp.covariance[b]).trace() + diff.dot(lambda_q * diff) - d +
                                   std::log(rq.covariance[b].determinant()) - ld);
    EXPECT_NEAR(kl[b], expected, tol * 10 * (1 + expected));
    EXPECT_NEAR(self[b], 0.0, tol * 10);
  }
  GaussianBatch<T> wrong(B, d + 1);
  EXPECT_THROW(p.kl_divergence(wrong, kl.data()), Error);
}

// The KL of a converging step in float at d = 64, as the batched CUDA path assembles it (W from a
// float solve, rows shared by 256 threads, their parts summed) against the same inputs in double:
// the textbook form 1/2 (||W||^2 + maha - d + 2 log ratio) is off by about 4e-6 here, far above the
// default tolerance of 1e-8; the sum of non-negative terms must stay well below it.
TEST(GaussianKl, FloatKlOfNearbyDistributionsIsAccurateWhateverTheThreadSplit) {
  const int d = 64, threads = 256;
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 1e-5);
  const Matrix<double> L2 = testing::random_spd(d, rng).llt().matrixL();
  Matrix<double> L1 = L2;
  for (int i = 0; i < d; ++i)
    for (int j = 0; j <= i; ++j) L1(i, j) *= 1 + noise(rng);
  const Vector<double> mu2 = testing::random_vector(d, rng);
  Vector<double> mu1 = mu2;
  for (int i = 0; i < d; ++i) mu1(i) += noise(rng);
  std::vector<float> mu1f, L1f, mu2f, L2f;
  testing::append(mu1f, mu1);
  testing::append(L1f, L1);
  testing::append(mu2f, mu2);
  testing::append(L2f, L2);
  // The reference: the float inputs, exactly, in double.
  const std::vector<double> mu1d(mu1f.begin(), mu1f.end()), L1d(L1f.begin(), L1f.end());
  const std::vector<double> mu2d(mu2f.begin(), mu2f.end()), L2d(L2f.begin(), L2f.end());
  std::vector<double> work_d(d * d);
  const double exact = math::kl_full(mu1d.data(), L1d.data(), mu2d.data(), L2d.data(), work_d.data(), d);
  ASSERT_GT(exact, 0.0);

  std::vector<float> W = L2f;
  math::solve_lower_rows(L1f.data(), W.data(), d, d);
  float shared = 0.0f;
  for (int t = 0; t < threads; ++t)
    shared += math::kl_terms(W.data(), mu1f.data(), L1f.data(), mu2f.data(), L2f.data(), d, t, threads);
  std::vector<float> work_f(d * d);
  const float serial = math::kl_full(mu1f.data(), L1f.data(), mu2f.data(), L2f.data(), work_f.data(), d);
  EXPECT_NEAR(0.5f * shared, exact, 1e-10 + 1e-3 * exact);
  EXPECT_NEAR(serial, exact, 1e-10 + 1e-3 * exact);
}

TYPED_TEST(GaussianBatchTest, SamplesHaveTheDistributionsMoments) {
  using T = TypeParam;
  const int d = 3, S = 40000;
  const std::size_t B = 2;
  std::mt19937 rng(13);
  GaussianBatch<T> batch(B, d);
  const Reference ref = make_batch(batch, rng);
  std::vector<T> z(B * S * d);
  batch.sample(99, 0, S, z.data());
  for (std::size_t b = 0; b < B; ++b) {
    Vector<double> mean = Vector<double>::Zero(d);
    Matrix<double> cov = Matrix<double>::Zero(d, d);
    for (int s = 0; s < S; ++s) {
      const Vector<double> v = testing::segment(z.data() + b * S * d, s, d);
      mean += v / S;
      cov += (v - ref.mean[b]) * (v - ref.mean[b]).transpose() / S;
    }
    // Antithetic pairs make the sample mean exact up to rounding.
    EXPECT_LT((mean - ref.mean[b]).norm(), sizeof(T) == 4 ? 1e-4 : 1e-10);
    EXPECT_LT((cov - ref.covariance[b]).norm(), 6.0 * ref.covariance[b].norm() / std::sqrt(S / 2.0));
  }
  // Same address, same numbers; another step, other numbers.
  std::vector<T> again(B * S * d), later(B * S * d);
  batch.sample(99, 0, S, again.data());
  batch.sample(99, 1, S, later.data());
  EXPECT_EQ(z, again);
  EXPECT_NE(z[0], later[0]);
}

TEST(GaussianBatch, RejectsBadShapes) {
  EXPECT_THROW(GaussianBatch<double>(3, 0), Error);
  try {
    GaussianBatch<double>(3, -2);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dimension"), std::string::npos);
  }
  GaussianBatch<double> batch(2, 2);
  std::vector<double> z(4);
  EXPECT_THROW(batch.sample(0, 0, 0, z.data()), Error);
}

}  // namespace
}  // namespace ngvi
