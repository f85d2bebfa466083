// The CUDA backend against the CPU backend: every scenario of fit_test.cpp and glm_test.cpp run on
// the device with the same seed, which must give the same statuses, step counts and rejected steps
// and the same parameters and ELBOs up to rounding; the fused and the batched paths against each
// other; results that do not depend on how the batch is cut into chunks; pooled fits, online rounds
// and Thompson draws (issue 19) on the device against the CPU. Without a device these
// tests skip themselves, except the ones that check what happens without one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "cuda/cuda_backend.hpp"
#include "cuda/device.hpp"
#include "ngvi/checkpoint.hpp"
#include "ngvi/error.hpp"
#include "ngvi/fit.hpp"
#include "ngvi/models.hpp"
#include "ngvi/online.hpp"
#include "ngvi/pooling.hpp"
#include "ngvi/synthetic.hpp"
#include "real_data.hpp"
#include "test_util.hpp"

namespace ngvi {
namespace {

using detail::CudaPath;
using testing::Matrix;
using testing::accurate_monte_carlo;
using testing::Quadratics;
using testing::RealLinearData;
using testing::Vector;

bool device_present() {
  std::string why;
  return gpu::usable_device_count(&why) > 0;
}

#define NGVI_REQUIRE_DEVICE()                                    \
  do {                                                           \
    if (!device_present()) GTEST_SKIP() << "no CUDA device present"; \
  } while (0)

/// The CUDA backend's tuning for the life of a test.
class ScopedTuning {
 public:
  explicit ScopedTuning(CudaPath path, std::size_t max_chunk = 0, std::size_t memory_budget = 0)
      : saved_(detail::cuda_tuning()) {
    detail::cuda_tuning().path = path;
    detail::cuda_tuning().max_chunk = max_chunk;
    detail::cuda_tuning().memory_budget = memory_budget;
  }
  ~ScopedTuning() { detail::cuda_tuning() = saved_; }

 private:
  detail::CudaTuning saved_;
};

/// A fit's outcome: its summary and the final state.
template <class T>
struct Fitted {
  Summary summary;
  std::vector<T> mean, factor;
};

template <class T>
Fitted<T> fit_on(Backend backend, const Model<T>& model, GaussianBatch<T> batch, Options options) {
  options.backend = backend;
  Fitted<T> out;
  out.summary = fit(model, batch, options);
  out.mean.assign(batch.mean(), batch.mean() + batch.size() * batch.dimension());
  out.factor.assign(batch.precision_cholesky(), batch.precision_cholesky() + batch.size() * batch.matrix_size());
  return out;
}

/// Relative agreement of two runs that differ only by rounding, accumulated over their steps.
template <class T>
double rounding() {
  return sizeof(T) == 4 ? 2e-3 : 1e-8;
}

/// The largest |a - b| / (1 + |a|) over two arrays, and where it is.
template <class T>
std::pair<double, std::size_t> deviation(const std::vector<T>& a, const std::vector<T>& b) {
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    const double e = std::abs(double(a[k]) - double(b[k])) / (1 + std::abs(double(a[k])));
    if (!(e <= worst)) {  // NaN counts as the worst
      worst = e;
      at = k;
    }
  }
  return {worst, at};
}

/// Runs `cpu` and `gpu` that differ only by rounding agree: the same statuses, rejected steps and
/// (within step_slack, for fits stopped by convergence) step counts; the same state and ELBOs to rounding.
template <class T>
void expect_close_fit(const Fitted<T>& cpu, const Fitted<T>& gpu, int step_slack, const std::string& what) {
  const Summary& a = cpu.summary;
  const Summary& b = gpu.summary;
  ASSERT_EQ(a.status.size(), b.status.size()) << what;
  EXPECT_LE(std::abs(a.iterations - b.iterations), step_slack) << what;
  const double tol = rounding<T>();
  for (std::size_t k = 0; k < a.status.size(); ++k) {
    EXPECT_EQ(a.status[k], b.status[k]) << what << ", distribution " << k << ": cpu " << status_name(a.status[k])
                                        << ", gpu " << status_name(b.status[k]);
    EXPECT_LE(std::abs(a.steps[k] - b.steps[k]), step_slack) << what << ", distribution " << k;
    EXPECT_EQ(a.rejected_steps[k], b.rejected_steps[k]) << what << ", distribution " << k;
    EXPECT_EQ(std::isfinite(a.elbo[k]), std::isfinite(b.elbo[k])) << what << ", distribution " << k;
    // Exact ELBOs agree to rounding. Monte Carlo ones are the host's on both backends (finish_on_cpu),
    // from the same draws of states that agree to rounding; five standard errors leave room for the
    // rounding of float fits, which the monitor's decisions can amplify.
    const double mc = a.elbo_mcse.size() > k && a.elbo_mcse[k] > 0 ? 5 * a.elbo_mcse[k] : 0.0;
    if (std::isfinite(a.elbo[k]))
      EXPECT_NEAR(a.elbo[k], b.elbo[k], std::max(mc, tol * (1 + std::abs(a.elbo[k])))) << what << ", distribution " << k;
  }
  const auto [mean_error, mean_at] = deviation(cpu.mean, gpu.mean);
  EXPECT_LE(mean_error, tol) << what << ": means differ most at entry " << mean_at << " (cpu " << cpu.mean[mean_at]
                             << ", gpu " << gpu.mean[mean_at] << ")";
  const auto [factor_error, factor_at] = deviation(cpu.factor, gpu.factor);
  EXPECT_LE(factor_error, tol) << what << ": factors differ most at entry " << factor_at << " (cpu "
                               << cpu.factor[factor_at] << ", gpu " << gpu.factor[factor_at] << ")";
}

/// GPU run `gpu` agrees with CPU run `cpu` to rounding (expect_close_fit).
template <class T>
void expect_same_fit(const Fitted<T>& cpu, const Fitted<T>& gpu, int step_slack = 0, const std::string& what = "") {
  EXPECT_EQ(cpu.summary.backend, Backend::Cpu) << what;
  EXPECT_EQ(gpu.summary.backend, Backend::Cuda) << what;
  expect_close_fit(cpu, gpu, step_slack, what);
}

/// The same fit on the CPU and on the device, compared.
template <class T>
void expect_gpu_matches_cpu(const Model<T>& model, const GaussianBatch<T>& start, const Options& options,
                            int step_slack = 0, const std::string& what = "") {
  const Fitted<T> cpu = fit_on(Backend::Cpu, model, start, options);
  const Fitted<T> gpu = fit_on(Backend::Cuda, model, start, options);
  expect_same_fit(cpu, gpu, step_slack, what);
}

template <class T>
void expect_identical(const Fitted<T>& a, const Fitted<T>& b, const std::string& what) {
  EXPECT_EQ(a.summary.status, b.summary.status) << what;
  EXPECT_EQ(a.summary.steps, b.summary.steps) << what;
  EXPECT_EQ(a.summary.rejected_steps, b.summary.rejected_steps) << what;
  EXPECT_EQ(a.mean, b.mean) << what;
  EXPECT_EQ(a.factor, b.factor) << what;
  for (std::size_t k = 0; k < a.summary.elbo.size(); ++k)
    if (std::isfinite(a.summary.elbo[k]) || std::isfinite(b.summary.elbo[k]))
      EXPECT_EQ(a.summary.elbo[k], b.summary.elbo[k]) << what << ", distribution " << k;
}

// ---------------------------------------------------------------- without a device

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(CudaFallback, AutoRunsOnTheCpuAndCudaSaysWhyWhenNoDeviceIsPresent) {
  if (device_present()) GTEST_SKIP() << "a CUDA device is present";
  const Quadratics<double> q(4, 3, 1);
  const QuadraticModel<double> model = q.model();
  GaussianBatch<double> batch(q.B, q.d);
  Options options;
  const Summary s = fit(model, batch, options);
  EXPECT_EQ(s.backend, Backend::Cpu);
  EXPECT_NE(s.device.find("CPU"), std::string::npos) << s.device;
  EXPECT_EQ(s.count(Status::Converged), q.B);
  options.backend = Backend::Cuda;
  const std::string message = error_of([&] { fit(model, batch, options); });
  EXPECT_NE(message.find("options.backend = cuda"), std::string::npos) << message;
  EXPECT_NE(message.find("no CUDA device is present"), std::string::npos) << message;
}

TEST(CudaFallback, CustomModelsRunOnTheCpu) {
  const Quadratics<double> q(4, 3, 2);
  const QuadraticModel<double> inner = q.model();
  const testing::ForwardingModel<double> custom(inner);  // a custom Model, which only the CPU runs
  GaussianBatch<double> batch(q.B, q.d);
  Options options;
  options.estimator = Estimator::Stein;
  options.max_steps = 5;
  EXPECT_EQ(fit(custom, batch, options).backend, Backend::Cpu);
  options.backend = Backend::Cuda;
  const std::string message = error_of([&] { fit(custom, batch, options); });
  EXPECT_NE(message.find("custom Model subclass"), std::string::npos) << message;
}

// A pooled fit of a built-in model goes to the device: without one, asking for it says that the device
// is missing, not that the model (seen through a ModelWithPrior) is a custom one.
TEST(CudaFallback, PooledAndOnlineFitsOfBuiltInModelsAskForTheDevice) {
  if (device_present()) GTEST_SKIP() << "a CUDA device is present";
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, 4, 3, 10, 20, 3);
  const GeneralizedLinearModel<double> model(Likelihood::Logistic, problems.data());
  GaussianBatch<double> batch(4, 3);
  Options options;
  options.backend = Backend::Cuda;
  for (const std::string& message : {error_of([&] { fit_pooled(model, batch, options); }),
                                     error_of([&] { fit_online_round(model, batch, options); })}) {
    EXPECT_NE(message.find("no CUDA device is present"), std::string::npos) << message;
    EXPECT_EQ(message.find("custom Model"), std::string::npos) << message;
  }
}

