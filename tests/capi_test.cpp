// The C ABI against its oracle, the C++ API of the same shared library: every result read through
// ngvi.h must be bit-identical to the C++ call it wraps. And every misuse of every entry point (null
// handle, null array, wrong struct_size, wrong sizes, wrong dtype, invalid enum values, device
// pointers) must return its status with a message naming the call and the argument, never crash.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "capi_test_util.hpp"
#include "ngvi/ngvi.h"
#include "ngvi/ngvi.hpp"

namespace {

using namespace ngvi::capi_test;

// ------------------------------------------------------------------------------------------------
// Batches and conversions: bit-identical to ngvi::GaussianBatch
// ------------------------------------------------------------------------------------------------

template <class T>
class CapiBatch : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(CapiBatch, Scalars);

TYPED_TEST(CapiBatch, EveryParameterizationMatchesTheCppApiBitwise) {
  using T = TypeParam;
  const std::size_t B = 6;
  const int d = 4;
  std::vector<T> mean, covariance;
  random_moments(B, d, 11, mean, covariance);
  Batch batch = make_batch(B, d, dtype_of<T>());
  std::vector<std::int32_t> statuses(B, -1);
  ASSERT_OK(ngvi_batch_set(batch.get(), NGVI_MOMENTS, in(mean), in(covariance), out(statuses)));
  for (std::int32_t s : statuses) EXPECT_EQ(s, NGVI_CONVERSION_OK);

  ngvi::GaussianBatch<T> reference(B, d);
  reference.set_moments(mean.data(), covariance.data());
  const std::size_t m = B * d * d;
  std::vector<T> first(B * d), second(m), want_first(B * d), want_second(m);
  auto expect_pair = [&](ngvi_parameters which) {
    ASSERT_OK(ngvi_batch_get(batch.get(), which, out(first), out(second)));
    EXPECT_EQ(first, want_first) << "parameters " << which;
    EXPECT_EQ(second, want_second) << "parameters " << which;
  };
  want_first.assign(reference.mean(), reference.mean() + B * d);
  reference.covariance(want_second.data());
  expect_pair(NGVI_MOMENTS);
  reference.precision(want_second.data());
  expect_pair(NGVI_PRECISION);
  want_second.assign(reference.precision_cholesky(), reference.precision_cholesky() + m);
  expect_pair(NGVI_PRECISION_CHOLESKY);
  reference.natural(want_first.data(), want_second.data());
  expect_pair(NGVI_NATURAL);
  reference.expectation(want_first.data(), want_second.data());
  expect_pair(NGVI_EXPECTATION);

  // One output alone: the other is not needed.
  std::vector<T> mean_only(B * d);
  ASSERT_OK(ngvi_batch_get(batch.get(), NGVI_MOMENTS, out(mean_only), kAbsentOutput));
  EXPECT_EQ(mean_only, std::vector<T>(reference.mean(), reference.mean() + B * d));
  std::vector<T> eta2_only(m), eta1(B * d), eta2(m);
  ASSERT_OK(ngvi_batch_get(batch.get(), NGVI_NATURAL, kAbsentOutput, out(eta2_only)));
  reference.natural(eta1.data(), eta2.data());
  EXPECT_EQ(eta2_only, eta2);

  std::vector<T> entropy(B), want_entropy(B), kl(B), want_kl(B), samples(B * 5 * d), want_samples(B * 5 * d);
  ASSERT_OK(ngvi_batch_entropy(batch.get(), out(entropy)));
  reference.entropy(want_entropy.data());
  EXPECT_EQ(entropy, want_entropy);
  Batch standard = make_batch(B, d, dtype_of<T>());
  ASSERT_OK(ngvi_batch_kl_divergence(batch.get(), standard.get(), out(kl)));
  reference.kl_divergence(ngvi::GaussianBatch<T>(B, d), want_kl.data());
  EXPECT_EQ(kl, want_kl);
  ASSERT_OK(ngvi_batch_sample(batch.get(), 42, 3, 5, 0, out(samples)));
  reference.sample(42, 3, 5, want_samples.data(), false);
  EXPECT_EQ(samples, want_samples);

  size_t size = 0;
  int32_t dimension = 0;
  ngvi_family family = NGVI_FAMILY_DIAGONAL;
  ngvi_dtype dtype = NGVI_INT32;
  ASSERT_OK(ngvi_batch_shape(batch.get(), &size, &dimension, &family, &dtype));
  EXPECT_EQ(size, B);
  EXPECT_EQ(dimension, d);
  EXPECT_EQ(family, NGVI_FAMILY_FULL);
  EXPECT_EQ(dtype, dtype_of<T>());
}

TYPED_TEST(CapiBatch, ConversionFailuresArePerDistribution) {
  using T = TypeParam;
  const std::size_t B = 4;
  const int d = 3;
  std::vector<T> mean, covariance;
  random_moments(B, d, 12, mean, covariance);
  mean[1 * d + 2] = std::numeric_limits<T>::quiet_NaN();  // distribution 1: not finite
  for (int i = 0; i < d; ++i) covariance[3 * d * d + i * d + i] = T(-1);  // distribution 3: not positive definite
  Batch batch = make_batch(B, d, dtype_of<T>());
  std::vector<std::int32_t> statuses(B, -1);
  ASSERT_OK(ngvi_batch_set(batch.get(), NGVI_MOMENTS, in(mean), in(covariance), out(statuses)));
  EXPECT_EQ(statuses, (std::vector<std::int32_t>{NGVI_CONVERSION_OK, NGVI_CONVERSION_NON_FINITE, NGVI_CONVERSION_OK,
                                                 NGVI_CONVERSION_NOT_POSITIVE_DEFINITE}));
  std::vector<T> got_mean(B * d), got_covariance(B * d * d);
  ASSERT_OK(ngvi_batch_get(batch.get(), NGVI_MOMENTS, out(got_mean), out(got_covariance)));
  for (std::size_t b : {1, 3})  // failed distributions keep their previous state, N(0, I)
    for (int i = 0; i < d; ++i) {
      EXPECT_EQ(got_mean[b * d + i], T(0));
      EXPECT_EQ(got_covariance[b * d * d + i * d + i], T(1));
    }

  // On its own, a failed conversion writes NaN rather than a state that could pass for a result.
  std::vector<T> eta1(B * d), eta2(B * d * d);
  std::vector<std::int32_t> convert_statuses(B, -1);
  ASSERT_OK(ngvi_convert(NGVI_FAMILY_FULL, B, d, NGVI_MOMENTS, in(mean), in(covariance), NGVI_NATURAL, out(eta1),
                         out(eta2), out(convert_statuses)));
  EXPECT_EQ(convert_statuses, statuses);
  std::vector<T> want_eta1(B * d), want_eta2(B * d * d);
  ngvi::GaussianBatch<T> reference(B, d);
  reference.set_moments(mean.data(), covariance.data());
  reference.natural(want_eta1.data(), want_eta2.data());
  for (std::size_t b = 0; b < B; ++b)
    for (int i = 0; i < d; ++i) {
      if (statuses[b] == NGVI_CONVERSION_OK) EXPECT_EQ(eta1[b * d + i], want_eta1[b * d + i]);
      else EXPECT_TRUE(std::isnan(eta1[b * d + i]));
    }
}

TYPED_TEST(CapiBatch, ConvertRoundTripsThroughEveryParameterization) {
  using T = TypeParam;
  const std::size_t B = 5;
  const int d = 3;
  const double tol = sizeof(T) == 4 ? 2e-4 : 1e-11;
  for (ngvi_family family : {NGVI_FAMILY_FULL, NGVI_FAMILY_DIAGONAL}) {
    const std::size_t M = family == NGVI_FAMILY_FULL ? d * d : d;
    std::vector<T> mean, covariance;
    random_moments(B, d, 13, mean, covariance);
    if (family == NGVI_FAMILY_DIAGONAL) {  // keep the diagonals
      std::vector<T> diagonal;
      for (std::size_t b = 0; b < B; ++b)
        for (int i = 0; i < d; ++i) diagonal.push_back(covariance[b * d * d + i * d + i]);
      covariance = diagonal;
    }
    for (ngvi_parameters via : {NGVI_PRECISION, NGVI_PRECISION_CHOLESKY, NGVI_NATURAL, NGVI_EXPECTATION}) {
      std::vector<T> a(B * d), c(B * M), back_mean(B * d), back_covariance(B * M);
      ASSERT_OK(ngvi_convert(family, B, d, NGVI_MOMENTS, in(mean), in(covariance), via, out(a), out(c), kAbsentOutput));
      ASSERT_OK(ngvi_convert(family, B, d, via, in(a), in(c), NGVI_MOMENTS, out(back_mean), out(back_covariance),
                             kAbsentOutput));
      for (std::size_t k = 0; k < B * d; ++k) EXPECT_NEAR(back_mean[k], mean[k], tol * 10) << "via " << via;
      for (std::size_t k = 0; k < B * M; ++k) EXPECT_NEAR(back_covariance[k], covariance[k], tol * 10) << "via " << via;
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Fits: bit-identical to ngvi::fit on the same model and options
// ------------------------------------------------------------------------------------------------

template <class T>
Model glm_model(ngvi_likelihood likelihood, const ngvi::SyntheticProblems<T>& p, bool ragged,
                const ngvi_prior* prior = nullptr, double noise_sd = 1.0) {
  const std::size_t rows = ragged ? 0 : static_cast<std::size_t>(p.offsets[1]);
  ngvi_model* m = nullptr;
  EXPECT_EQ(ngvi_model_create_glm(&m, likelihood, p.num_problems, p.dimension, rows, in(p.x), in(p.y),
                                  ragged ? in(p.offsets) : kAbsentInput, prior, noise_sd),
            NGVI_OK)
      << ngvi_last_error();
  return Model(m);
}

// Fits `model` through the C ABI and `reference` through the C++ API with the same options, and
// checks that every result is bit-identical.
template <class T>
void expect_same_fit(const ngvi_model* model, const ngvi::Model<T>& reference, ngvi_family family,
                     const ngvi_options& options) {
  const std::size_t B = reference.num_problems();
  const int d = reference.dimension();
  const std::size_t M = family == NGVI_FAMILY_FULL ? d * d : d;
  Batch batch = make_batch(B, d, dtype_of<T>(), family);
  ngvi_summary* s = nullptr;
  ASSERT_OK(ngvi_fit(model, batch.get(), &options, &s));
  Summary summary(s);

  ngvi::Options o;
  o.estimator = static_cast<ngvi::Estimator>(options.estimator);
  o.rule = static_cast<ngvi::Rule>(options.rule);
  o.samples = options.samples;
  o.step_size = options.step_size;
  o.max_steps = options.max_steps;
  o.seed = options.seed;
  o.trace_elbo = options.trace_elbo;
  ngvi::GaussianBatch<T> q(B, d, static_cast<ngvi::Family>(family));
  const ngvi::Summary want = ngvi::fit(reference, q, o);

  std::vector<T> mean(B * d), factor(B * M);
  ASSERT_OK(ngvi_batch_get(batch.get(), NGVI_PRECISION_CHOLESKY, out(mean), out(factor)));
  EXPECT_EQ(mean, std::vector<T>(q.mean(), q.mean() + B * d));
  EXPECT_EQ(factor, std::vector<T>(q.precision_cholesky(), q.precision_cholesky() + B * M));
  std::vector<std::int32_t> status(B), steps(B);
  std::vector<double> elbo(B);
  ASSERT_OK(ngvi_summary_get(summary.get(), NGVI_SUMMARY_STATUS, out(status)));
  ASSERT_OK(ngvi_summary_get(summary.get(), NGVI_SUMMARY_STEPS, out(steps)));
  ASSERT_OK(ngvi_summary_get(summary.get(), NGVI_SUMMARY_ELBO, out(elbo)));
  for (std::size_t b = 0; b < B; ++b) {
    EXPECT_EQ(status[b], static_cast<std::int32_t>(want.status[b]));
    EXPECT_EQ(steps[b], want.steps[b]);
  }
  EXPECT_EQ(elbo, want.elbo);
  ngvi_summary_info info;
  info.struct_size = sizeof info;
  ASSERT_OK(ngvi_summary_get_info(summary.get(), &info));
  EXPECT_EQ(info.iterations, want.iterations);
  EXPECT_EQ(info.estimator, static_cast<ngvi_estimator>(want.estimator));
  for (int k = 0; k < ngvi::kStatusCount; ++k) EXPECT_EQ(info.status_counts[k], want.status_counts[k]);
  EXPECT_EQ(info.elbo_trace_length, want.elbo_trace.size());
  std::vector<double> trace(info.elbo_trace_length);
  ASSERT_OK(ngvi_summary_get(summary.get(), NGVI_SUMMARY_ELBO_TRACE, out(trace)));
  EXPECT_EQ(trace, want.elbo_trace);
}

template <class T>
class CapiFit : public ::testing::Test {};
TYPED_TEST_SUITE(CapiFit, Scalars);

TYPED_TEST(CapiFit, EveryLikelihoodAndLayoutMatchesTheCppApiBitwise) {
  using T = TypeParam;
  ngvi_options options;
  ASSERT_OK(ngvi_options_init(&options));
  options.max_steps = 40;
  options.seed = 5;
  for (ngvi_likelihood likelihood : {NGVI_LINEAR, NGVI_LOGISTIC, NGVI_POISSON, NGVI_PROBIT}) {
    const auto kind = static_cast<ngvi::Likelihood>(likelihood);
    for (bool ragged : {false, true}) {
      SCOPED_TRACE(std::string(ngvi::likelihood_name(kind)) + (ragged ? ", ragged" : ", dense"));
      const auto p = ngvi::SyntheticProblems<T>::generate(kind, 9, 3, ragged ? 10 : 25, 25, 3);
      const double noise_sd = likelihood == NGVI_LINEAR ? 0.7 : 1.0;
      Model model = glm_model(likelihood, p, ragged, nullptr, noise_sd);
      const ngvi::GeneralizedLinearModel<T> reference(kind, p.data(), ngvi::Prior<T>::isotropic(T(1)), T(noise_sd));
      expect_same_fit(model.get(), reference, NGVI_FAMILY_FULL, options);
    }
  }
}

TYPED_TEST(CapiFit, MonteCarloPriorsAndTheDiagonalFamilyMatchTheCppApiBitwise) {
  using T = TypeParam;
  const auto p = ngvi::SyntheticProblems<T>::generate(ngvi::Likelihood::Logistic, 7, 3, 20, 40, 4);
  ngvi_options options;
  ASSERT_OK(ngvi_options_init(&options));
  options.estimator = NGVI_ESTIMATOR_STEIN;
  options.samples = 8;
  options.max_steps = 25;
  options.seed = 9;
  options.trace_elbo = 1;

  // Isotropic prior, one precision per problem, shared mean.
  const std::vector<T> precisions = {1, 2, 3, 4, 5, 6, 7}, prior_mean = {T(0.5), T(-0.25), T(1)};
  ngvi_prior prior;
  ASSERT_OK(ngvi_prior_init(&prior));
  prior.precision = in(precisions);
  prior.mean = in(prior_mean);
  Model model = glm_model(NGVI_LOGISTIC, p, true, &prior);
  const ngvi::LogisticRegression<T> reference(p.data(), ngvi::Prior<T>::isotropic(precisions, prior_mean));
  expect_same_fit(model.get(), reference, NGVI_FAMILY_FULL, options);
  expect_same_fit(model.get(), reference, NGVI_FAMILY_DIAGONAL, options);

  // Full prior shared by all problems.
  const std::vector<T> P = {2, T(0.5), 0, T(0.5), 2, 0, 0, 0, 1};
  prior.kind = NGVI_PRIOR_FULL;
  prior.precision = in(P);
  prior.mean = kAbsentInput;
  Model full = glm_model(NGVI_LOGISTIC, p, true, &prior);
  expect_same_fit(full.get(), ngvi::LogisticRegression<T>(p.data(), ngvi::Prior<T>::full(3, P)), NGVI_FAMILY_FULL,
                  options);

  prior.kind = NGVI_PRIOR_NONE;
  prior.precision = kAbsentInput;
  Model none = glm_model(NGVI_LOGISTIC, p, true, &prior);
  expect_same_fit(none.get(), ngvi::LogisticRegression<T>(p.data(), ngvi::Prior<T>::none()), NGVI_FAMILY_FULL,
                  options);
}

TEST(CapiFit, ModelsCopyTheirDataSoTheCallerMayFreeIt) {
  auto p = ngvi::SyntheticProblems<double>::generate(ngvi::Likelihood::Logistic, 5, 2, 30, 30, 6);
  Model model = glm_model(NGVI_LOGISTIC, p, true);
  const ngvi::LogisticRegression<double> reference(p.data());
  ngvi_options options;
  ASSERT_OK(ngvi_options_init(&options));
  options.max_steps = 20;
  Batch batch = make_batch(5, 2, NGVI_FLOAT64);
  ASSERT_OK(ngvi_fit(model.get(), batch.get(), &options, nullptr));
  std::vector<double> before(10), after(10);
  ASSERT_OK(ngvi_batch_get(batch.get(), NGVI_MOMENTS, out(before), kAbsentOutput));
  // Overwrite the caller's arrays: the model's copy is what it fits.
  std::fill(p.x.begin(), p.x.end(), 0.0);
  std::fill(p.y.begin(), p.y.end(), 0.0);
  Batch again = make_batch(5, 2, NGVI_FLOAT64);
  ASSERT_OK(ngvi_fit(model.get(), again.get(), &options, nullptr));
  ASSERT_OK(ngvi_batch_get(again.get(), NGVI_MOMENTS, out(after), kAbsentOutput));
  EXPECT_EQ(before, after);
}

TEST(CapiFit, QuadraticModelReachesTheExactPosterior) {
  const std::size_t B = 4;
  const int d = 3;
  std::vector<double> centers, curvatures;
  random_moments(B, d, 21, centers, curvatures);
  ngvi_model* m = nullptr;
  ASSERT_OK(ngvi_model_create_quadratic(&m, B, d, in(centers), in(curvatures), nullptr));
  Model model(m);
  ngvi_options options;
  ASSERT_OK(ngvi_options_init(&options));
  options.rule = NGVI_RULE_BLR;
  options.step_size = 1.0;
  Batch batch = make_batch(B, d, NGVI_FLOAT64);
  ASSERT_OK(ngvi_fit(model.get(), batch.get(), &options, nullptr));
  std::vector<double> mean(B * d), precision(B * d * d);
  ASSERT_OK(ngvi_batch_get(batch.get(), NGVI_PRECISION, out(mean), out(precision)));
  for (std::size_t k = 0; k < B * d; ++k) EXPECT_NEAR(mean[k], centers[k], 1e-12);
  for (std::size_t k = 0; k < B * d * d; ++k) EXPECT_NEAR(precision[k], curvatures[k], 1e-12);

  // One curvature shared by every problem.
  const std::vector<double> shared(curvatures.begin(), curvatures.begin() + d * d);
  ASSERT_OK(ngvi_model_create_quadratic(&m, B, d, in(centers), in(shared), nullptr));
  Model shared_model(m);
  Batch shared_batch = make_batch(B, d, NGVI_FLOAT64);
  ASSERT_OK(ngvi_fit(shared_model.get(), shared_batch.get(), &options, nullptr));
  ASSERT_OK(ngvi_batch_get(shared_batch.get(), NGVI_PRECISION, out(mean), out(precision)));
  for (std::size_t b = 0; b < B; ++b)
    for (int k = 0; k < d * d; ++k) EXPECT_NEAR(precision[b * d * d + k], shared[k], 1e-12);
}

int32_t stop_after_two_steps(const ngvi_progress* progress, void* user_data) {
  auto* calls = static_cast<int*>(user_data);
  ++*calls;
  EXPECT_EQ(progress->struct_size, sizeof(ngvi_progress));
  EXPECT_EQ(progress->iteration, *calls);
  return progress->iteration < 2;
}

TEST(CapiFit, TheProgressCallbackSeesEveryStepAndCanStopTheFit) {
  const auto p = ngvi::SyntheticProblems<double>::generate(ngvi::Likelihood::Logistic, 6, 2, 30, 30, 8);
  Model model = glm_model(NGVI_LOGISTIC, p, false);
  ngvi_options options;
  ASSERT_OK(ngvi_options_init(&options));
  int calls = 0;
  options.progress = stop_after_two_steps;
  options.progress_user_data = &calls;
  Batch batch = make_batch(6, 2, NGVI_FLOAT64);
  ngvi_summary* s = nullptr;
  ASSERT_OK(ngvi_fit(model.get(), batch.get(), &options, &s));
  Summary summary(s);
  EXPECT_EQ(calls, 2);
  ngvi_summary_info info;
  info.struct_size = sizeof info;
  ASSERT_OK(ngvi_summary_get_info(summary.get(), &info));
  EXPECT_EQ(info.iterations, 2);
  EXPECT_EQ(info.status_counts[NGVI_FIT_RUNNING], 6u);
}

TEST(CapiFit, BackendAvailabilityAgreesWithWhatFitDoes) {
  EXPECT_EQ(ngvi_backend_available(NGVI_BACKEND_AUTO), NGVI_OK) << ngvi_last_error();
  EXPECT_EQ(ngvi_backend_available(NGVI_BACKEND_CPU), NGVI_OK) << ngvi_last_error();
  EXPECT_ERROR(ngvi_backend_available(static_cast<ngvi_backend>(5)), NGVI_ERROR_INVALID_ARGUMENT,
               {"ngvi_backend_available", "backend = 5"});
  // CUDA: available exactly when a fit on it runs; otherwise the reason names what is missing.
  const ngvi_status cuda = ngvi_backend_available(NGVI_BACKEND_CUDA);
  const std::string why = ngvi_last_error();
  ASSERT_TRUE(cuda == NGVI_OK || cuda == NGVI_ERROR_UNAVAILABLE) << why;
  const std::size_t B = 2;
  const int d = 2;
  const std::vector<double> centers(B * d, 0.5), curvatures = {1, 0, 0, 1, 2, 0, 0, 2};
  ngvi_model* raw = nullptr;
  ASSERT_OK(ngvi_model_create_quadratic(&raw, B, d, in(centers), in(curvatures), nullptr));
  Model model(raw);
  Batch batch = make_batch(B, d, NGVI_FLOAT64);
  ngvi_options options;
  ASSERT_OK(ngvi_options_init(&options));
  options.backend = NGVI_BACKEND_CUDA;
  ngvi_summary* s = nullptr;
  EXPECT_EQ(ngvi_fit(model.get(), batch.get(), &options, &s), cuda) << ngvi_last_error();
  const std::string fit_error = ngvi_last_error();
  ngvi_summary_destroy(s);
  if (cuda == NGVI_ERROR_UNAVAILABLE) {
    EXPECT_NE(why.find("CUDA"), std::string::npos) << why;
    EXPECT_NE(fit_error.find(why.substr(why.find(": ") + 2)), std::string::npos) << fit_error;
  }
}

TEST(CapiFit, ReportsAreTruncatedLikeSnprintf) {
  const auto p = ngvi::SyntheticProblems<double>::generate(ngvi::Likelihood::Logistic, 3, 2, 20, 20, 8);
  Model model = glm_model(NGVI_LOGISTIC, p, false);
  Batch batch = make_batch(3, 2, NGVI_FLOAT64);
  ngvi_summary* s = nullptr;
  ASSERT_OK(ngvi_fit(model.get(), batch.get(), nullptr, &s));
  Summary summary(s);
  for (int32_t full : {0, 1}) {
    size_t length = 0;
    ASSERT_OK(ngvi_summary_report(summary.get(), full, nullptr, 0, &length));
    std::string text(length, '\0');
    ASSERT_OK(ngvi_summary_report(summary.get(), full, text.data(), length + 1, &length));
    EXPECT_EQ(text.size(), length);
    EXPECT_EQ(text.rfind(full ? "ngvi fit summary" : "ngvi: 3 distributions, d = 2", 0), 0u) << text;
    char small[8];
    ASSERT_OK(ngvi_summary_report(summary.get(), full, small, sizeof small, nullptr));
    EXPECT_EQ(std::string(small), text.substr(0, 7));
  }
}

// ------------------------------------------------------------------------------------------------
// Misuse: a status and a message naming the call and the argument, for every entry point
// ------------------------------------------------------------------------------------------------

class CapiMisuse : public ::testing::Test {
 protected:
  static constexpr std::size_t B = 2;
  static constexpr int d = 3;
  CapiMisuse() {
    random_moments(B, d, 1, mean, covariance);
    batch = make_batch(B, d, NGVI_FLOAT64);
    problems = ngvi::SyntheticProblems<double>::generate(ngvi::Likelihood::Logistic, B, d, 5, 5, 1);
    model = glm_model(NGVI_LOGISTIC, problems, false);
    ngvi_summary* s = nullptr;
    EXPECT_EQ(ngvi_fit(model.get(), batch.get(), nullptr, &s), NGVI_OK);
    summary.reset(s);
  }
  // A handle of another kind, as a caller through an untyped binding might pass it.
  ngvi_batch* model_as_batch() { return reinterpret_cast<ngvi_batch*>(model.get()); }

  std::vector<double> mean, covariance;
  Batch batch;
  ngvi::SyntheticProblems<double> problems;
  Model model;
  Summary summary;
};

TEST_F(CapiMisuse, BatchCreate) {
  ngvi_batch* b = reinterpret_cast<ngvi_batch*>(this);
  EXPECT_ERROR(ngvi_batch_create(nullptr, B, d, NGVI_FAMILY_FULL, NGVI_FLOAT64), NGVI_ERROR_NULL_POINTER,
               {"ngvi_batch_create", "`batch`"});
  EXPECT_ERROR(ngvi_batch_create(&b, B, d, NGVI_FAMILY_FULL, NGVI_INT32), NGVI_ERROR_DTYPE, {"dtype", "int32"});
  EXPECT_EQ(b, nullptr);  // an output handle is NULL after a failure
  EXPECT_ERROR(ngvi_batch_create(&b, B, d, NGVI_FAMILY_FULL, static_cast<ngvi_dtype>(0)), NGVI_ERROR_DTYPE,
               {"0 (not an ngvi_dtype)"});
  EXPECT_ERROR(ngvi_batch_create(&b, B, 0, NGVI_FAMILY_FULL, NGVI_FLOAT64), NGVI_ERROR_INVALID_ARGUMENT,
               {"dimension = 0"});
  EXPECT_ERROR(ngvi_batch_create(&b, B, d, static_cast<ngvi_family>(7), NGVI_FLOAT64), NGVI_ERROR_INVALID_ARGUMENT,
               {"family = 7"});
  EXPECT_ERROR(ngvi_batch_create(&b, std::size_t(1) << 33, d, NGVI_FAMILY_FULL, NGVI_FLOAT64),
               NGVI_ERROR_INVALID_ARGUMENT, {"batch_size"});
  EXPECT_EQ(b, nullptr);
}

TEST_F(CapiMisuse, DestroyAndShape) {
  EXPECT_EQ(ngvi_batch_destroy(nullptr), NGVI_OK);
  EXPECT_EQ(ngvi_model_destroy(nullptr), NGVI_OK);
  EXPECT_EQ(ngvi_summary_destroy(nullptr), NGVI_OK);
  EXPECT_ERROR(ngvi_batch_destroy(model_as_batch()), NGVI_ERROR_INVALID_HANDLE,
               {"ngvi_batch_destroy", "not a live ngvi_batch handle"});
  EXPECT_ERROR(ngvi_model_destroy(reinterpret_cast<ngvi_model*>(batch.get())), NGVI_ERROR_INVALID_HANDLE,
               {"ngvi_model_destroy", "ngvi_model"});
  EXPECT_ERROR(ngvi_summary_destroy(reinterpret_cast<ngvi_summary*>(batch.get())), NGVI_ERROR_INVALID_HANDLE,
               {"ngvi_summary_destroy", "ngvi_summary"});
  EXPECT_ERROR(ngvi_batch_shape(nullptr, nullptr, nullptr, nullptr, nullptr), NGVI_ERROR_INVALID_HANDLE,
               {"ngvi_batch_shape", "`batch` is NULL"});
  EXPECT_ERROR(ngvi_batch_shape(model_as_batch(), nullptr, nullptr, nullptr, nullptr), NGVI_ERROR_INVALID_HANDLE,
               {"ngvi_batch"});
  EXPECT_ERROR(ngvi_model_shape(nullptr, nullptr, nullptr, nullptr), NGVI_ERROR_INVALID_HANDLE,
               {"ngvi_model_shape", "`model`"});
  EXPECT_ERROR(ngvi_model_shape(reinterpret_cast<ngvi_model*>(summary.get()), nullptr, nullptr, nullptr),
               NGVI_ERROR_INVALID_HANDLE, {"not a live ngvi_model handle"});
  std::size_t problems_count = 0;
  ASSERT_OK(ngvi_model_shape(model.get(), &problems_count, nullptr, nullptr));
  EXPECT_EQ(problems_count, B);
}

TEST_F(CapiMisuse, BatchSet) {
  std::vector<float> mean32(B * d);
  std::vector<std::int32_t> statuses(B);
  std::vector<double> short_covariance(B * d * d - 1);
  EXPECT_ERROR(ngvi_batch_set(nullptr, NGVI_MOMENTS, in(mean), in(covariance), kAbsentOutput),
               NGVI_ERROR_INVALID_HANDLE, {"ngvi_batch_set", "`batch`"});
  EXPECT_ERROR(ngvi_batch_set(batch.get(), static_cast<ngvi_parameters>(9), in(mean), in(covariance), kAbsentOutput),
               NGVI_ERROR_INVALID_ARGUMENT, {"which = 9"});
  EXPECT_ERROR(ngvi_batch_set(batch.get(), NGVI_MOMENTS, kAbsentInput, in(covariance), kAbsentOutput),
               NGVI_ERROR_NULL_POINTER, {"`first (mean)`", "(B, d) = (2, 3)"});
  EXPECT_ERROR(ngvi_batch_set(batch.get(), NGVI_MOMENTS, ngvi_in_f64(nullptr, B * d), in(covariance), kAbsentOutput),
               NGVI_ERROR_NULL_POINTER, {"`first (mean)`", "NULL"});
  EXPECT_ERROR(ngvi_batch_set(batch.get(), NGVI_NATURAL, in(mean), in(short_covariance), kAbsentOutput),
               NGVI_ERROR_SIZE, {"`second (eta2)`", "17 elements", "18", "(B, d, d) = (2, 3, 3)"});
  EXPECT_ERROR(ngvi_batch_set(batch.get(), NGVI_MOMENTS, in(mean32), in(covariance), kAbsentOutput), NGVI_ERROR_DTYPE,
               {"`first (mean)`", "float32", "float64"});
  EXPECT_ERROR(ngvi_batch_set(batch.get(), NGVI_MOMENTS, in(mean), in(covariance), out(mean)), NGVI_ERROR_DTYPE,
               {"`conversion_status`", "int32"});
  EXPECT_ERROR(ngvi_batch_set(batch.get(), NGVI_MOMENTS, in(mean), in(covariance), ngvi_out_i32(statuses.data(), 1)),
               NGVI_ERROR_SIZE, {"`conversion_status`"});
  ngvi_input_array on_device = in(mean);
  on_device.memory = NGVI_MEMORY_DEVICE;
  EXPECT_ERROR(ngvi_batch_set(batch.get(), NGVI_MOMENTS, on_device, in(covariance), kAbsentOutput),
               NGVI_ERROR_UNAVAILABLE, {"`first (mean)`", "device", "CUDA"});
  on_device.memory = static_cast<ngvi_memory>(5);
  EXPECT_ERROR(ngvi_batch_set(batch.get(), NGVI_MOMENTS, on_device, in(covariance), kAbsentOutput),
               NGVI_ERROR_INVALID_ARGUMENT, {"memory = 5"});
  EXPECT_ERROR(ngvi_batch_set(model_as_batch(), NGVI_MOMENTS, in(mean), in(covariance), kAbsentOutput),
               NGVI_ERROR_INVALID_HANDLE, {"ngvi_batch"});
}

TEST_F(CapiMisuse, BatchGet) {
  std::vector<double> first(B * d), second(B * d * d), too_long(B * d + 1);
  EXPECT_ERROR(ngvi_batch_get(nullptr, NGVI_MOMENTS, out(first), out(second)), NGVI_ERROR_INVALID_HANDLE,
               {"ngvi_batch_get", "`batch`"});
  EXPECT_ERROR(ngvi_batch_get(batch.get(), static_cast<ngvi_parameters>(-1), out(first), out(second)),
               NGVI_ERROR_INVALID_ARGUMENT, {"which = -1"});
  EXPECT_ERROR(ngvi_batch_get(batch.get(), NGVI_MOMENTS, kAbsentOutput, kAbsentOutput), NGVI_ERROR_NULL_POINTER,
               {"both absent"});
  EXPECT_ERROR(ngvi_batch_get(batch.get(), NGVI_EXPECTATION, out(too_long), out(second)), NGVI_ERROR_SIZE,
               {"`first (m1)`", "7 elements"});
  EXPECT_ERROR(ngvi_batch_get(batch.get(), NGVI_MOMENTS, ngvi_out_i32(nullptr, 0), ngvi_out_f32(nullptr, B * d * d)),
               NGVI_ERROR_DTYPE, {"`second (covariance)`", "float32"});
  ngvi_output_array on_device = out(second);
  on_device.memory = NGVI_MEMORY_DEVICE;
  EXPECT_ERROR(ngvi_batch_get(batch.get(), NGVI_MOMENTS, out(first), on_device), NGVI_ERROR_UNAVAILABLE, {"CUDA"});
}

TEST_F(CapiMisuse, EntropyKlAndSample) {
  std::vector<double> per_distribution(B), wrong(B + 1), samples(B * 4 * d);
  std::vector<float> per_distribution32(B);
  EXPECT_ERROR(ngvi_batch_entropy(nullptr, out(per_distribution)), NGVI_ERROR_INVALID_HANDLE,
               {"ngvi_batch_entropy", "`batch`"});
  EXPECT_ERROR(ngvi_batch_entropy(batch.get(), out(wrong)), NGVI_ERROR_SIZE, {"`entropy`", "(B) = (2)"});
  EXPECT_ERROR(ngvi_batch_entropy(batch.get(), out(per_distribution32)), NGVI_ERROR_DTYPE, {"float32"});
  EXPECT_ERROR(ngvi_batch_entropy(batch.get(), kAbsentOutput), NGVI_ERROR_NULL_POINTER, {"`entropy`"});

  Batch other32 = make_batch(B, d, NGVI_FLOAT32);
  Batch other_shape = make_batch(B, d + 1, NGVI_FLOAT64);
  EXPECT_ERROR(ngvi_batch_kl_divergence(batch.get(), nullptr, out(per_distribution)), NGVI_ERROR_INVALID_HANDLE,
               {"ngvi_batch_kl_divergence", "`other`"});
  EXPECT_ERROR(ngvi_batch_kl_divergence(batch.get(), other32.get(), out(per_distribution)), NGVI_ERROR_DTYPE,
               {"different dtypes"});
  EXPECT_ERROR(ngvi_batch_kl_divergence(batch.get(), other_shape.get(), out(per_distribution)), NGVI_ERROR_SIZE,
               {"`other`", "(2, 4, 0)"});
  EXPECT_ERROR(ngvi_batch_kl_divergence(batch.get(), batch.get(), out(wrong)), NGVI_ERROR_SIZE, {"`kl`"});

  EXPECT_ERROR(ngvi_batch_sample(nullptr, 0, 0, 4, 1, out(samples)), NGVI_ERROR_INVALID_HANDLE, {"ngvi_batch_sample"});
  EXPECT_ERROR(ngvi_batch_sample(batch.get(), 0, 0, 0, 1, out(samples)), NGVI_ERROR_INVALID_ARGUMENT,
               {"num_samples = 0"});
  EXPECT_ERROR(ngvi_batch_sample(batch.get(), 0, 0, 4, 2, out(samples)), NGVI_ERROR_INVALID_ARGUMENT,
               {"antithetic = 2"});
  EXPECT_ERROR(ngvi_batch_sample(batch.get(), 0, 0, 5, 1, out(samples)), NGVI_ERROR_SIZE,
               {"`samples`", "(B, S, d) = (2, 5, 3)"});
}

TEST_F(CapiMisuse, Convert) {
  std::vector<double> a(B * d), c(B * d * d);
  std::vector<float> covariance32(B * d * d);
  std::vector<std::int32_t> ints(B * d);
  EXPECT_ERROR(ngvi_convert(NGVI_FAMILY_FULL, B, 0, NGVI_MOMENTS, in(mean), in(covariance), NGVI_NATURAL, out(a),
                            out(c), kAbsentOutput),
               NGVI_ERROR_INVALID_ARGUMENT, {"ngvi_convert", "dimension = 0"});
  EXPECT_ERROR(ngvi_convert(static_cast<ngvi_family>(3), B, d, NGVI_MOMENTS, in(mean), in(covariance), NGVI_NATURAL,
                            out(a), out(c), kAbsentOutput),
               NGVI_ERROR_INVALID_ARGUMENT, {"family = 3"});
  EXPECT_ERROR(ngvi_convert(NGVI_FAMILY_FULL, B, d, static_cast<ngvi_parameters>(7), in(mean), in(covariance),
                            NGVI_NATURAL, out(a), out(c), kAbsentOutput),
               NGVI_ERROR_INVALID_ARGUMENT, {"from = 7"});
  EXPECT_ERROR(ngvi_convert(NGVI_FAMILY_FULL, B, d, NGVI_MOMENTS, in(mean), in(covariance),
                            static_cast<ngvi_parameters>(5), out(a), out(c), kAbsentOutput),
               NGVI_ERROR_INVALID_ARGUMENT, {"to = 5"});
  EXPECT_ERROR(ngvi_convert(NGVI_FAMILY_FULL, B, d, NGVI_MOMENTS, ngvi_in_array(ints.data(), ints.size(), NGVI_INT32),
                            in(covariance), NGVI_NATURAL, out(a), out(c), kAbsentOutput),
               NGVI_ERROR_DTYPE, {"from_first.dtype", "int32"});
  EXPECT_ERROR(ngvi_convert(NGVI_FAMILY_FULL, B, d, NGVI_MOMENTS, in(mean), in(covariance32), NGVI_NATURAL, out(a),
                            out(c), kAbsentOutput),
               NGVI_ERROR_DTYPE, {"`from_second (covariance)`", "float32"});
  EXPECT_ERROR(ngvi_convert(NGVI_FAMILY_FULL, B, d, NGVI_MOMENTS, kAbsentInput, in(covariance), NGVI_NATURAL, out(a),
                            out(c), kAbsentOutput),
               NGVI_ERROR_NULL_POINTER, {"`from_first (mean)`"});
  EXPECT_ERROR(ngvi_convert(NGVI_FAMILY_DIAGONAL, B, d, NGVI_MOMENTS, in(mean), in(covariance), NGVI_NATURAL, out(a),
                            out(c), kAbsentOutput),
               NGVI_ERROR_SIZE, {"`from_second (covariance)`", "(B, d) = (2, 3)"});
  EXPECT_ERROR(ngvi_convert(NGVI_FAMILY_FULL, B, d, NGVI_MOMENTS, in(mean), in(covariance), NGVI_NATURAL,
                            kAbsentOutput, kAbsentOutput, kAbsentOutput),
               NGVI_ERROR_NULL_POINTER, {"both absent"});
  EXPECT_ERROR(ngvi_convert(NGVI_FAMILY_FULL, std::size_t(1) << 62, 1 << 20, NGVI_MOMENTS, in(mean), in(covariance),
                            NGVI_NATURAL, out(a), out(c), kAbsentOutput),
               NGVI_ERROR_SIZE, {"more elements than size_t holds"});
}

TEST_F(CapiMisuse, ModelCreateGlm) {
  const auto& p = problems;
  ngvi_model* m = reinterpret_cast<ngvi_model*>(this);
  const std::vector<float> x32(p.x.begin(), p.x.end());
  const std::vector<std::int64_t> offsets = {0, 5, 10}, decreasing = {0, 6, 5}, negative = {0, 0, -5};
  const std::vector<std::int32_t> offsets32 = {0, 5, 10};
  auto create = [&](ngvi_likelihood likelihood, std::size_t rows, ngvi_input_array x, ngvi_input_array y,
                    ngvi_input_array offs, const ngvi_prior* prior = nullptr, double noise_sd = 1.0) {
    return ngvi_model_create_glm(&m, likelihood, B, d, rows, x, y, offs, prior, noise_sd);
  };
  EXPECT_ERROR(ngvi_model_create_glm(nullptr, NGVI_LOGISTIC, B, d, 5, in(p.x), in(p.y), kAbsentInput, nullptr, 1.0),
               NGVI_ERROR_NULL_POINTER, {"ngvi_model_create_glm", "`model`"});
  EXPECT_ERROR(create(static_cast<ngvi_likelihood>(4), 5, in(p.x), in(p.y), kAbsentInput), NGVI_ERROR_INVALID_ARGUMENT,
               {"likelihood = 4"});
  EXPECT_EQ(m, nullptr);
  EXPECT_ERROR(ngvi_model_create_glm(&m, NGVI_LOGISTIC, B, -1, 5, in(p.x), in(p.y), kAbsentInput, nullptr, 1.0),
               NGVI_ERROR_INVALID_ARGUMENT, {"dimension = -1"});
  EXPECT_ERROR(create(NGVI_LOGISTIC, 5, in(offsets), in(p.y), kAbsentInput), NGVI_ERROR_DTYPE, {"x.dtype", "int64"});
  EXPECT_ERROR(create(NGVI_LOGISTIC, 5, in(x32), in(p.y), kAbsentInput), NGVI_ERROR_DTYPE,
               {"`y`", "float64", "float32"});
  EXPECT_ERROR(create(NGVI_LOGISTIC, 5, kAbsentInput, in(p.y), kAbsentInput), NGVI_ERROR_NULL_POINTER, {"`x`"});
  EXPECT_ERROR(create(NGVI_LOGISTIC, 4, in(p.x), in(p.y), kAbsentInput), NGVI_ERROR_SIZE,
               {"`x`", "(B, N, d) = (2, 4, 3)"});
  EXPECT_ERROR(create(NGVI_LOGISTIC, 5, in(p.x), ngvi_in_f64(p.y.data(), 9), kAbsentInput), NGVI_ERROR_SIZE,
               {"`y`", "(B, N) = (2, 5)"});
  EXPECT_ERROR(create(NGVI_LOGISTIC, 0, in(p.x), in(p.y), ngvi_in_i64(offsets.data(), 2)), NGVI_ERROR_SIZE,
               {"`offsets`", "(B + 1) = (3)"});
  EXPECT_ERROR(create(NGVI_LOGISTIC, 0, in(p.x), in(p.y),
                      ngvi_in_array(offsets32.data(), offsets32.size(), NGVI_INT32)),
               NGVI_ERROR_DTYPE, {"`offsets`", "int64"});
  EXPECT_ERROR(create(NGVI_LOGISTIC, 5, in(p.x), in(p.y), in(offsets)), NGVI_ERROR_INVALID_ARGUMENT,
               {"rows_per_problem = 5"});
  EXPECT_ERROR(create(NGVI_LOGISTIC, 0, in(p.x), in(p.y), in(negative)), NGVI_ERROR_INVALID_ARGUMENT,
               {"offsets[B] = -5"});
  EXPECT_ERROR(create(NGVI_LOGISTIC, 0, ngvi_in_f64(p.x.data(), 15), ngvi_in_f64(p.y.data(), 5), in(decreasing)),
               NGVI_ERROR_INVALID_ARGUMENT, {"offsets must not decrease"});
  EXPECT_ERROR(create(NGVI_LINEAR, 5, in(p.x), in(p.y), kAbsentInput, nullptr, 0.0), NGVI_ERROR_INVALID_ARGUMENT,
               {"noise_sd"});
  EXPECT_EQ(m, nullptr);
  ASSERT_OK(create(NGVI_LOGISTIC, 0, in(p.x), in(p.y), in(offsets)));
  Model ragged(m);
}

TEST_F(CapiMisuse, Priors) {
  const auto& p = problems;
  ngvi_model* m = nullptr;
  ngvi_prior prior;
  EXPECT_ERROR(ngvi_prior_defaults(nullptr, sizeof prior), NGVI_ERROR_NULL_POINTER, {"ngvi_prior_defaults", "`prior`"});
  EXPECT_ERROR(ngvi_prior_defaults(&prior, sizeof prior + 8), NGVI_ERROR_STRUCT_SIZE, {"struct_size"});
  ASSERT_OK(ngvi_prior_init(&prior));
  auto create = [&](const ngvi_prior& pr) {
    return ngvi_model_create_glm(&m, NGVI_LOGISTIC, B, d, 5, in(p.x), in(p.y), kAbsentInput, &pr, 1.0);
  };
  const std::vector<double> three = {1, 2, 3}, not_spd = {1, 2, 0, 2, 1, 0, 0, 0, 1};
  const std::vector<float> one32 = {1};
  ngvi_prior bad = prior;
  bad.struct_size = 8;
  EXPECT_ERROR(create(bad), NGVI_ERROR_STRUCT_SIZE, {"ngvi_model_create_glm", "prior->struct_size = 8"});
  bad = prior;
  bad.kind = static_cast<ngvi_prior_kind>(9);
  EXPECT_ERROR(create(bad), NGVI_ERROR_INVALID_ARGUMENT, {"prior->kind = 9"});
  bad = prior;
  bad.precision = in(three);
  EXPECT_ERROR(create(bad), NGVI_ERROR_SIZE, {"`prior->precision`", "3 elements", "(1) = (1) or (B) = (2)"});
  bad.precision = in(one32);
  EXPECT_ERROR(create(bad), NGVI_ERROR_DTYPE, {"`prior->precision`", "float32"});
  bad = prior;
  bad.mean = in(three);
  bad.mean.size = 2;
  EXPECT_ERROR(create(bad), NGVI_ERROR_SIZE, {"`prior->mean`", "(d) = (3) or (B, d) = (2, 3)"});
  bad = prior;
  bad.kind = NGVI_PRIOR_FULL;
  EXPECT_ERROR(create(bad), NGVI_ERROR_NULL_POINTER, {"`prior->precision`"});
  bad.precision = in(not_spd);
  EXPECT_ERROR(create(bad), NGVI_ERROR_INVALID_ARGUMENT, {"positive definite"});
  bad = prior;
  bad.kind = NGVI_PRIOR_NONE;
  bad.mean = in(three);
  EXPECT_ERROR(create(bad), NGVI_ERROR_INVALID_ARGUMENT, {"NGVI_PRIOR_NONE"});
  EXPECT_EQ(m, nullptr);
}

TEST_F(CapiMisuse, ModelCreateQuadratic) {
  ngvi_model* m = nullptr;
  const std::vector<double> centers(B * d), curvatures(B * d * d), wrong(d * d + 1);
  const std::vector<float> centers32(B * d);
  const std::vector<std::int64_t> ints(B * d);
  EXPECT_ERROR(ngvi_model_create_quadratic(nullptr, B, d, in(centers), in(curvatures), nullptr),
               NGVI_ERROR_NULL_POINTER, {"ngvi_model_create_quadratic", "`model`"});
  EXPECT_ERROR(ngvi_model_create_quadratic(&m, B, 0, in(centers), in(curvatures), nullptr), NGVI_ERROR_INVALID_ARGUMENT,
               {"dimension = 0"});
  EXPECT_ERROR(ngvi_model_create_quadratic(&m, B, d, ngvi_in_f64(centers.data(), 5), in(curvatures), nullptr),
               NGVI_ERROR_SIZE, {"`centers`", "(B, d) = (2, 3)"});
  EXPECT_ERROR(ngvi_model_create_quadratic(&m, B, d, in(centers), in(wrong), nullptr), NGVI_ERROR_SIZE,
               {"`curvatures`", "(d, d) = (3, 3) or (B, d, d) = (2, 3, 3)"});
  EXPECT_ERROR(ngvi_model_create_quadratic(&m, B, d, in(centers32), in(curvatures), nullptr), NGVI_ERROR_DTYPE,
               {"`curvatures`", "float32"});
  EXPECT_ERROR(ngvi_model_create_quadratic(&m, B, d, in(ints), in(curvatures), nullptr),
               NGVI_ERROR_DTYPE, {"centers.dtype", "int64"});
  EXPECT_EQ(m, nullptr);
}

TEST_F(CapiMisuse, Options) {
  ngvi_options options;
  EXPECT_ERROR(ngvi_options_defaults(nullptr, sizeof options), NGVI_ERROR_NULL_POINTER,
               {"ngvi_options_defaults", "`options`"});
  EXPECT_ERROR(ngvi_options_defaults(&options, 4), NGVI_ERROR_STRUCT_SIZE, {"struct_size = 4"});
  ASSERT_OK(ngvi_options_init(&options));
  const ngvi::Options defaults;
  EXPECT_EQ(options.samples, defaults.samples);
  EXPECT_EQ(options.step_size, defaults.step_size);
  EXPECT_EQ(options.max_steps, defaults.max_steps);
  EXPECT_EQ(options.tolerance, defaults.tolerance);
  EXPECT_EQ(options.antithetic, 1);
  EXPECT_EQ(options.progress, nullptr);
}

TEST_F(CapiMisuse, Fit) {
  ngvi_options options;
  ASSERT_OK(ngvi_options_init(&options));
  ngvi_summary* s = reinterpret_cast<ngvi_summary*>(this);
  EXPECT_ERROR(ngvi_fit(nullptr, batch.get(), &options, &s), NGVI_ERROR_INVALID_HANDLE, {"ngvi_fit", "`model`"});
  EXPECT_EQ(s, nullptr);
  EXPECT_ERROR(ngvi_fit(model.get(), nullptr, &options, &s), NGVI_ERROR_INVALID_HANDLE, {"`batch`"});
  EXPECT_ERROR(ngvi_fit(model.get(), model_as_batch(), &options, &s), NGVI_ERROR_INVALID_HANDLE, {"ngvi_batch"});
  ngvi_options bad = options;
  bad.struct_size = sizeof options - 4;  // no layout ends there
  EXPECT_ERROR(ngvi_fit(model.get(), batch.get(), &bad, &s), NGVI_ERROR_STRUCT_SIZE, {"options->struct_size"});
  bad = options;
  bad.estimator = static_cast<ngvi_estimator>(17);
  EXPECT_ERROR(ngvi_fit(model.get(), batch.get(), &bad, &s), NGVI_ERROR_INVALID_ARGUMENT, {"options.estimator = 17"});
  bad = options;
  bad.rule = static_cast<ngvi_rule>(-2);
  EXPECT_ERROR(ngvi_fit(model.get(), batch.get(), &bad, &s), NGVI_ERROR_INVALID_ARGUMENT, {"options.rule = -2"});
  bad = options;
  bad.schedule = static_cast<ngvi_schedule>(4);
  EXPECT_ERROR(ngvi_fit(model.get(), batch.get(), &bad, &s), NGVI_ERROR_INVALID_ARGUMENT, {"options.schedule = 4"});
  bad = options;
  bad.samples = -1;
  EXPECT_ERROR(ngvi_fit(model.get(), batch.get(), &bad, &s), NGVI_ERROR_INVALID_ARGUMENT, {"options.samples = -1"});
  bad = options;
  bad.antithetic = 3;
  EXPECT_ERROR(ngvi_fit(model.get(), batch.get(), &bad, &s), NGVI_ERROR_INVALID_ARGUMENT,
               {"options->antithetic = 3"});
  bad = options;
  bad.trace_elbo = -1;
  EXPECT_ERROR(ngvi_fit(model.get(), batch.get(), &bad, &s), NGVI_ERROR_INVALID_ARGUMENT,
               {"options->trace_elbo = -1"});
  bad = options;
  bad.backend = NGVI_BACKEND_CUDA;
  if (ngvi_backend_available(NGVI_BACKEND_CUDA) == NGVI_ERROR_UNAVAILABLE)  // a GPU machine fits: tested there
    EXPECT_ERROR(ngvi_fit(model.get(), batch.get(), &bad, &s), NGVI_ERROR_UNAVAILABLE, {"CUDA"});
  bad.backend = static_cast<ngvi_backend>(3);
  EXPECT_ERROR(ngvi_fit(model.get(), batch.get(), &bad, &s), NGVI_ERROR_INVALID_ARGUMENT, {"options.backend = 3"});
  Batch batch32 = make_batch(B, d, NGVI_FLOAT32);
  EXPECT_ERROR(ngvi_fit(model.get(), batch32.get(), &options, &s), NGVI_ERROR_DTYPE, {"float64", "float32"});
  Batch wider = make_batch(B, d + 1, NGVI_FLOAT64);
  EXPECT_ERROR(ngvi_fit(model.get(), wider.get(), &options, &s), NGVI_ERROR_SIZE, {"(B, d) = (2, 3)", "(2, 4)"});
  EXPECT_EQ(s, nullptr);
}

TEST_F(CapiMisuse, Summary) {
  ngvi_summary_info info;
  info.struct_size = sizeof info;
  std::vector<std::int32_t> ints(B);
  std::vector<double> doubles(B), trace(1);
  char buffer[4];
  EXPECT_ERROR(ngvi_summary_get_info(nullptr, &info), NGVI_ERROR_INVALID_HANDLE,
               {"ngvi_summary_get_info", "`summary`"});
  EXPECT_ERROR(ngvi_summary_get_info(summary.get(), nullptr), NGVI_ERROR_NULL_POINTER, {"`info`"});
  info.struct_size = 16;
  EXPECT_ERROR(ngvi_summary_get_info(summary.get(), &info), NGVI_ERROR_STRUCT_SIZE, {"info->struct_size = 16"});
  EXPECT_ERROR(ngvi_summary_get(nullptr, NGVI_SUMMARY_STATUS, out(ints)), NGVI_ERROR_INVALID_HANDLE,
               {"ngvi_summary_get"});
  EXPECT_ERROR(ngvi_summary_get(summary.get(), static_cast<ngvi_summary_field>(9), out(ints)),
               NGVI_ERROR_INVALID_ARGUMENT, {"field = 9"});
  EXPECT_ERROR(ngvi_summary_get(summary.get(), NGVI_SUMMARY_STATUS, out(doubles)), NGVI_ERROR_DTYPE,
               {"`out`", "float64", "int32"});
  EXPECT_ERROR(ngvi_summary_get(summary.get(), NGVI_SUMMARY_ELBO, out(ints)), NGVI_ERROR_DTYPE, {"int32", "float64"});
  EXPECT_ERROR(ngvi_summary_get(summary.get(), NGVI_SUMMARY_ELBO_TRACE, out(trace)), NGVI_ERROR_SIZE,
               {"(elbo_trace_length) = (0)"});
  EXPECT_ERROR(ngvi_summary_report(nullptr, 0, buffer, sizeof buffer, nullptr), NGVI_ERROR_INVALID_HANDLE,
               {"ngvi_summary_report"});
  EXPECT_ERROR(ngvi_summary_report(summary.get(), 0, nullptr, 10, nullptr), NGVI_ERROR_NULL_POINTER,
               {"`buffer`", "buffer_size = 10"});
  EXPECT_ERROR(ngvi_summary_report(summary.get(), 2, buffer, sizeof buffer, nullptr), NGVI_ERROR_INVALID_ARGUMENT,
               {"full = 2"});
}

TEST(CapiErrors, NamesOfOutOfRangeValuesAreUnknown) {
  EXPECT_STREQ(ngvi_status_name(static_cast<ngvi_status>(99)), "unknown");
  EXPECT_STREQ(ngvi_fit_status_name(NGVI_FIT_STATUS_COUNT), "unknown");
  EXPECT_STREQ(ngvi_fit_status_name(-1), "unknown");
  EXPECT_STREQ(ngvi_conversion_status_name(3), "unknown");
  EXPECT_STREQ(ngvi_fit_status_name(NGVI_FIT_NOT_POSITIVE_DEFINITE), "not_positive_definite");
  EXPECT_STREQ(ngvi_fit_status_message(NGVI_FIT_STEP_BUDGET), ngvi::status_message(ngvi::Status::StepBudget));
  EXPECT_STREQ(ngvi_conversion_status_name(NGVI_CONVERSION_NON_FINITE), "non_finite");
  EXPECT_STREQ(ngvi_version(), NGVI_VERSION_STRING);
}

TEST(CapiErrors, TheLastErrorIsPerThread) {
  std::uint32_t not_a_handle = 0;
  EXPECT_EQ(ngvi_batch_destroy(reinterpret_cast<ngvi_batch*>(&not_a_handle)), NGVI_ERROR_INVALID_HANDLE);
  const std::string here = ngvi_last_error();
  EXPECT_NE(here.find("ngvi_batch_destroy"), std::string::npos);
  std::string there = "unset";
  std::thread([&] {
    there = ngvi_last_error();  // nothing failed on this thread
    ngvi_options options;
    EXPECT_EQ(ngvi_options_defaults(&options, 1), NGVI_ERROR_STRUCT_SIZE);
  }).join();
  EXPECT_EQ(there, "");
  EXPECT_EQ(ngvi_last_error(), here);  // the other thread's failure did not overwrite it
}

}  // namespace
