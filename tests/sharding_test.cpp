// Options::devices over the CPU backend: a batch sharded across 1, 2 and 3 CPU "devices" (thread
// groups) ends bit for bit where one device does, for both families and every estimator, with
// distributions that converge early, fail, or never start; and the dealing itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <unistd.h>

#include "engine/sharding.hpp"
#include "ngvi/checkpoint.hpp"
#include "ngvi/error.hpp"
#include "ngvi/fit.hpp"
#include "ngvi/models.hpp"
#include "ngvi/synthetic.hpp"
#include "test_util.hpp"

namespace ngvi {
namespace {

using testing::Quadratics;

TEST(BalancedShards, CoverTheListContiguouslyWithSizesDifferingByAtMostOne) {
  for (std::size_t count : {0, 1, 2, 7, 100, 101})
    for (std::size_t shards : {1, 2, 3, 8}) {
      const std::vector<detail::Shard> s = detail::balanced_shards(count, shards);
      ASSERT_EQ(s.size(), shards);
      std::size_t next = 0, smallest = count, largest = 0;
      for (const detail::Shard& shard : s) {
        EXPECT_EQ(shard.begin, next);
        next = shard.end;
        smallest = std::min(smallest, shard.size());
        largest = std::max(largest, shard.size());
      }
      EXPECT_EQ(next, count);
      EXPECT_LE(largest - smallest, 1u) << count << " items in " << shards;
    }
}

TEST(ForEachShard, RunsEveryShardAndRethrowsAfterAllHaveEnded) {
  std::vector<int> ran(4, 0);
  EXPECT_THROW(detail::for_each_shard(4,
                                      [&](std::size_t k) {
                                        ran[k] = 1;
                                        if (k == 2) throw Error("shard 2 failed");
                                      }),
               Error);
  EXPECT_EQ(ran, std::vector<int>(4, 1));
}

// Quadratic targets with curvatures spread over two orders of magnitude, so that distributions
// converge at different steps; problem 5's data are not finite (InvalidData from the start) and
// problem 9 starts from an invalid state.
template <class T>
struct Spread {
  Quadratics<T> q{60, 3, 21};
  Spread() {
    for (std::size_t b = 0; b < q.B; ++b) {
      const T scale = static_cast<T>(std::pow(10.0, static_cast<double>(b % 7) / 3.0));
      for (int k = 0; k < q.d * q.d; ++k) q.curvatures[b * q.d * q.d + k] *= scale;
    }
    q.centers[5 * q.d] = std::numeric_limits<T>::quiet_NaN();
  }
  GaussianBatch<T> batch(Family family) const {
    GaussianBatch<T> g(q.B, q.d, family);
    g.precision_cholesky()[9 * g.matrix_size()] = T(-1);
    return g;
  }
};

template <class T>
void expect_same_for_every_device_count(const Model<T>& model, const Spread<T>& spread, Options options,
                                        Family family, const std::string& what) {
  options.num_threads = 3;
  options.trace_elbo = true;
  GaussianBatch<T> one = spread.batch(family);
  const Summary reference = fit(model, one, options);
  // Not vacuous: some distributions stopped long before others, and the bad ones failed.
  const auto [fewest, most] = std::minmax_element(reference.steps.begin(), reference.steps.end());
  EXPECT_LT(*fewest, *most) << what;
  EXPECT_EQ(reference.status[5], Status::InvalidData) << what;
  EXPECT_EQ(reference.status[9], Status::InvalidState) << what;
  for (const std::vector<int>& devices : {std::vector<int>{0, 1}, std::vector<int>{0, 1, 2}, std::vector<int>{4, 2}}) {
    options.devices = devices;
    GaussianBatch<T> sharded = spread.batch(family);
    const Summary s = fit(model, sharded, options);
    SCOPED_TRACE(what + ", " + std::to_string(devices.size()) + " devices");
    testing::expect_identical(one, reference, sharded, s);
    EXPECT_TRUE(testing::same_bits(s.elbo_mcse, reference.elbo_mcse));
    EXPECT_TRUE(testing::same_bits(s.pareto_k, reference.pareto_k));
    EXPECT_NE(s.device.find(std::to_string(devices.size()) + " devices"), std::string::npos) << s.device;
  }
}

TEST(Sharding, ResultsAreBitIdenticalForOneTwoAndThreeDevices) {
  const Spread<double> spread;
  const QuadraticModel<double> model = spread.q.model();
  for (Family family : {Family::Full, Family::Diagonal})
    for (Estimator estimator : {Estimator::Price, Estimator::Stein, Estimator::Score, Estimator::Quadrature}) {
      Options options;
      options.estimator = estimator;
      options.step_size = estimator == Estimator::Score ? 0.05 : 0.3;
      options.max_steps = 60;
      options.tolerance_sd = 0.05;
      options.final_samples = 50;
      options.seed = 77;
      expect_same_for_every_device_count(model, spread, options,  family,
                                         std::string(estimator_name(estimator)) +
                                             (family == Family::Full ? " full" : " diagonal"));
    }
}

TEST(Sharding, FloatAndTheBlrRuleAreBitIdenticalToo) {
  const Spread<float> spread;
  const QuadraticModel<float> model = spread.q.model();
  Options options;
  options.estimator = Estimator::Stein;
  options.rule = Rule::BLR;  // rejected steps halve a distribution's step: per-distribution state
  options.step_size = 0.8;
  options.max_steps = 50;
  options.tolerance_sd = 0.05;
  options.final_samples = 40;
  expect_same_for_every_device_count(model, spread, options, Family::Full, "float blr");
}

TEST(Sharding, LogisticRegressionsWithMinibatchesAreBitIdentical) {
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, 40, 4, 20, 120, 3);
  const LogisticRegression<double> model(problems.data(), Prior<double>::isotropic(1.0));
  Options options;
  options.estimator = Estimator::Price;
  options.minibatch_rows = 16;
  options.max_steps = 40;
  options.final_samples = 30;
  options.num_threads = 2;
  GaussianBatch<double> one(40, 4);
  const Summary reference = fit(model, one, options);
  options.devices = {0, 1, 2};
  GaussianBatch<double> three(40, 4);
  testing::expect_identical(one, reference, three, fit(model, three, options));
}

TEST(Sharding, MoreDevicesThanDistributionsAndAllDevicesWork) {
  const Quadratics<double> q(2, 2, 3);
  const QuadraticModel<double> model = q.model();
  Options options;
  options.max_steps = 30;
  GaussianBatch<double> one(q.B, q.d);
  const Summary reference = fit(model, one, options);
  options.devices = {0, 1, 2, 3, 4};
  GaussianBatch<double> five(q.B, q.d);
  testing::expect_identical(one, reference, five, fit(model, five, options));
  options.devices = {kAllDevices};  // the CPU is one device
  GaussianBatch<double> all(q.B, q.d);
  const Summary s = fit(model, all, options);
  testing::expect_identical(one, reference, all, s);
  EXPECT_EQ(s.device.find("devices"), std::string::npos) << s.device;
}

TEST(Sharding, ACheckpointOfAShardedFitResumesOnOtherDevicesToTheSameEnd) {
  const Spread<double> spread;
  const QuadraticModel<double> model = spread.q.model();
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("ngvi_sharding_test_" + std::to_string(::getpid()) + ".ckpt");
  Options options;
  options.estimator = Estimator::Stein;
  options.max_steps = 60;
  options.final_samples = 40;
  GaussianBatch<double> whole = spread.batch(Family::Full);
  const Summary reference = fit(model, whole, options);

  Options stopping = options;
  stopping.devices = {0, 1, 2};
  stopping.checkpoint_path = path.string();
  stopping.progress = [](const Progress& p) { return p.iteration < 20; };
  GaussianBatch<double> first = spread.batch(Family::Full);
  fit(model, first, stopping);
  Options resuming;
  resuming.devices = {0, 1};
  GaussianBatch<double> resumed(spread.q.B, spread.q.d);
  const Summary s = resume(model, resumed, path.string(), resuming);
  std::filesystem::remove(path);
  testing::expect_identical(whole, reference, resumed, s);
}

// What an MPI rank or a Dask worker does: problems [first, first + n) fitted as a batch of their own
// with problem_offset = first end bit for bit as they do in the whole batch's fit (the random numbers
// of the samples and of the minibatch rows are keyed by the problem's index in the whole set).
TEST(Sharding, AShardFittedAloneWithItsFirstProblemMatchesTheWholeBatch) {
  const std::size_t B = 30, first = 11, n = 9;
  const int d = 3;
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, B, d, 20, 90, 8);
  const LogisticRegression<double> whole_model(problems.data(), Prior<double>::isotropic(1.0));
  Options options;
  options.estimator = Estimator::Stein;
  options.minibatch_rows = 12;
  options.max_steps = 50;
  options.final_samples = 30;
  options.seed = 5;
  GaussianBatch<double> whole(B, d);
  const Summary all = fit(whole_model, whole, options);