// ---------------------------------------------------------------- every kernel, briefly

// A short tour that launches every kernel of the backend at least once, each fit against the CPU: the
// fused step for the quadratic and the GLM models, both families, in shared and in global memory; the
// batched path's kernels (Stein, Price, quadrature rows, a full prior, the ELBO trace) over several
// chunks; the final ELBO and the active-set bookkeeping. Small enough for compute-sanitizer, which runs
// it (bench/run_gpu.sh).
using Scalars = ::testing::Types<float, double>;

template <class T>
class CudaKernelTour : public ::testing::Test {};
TYPED_TEST_SUITE(CudaKernelTour, Scalars);

TYPED_TEST(CudaKernelTour, EveryKernelAgreesWithTheCpu) {
  NGVI_REQUIRE_DEVICE();
  using T = TypeParam;
  const auto run = [](const Model<T>& model, std::size_t B, int d, Family family, Estimator estimator, Rule rule,
                      CudaPath path, std::size_t chunk, const std::string& what) {
    Options options;
    options.estimator = estimator;
    options.rule = rule;
    options.max_steps = 4;
    options.tolerance = 0.0;
    options.trace_elbo = true;
    const ScopedTuning tuning(path, chunk);
    expect_gpu_matches_cpu(model, GaussianBatch<T>(B, d, family), options, 0, what);
  };
  const Quadratics<T> q(5, 3, 21);
  run(q.model(), q.B, q.d, Family::Full, Estimator::Stein, Rule::IBLR, CudaPath::Fused, 0, "quadratic full");
  run(q.model(), q.B, q.d, Family::Diagonal, Estimator::Price, Rule::BLR, CudaPath::Fused, 0, "quadratic diagonal");
  const auto small = SyntheticProblems<T>::generate(Likelihood::Logistic, 5, 3, 12, 20, 22);  // ragged rows
  const LogisticRegression<T> logistic(small.data());
  run(logistic, 5, 3, Family::Full, Estimator::Stein, Rule::IBLR, CudaPath::Fused, 2, "fused full Stein, chunks");
  run(logistic, 5, 3, Family::Diagonal, Estimator::Price, Rule::IBLR, CudaPath::Fused, 0, "fused diagonal Price");
  run(logistic, 5, 3, Family::Full, Estimator::Quadrature, Rule::BLR, CudaPath::Fused, 0, "fused quadrature");
  // d = 40 keeps the fused step's state in global memory, whatever the scalar.
  const auto wide = SyntheticProblems<T>::generate(Likelihood::Poisson, 3, 40, 50, 50, 23);
  const PoissonRegression<T> poisson(wide.data());
  run(poisson, 3, 40, Family::Full, Estimator::Stein, Rule::IBLR, CudaPath::Fused, 0, "fused global memory");
  // The batched path, with a full per-problem prior, over chunks of 2.
  std::mt19937 rng(24);
  std::vector<T> precisions, means;
  for (int b = 0; b < 5; ++b) {
    testing::append(precisions, testing::random_spd(6, rng, 0.5, 2.0));
    testing::append(means, testing::random_vector(6, rng, 0.5));
  }
  const auto batched = SyntheticProblems<T>::generate(Likelihood::Logistic, 5, 6, 30, 30, 25);
  const LogisticRegression<T> with_prior(batched.data(), Prior<T>::full(6, precisions, means));
  for (const Estimator estimator : {Estimator::Stein, Estimator::Price, Estimator::Quadrature})
    run(with_prior, 5, 6, Family::Full, estimator, Rule::IBLR, CudaPath::Batched, 2,
        std::string("batched ") + estimator_name(estimator));
  run(with_prior, 5, 6, Family::Full, Estimator::Price, Rule::BLR, CudaPath::Batched, 0, "batched BLR");
}

// ---------------------------------------------------------------- fit_test.cpp's scenarios

template <class T>
class CudaFit : public ::testing::Test {};
TYPED_TEST_SUITE(CudaFit, Scalars);

TYPED_TEST(CudaFit, UnitBlrStepLandsOnTheExactPosteriorAsOnTheCpu) {
  NGVI_REQUIRE_DEVICE();
  using T = TypeParam;
  const Quadratics<T> q(8, 5, 1);
  const QuadraticModel<T> model = q.model();
  for (Estimator estimator : {Estimator::Price, Estimator::Quadrature}) {
    Options options;
    options.estimator = estimator;
    options.rule = Rule::BLR;
    options.step_size = 1.0;
    options.max_steps = 1;
    const Fitted<T> gpu = fit_on(Backend::Cuda, model, GaussianBatch<T>(q.B, q.d), options);
    EXPECT_EQ(gpu.summary.count(Status::StepBudget), q.B);
    for (std::size_t b = 0; b < q.B; ++b)
      EXPECT_LT((testing::segment(gpu.mean.data(), b, q.d) - testing::segment(q.centers.data(), b, q.d)).norm(),
                (sizeof(T) == 4 ? 1e-3 : 1e-11) * (1 + testing::segment(q.centers.data(), b, q.d).norm()));
    expect_gpu_matches_cpu(model, GaussianBatch<T>(q.B, q.d), options, 0, estimator_name(estimator));
  }
}

