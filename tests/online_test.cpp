// Online rounds against Bayesian linear regression, whose posterior after any split of the rows is
// known in closed form (with and without forgetting); logistic rounds fitted by Monte Carlo against
// the exact (quadrature) rounds within their Monte Carlo error, and against the one-shot fit of all
// rows within the filtering gap; and Thompson draws against reproducibility and the posterior's
// moments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "ngvi/error.hpp"
#include "ngvi/online.hpp"
#include "ngvi/synthetic.hpp"
#include "test_util.hpp"

namespace ngvi {
namespace {

using testing::exact_options;
using testing::Matrix;
using testing::Vector;

// Rows of B linear-regression problems in d dimensions, in chunks of different sizes (one online
// round each), each chunk a dense (B, n_k, d) array.
struct Chunks {
  std::size_t B = 6;
  int d = 3;
  double noise_sd = 0.7;
  std::vector<int> rows{4, 1, 7};
  std::vector<std::vector<double>> x, y;
  explicit Chunks(std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<Vector<double>> z;
    for (std::size_t b = 0; b < B; ++b) z.push_back(testing::random_vector(d, rng, 1.0));
    for (int n : rows) {
      std::vector<double> xk, yk;
      for (std::size_t b = 0; b < B; ++b) {
        const Matrix<double> X = testing::random_vector(n * d, rng, 1.0).reshaped<Eigen::RowMajor>(n, d);
        testing::append(xk, X);
        testing::append(yk, Vector<double>(X * z[b] + noise_sd * testing::random_vector(n, rng, 1.0)));
      }
      x.push_back(xk);
      y.push_back(yk);
    }
  }
  LinearRegression<double> model(std::size_t k) const {
    return LinearRegression<double>(RegressionData<double>::dense(x[k].data(), y[k].data(), B, rows[k], d), noise_sd);
  }
  Matrix<double> X(std::size_t k, std::size_t b) const {
    return Eigen::Map<const Matrix<double>>(x[k].data() + b * rows[k] * d, rows[k], d);
  }
  Vector<double> Y(std::size_t k, std::size_t b) const {
    return Eigen::Map<const Vector<double>>(y[k].data() + b * rows[k], rows[k]);
  }
};

TEST(OnlineRounds, LinearGaussianRoundsEqualTheOneShotPosterior) {
  const Chunks chunks(3);
  const std::size_t B = chunks.B;
  const int d = chunks.d;
  for (double forgetting : {1.0, 0.6}) {
    GaussianBatch<double> batch(B, d);  // N(0, I): the prior of the first rows
    for (std::size_t k = 0; k < chunks.rows.size(); ++k) {
      const Summary summary = fit_online_round(chunks.model(k), batch, exact_options(), forgetting);
      EXPECT_EQ(summary.failures(), 0u);
    }
    std::vector<double> precision(B * d * d);
    batch.precision(precision.data());
    // Closed form, round by round: Lambda <- gamma Lambda + X^T X / s^2, eta <- gamma eta + X^T y / s^2
    // (eta = Lambda mu), from the batch's start N(0, I), which the first round forgets too.
    const double s2 = chunks.noise_sd * chunks.noise_sd;
    for (std::size_t b = 0; b < B; ++b) {
      Matrix<double> Lambda = Matrix<double>::Identity(d, d);
      Vector<double> eta = Vector<double>::Zero(d);
      for (std::size_t k = 0; k < chunks.rows.size(); ++k) {
        Lambda = forgetting * Lambda + chunks.X(k, b).transpose() * chunks.X(k, b) / s2;
        eta = forgetting * eta + chunks.X(k, b).transpose() * chunks.Y(k, b) / s2;
      }
      const Vector<double> mu = Lambda.llt().solve(eta);
      EXPECT_LT((testing::segment(batch.mean(), b, d) - mu).norm(), 1e-10 * (1 + mu.norm())) << forgetting;
      EXPECT_LT((testing::block(precision, b, d) - Lambda).norm(), 1e-10 * Lambda.norm()) << forgetting;
    }
  }
}

TEST(OnlineRounds, MatchTheOneShotFitOfAllRows) {
  const Chunks chunks(8);
  const std::size_t B = chunks.B;
  const int d = chunks.d;
  GaussianBatch<double> online(B, d);
  for (std::size_t k = 0; k < chunks.rows.size(); ++k) fit_online_round(chunks.model(k), online, exact_options());
  // All rows in one ragged array: problem b's rows of every chunk, in order.
  std::vector<double> x, y;
  std::vector<std::int64_t> offsets{0};
  for (std::size_t b = 0; b < B; ++b) {
    for (std::size_t k = 0; k < chunks.rows.size(); ++k) {
      testing::append(x, chunks.X(k, b));
      testing::append(y, chunks.Y(k, b));
    }
    offsets.push_back(static_cast<std::int64_t>(y.size()));
  }
  const LinearRegression<double> all(RegressionData<double>::ragged(x.data(), y.data(), offsets.data(), B, d),
                                     chunks.noise_sd);
  GaussianBatch<double> one_shot(B, d);
  fit(all, one_shot, exact_options());
  std::vector<double> p_online(B * d * d), p_one_shot(B * d * d);
  online.precision(p_online.data());
  one_shot.precision(p_one_shot.data());
  for (std::size_t b = 0; b < B; ++b) {
    EXPECT_LT((testing::segment(online.mean(), b, d) - testing::segment(one_shot.mean(), b, d)).norm(), 1e-10);
    EXPECT_LT((testing::block(p_online, b, d) - testing::block(p_one_shot, b, d)).norm(),
              1e-10 * testing::block(p_one_shot, b, d).norm());
  }
}

// Logistic rows of B problems, each with k * n rows, and round r's rows r * n .. (r + 1) * n - 1 of
// every problem as a model of their own.
struct LogisticRounds {
  static constexpr std::size_t B = 30, n = 50;
  static constexpr int d = 3, k = 4;
  SyntheticProblems<double> all;
  std::vector<std::vector<double>> x, y;
  explicit LogisticRounds(std::uint64_t seed)
      : all(SyntheticProblems<double>::generate(Likelihood::Logistic, B, d, k * n, k * n, seed)) {
    for (int r = 0; r < k; ++r) {
      std::vector<double> xr, yr;
      for (std::size_t b = 0; b < B; ++b) {
        const std::size_t first = static_cast<std::size_t>(all.offsets[b]) + r * n;
        xr.insert(xr.end(), all.x.begin() + first * d, all.x.begin() + (first + n) * d);
        yr.insert(yr.end(), all.y.begin() + first, all.y.begin() + first + n);
      }
      x.push_back(std::move(xr));
      y.push_back(std::move(yr));
    }
  }
  LogisticRegression<double> round(int r) const {
    return LogisticRegression<double>(RegressionData<double>::dense(x[r].data(), y[r].data(), B, n, d));
  }
};

// Runs the k rounds from N(0, I); returns the batch and each round's summary.
std::pair<GaussianBatch<double>, std::vector<Summary>> online_fit(const LogisticRounds& rounds, const Options& options) {
  GaussianBatch<double> batch(LogisticRounds::B, LogisticRounds::d);
  std::vector<Summary> summaries;
  for (int r = 0; r < LogisticRounds::k; ++r) summaries.push_back(fit_online_round(rounds.round(r), batch, options));
  return {std::move(batch), std::move(summaries)};
}

// For logistic rows each round keeps a Gaussian posterior (assumed density filtering), so k rounds
// are not the one-shot fit of all rows: the gap is deterministic, not Monte Carlo error, and here up
// to a few tenths of a posterior sd (median ~0.03 sd). What Monte Carlo adds is checked against its
// error model: a round's fitted mean is off by its MCSE (Summary::mean_mcse_sd, in posterior sd, the
// largest over the coordinates), errors of different rounds are independent, and an earlier round's
// error reaches the end shrunk by the rows after it; so the Monte Carlo rounds are within
// 5 sqrt(sum_r mcse_r^2) of the exact (quadrature) rounds, coordinate by coordinate.
TEST(OnlineRounds, LogisticMonteCarloRoundsMatchTheExactRoundsWithinTheirMonteCarloError) {
  const std::size_t B = LogisticRounds::B;
  const int d = LogisticRounds::d;
  for (std::uint64_t seed : {5u, 6u}) {
    const LogisticRounds rounds(seed);
    Options exact;
    exact.estimator = Estimator::Quadrature;
    exact.final_samples = 16;
    Options monte_carlo = exact;
    monte_carlo.estimator = Estimator::Price;
    monte_carlo.seed = seed;
    monte_carlo.max_steps = 20000;
    const auto [filtered, exact_summaries] = online_fit(rounds, exact);
    const auto [sampled, summaries] = online_fit(rounds, monte_carlo);
    GaussianBatch<double> one_shot(B, d);
    fit(LogisticRegression<double>(rounds.all.data()), one_shot, exact);

    std::vector<double> covariance(B * d * d);
    one_shot.covariance(covariance.data());
    std::vector<double> gaps;
    for (std::size_t b = 0; b < B; ++b) {
      double variance = 0;  // of the Monte Carlo error of problem b's final mean, in posterior sd
      for (const Summary& s : summaries) {
        ASSERT_EQ(s.status[b], Status::Converged) << "seed " << seed << ", problem " << b;
        variance += s.mean_mcse_sd[b] * s.mean_mcse_sd[b];
      }
      for (int i = 0; i < d; ++i) {
        const double sd = std::sqrt(covariance[b * d * d + i * d + i]);
        const double error = std::abs(sampled.mean()[b * d + i] - filtered.mean()[b * d + i]) / sd;
        EXPECT_LE(error, 5 * std::sqrt(variance)) << "seed " << seed << ", problem " << b << ", coordinate " << i;
        gaps.push_back(std::abs(filtered.mean()[b * d + i] - one_shot.mean()[b * d + i]) / sd);
      }
    }
    // The filtering gap, for the record of its size: small in the median, bounded at the worst.
    std::sort(gaps.begin(), gaps.end());
    EXPECT_LT(gaps[gaps.size() / 2], 0.1) << "seed " << seed;
    EXPECT_LT(gaps.back(), 0.5) << "seed " << seed;
  }
}

TEST(OnlineRounds, ForgettingOutsideTheUnitIntervalIsAnError) {
  const Chunks chunks(1);
  GaussianBatch<double> batch(chunks.B, chunks.d);
  for (double forgetting : {0.0, 1.5, std::nan("")}) {
    try {
      fit_online_round(chunks.model(0), batch, Options(), forgetting);
      ADD_FAILURE() << "no error for forgetting = " << forgetting;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("forgetting"), std::string::npos) << e.what();
    }
  }
}

TEST(ThompsonDraws, ReproducibleAndDistributedAsThePosterior) {
  const int d = 2;
  GaussianBatch<double> batch(3, d);
  const std::vector<double> mean{1.0, -2.0, 0.0, 0.0, 3.0, 0.5};
  const std::vector<double> covariance{2.0, 0.6, 0.6, 0.5, 1, 0, 0, 1, 0.3, -0.1, -0.1, 0.2};
  batch.set_moments(mean.data(), covariance.data());
  EXPECT_EQ(thompson_draws(batch, 42, 7), thompson_draws(batch, 42, 7));
  EXPECT_NE(thompson_draws(batch, 42, 7), thompson_draws(batch, 42, 8));
  // Over many rounds the draws of each problem have its mean and covariance (CLT bounds, 5 sigma).
  const int rounds = 4000;
  for (std::size_t b = 0; b < 3; ++b) {
    Vector<double> sum = Vector<double>::Zero(d);
    Matrix<double> second = Matrix<double>::Zero(d, d);
    for (int r = 0; r < rounds; ++r) {
      const Vector<double> z = testing::segment(thompson_draws(batch, 42, r).data(), b, d);
      sum += z;
      second += z * z.transpose();
    }
    const Vector<double> m = sum / rounds;
    const Matrix<double> C = second / rounds - m * m.transpose();
    const Matrix<double> truth = testing::block(covariance, b, d);
    for (int i = 0; i < d; ++i) {
      EXPECT_NEAR(m(i), mean[b * d + i], 5 * std::sqrt(truth(i, i) / rounds));
      for (int j = 0; j < d; ++j)
        EXPECT_NEAR(C(i, j), truth(i, j),
                    5 * std::sqrt((truth(i, i) * truth(j, j) + truth(i, j) * truth(i, j)) / rounds));
    }
  }
}

}  // namespace
}  // namespace ngvi