  std::vector<std::int64_t> offsets(n + 1);
  for (std::size_t k = 0; k <= n; ++k) offsets[k] = problems.offsets[first + k] - problems.offsets[first];
  const std::size_t row = static_cast<std::size_t>(problems.offsets[first]);
  const LogisticRegression<double> shard_model(
      RegressionData<double>::ragged(problems.x.data() + row * d, problems.y.data() + row, offsets.data(), n, d),
      Prior<double>::isotropic(1.0));
  GaussianBatch<double> shard(n, d);
  auto same_as_whole = [&](const Summary& s) {
    for (std::size_t k = 0; k < n; ++k) {
      EXPECT_EQ(s.status[k], all.status[first + k]) << k;
      EXPECT_EQ(s.steps[k], all.steps[first + k]) << k;
      EXPECT_TRUE(testing::same_bits(std::vector<double>{s.elbo[k]}, std::vector<double>{all.elbo[first + k]})) << k;
      for (int i = 0; i < d; ++i) EXPECT_EQ(shard.mean()[k * d + i], whole.mean()[(first + k) * d + i]) << k;
    }
  };
  options.problem_offset = first;
  same_as_whole(fit(shard_model, shard, options));
  // Without it the shard's random numbers are those of problems 0 .. n-1: other results.
  options.problem_offset = 0;
  GaussianBatch<double> unkeyed(n, d);
  fit(shard_model, unkeyed, options);
  EXPECT_NE(std::vector<double>(unkeyed.mean(), unkeyed.mean() + n * d),
            std::vector<double>(shard.mean(), shard.mean() + n * d));
  // problem_offset + B past 2^32 is refused by name.
  options.problem_offset = (std::size_t(1) << 32) - 3;
  try {
    fit(shard_model, unkeyed, options);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("options.problem_offset"), std::string::npos) << e.what();
  }
}

TEST(Sharding, OptionsRefuseRepeatedAndNegativeDevicesNamingTheEntry) {
  Options options;
  options.devices = {0, 1, 1};
  EXPECT_NE(options.check().find("options.devices[2] = 1"), std::string::npos) << options.check();
  options.devices = {0, -3};
  EXPECT_NE(options.check().find("options.devices[1] = -3"), std::string::npos) << options.check();
  options.devices = {kAllDevices, 0};
  EXPECT_NE(options.check().find("options.devices[0] = -1"), std::string::npos) << options.check();
  options.devices = {kAllDevices};
  EXPECT_EQ(options.check(), "");
}

}  // namespace
}  // namespace ngvi