TYPED_TEST(CudaFit, SteinRunsMatchTheCpuForFewAndManySamples) {
  NGVI_REQUIRE_DEVICE();
  using T = TypeParam;
  const Quadratics<T> q(100, 3, 2);
  const QuadraticModel<T> model = q.model();
  for (int samples : {4, 64}) {
    Options options;
    options.estimator = Estimator::Stein;
    options.samples = samples;
    options.step_size = 0.2;
    options.max_steps = 150;
    options.tolerance = 0.0;
    expect_gpu_matches_cpu(model, GaussianBatch<T>(q.B, q.d), options, 0, "S = " + std::to_string(samples));
  }
}

TYPED_TEST(CudaFit, ConvergesLikeTheCpu) {
  NGVI_REQUIRE_DEVICE();
  using T = TypeParam;
  const Quadratics<T> q(16, 4, 3);
  Options options;
  options.tolerance = sizeof(T) == 4 ? 1e-6 : 1e-12;
  const Fitted<T> gpu = fit_on(Backend::Cuda, q.model(), GaussianBatch<T>(q.B, q.d), options);
  EXPECT_EQ(gpu.summary.count(Status::Converged), q.B) << gpu.summary.full_report();
  EXPECT_NE(gpu.summary.device.find("CUDA device"), std::string::npos) << gpu.summary.device;
  // A KL that falls below the tolerance within rounding of it may converge one step apart.
  expect_gpu_matches_cpu(q.model(), GaussianBatch<T>(q.B, q.d), options, 1);
}

TYPED_TEST(CudaFit, EveryEstimatorRuleAndFamilyMatchesTheCpu) {
  NGVI_REQUIRE_DEVICE();
  using T = TypeParam;
  const Quadratics<T> q(12, 4, 4);
  const QuadraticModel<T> model = q.model(Prior<T>::isotropic(T(0.5)));
  testing::for_each_method([&](Family family, Options options, const std::string& what) {
    options.max_steps = 30;
    options.tolerance = 0.0;
    options.seed = 11;
    expect_gpu_matches_cpu(model, GaussianBatch<T>(q.B, q.d, family), options, 0, what);
  });
}

TEST(CudaFitDouble, IblrSurvivesIndefiniteHessiansWhereBlrIsRejectedAsOnTheCpu) {
  NGVI_REQUIRE_DEVICE();
  const std::vector<double> center = {0.0, 0.0}, curvature = {1.0, 0.0, 0.0, -3.0};
  const QuadraticModel<double> saddle(1, 2, center.data(), curvature.data(), false, Prior<double>::isotropic(1.0));
  Options options;
  options.estimator = Estimator::Price;
  options.step_size = 1.0;
  options.max_steps = 30;
  for (Rule rule : {Rule::BLR, Rule::IBLR}) {
    options.rule = rule;
    const Fitted<double> gpu = fit_on(Backend::Cuda, saddle, GaussianBatch<double>(1, 2), options);
    if (rule == Rule::BLR) EXPECT_GT(gpu.summary.rejected_steps[0], 0);
    if (rule == Rule::IBLR) EXPECT_EQ(gpu.summary.rejected_steps[0], 0);
    EXPECT_GT(gpu.factor[3], 0.0);
    expect_gpu_matches_cpu(saddle, GaussianBatch<double>(1, 2), options, 0, rule_name(rule));
  }
}

TEST(CudaFitDouble, InvalidStateAndInvalidDataAreReportedPerDistribution) {
  NGVI_REQUIRE_DEVICE();
  Quadratics<double> q(4, 2, 5);
  q.centers[1 * q.d] = std::numeric_limits<double>::quiet_NaN();
  const QuadraticModel<double> model = q.model();
  GaussianBatch<double> batch(q.B, q.d);
  batch.precision_cholesky()[3 * 4] = -1.0;
  const Fitted<double> gpu = fit_on(Backend::Cuda, model, batch, Options());
  EXPECT_EQ(gpu.summary.status[1], Status::InvalidData);
  EXPECT_EQ(gpu.summary.status[3], Status::InvalidState);
  EXPECT_EQ(gpu.summary.status[0], Status::Converged);
  EXPECT_EQ(gpu.factor[3 * 4], -1.0);  // untouched
  expect_gpu_matches_cpu(model, batch, Options(), 1);
}

TEST(CudaFitDouble, ShapeAndOptionErrorsComeBeforeAnyWork) {
  NGVI_REQUIRE_DEVICE();
  const Quadratics<double> q(4, 3, 6);
  const QuadraticModel<double> model = q.model();
  Options options;
  options.backend = Backend::Cuda;
  GaussianBatch<double> wrong(5, 3);
  EXPECT_NE(error_of([&] { fit(model, wrong, options); }).find("4 problems but the batch has 5"), std::string::npos);
  options.samples = -1;
  GaussianBatch<double> batch(4, 3);
  EXPECT_NE(error_of([&] { fit(model, batch, options); }).find("options.samples = -1"), std::string::npos);
}

TEST(CudaFitDouble, RepeatedFitsAreBitIdentical) {
  NGVI_REQUIRE_DEVICE();
  const Quadratics<double> q(300, 4, 8);
  Options options;
  options.estimator = Estimator::Stein;
  options.max_steps = 25;
  options.seed = 1234;
  const Fitted<double> a = fit_on(Backend::Cuda, q.model(), GaussianBatch<double>(q.B, q.d), options);
  const Fitted<double> b = fit_on(Backend::Cuda, q.model(), GaussianBatch<double>(q.B, q.d), options);
  expect_identical(a, b, "repeated fit");
  options.seed = 1235;
  const Fitted<double> other = fit_on(Backend::Cuda, q.model(), GaussianBatch<double>(q.B, q.d), options);
  EXPECT_NE(other.mean, a.mean);
}

// ---------------------------------------------------------------- glm_test.cpp's scenarios

template <class T>
class CudaGlm : public ::testing::Test {};
TYPED_TEST_SUITE(CudaGlm, Scalars);

TYPED_TEST(CudaGlm, EveryLikelihoodEstimatorAndLayoutMatchesTheCpu) {
  NGVI_REQUIRE_DEVICE();
  using T = TypeParam;
  for (Likelihood likelihood : {Likelihood::Linear, Likelihood::Logistic, Likelihood::Poisson, Likelihood::Probit})
    for (const bool ragged : {false, true}) {
      const auto problems =
          SyntheticProblems<T>::generate(likelihood, 10, 3, ragged ? 20 : 40, 40, 20 + static_cast<int>(likelihood));
      const GeneralizedLinearModel<T> model(likelihood, problems.data());
      for (Estimator estimator : {Estimator::Price, Estimator::Stein, Estimator::Quadrature}) {
        Options options;
        options.estimator = estimator;
        options.max_steps = 40;
        options.tolerance = 0.0;
        options.trace_elbo = estimator == Estimator::Stein;  // values in the step as well
        expect_gpu_matches_cpu(model, GaussianBatch<T>(10, 3), options, 0,
                               std::string(likelihood_name(likelihood)) + (ragged ? " ragged " : " dense ") +
                                   estimator_name(estimator));
      }
    }
}

