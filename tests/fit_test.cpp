// fit() on quadratic targets, whose posterior N(a, A^-1) is known exactly (docs/math.md section 8.4):
// one exact BLR step, Monte Carlo error that shrinks with S, iBLR under indefinite Hessians,
// determinism across thread counts, and per-distribution failures that leave the others untouched.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "ngvi/error.hpp"
#include "ngvi/fit.hpp"
#include "ngvi/models.hpp"
#include "ngvi/synthetic.hpp"
#include "test_util.hpp"

namespace ngvi {
namespace {

using testing::Matrix;
using testing::Quadratics;
using testing::Vector;

template <class T>
double precision_error(const GaussianBatch<T>& batch, const Quadratics<T>& q, std::size_t b) {
  std::vector<T> precision(batch.size() * batch.matrix_size());
  batch.precision(precision.data());
  return (testing::block(precision, b, q.d) - q.A(b)).norm() / q.A(b).norm();
}

template <class T>
class FitTest : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(FitTest, Scalars);

TYPED_TEST(FitTest, BlrWithUnitStepLandsOnTheExactPosteriorInOneStep) {
  using T = TypeParam;
  const Quadratics<T> q(8, 5, 1);
  const QuadraticModel<T> model = q.model();
  for (Estimator estimator : {Estimator::Price, Estimator::Quadrature}) {
    GaussianBatch<T> batch(q.B, q.d);
    Options options;
    options.estimator = estimator;
    options.rule = Rule::BLR;
    options.step_size = 1.0;
    options.max_steps = 1;
    options.max_step_kl = 0;  // the whole step: Price's trust region would shorten this far a move
    const Summary summary = fit(model, batch, options);
    EXPECT_EQ(summary.count(Status::StepBudget), q.B);
    const double tol = sizeof(T) == 4 ? 1e-4 : 1e-12;
    for (std::size_t b = 0; b < q.B; ++b) {
      EXPECT_LT((testing::segment(batch.mean(), b, q.d) - q.a(b)).norm(), tol * 10 * (1 + q.a(b).norm()))
          << estimator_name(estimator);
      EXPECT_LT(precision_error(batch, q, b), tol) << estimator_name(estimator);
    }
  }
}

TYPED_TEST(FitTest, SteinErrorShrinksWithTheNumberOfSamples) {
  using T = TypeParam;
  const Quadratics<T> q(100, 3, 2);
  const QuadraticModel<T> model = q.model();
  auto rms_precision_error = [&](int samples) {
    GaussianBatch<T> batch(q.B, q.d);
    Options options;
    options.estimator = Estimator::Stein;
    options.samples = samples;
    options.step_size = 0.2;
    options.max_steps = 150;
    options.tolerance = 0.0;  // run the whole budget
    fit(model, batch, options);
    double sum = 0;
    for (std::size_t b = 0; b < q.B; ++b) {
      sum += std::pow(precision_error(batch, q, b), 2);
      // The gradient of a quadratic is linear, so antithetic pairs estimate it exactly and the mean
      // converges to a whatever the noise in the precision.
      EXPECT_LT((testing::segment(batch.mean(), b, q.d) - q.a(b)).norm(), sizeof(T) == 4 ? 1e-3 : 1e-8);
    }
    return std::sqrt(sum / q.B);
  };
  const double coarse = rms_precision_error(4), fine = rms_precision_error(64);
  ::testing::Test::RecordProperty("rms_error_S4", std::to_string(coarse));
  ::testing::Test::RecordProperty("rms_error_S64", std::to_string(fine));
  EXPECT_LT(fine, coarse / 2.5) << "coarse " << coarse << ", fine " << fine;  // 1/sqrt(S): 4 expected
  EXPECT_LT(fine, 0.2) << "coarse " << coarse;  // stationary noise ~ sqrt(rho / 2) * sqrt((d + 1) / S)
}

TYPED_TEST(FitTest, ConvergesAndReportsIt) {
  using T = TypeParam;
  const Quadratics<T> q(16, 4, 3);
  GaussianBatch<T> batch(q.B, q.d);
  Options options;  // Auto: exact expectations for the quadratic model
  options.tolerance = sizeof(T) == 4 ? 1e-6 : 1e-12;
  const Summary summary = fit(q.model(), batch, options);
  EXPECT_EQ(summary.estimator, Estimator::Quadrature);
  EXPECT_EQ(summary.count(Status::Converged), q.B) << summary.full_report();
  for (std::size_t b = 0; b < q.B; ++b) {
    EXPECT_LT(precision_error(batch, q, b), sizeof(T) == 4 ? 1e-3 : 1e-6);
    // With no prior the optimal ELBO is log of the normaliser of exp(-f): d/2 log 2 pi - 1/2 log det A.
    const double expected = 0.5 * q.d * std::log(2 * M_PI) - 0.5 * std::log(q.A(b).determinant());
    EXPECT_NEAR(summary.elbo[b], expected, sizeof(T) == 4 ? 1e-3 : 1e-6);
  }
  EXPECT_GT(summary.distribution_steps_per_second, 0.0);
  EXPECT_NE(summary.brief_report().find("16 converged"), std::string::npos) << summary.brief_report();
}

TEST(Fit, IblrSurvivesIndefiniteHessiansWhereBlrIsRejected) {
  // A saddle: the Price estimate of the Hessian is indefinite at every point.
  const int d = 2;
  const std::vector<double> center = {0.0, 0.0}, curvature = {1.0, 0.0, 0.0, -3.0};
  const QuadraticModel<double> saddle(1, d, center.data(), curvature.data(), false, Prior<double>::isotropic(1.0));
  Options options;
  options.estimator = Estimator::Price;
  options.step_size = 1.0;
  options.max_steps = 30;

  options.rule = Rule::BLR;
  GaussianBatch<double> blr(1, d);
  const Summary s_blr = fit(saddle, blr, options);
  // With rho = 1, BLR's new precision is the Hessian H + I = diag(2, -2): rejected, and the step size
  // halved until the candidate fits. The state is never corrupted.
  EXPECT_GT(s_blr.rejected_steps[0], 0);
  EXPECT_TRUE(std::isfinite(blr.precision_cholesky()[0]) && blr.precision_cholesky()[3] > 0);

  options.rule = Rule::IBLR;
  GaussianBatch<double> iblr(1, d);
  const Summary s_iblr = fit(saddle, iblr, options);
  EXPECT_EQ(s_iblr.rejected_steps[0], 0);
  EXPECT_NE(s_iblr.status[0], Status::NotPositiveDefinite);
  EXPECT_GT(iblr.precision_cholesky()[3], 0.0);
}

// Wraps a model and poisons one problem, to check that failures stay with their distribution.
template <class T>
class PoisonedModel final : public testing::ForwardingModel<T> {
 public:
  enum class Poison { InfValue, NaNGradient, Throws };
  PoisonedModel(const Model<T>& inner, std::size_t problem, Poison poison)
      : testing::ForwardingModel<T>(inner), problem_(problem), poison_(poison) {}
  void evaluate(std::size_t problem, const T* points, int n, const Evaluation<T>& out, T* scratch,
                const EvaluationContext& context) const override {
    testing::ForwardingModel<T>::evaluate(problem, points, n, out, scratch, context);
    if (problem != problem_) return;
    if (poison_ == Poison::Throws) throw std::runtime_error("model failure");
    if (poison_ == Poison::InfValue && out.values) out.values[n - 1] = std::numeric_limits<T>::infinity();
    if (poison_ == Poison::InfValue && out.gradients) out.gradients[0] = std::numeric_limits<T>::infinity();
    if (poison_ == Poison::NaNGradient && out.gradients) out.gradients[1] = std::numeric_limits<T>::quiet_NaN();
  }