TYPED_TEST(CudaGlm, PriorsMatchTheCpuWhateverTheChunks) {
  NGVI_REQUIRE_DEVICE();
  using T = TypeParam;
  const std::size_t B = 13;
  const int d = 3;
  const auto problems = SyntheticProblems<T>::generate(Likelihood::Logistic, B, d, 30, 50, 31);
  std::mt19937 rng(3);
  std::vector<T> precisions, full, means;
  for (std::size_t b = 0; b < B; ++b) {
    precisions.push_back(T(0.5 + 0.1 * b));
    testing::append(full, testing::random_spd(d, rng, 0.5, 2.0));
    testing::append(means, testing::random_vector(d, rng, 0.5));
  }
  const std::vector<T> shared(full.begin(), full.begin() + d * d);
  const std::pair<const char*, Prior<T>> priors[] = {
      {"none", Prior<T>::none()},
      {"isotropic per problem with means", Prior<T>::isotropic(precisions, means)},
      {"full shared", Prior<T>::full(d, shared)},
      {"full per problem with a shared mean", Prior<T>::full(d, full, std::vector<T>(means.begin(), means.begin() + d))},
  };
  for (const auto& [name, prior] : priors) {
    const LogisticRegression<T> model(problems.data(), prior);
    Options options;
    options.estimator = Estimator::Price;
    options.max_steps = 30;
    options.tolerance = 0.0;
    options.trace_elbo = true;
    for (const std::size_t chunk : {std::size_t(0), std::size_t(4)}) {
      const ScopedTuning tuning(CudaPath::Auto, chunk);
      expect_gpu_matches_cpu(model, GaussianBatch<T>(B, d), options, 0,
                             std::string(name) + ", chunks of " + std::to_string(chunk));
    }
  }
}

TEST(CudaGlmDouble, LogisticAndPoissonReachTheCpuOptimum) {
  NGVI_REQUIRE_DEVICE();
  for (Likelihood likelihood : {Likelihood::Logistic, Likelihood::Poisson}) {
    const auto problems = SyntheticProblems<double>::generate(likelihood, 12, 4, 60, 120, 5);
    const GeneralizedLinearModel<double> model(likelihood, problems.data());
    expect_gpu_matches_cpu(model, GaussianBatch<double>(12, 4), accurate_monte_carlo(), 1, likelihood_name(likelihood));
  }
}

TEST(CudaGlmDouble, LinearRegressionOnRealDataIsExactInOneBlrStep) {
  NGVI_REQUIRE_DEVICE();
  const RealLinearData real;
  const int d = 5;
  const auto data = RegressionData<double>::dense(real.x.data(), real.y.data(), 2, 100, d);
  const double prior_precision = 0.01, noise_sd = 1.5;
  const LinearRegression<double> model(data, noise_sd, Prior<double>::isotropic(prior_precision));
  Options options;
  options.estimator = Estimator::Price;
  options.rule = Rule::BLR;
  options.step_size = 1.0;
  options.max_steps = 1;
  options.samples = 4096;
  const Fitted<double> gpu = fit_on(Backend::Cuda, model, GaussianBatch<double>(2, d), options);
  for (std::size_t b = 0; b < 2; ++b) {
    const Eigen::Map<const Matrix<double>> X(real.x.data() + b * 100 * d, 100, d);
    const Eigen::Map<const Vector<double>> y(real.y.data() + b * 100, 100);
    const Matrix<double> lambda =
        X.transpose() * X / (noise_sd * noise_sd) + prior_precision * Matrix<double>::Identity(d, d);
    const Vector<double> mean = lambda.ldlt().solve(X.transpose() * y / (noise_sd * noise_sd));
    EXPECT_LT((testing::segment(gpu.mean.data(), b, d) - mean).norm(), 1e-9 * mean.norm());
  }
  expect_gpu_matches_cpu(model, GaussianBatch<double>(2, d), options);
}

TEST(CudaGlmDouble, DenseAndRaggedLayoutsGiveIdenticalResults) {
  NGVI_REQUIRE_DEVICE();
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, 20, 4, 50, 50, 7);
  const auto ragged = RegressionData<double>::ragged(problems.x.data(), problems.y.data(), problems.offsets.data(),
                                                     problems.num_problems, problems.dimension);
  Options options;
  options.estimator = Estimator::Stein;
  options.max_steps = 30;
  for (const CudaPath path : {CudaPath::Fused, CudaPath::Batched}) {
    const ScopedTuning tuning(path);
    const Fitted<double> a =
        fit_on(Backend::Cuda, LogisticRegression<double>(problems.data()), GaussianBatch<double>(20, 4), options);
    const Fitted<double> b = fit_on(Backend::Cuda, LogisticRegression<double>(ragged), GaussianBatch<double>(20, 4), options);
    expect_identical(a, b, path == CudaPath::Fused ? "fused" : "batched");
  }
}

TEST(CudaGlmDouble, BadDataFailsItsProblemAndLeavesTheOthersBitIdentical) {
  NGVI_REQUIRE_DEVICE();
  auto problems = SyntheticProblems<double>::generate(Likelihood::Poisson, 8, 3, 30, 60, 8);
  Options options;
  options.estimator = Estimator::Stein;
  options.max_steps = 50;
  const Fitted<double> clean =
      fit_on(Backend::Cuda, PoissonRegression<double>(problems.data()), GaussianBatch<double>(8, 3), options);
  const std::size_t first_row_of_2 = static_cast<std::size_t>(problems.offsets[2]);
  const std::size_t first_row_of_5 = static_cast<std::size_t>(problems.offsets[5]);
  const std::size_t first_row_of_6 = static_cast<std::size_t>(problems.offsets[6]);
  problems.x[first_row_of_2 * 3 + 1] = std::numeric_limits<double>::quiet_NaN();  // NaN covariate
  problems.y[first_row_of_5] = -1;                                                 // negative count
  for (int i = 0; i < 3; ++i) problems.x[first_row_of_6 * 3 + i] = 400.0;          // exp overflows
  const PoissonRegression<double> model(problems.data());
  const Fitted<double> gpu = fit_on(Backend::Cuda, model, GaussianBatch<double>(8, 3), options);
  EXPECT_EQ(gpu.summary.status[2], Status::InvalidData);
  EXPECT_EQ(gpu.summary.status[5], Status::InvalidData);
  EXPECT_TRUE(is_failure(gpu.summary.status[6])) << status_name(gpu.summary.status[6]);
  for (std::size_t b : {0, 1, 3, 4, 7}) {
    EXPECT_EQ(gpu.summary.status[b], clean.summary.status[b]);
    EXPECT_EQ(gpu.summary.elbo[b], clean.summary.elbo[b]);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(gpu.mean[b * 3 + i], clean.mean[b * 3 + i]);
  }
  EXPECT_GT(gpu.factor[6 * 9], 0.0);  // the failed distribution keeps a valid state
  expect_gpu_matches_cpu(model, GaussianBatch<double>(8, 3), options);
}

TEST(CudaGlmDouble, MinibatchesMatchTheCpu) {
  NGVI_REQUIRE_DEVICE();
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, 10, 3, 100, 400, 10);
  const LogisticRegression<double> model(problems.data());
  Options options = accurate_monte_carlo();
  options.minibatch_rows = 64;
  options.samples = 16;
  options.max_steps = 200;
  options.tolerance = 0.0;
  for (const CudaPath path : {CudaPath::Fused, CudaPath::Batched}) {
    const ScopedTuning tuning(path);
    expect_gpu_matches_cpu(model, GaussianBatch<double>(10, 3), options, 0,
                           path == CudaPath::Fused ? "fused" : "batched");
  }
}

TEST(CudaGlmDouble, ProblemsWithoutRowsFitTheirPrior) {
  NGVI_REQUIRE_DEVICE();
  auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, 5, 2, 10, 30, 12);
  // Problem 3 loses its rows: its posterior is the prior N(0, I / 2).
  const std::int64_t removed = problems.offsets[4] - problems.offsets[3];
  problems.x.erase(problems.x.begin() + problems.offsets[3] * 2, problems.x.begin() + problems.offsets[4] * 2);
  problems.y.erase(problems.y.begin() + problems.offsets[3], problems.y.begin() + problems.offsets[4]);
  for (std::size_t b = 4; b <= 5; ++b) problems.offsets[b] -= removed;
  const LogisticRegression<double> model(problems.data(), Prior<double>::isotropic(2.0));
  for (const CudaPath path : {CudaPath::Fused, CudaPath::Batched}) {
    const ScopedTuning tuning(path);
    const Fitted<double> gpu = fit_on(Backend::Cuda, model, GaussianBatch<double>(5, 2), Options());
    EXPECT_EQ(gpu.summary.status[3], Status::Converged);
    EXPECT_NEAR(gpu.mean[3 * 2], 0.0, 1e-9);
    EXPECT_NEAR(gpu.factor[3 * 4], std::sqrt(2.0), 1e-6);
    expect_gpu_matches_cpu(model, GaussianBatch<double>(5, 2), Options(), 1);
  }
}

// ---------------------------------------------------------------- the two paths

template <class T>
class CudaPaths : public ::testing::Test {};
TYPED_TEST_SUITE(CudaPaths, Scalars);

TYPED_TEST(CudaPaths, FusedAndBatchedPathsAgreeWithEachOtherAndTheCpu) {
  NGVI_REQUIRE_DEVICE();
  using T = TypeParam;
  // d = 24 runs in shared memory on the fused path, d = 40 in global memory.
  for (const int d : {24, 40}) {
    const auto problems = SyntheticProblems<T>::generate(Likelihood::Logistic, 6, d, 60, 100, 40 + d);
    const LogisticRegression<T> model(problems.data());
    for (Rule rule : {Rule::IBLR, Rule::BLR})
      for (Estimator estimator : {Estimator::Price, Estimator::Stein, Estimator::Quadrature}) {
        Options options;
        options.estimator = estimator;
        options.rule = rule;
        options.max_steps = 20;
        options.tolerance = 0.0;
        const std::string what = "d = " + std::to_string(d) + " " + estimator_name(estimator) + " " + rule_name(rule);
        const Fitted<T> cpu = fit_on(Backend::Cpu, model, GaussianBatch<T>(6, d), options);
        Fitted<T> fused, batched;
        {
          const ScopedTuning tuning(CudaPath::Fused);
          fused = fit_on(Backend::Cuda, model, GaussianBatch<T>(6, d), options);
        }
        {
          const ScopedTuning tuning(CudaPath::Batched);
          batched = fit_on(Backend::Cuda, model, GaussianBatch<T>(6, d), options);
        }
        EXPECT_NE(fused.summary.device.find("fused"), std::string::npos) << fused.summary.device;
        EXPECT_NE(batched.summary.device.find("batched"), std::string::npos) << batched.summary.device;
        expect_same_fit(cpu, fused, 0, what + " fused");
        expect_same_fit(cpu, batched, 0, what + " batched");
      }
  }
}

TEST(CudaPathsDouble, LargeDimensionsTakeTheBatchedPathByDefault) {
  NGVI_REQUIRE_DEVICE();
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Poisson, 4, 64, 200, 200, 50);
  const PoissonRegression<double> model(problems.data());
  Options options;
  options.max_steps = 10;
  options.tolerance = 0.0;
  const Fitted<double> gpu = fit_on(Backend::Cuda, model, GaussianBatch<double>(4, 64), options);
  EXPECT_NE(gpu.summary.device.find("batched"), std::string::npos) << gpu.summary.device;
  expect_gpu_matches_cpu(model, GaussianBatch<double>(4, 64), options);
}

TEST(CudaPathsDouble, TheBatchedPathRefusesWhatItDoesNotRun) {
  NGVI_REQUIRE_DEVICE();
  const Quadratics<double> q(3, 2, 9);
  const ScopedTuning tuning(CudaPath::Batched);
  GaussianBatch<double> batch(q.B, q.d);
  Options options;
  options.backend = Backend::Cuda;
  EXPECT_NE(error_of([&] { fit(q.model(), batch, options); }).find("batched path does not run"), std::string::npos);
  // A GLM, but a rule the batched path does not run.
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, 3, 2, 20, 20, 9);
  const LogisticRegression<double> glm(problems.data());
  options.rule = Rule::Adam;
  options.step_size = 0.05;
  EXPECT_NE(error_of([&] { fit(glm, batch, options); }).find("batched path does not run"), std::string::npos);
}

// ---------------------------------------------------------------- chunks, progress, trace

TEST(CudaChunks, ResultsDoNotDependOnTheChunks) {
  NGVI_REQUIRE_DEVICE();
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, 61, 4, 20, 80, 60);
  const LogisticRegression<double> model(problems.data());
  for (const CudaPath path : {CudaPath::Fused, CudaPath::Batched})
    for (const bool lock_step : {false, true}) {
      Options options;
      options.estimator = Estimator::Stein;
      options.max_steps = 60;
      options.tolerance = 1e-6;
      options.trace_elbo = lock_step;  // every chunk one step per sweep
      Fitted<double> whole;
      {
        const ScopedTuning tuning(path);
        whole = fit_on(Backend::Cuda, model, GaussianBatch<double>(61, 4), options);
        EXPECT_NE(whole.summary.device.find(", 1 chunk"), std::string::npos) << whole.summary.device;
      }
      for (const std::size_t chunk : {std::size_t(7), std::size_t(30), std::size_t(1)}) {
        const ScopedTuning tuning(path, chunk);
        const Fitted<double> cut = fit_on(Backend::Cuda, model, GaussianBatch<double>(61, 4), options);
        const std::string what = std::string(path == CudaPath::Fused ? "fused" : "batched") + ", chunks of " +
                                 std::to_string(chunk) + (lock_step ? ", lock step" : "");
        if (path == CudaPath::Fused) {
          // One warp per distribution whatever the chunk: the same instructions, the same bits.
          EXPECT_EQ(cut.summary.iterations, whole.summary.iterations) << what;
          expect_identical(whole, cut, what);
          if (lock_step) EXPECT_EQ(cut.summary.elbo_trace.size(), whole.summary.elbo_trace.size()) << what;
        } else {
          // cuBLAS and cuSOLVER promise identical bits only for identical calls, and the batch counts
          // change with the chunks: the same fit to rounding, convergence a step or two apart.
          expect_close_fit(whole, cut, 2, what);
        }
      }
    }
}

TEST(CudaChunks, ASmallMemoryBudgetCutsTheBatchIntoChunks) {
  NGVI_REQUIRE_DEVICE();
  const auto problems = SyntheticProblems<float>::generate(Likelihood::Logistic, 20000, 8, 100, 100, 61);
  const LogisticRegression<float> model(problems.data());
  Options options;
  options.estimator = Estimator::Price;
  options.max_steps = 5;
  options.tolerance = 0.0;
  const Fitted<float> whole = fit_on(Backend::Cuda, model, GaussianBatch<float>(20000, 8), options);
  // About 73 MB of rows: 48 MB of device memory takes several chunks.
  const ScopedTuning tuning(CudaPath::Auto, 0, std::size_t(48) << 20);
  const Fitted<float> cut = fit_on(Backend::Cuda, model, GaussianBatch<float>(20000, 8), options);
  EXPECT_EQ(cut.summary.device.find(", 1 chunk"), std::string::npos) << cut.summary.device;
  expect_identical(whole, cut, "memory budget");
}