 private:
  std::size_t problem_;
  Poison poison_;
};

TEST(Fit, OneBadDistributionNeverChangesTheOthers) {
  const Quadratics<double> q(6, 3, 4);
  const QuadraticModel<double> clean = q.model();
  Options options;
  options.estimator = Estimator::Stein;
  options.trace_elbo = true;
  options.max_steps = 40;
  GaussianBatch<double> reference(q.B, q.d);
  const Summary ref = fit(clean, reference, options);

  using Poison = PoisonedModel<double>::Poison;
  const std::pair<Poison, Status> cases[] = {{Poison::InfValue, Status::NonFiniteValue},
                                             {Poison::NaNGradient, Status::NonFiniteGradient},
                                             {Poison::Throws, Status::ModelError}};
  for (const auto& [poison, expected] : cases) {
    const std::size_t bad = 2;
    const PoisonedModel<double> model(clean, bad, poison);
    GaussianBatch<double> batch(q.B, q.d);
    const Summary s = fit(model, batch, options);
    EXPECT_EQ(s.status[bad], expected) << status_name(s.status[bad]);
    for (std::size_t b = 0; b < q.B; ++b) {
      if (b == bad) continue;
      EXPECT_EQ(s.status[b], ref.status[b]);
      EXPECT_EQ(s.elbo[b], ref.elbo[b]);
      for (int i = 0; i < q.d; ++i) EXPECT_EQ(batch.mean()[b * q.d + i], reference.mean()[b * q.d + i]);
      for (std::size_t k = 0; k < batch.matrix_size(); ++k)
        EXPECT_EQ(batch.precision_cholesky()[b * batch.matrix_size() + k],
                  reference.precision_cholesky()[b * batch.matrix_size() + k]);
    }
    // The failed distribution keeps a valid state (the one before its failing step).
    EXPECT_GT(batch.precision_cholesky()[bad * batch.matrix_size()], 0.0);
  }
}

TEST(Fit, InvalidInitialStateAndInvalidDataAreReportedPerDistribution) {
  Quadratics<double> q(4, 2, 5);
  q.centers[1 * q.d] = std::numeric_limits<double>::quiet_NaN();  // problem 1: bad data
  const QuadraticModel<double> model = q.model();
  GaussianBatch<double> batch(q.B, q.d);
  batch.precision_cholesky()[3 * 4] = -1.0;  // problem 3: a factor with a negative diagonal
  const Summary s = fit(model, batch, Options());
  EXPECT_EQ(s.status[1], Status::InvalidData);
  EXPECT_EQ(s.status[3], Status::InvalidState);
  EXPECT_EQ(s.status[0], Status::Converged);
  EXPECT_EQ(s.status[2], Status::Converged);
  EXPECT_EQ(s.failures(), 2u);
  EXPECT_EQ(batch.precision_cholesky()[3 * 4], -1.0);  // untouched
}

TEST(Fit, RejectsMismatchedShapesAndOptionsWithAMessageNamingThem) {
  const Quadratics<double> q(4, 3, 6);
  const QuadraticModel<double> model = q.model();
  auto message = [&](GaussianBatch<double> batch, const Options& options) {
    try {
      fit(model, batch, options);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(GaussianBatch<double>(5, 3), Options()).find("4 problems but the batch has 5"), std::string::npos);
  EXPECT_NE(message(GaussianBatch<double>(4, 2), Options()).find("dimension is 3 but the batch's is 2"),
            std::string::npos);
  Options bad;
  bad.samples = -1;
  EXPECT_NE(message(GaussianBatch<double>(4, 3), bad).find("options.samples = -1"), std::string::npos);
  bad = Options();
  bad.step_size = 1.5;
  EXPECT_NE(message(GaussianBatch<double>(4, 3), bad).find("options.step_size = 1.5"), std::string::npos);
  bad = Options();
  bad.tolerance = std::nan("");
  EXPECT_NE(message(GaussianBatch<double>(4, 3), bad).find("options.tolerance"), std::string::npos);
}

TEST(Fit, ResultsAreBitIdenticalWhateverTheThreadCount) {
  const Quadratics<float> q(300, 4, 8);
  const QuadraticModel<float> model = q.model();
  Options options;
  options.estimator = Estimator::Stein;
  options.max_steps = 25;
  options.trace_elbo = true;
  options.seed = 1234;
  std::vector<float> means[2], factors[2];
  std::vector<double> elbos[2];
  for (int run = 0; run < 2; ++run) {
    options.num_threads = run == 0 ? 1 : 3;
    GaussianBatch<float> batch(q.B, q.d);
    const Summary s = fit(model, batch, options);
    means[run].assign(batch.mean(), batch.mean() + q.B * q.d);
    factors[run].assign(batch.precision_cholesky(), batch.precision_cholesky() + q.B * batch.matrix_size());
    elbos[run] = s.elbo;
  }
  EXPECT_EQ(means[0], means[1]);
  EXPECT_EQ(factors[0], factors[1]);
  EXPECT_EQ(elbos[0], elbos[1]);
  // Another seed gives other results.
  options.seed = 1235;
  GaussianBatch<float> other(q.B, q.d);
  fit(model, other, options);
  EXPECT_NE(std::vector<float>(other.mean(), other.mean() + q.B * q.d), means[0]);
}

// Problems [first, first + count) of `problems`, as a ragged model of their own.
struct Slice {
  std::vector<std::int64_t> offsets;
  LogisticRegression<double> model;
  Slice(const SyntheticProblems<double>& problems, std::size_t first, std::size_t count)
      : offsets(problems.offsets.begin() + first, problems.offsets.begin() + first + count + 1),
        model(rebased(problems, first, count, offsets)) {}
  static RegressionData<double> rebased(const SyntheticProblems<double>& problems, std::size_t first, std::size_t count,
                                        std::vector<std::int64_t>& offsets) {
    const std::int64_t begin = offsets.front();
    for (std::int64_t& o : offsets) o -= begin;
    const int d = problems.dimension;
    return RegressionData<double>::ragged(problems.x.data() + begin * d, problems.y.data() + begin, offsets.data(),
                                          count, d);
  }
};

TEST(Fit, ASliceFittedWithItsProblemOffsetGivesTheWholeBatchsResultsBitForBit) {
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, 12, 3, 20, 60, 7);
  Options options;
  options.estimator = Estimator::Stein;  // Monte Carlo samples, and minibatch rows: both keyed by problem
  options.minibatch_rows = 10;
  options.max_steps = 40;
  options.final_samples = 64;
  options.seed = 99;
  const Slice whole(problems, 0, 12);
  GaussianBatch<double> all(12, 3);
  const Summary expected = fit(whole.model, all, options);
  using SliceAndOffset = std::pair<std::size_t, std::uint64_t>;
  for (const auto& [first, offset] : {SliceAndOffset{5, 5}, SliceAndOffset{5, 0}}) {
    const Slice part(problems, first, 12 - first);
    GaussianBatch<double> q(12 - first, 3);
    options.problem_offset = offset;
    const Summary s = fit(part.model, q, options);
    const std::vector<double> mean(q.mean(), q.mean() + q.size() * 3);
    const std::vector<double> tail(all.mean() + first * 3, all.mean() + 12 * 3);
    if (offset == first) {
      EXPECT_EQ(mean, tail);
      EXPECT_EQ(std::vector<double>(q.precision_cholesky(), q.precision_cholesky() + q.size() * 9),
                std::vector<double>(all.precision_cholesky() + first * 9, all.precision_cholesky() + 12 * 9));
      EXPECT_EQ(s.elbo, std::vector<double>(expected.elbo.begin() + first, expected.elbo.end()));
      EXPECT_EQ(s.steps, std::vector<int>(expected.steps.begin() + first, expected.steps.end()));
    } else {
      EXPECT_NE(mean, tail);  // without its offset, the slice draws problems 0.. 6's numbers
    }
  }
  options.problem_offset = (std::uint64_t{1} << 32) - 6;  // 7 problems from there reach index 2^32
  GaussianBatch<double> q(7, 3);
  const Slice part(problems, 5, 7);
  try {
    fit(part.model, q, options);
    ADD_FAILURE() << "an offset beyond 32-bit problem indices was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("options.problem_offset = 4294967290 with 7 problems"), std::string::npos)
        << e.what();
  }
  options.problem_offset = std::uint64_t{1} << 32;
  EXPECT_NE(options.check().find("options.problem_offset = 4294967296"), std::string::npos);
}

TEST(Fit, ProgressCallbackSeesEveryStepAndCanStopTheFit) {
  const Quadratics<double> q(3, 2, 9);
  GaussianBatch<double> batch(q.B, q.d);
  Options options;
  options.estimator = Estimator::Stein;
  options.tolerance = 0.0;
  int calls = 0;
  options.progress = [&](const Progress& p) {
    ++calls;
    EXPECT_EQ(p.iteration, calls);
    return p.iteration < 5;
  };
  const Summary s = fit(q.model(), batch, options);
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(s.iterations, 5);
  EXPECT_EQ(s.count(Status::Running), q.B);
}

}  // namespace
}  // namespace ngvi