TEST(CudaChunks, ProgressSeesEveryStepAndCanStopTheFit) {
  NGVI_REQUIRE_DEVICE();
  const Quadratics<double> q(30, 2, 9);
  for (const std::size_t chunk : {std::size_t(0), std::size_t(8)}) {
    const ScopedTuning tuning(CudaPath::Auto, chunk);
    Options options;
    options.estimator = Estimator::Stein;
    options.tolerance = 0.0;
    options.backend = Backend::Cuda;
    int calls = 0;
    options.progress = [&](const Progress& p) {
      ++calls;
      EXPECT_EQ(p.iteration, calls);
      EXPECT_EQ(p.active, q.B);
      return p.iteration < 5;
    };
    GaussianBatch<double> batch(q.B, q.d);
    const Summary s = fit(q.model(), batch, options);
    EXPECT_EQ(calls, 5);
    EXPECT_EQ(s.iterations, 5);
    EXPECT_EQ(s.count(Status::Running), q.B);
    for (std::size_t b = 0; b < q.B; ++b) {
      EXPECT_EQ(s.steps[b], 5);
      EXPECT_TRUE(std::isfinite(s.elbo[b]));  // the final ELBO of a stopped fit
    }
  }
}

TEST(CudaChunks, ACheckpointedAndResumedFitEndsAsTheUninterruptedOneOnTheCpu) {
  NGVI_REQUIRE_DEVICE();
  const Quadratics<double> q(25, 3, 12);
  const std::string path = ::testing::TempDir() + "cuda_resume.ngvi";
  for (const Rule rule : {Rule::IBLR, Rule::Adam}) {  // Adam: its moments are saved and resumed
    Options options;
    options.rule = rule;
    options.step_size = rule == Rule::Adam ? 0.05 : 0.3;
    options.max_steps = 20;
    options.tolerance = 0.0;
    const Fitted<double> cpu = fit_on(Backend::Cpu, q.model(), GaussianBatch<double>(q.B, q.d), options);
    options.checkpoint_path = path;
    options.progress = [](const Progress& p) { return p.iteration < 7; };  // stops, and checkpoints
    GaussianBatch<double> batch(q.B, q.d);
    options.backend = Backend::Cuda;
    EXPECT_EQ(fit(q.model(), batch, options).iterations, 7);
    options.progress = nullptr;
    options.checkpoint_path.clear();
    Fitted<double> resumed;
    resumed.summary = resume(q.model(), batch, path, options);
    resumed.mean.assign(batch.mean(), batch.mean() + batch.size() * batch.dimension());
    resumed.factor.assign(batch.precision_cholesky(), batch.precision_cholesky() + batch.size() * batch.matrix_size());
    expect_same_fit(cpu, resumed, 0, rule_name(rule));
  }
}

TEST(CudaChunks, TheElboTraceMatchesTheCpu) {
  NGVI_REQUIRE_DEVICE();
  const Quadratics<double> q(40, 3, 10);
  Options options;
  options.estimator = Estimator::Price;
  options.trace_elbo = true;
  options.max_steps = 40;
  options.tolerance = 0.0;  // the whole budget: traces of the same length
  const Fitted<double> cpu = fit_on(Backend::Cpu, q.model(), GaussianBatch<double>(q.B, q.d), options);
  for (const std::size_t chunk : {std::size_t(0), std::size_t(9)}) {
    const ScopedTuning tuning(CudaPath::Auto, chunk);
    const Fitted<double> gpu = fit_on(Backend::Cuda, q.model(), GaussianBatch<double>(q.B, q.d), options);
    ASSERT_EQ(gpu.summary.elbo_trace.size(), cpu.summary.elbo_trace.size());
    for (std::size_t t = 0; t < cpu.summary.elbo_trace.size(); ++t)
      EXPECT_NEAR(gpu.summary.elbo_trace[t], cpu.summary.elbo_trace[t], 1e-9 * (1 + std::abs(cpu.summary.elbo_trace[t])))
          << "step " << t;
    expect_same_fit(cpu, gpu, 0, "chunks of " + std::to_string(chunk));
  }
}

// ---------------------------------------------------------------- convergence under Monte Carlo noise

/// Marginal sds of distribution b of a fit: sqrt(diag((L L^T)^-1)).
Vector<double> marginal_sds(const Fitted<double>& f, std::size_t b, int d) {
  const Matrix<double> L = testing::block(f.factor, b, d);
  return (L * L.transpose()).inverse().diagonal().cwiseSqrt();
}

// A Monte Carlo fit on the device converges, averages and reports its diagnostics as on the CPU
// (issue 16, docs/convergence.md): the convergence monitor and the final phase are the same host
// code. With the defaults but the estimator and a seed, both backends and both paths bring every
// distribution to the exact Gaussian VI optimum (the quadrature fit) and agree with each other
// within their Monte Carlo standard errors.
TEST(CudaConvergenceDouble, SteinGlmsWithTheDefaultsConvergeAndReportDiagnosticsAsOnTheCpu) {
  NGVI_REQUIRE_DEVICE();
  const std::size_t B = 8;
  const int d = 4;
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, B, d, 60, 120, 5);
  const GeneralizedLinearModel<double> model(Likelihood::Logistic, problems.data());
  Options quadrature;
  quadrature.estimator = Estimator::Quadrature;
  quadrature.tolerance = 1e-24;
  const Fitted<double> exact = fit_on(Backend::Cpu, model, GaussianBatch<double>(B, d), quadrature);
  ASSERT_EQ(exact.summary.count(Status::Converged), B) << exact.summary.full_report();

  Options options;
  options.estimator = Estimator::Stein;
  options.seed = 11;
  const Fitted<double> cpu = fit_on(Backend::Cpu, model, GaussianBatch<double>(B, d), options);
  for (const CudaPath path : {CudaPath::Fused, CudaPath::Batched}) {
    const ScopedTuning tuning(path);
    const Fitted<double> gpu = fit_on(Backend::Cuda, model, GaussianBatch<double>(B, d), options);
    EXPECT_EQ(gpu.summary.backend, Backend::Cuda);
    for (std::size_t b = 0; b < B; ++b) {
      const std::string what = std::string(path == CudaPath::Fused ? "fused" : "batched") + " path, distribution " +
                               std::to_string(b);
      for (const Fitted<double>* f : {&cpu, &gpu}) {
        const Summary& s = f->summary;
        const std::string who = what + (f == &cpu ? ", cpu" : ", gpu");
        EXPECT_EQ(s.status[b], Status::Converged) << who << "\n" << s.full_report();
        EXPECT_GT(s.mean_mcse_sd[b], 0.0) << who;
        EXPECT_LE(s.mean_mcse_sd[b], options.tolerance_sd) << who;
        EXPECT_GT(s.elbo_mcse[b], 0.0) << who;
        EXPECT_TRUE(std::isfinite(s.elbo[b])) << who;
        EXPECT_TRUE(std::isfinite(s.pareto_k[b])) << who;
        // Against the exact optimum: the accuracy the defaults promise (docs/convergence.md).
        const Vector<double> sd = marginal_sds(*f, b, d), optimum_sd = marginal_sds(exact, b, d);
        for (int i = 0; i < d; ++i) {
          EXPECT_LT(std::abs(f->mean[b * d + i] - exact.mean[b * d + i]) / optimum_sd(i), 0.05) << who << ", " << i;
          EXPECT_LT(std::abs(sd(i) / optimum_sd(i) - 1), 0.05) << who << ", " << i;
        }
      }
      // Against each other: within five standard errors of their difference; mean_mcse_sd bounds
      // the MCSE of the means in sd and of the log sds.
      const double mcse = std::hypot(cpu.summary.mean_mcse_sd[b], gpu.summary.mean_mcse_sd[b]);
      const Vector<double> cpu_sd = marginal_sds(cpu, b, d), gpu_sd = marginal_sds(gpu, b, d);
      for (int i = 0; i < d; ++i) {
        EXPECT_LE(std::abs(gpu.mean[b * d + i] - cpu.mean[b * d + i]) / cpu_sd(i), 5 * mcse) << what << ", " << i;
        EXPECT_LE(std::abs(std::log(gpu_sd(i) / cpu_sd(i))), 5 * mcse) << what << ", " << i;
      }
    }
  }
}

// ---------------------------------------------------------------- pooled fits and online rounds

// Each EM round is a fit under the prior the previous M-step learned: with the same rounds (tolerance
// 0) the device's rounds give the CPU's priors, posteriors and whole-batch ELBOs to rounding.
TEST(CudaPooledDouble, PooledFitMatchesTheCpu) {
  NGVI_REQUIRE_DEVICE();
  const std::size_t B = 24;
  const int d = 3;
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, B, d, 8, 40, 19);
  const GeneralizedLinearModel<double> model(Likelihood::Logistic, problems.data());
  Options options;
  options.estimator = Estimator::Quadrature;
  PoolingOptions pooling;
  pooling.max_rounds = 6;
  pooling.tolerance = 0;
  for (bool diagonal : {false, true}) {
    pooling.diagonal_precision = diagonal;
    const std::string what = diagonal ? "diagonal prior precision" : "full prior precision";
    std::vector<Fitted<double>> runs;
    std::vector<PooledFit<double>> pooled;
    for (Backend backend : {Backend::Cpu, Backend::Cuda}) {
      GaussianBatch<double> batch(B, d);
      options.backend = backend;
      pooled.push_back(fit_pooled(model, batch, options, pooling));
      Fitted<double> f;
      f.summary = pooled.back().last_fit;
      f.mean.assign(batch.mean(), batch.mean() + B * d);
      f.factor.assign(batch.precision_cholesky(), batch.precision_cholesky() + B * batch.matrix_size());
      runs.push_back(std::move(f));
    }
    expect_same_fit(runs[0], runs[1], 0, what);
    EXPECT_LE(deviation(pooled[0].prior_mean, pooled[1].prior_mean).first, rounding<double>()) << what;
    EXPECT_LE(deviation(pooled[0].prior_precision, pooled[1].prior_precision).first, rounding<double>()) << what;
    ASSERT_EQ(pooled[0].elbo.size(), pooled[1].elbo.size()) << what;
    for (std::size_t r = 0; r < pooled[0].elbo.size(); ++r)
      EXPECT_NEAR(pooled[0].elbo[r], pooled[1].elbo[r], rounding<double>() * (1 + std::abs(pooled[0].elbo[r])))
          << what << ", round " << r;
  }
}

// Online rounds upload each problem's full prior (the previous posterior, forgotten by 0.8); the
// device's rounds and the Thompson draws from its posteriors are the CPU's to rounding.
TEST(CudaPooledDouble, OnlineRoundsAndThompsonDrawsMatchTheCpu) {
  NGVI_REQUIRE_DEVICE();
  const std::size_t B = 16;
  const int d = 4;
  std::vector<SyntheticProblems<double>> rounds;
  for (std::uint64_t seed : {31, 32, 33}) rounds.push_back(SyntheticProblems<double>::generate(Likelihood::Logistic, B, d, 5, 30, seed));
  Options options;
  options.estimator = Estimator::Quadrature;
  GaussianBatch<double> cpu(B, d), gpu(B, d);
  for (std::size_t k = 0; k < rounds.size(); ++k) {
    const GeneralizedLinearModel<double> new_rows(Likelihood::Logistic, rounds[k].data());
    Fitted<double> a, b;
    options.backend = Backend::Cpu;
    a.summary = fit_online_round(new_rows, cpu, options, 0.8);
    options.backend = Backend::Cuda;
    b.summary = fit_online_round(new_rows, gpu, options, 0.8);
    for (auto [f, batch] : {std::pair{&a, &cpu}, std::pair{&b, &gpu}}) {
      f->mean.assign(batch->mean(), batch->mean() + B * d);
      f->factor.assign(batch->precision_cholesky(), batch->precision_cholesky() + B * batch->matrix_size());
    }
    expect_same_fit(a, b, 0, "round " + std::to_string(k));
    EXPECT_LE(deviation(thompson_draws(cpu, 7, static_cast<std::uint32_t>(k)),
                        thompson_draws(gpu, 7, static_cast<std::uint32_t>(k)))
                  .first,
              rounding<double>())
        << "round " << k;
  }
}

// ---------------------------------------------------------------- scenarios at the edges of the paths

template <class T>
class CudaEdges : public ::testing::Test {};
TYPED_TEST_SUITE(CudaEdges, Scalars);

/// The fit on the CPU, and on the device by the fused and (where it runs the fit) the batched path.
template <class T>
void expect_both_paths_match_cpu(const Model<T>& model, const GaussianBatch<T>& start, const Options& options,
                                 bool batched, int step_slack, const std::string& what) {
  const Fitted<T> cpu = fit_on(Backend::Cpu, model, start, options);
  for (const CudaPath path : {CudaPath::Fused, CudaPath::Batched}) {
    if (path == CudaPath::Batched && !batched) continue;
    const ScopedTuning tuning(path);
    const Fitted<T> gpu = fit_on(Backend::Cuda, model, start, options);
    expect_same_fit(cpu, gpu, step_slack, what + (path == CudaPath::Fused ? ", fused" : ", batched"));
  }
}

TYPED_TEST(CudaEdges, OneDimensionAndTheFusedBatchedBoundaryMatchTheCpu) {
  NGVI_REQUIRE_DEVICE();
  using T = TypeParam;
  // d = 32 in float takes the largest shared-memory areas; d = 33 is the first batched dimension.
  for (const int d : {1, 32, 33}) {
    const auto problems = SyntheticProblems<T>::generate(Likelihood::Logistic, 5, d, 40, 90, 70 + d);
    const LogisticRegression<T> model(problems.data());
    for (Estimator estimator : {Estimator::Price, Estimator::Stein, Estimator::Quadrature}) {
      Options options;
      options.estimator = estimator;
      options.max_steps = 15;
      options.tolerance = 0.0;
      expect_both_paths_match_cpu(model, GaussianBatch<T>(5, d), options, true, 0,
                                  "d = " + std::to_string(d) + " " + estimator_name(estimator));
    }
  }
}

TYPED_TEST(CudaEdges, GlmsWithTheDiagonalFamilyAndTheScoreEstimatorMatchTheCpu) {
  NGVI_REQUIRE_DEVICE();
  using T = TypeParam;
  for (Likelihood likelihood : {Likelihood::Linear, Likelihood::Logistic, Likelihood::Poisson, Likelihood::Probit}) {
    const auto problems = SyntheticProblems<T>::generate(likelihood, 6, 5, 20, 70, 80 + static_cast<int>(likelihood));
    const GeneralizedLinearModel<T> model(likelihood, problems.data());
    for (Family family : {Family::Full, Family::Diagonal})
      for (Estimator estimator : {Estimator::Price, Estimator::Stein, Estimator::Score, Estimator::Quadrature}) {
        if (family == Family::Full && estimator != Estimator::Score) continue;  // CudaGlm covers these
        Options options;
        options.estimator = estimator;
        options.step_size = estimator == Estimator::Score ? 0.05 : 0.3;
        options.max_steps = 12;
        options.tolerance = 0.0;
        expect_gpu_matches_cpu(model, GaussianBatch<T>(6, 5, family), options, 0,
                               std::string(likelihood_name(likelihood)) + " " + estimator_name(estimator) +
                                   (family == Family::Full ? " full" : " diagonal"));
      }
  }
}

TYPED_TEST(CudaEdges, TheBatchedPathWithAFullPriorTracesTheElboAsTheCpu) {
  NGVI_REQUIRE_DEVICE();
  using T = TypeParam;
  const int d = 36, B = 5;
  const auto problems = SyntheticProblems<T>::generate(Likelihood::Poisson, B, d, 50, 80, 90);
  std::mt19937 rng(91);
  std::vector<T> precisions, mean;
  for (int b = 0; b < B; ++b) testing::append(precisions, testing::random_spd(d, rng, 0.5, 2.0));
  testing::append(mean, testing::random_vector(d, rng, 0.1));
  const PoissonRegression<T> model(problems.data(), Prior<T>::full(d, precisions, mean));
  Options options;
  options.estimator = Estimator::Stein;
  options.trace_elbo = true;
  options.max_steps = 12;
  options.tolerance = 0.0;
  const Fitted<T> cpu = fit_on(Backend::Cpu, model, GaussianBatch<T>(B, d), options);
  const ScopedTuning tuning(CudaPath::Batched);
  const Fitted<T> gpu = fit_on(Backend::Cuda, model, GaussianBatch<T>(B, d), options);
  ASSERT_EQ(gpu.summary.elbo_trace.size(), cpu.summary.elbo_trace.size());
  for (std::size_t t = 0; t < cpu.summary.elbo_trace.size(); ++t)
    EXPECT_NEAR(gpu.summary.elbo_trace[t], cpu.summary.elbo_trace[t],
                rounding<T>() * (1 + std::abs(cpu.summary.elbo_trace[t])))
        << "step " << t;
  expect_same_fit(cpu, gpu, 0, "full prior, batched");
}

TYPED_TEST(CudaEdges, TheBatchedPathTakesManyMicroBatchesUnderASmallBudget) {
  NGVI_REQUIRE_DEVICE();
  using T = TypeParam;
  // A workspace slot here is about 0.2 MB (double): 8 MB of budget leaves room for a few slots, so
  // the 60 distributions take many micro-batches per step.
  const int d = 40;
  const std::size_t B = 60;
  const auto problems = SyntheticProblems<T>::generate(Likelihood::Logistic, B, d, 100, 150, 92);
  const LogisticRegression<T> model(problems.data());
  for (Estimator estimator : {Estimator::Price, Estimator::Quadrature}) {
    Options options;
    options.estimator = estimator;
    options.max_steps = 8;
    options.tolerance = 0.0;
    const Fitted<T> cpu = fit_on(Backend::Cpu, model, GaussianBatch<T>(B, d), options);
    const ScopedTuning tuning(CudaPath::Batched, 0, std::size_t(8) << 20);
    const Fitted<T> gpu = fit_on(Backend::Cuda, model, GaussianBatch<T>(B, d), options);
    expect_same_fit(cpu, gpu, 0, estimator_name(estimator));
  }
}

TEST(CudaEdgesFloat, FloatFitsOnTheBatchedPathConvergeAtTheDefaultTolerance) {
  NGVI_REQUIRE_DEVICE();
  // Issue 14: the batched path's KL cancelled to about 4e-6 at d = 64 in float, so that the default
  // tolerance of 1e-8 was met at random or never.
  const int d = 64;
  const std::size_t B = 8;
  const auto problems = SyntheticProblems<float>::generate(Likelihood::Logistic, B, d, 400, 400, 93);
  const LogisticRegression<float> model(problems.data());
  Options options;
  options.estimator = Estimator::Quadrature;  // deterministic: the KL falls below any tolerance
  options.max_steps = 200;
  const Fitted<float> cpu = fit_on(Backend::Cpu, model, GaussianBatch<float>(B, d), options);
  ASSERT_EQ(cpu.summary.count(Status::Converged), B) << cpu.summary.full_report();
  const ScopedTuning tuning(CudaPath::Batched);
  const Fitted<float> gpu = fit_on(Backend::Cuda, model, GaussianBatch<float>(B, d), options);
  EXPECT_EQ(gpu.summary.count(Status::Converged), B) << gpu.summary.full_report();
  for (std::size_t b = 0; b < B; ++b) EXPECT_LE(std::abs(cpu.summary.steps[b] - gpu.summary.steps[b]), 2) << b;
}

TYPED_TEST(CudaEdges, TheGlobalAreaPathMatchesTheCpu) {
  NGVI_REQUIRE_DEVICE();
  using T = TypeParam;
  // compute-sanitizer's racecheck sees shared memory only: the areas in global memory (double
  // d >= 24, float d >= 40, or many samples) need agreement tests of their own.
  const int d = sizeof(T) == 4 ? 40 : 24;
  const auto problems = SyntheticProblems<T>::generate(Likelihood::Probit, 3, d, 60, 60, 94);
  const ProbitRegression<T> model(problems.data());
  const ScopedTuning tuning(CudaPath::Fused);
  for (Estimator estimator : {Estimator::Price, Estimator::Stein, Estimator::Score, Estimator::Quadrature}) {
    Options options;
    options.estimator = estimator;
    options.step_size = estimator == Estimator::Score ? 0.05 : 0.3;
    options.max_steps = 10;
    options.tolerance = 0.0;
    const Fitted<T> gpu = fit_on(Backend::Cuda, model, GaussianBatch<T>(3, d), options);
    EXPECT_NE(gpu.summary.device.find("global memory"), std::string::npos) << gpu.summary.device;
    expect_gpu_matches_cpu(model, GaussianBatch<T>(3, d), options, 0, estimator_name(estimator));
  }
  // S = 4096 samples and B = 2: the areas (several MB each) are allocated for the two warps that run.
  Options options;
  options.estimator = Estimator::Stein;
  options.samples = 4096;
  options.max_steps = 3;
  options.tolerance = 0.0;
  expect_gpu_matches_cpu(model, GaussianBatch<T>(2, d), options, 0, "S = 4096");
}

TEST(CudaEdgesFloat, ProblemIndicesPast2To31EntriesAreAddressedRight) {
  NGVI_REQUIRE_DEVICE();
  // d = 4, full family: the factors of 2^27 + 1000 distributions hold more than 2^31 entries. One
  // BLR step of unit size with the Price estimator lands on each quadratic's exact posterior
  // whatever its samples: N(a_b, A^-1) with the shared curvature A.
  const int d = 4;
  const std::size_t B = (std::size_t(1) << 27) + 1000;
  const std::size_t needed = B * (d + d * d + 24) * sizeof(float) * 2;  // state and data, twice for chunks
  if (gpu::current_device().free_memory < needed) GTEST_SKIP() << "needs " << needed << " bytes of device memory";
  std::vector<float> centers(B * d);
  for (std::size_t k = 0; k < centers.size(); ++k)
    centers[k] = static_cast<float>((k * 2654435761u) % 1000) / 500.0f - 1;
  const std::vector<float> curvature = {2, 0.5f, 0, 0, 0.5f, 2, 0.5f, 0, 0, 0.5f, 2, 0.5f, 0, 0, 0.5f, 2};
  const QuadraticModel<float> model(B, d, centers.data(), curvature.data(), true);
  Options options;
  options.backend = Backend::Cuda;
  options.rule = Rule::BLR;
  options.step_size = 1.0;
  options.max_steps = 1;
  GaussianBatch<float> batch(B, d);
  const Summary s = fit(model, batch, options);
  EXPECT_EQ(s.count(Status::StepBudget), B);
  const Matrix<double> A = testing::block(curvature, 0, d);
  for (const std::size_t b : {std::size_t(0), B / 2, B - 1000, B - 1}) {
    EXPECT_LT((testing::segment(batch.mean(), b, d) - testing::segment(centers.data(), b, d)).norm(), 1e-3) << b;
    const Matrix<double> L = testing::block(std::vector<float>(batch.precision_cholesky() + b * d * d,
                                                               batch.precision_cholesky() + (b + 1) * d * d),
                                            0, d);
    EXPECT_LT((L * L.transpose() - A).norm(), 1e-3) << b;
  }
}

}  // namespace
}  // namespace ngvi
