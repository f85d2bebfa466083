// The ask/tell optimizer of the C ABI. Driven through ngvi.h by a model computed outside the library,
// it must end bit for bit where ngvi::fit ends on a PointwiseModel computing the same functions (the
// oracle: the C++ API of the same shared library). Its misuse (tell before ask, wrong sizes, null or
// mistyped arrays, a batch changed while it is being fitted) must return a status and a message.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "capi_test_util.hpp"
#include "ngvi/ngvi.h"
#include "ngvi/ngvi.hpp"

namespace {

using namespace ngvi::capi_test;

// The caller's model, as plain functions of (problem, point): a smooth non-Gaussian target
// f_b(z) = sum_i cosh(z_i - c_bi) + 0.3 sum_i z_i z_{i+1}, with c_bi = 0.1 (b + 1) (i - 1).
template <class T>
T center(std::size_t b, int i) {
  return T(0.1) * T(b + 1) * T(i - 1);
}
template <class T>
T target_value(std::size_t b, const T* z, int d) {
  T f = 0;
  for (int i = 0; i < d; ++i) f += std::cosh(z[i] - center<T>(b, i));
  for (int i = 0; i + 1 < d; ++i) f += T(0.3) * z[i] * z[i + 1];
  return f;
}
template <class T>
void target_gradient(std::size_t b, const T* z, int d, T* g) {
  for (int i = 0; i < d; ++i) g[i] = std::sinh(z[i] - center<T>(b, i));
  for (int i = 0; i + 1 < d; ++i) {
    g[i] += T(0.3) * z[i + 1];
    g[i + 1] += T(0.3) * z[i];
  }
}
template <class T>
void target_hessian(std::size_t b, const T* z, int d, T* h) {
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) h[i * d + j] = i == j ? std::cosh(z[i] - center<T>(b, i)) : (std::abs(i - j) == 1 ? T(0.3) : T(0));
}

// The same functions as a functor for ngvi::make_model (the C++ oracle).
template <class T>
struct Target {
  int d;
  T value(std::size_t b, const T* z) const { return target_value(b, z, d); }
  T gradient(std::size_t b, const T* z, T* g) const {
    target_gradient(b, z, d, g);
    return target_value(b, z, d);
  }
  void hessian(std::size_t b, const T* z, T* h) const { target_hessian(b, z, d, h); }
};

// Answers every request of `optimizer` through the C ABI alone, point by point, until it is done.
template <class T>
void drive(ngvi_optimizer* optimizer, bool diagonal) {
  std::vector<T> values, gradients, hessians, hessian;
  for (int32_t done = 0; ngvi_optimizer_done(optimizer, &done) == NGVI_OK && !done;) {
    ngvi_ask ask;
    ask.struct_size = sizeof ask;
    ASSERT_OK(ngvi_optimizer_ask(optimizer, &ask));
    ASSERT_EQ(ask.dtype, dtype_of<T>());
    const int d = ask.dimension;
    const std::size_t points = ask.count * ask.samples, m = diagonal ? d : d * d;
    const T* z = static_cast<const T*>(ask.points);
    values.assign(points, T(0));
    gradients.assign(ask.needs_gradients ? points * d : 0, T(0));
    hessians.assign(ask.needs_hessians ? points * m : 0, T(0));
    hessian.resize(d * d);
    for (std::size_t p = 0; p < points; ++p) {
      const std::size_t b = ask.distributions[p / ask.samples];
      values[p] = target_value(b, z + p * d, d);
      if (ask.needs_gradients) target_gradient(b, z + p * d, d, &gradients[p * d]);
      if (ask.needs_hessians) {
        target_hessian(b, z + p * d, d, hessian.data());
        for (std::size_t k = 0; k < m; ++k) hessians[p * m + k] = hessian[diagonal ? k * (d + 1) : k];
      }
    }
    ASSERT_OK(ngvi_optimizer_tell(optimizer, in(values), ask.needs_gradients ? in(gradients) : kAbsentInput,
                                  ask.needs_hessians ? in(hessians) : kAbsentInput));
  }
}

template <class T>
class CapiOptimizer : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(CapiOptimizer, Scalars);

TYPED_TEST(CapiOptimizer, DrivenFromCItEqualsFitOfThePointwiseModelBitForBit) {
  using T = TypeParam;
  const std::size_t B = 6;
  const int d = 3;
  const std::vector<T> prior_precision = {T(0.5)};
  ngvi_prior prior;
  ASSERT_OK(ngvi_prior_init(&prior));
  prior.precision = in(prior_precision);
  const auto model = ngvi::make_model<T>(B, d, Target<T>{d}, ngvi::Prior<T>::isotropic(T(0.5)));

  for (ngvi_family family : {NGVI_FAMILY_FULL, NGVI_FAMILY_DIAGONAL})
    for (ngvi_estimator estimator : {NGVI_ESTIMATOR_PRICE, NGVI_ESTIMATOR_STEIN, NGVI_ESTIMATOR_SCORE})
      for (ngvi_rule rule : {NGVI_RULE_IBLR, NGVI_RULE_BLR, NGVI_RULE_CHOLESKY_FACTOR, NGVI_RULE_ADAM}) {
        SCOPED_TRACE(testing::Message() << "family " << family << ", estimator " << estimator << ", rule " << rule);
        ngvi_options options;
        ASSERT_OK(ngvi_options_init(&options));
        options.estimator = estimator;
        options.rule = rule;
        options.samples = 8;
        options.max_steps = 30;
        options.seed = 17;
        options.trace_elbo = 1;
        options.step_size = rule == NGVI_RULE_ADAM ? 0.05 : 0.5;
        options.adam_beta1 = 0.8;  // not the default: the field must reach the rule

        Batch batch = make_batch(B, d, dtype_of<T>(), family);
        ngvi_optimizer* o = nullptr;
        ASSERT_OK(ngvi_optimizer_create(&o, batch.get(), &options, NGVI_DERIVATIVES_HESSIAN, &prior));
        Optimizer optimizer(o);
        drive<T>(optimizer.get(), family == NGVI_FAMILY_DIAGONAL);
        ngvi_summary* s = nullptr;
        ASSERT_OK(ngvi_optimizer_summary(optimizer.get(), &s));
        Summary summary(s);

        ngvi::Options cpp;
        cpp.estimator = static_cast<ngvi::Estimator>(estimator);
        cpp.rule = static_cast<ngvi::Rule>(rule);
        cpp.samples = 8;
        cpp.max_steps = 30;
        cpp.seed = 17;
        cpp.trace_elbo = true;
        cpp.step_size = options.step_size;
        cpp.adam_beta1 = 0.8;
        ngvi::GaussianBatch<T> q(B, d, static_cast<ngvi::Family>(family));
        const ngvi::Summary want = ngvi::fit(model, q, cpp);

        std::vector<T> cpp_state(q.mean(), q.mean() + B * d);
        cpp_state.insert(cpp_state.end(), q.precision_cholesky(), q.precision_cholesky() + B * q.matrix_size());
        EXPECT_EQ(state_of<T>(batch.get()), cpp_state);
        SummaryArrays expected;
        for (ngvi::Status st : want.status) expected.status.push_back(static_cast<std::int32_t>(st));
        expected.steps.assign(want.steps.begin(), want.steps.end());
        expected.rejected.assign(want.rejected_steps.begin(), want.rejected_steps.end());
        expected.elbo = want.elbo;
        expected.last_kl = want.last_kl;
        expected.trace = want.elbo_trace;
        expected.iterations = want.iterations;
        expect_same(arrays_of(summary.get()), expected);
        EXPECT_LT(want.failures(), B);  // (BLR with the noisy score Hessian may lose one)
      }
}

TEST(CapiOptimizer, TheProgressCallbackEndsTheStepsAndTheFinalRequestFollows) {
  Batch batch = make_batch(4, 2, NGVI_FLOAT64);
  ngvi_options options;
  ASSERT_OK(ngvi_options_init(&options));
  options.estimator = NGVI_ESTIMATOR_STEIN;
  options.progress = [](const ngvi_progress* p, void*) -> int32_t { return p->iteration < 3; };
  ngvi_optimizer* o = nullptr;
  ASSERT_OK(ngvi_optimizer_create(&o, batch.get(), &options, NGVI_DERIVATIVES_GRADIENT, nullptr));
  Optimizer optimizer(o);
  int requests = 0, finals = 0;
  for (int32_t done = 0; ngvi_optimizer_done(o, &done) == NGVI_OK && !done; ++requests) {
    ngvi_ask ask;
    ask.struct_size = sizeof ask;
    ASSERT_OK(ngvi_optimizer_ask(o, &ask));
    finals += ask.final;
    EXPECT_EQ(ask.needs_gradients, !ask.final);
    std::vector<double> values(ask.count * ask.samples), gradients(values.size() * 2);
    const double* z = static_cast<const double*>(ask.points);
    for (std::size_t p = 0; p < values.size(); ++p) {  // f = |z|^2 / 2
      values[p] = 0.5 * (z[2 * p] * z[2 * p] + z[2 * p + 1] * z[2 * p + 1]);
      gradients[2 * p] = z[2 * p];
      gradients[2 * p + 1] = z[2 * p + 1];
    }
    ASSERT_OK(ngvi_optimizer_tell(o, in(values), ask.final ? kAbsentInput : in(gradients), kAbsentInput));
  }
  EXPECT_EQ(requests, 4);  // three steps, then the final ELBOs
  EXPECT_EQ(finals, 1);
  ngvi_summary* s = nullptr;
  ASSERT_OK(ngvi_optimizer_summary(o, &s));
  Summary summary(s);
  const SummaryArrays a = arrays_of(s);
  EXPECT_EQ(a.iterations, 3);
  EXPECT_EQ(a.status, std::vector<std::int32_t>(4, NGVI_FIT_RUNNING));
  for (double e : a.elbo) EXPECT_TRUE(std::isfinite(e));
}

// ------------------------------------------------------------------------------------------------
// Misuse
// ------------------------------------------------------------------------------------------------

class CapiOptimizerMisuse : public ::testing::Test {
 protected:
  static constexpr std::size_t B = 3;
  static constexpr int d = 2;
  CapiOptimizerMisuse() {
    EXPECT_EQ(ngvi_options_init(&options), NGVI_OK);
    options.estimator = NGVI_ESTIMATOR_PRICE;
    options.samples = 4;
    options.max_steps = 2;
    batch = make_batch(B, d, NGVI_FLOAT64);
  }
  Optimizer create(ngvi_batch* b) {
    ngvi_optimizer* o = nullptr;
    EXPECT_EQ(ngvi_optimizer_create(&o, b, &options, NGVI_DERIVATIVES_HESSIAN, nullptr), NGVI_OK) << ngvi_last_error();
    return Optimizer(o);
  }
  ngvi_ask ask_of(ngvi_optimizer* o) {
    ngvi_ask ask;
    ask.struct_size = sizeof ask;
    EXPECT_EQ(ngvi_optimizer_ask(o, &ask), NGVI_OK) << ngvi_last_error();
    return ask;
  }
  ngvi_options options;
  Batch batch;
};

TEST_F(CapiOptimizerMisuse, Create) {
  ngvi_optimizer* o = reinterpret_cast<ngvi_optimizer*>(this);
  EXPECT_ERROR(ngvi_optimizer_create(nullptr, batch.get(), &options, NGVI_DERIVATIVES_HESSIAN, nullptr),
               NGVI_ERROR_NULL_POINTER, {"ngvi_optimizer_create", "`optimizer`"});
  EXPECT_ERROR(ngvi_optimizer_create(&o, nullptr, &options, NGVI_DERIVATIVES_HESSIAN, nullptr),
               NGVI_ERROR_INVALID_HANDLE, {"`batch`"});
  EXPECT_EQ(o, nullptr);
  EXPECT_ERROR(ngvi_optimizer_create(&o, batch.get(), &options, static_cast<ngvi_derivatives>(7), nullptr),
               NGVI_ERROR_INVALID_ARGUMENT, {"provided = 7"});
  EXPECT_ERROR(ngvi_optimizer_create(&o, batch.get(), &options, NGVI_DERIVATIVES_GRADIENT, nullptr),
               NGVI_ERROR_INVALID_ARGUMENT, {"options.estimator = price needs Hessians"});
  ngvi_options bad = options;
  bad.estimator = NGVI_ESTIMATOR_QUADRATURE;
  EXPECT_ERROR(ngvi_optimizer_create(&o, batch.get(), &bad, NGVI_DERIVATIVES_HESSIAN, nullptr),
               NGVI_ERROR_INVALID_ARGUMENT, {"quadrature"});
  bad = options;
  bad.backend = NGVI_BACKEND_CUDA;
  EXPECT_ERROR(ngvi_optimizer_create(&o, batch.get(), &bad, NGVI_DERIVATIVES_HESSIAN, nullptr),
               NGVI_ERROR_INVALID_ARGUMENT, {"backend = cuda"});
  bad = options;
  bad.struct_size = 12;
  EXPECT_ERROR(ngvi_optimizer_create(&o, batch.get(), &bad, NGVI_DERIVATIVES_HESSIAN, nullptr),
               NGVI_ERROR_STRUCT_SIZE, {"options->struct_size = 12"});
  const std::vector<float> precision32 = {2.f};
  ngvi_prior prior;
  ASSERT_OK(ngvi_prior_init(&prior));
  prior.precision = in(precision32);
  EXPECT_ERROR(ngvi_optimizer_create(&o, batch.get(), &options, NGVI_DERIVATIVES_HESSIAN, &prior), NGVI_ERROR_DTYPE,
               {"`prior->precision`", "float32", "float64"});
  EXPECT_EQ(o, nullptr);
}

TEST_F(CapiOptimizerMisuse, AskAndTellInTheWrongOrderOrWithWrongArrays) {
  Optimizer optimizer = create(batch.get());
  ngvi_optimizer* o = optimizer.get();
  const std::vector<double> empty;
  EXPECT_ERROR(ngvi_optimizer_tell(o, kAbsentInput, kAbsentInput, kAbsentInput), NGVI_ERROR_INVALID_OPERATION,
               {"ngvi_optimizer_tell", "no request is pending", "ngvi_optimizer_ask"});
  ngvi_ask ask;
  ask.struct_size = sizeof ask - 8;
  EXPECT_ERROR(ngvi_optimizer_ask(o, &ask), NGVI_ERROR_STRUCT_SIZE, {"ask->struct_size"});
  EXPECT_ERROR(ngvi_optimizer_ask(o, nullptr), NGVI_ERROR_NULL_POINTER, {"`ask`"});
  EXPECT_ERROR(ngvi_optimizer_ask(nullptr, &ask), NGVI_ERROR_INVALID_HANDLE, {"`optimizer`"});
  EXPECT_ERROR(ngvi_optimizer_ask(reinterpret_cast<ngvi_optimizer*>(batch.get()), &ask), NGVI_ERROR_INVALID_HANDLE,
               {"not a live ngvi_optimizer"});

  const ngvi_ask first = ask_of(o);
  const ngvi_ask again = ask_of(o);  // the same request, the same views
  EXPECT_EQ(again.points, first.points);
  EXPECT_EQ(again.distributions, first.distributions);
  ASSERT_EQ(first.count, B);
  ASSERT_EQ(first.samples, 4);
  ASSERT_TRUE(first.needs_gradients && first.needs_hessians);
  const std::size_t n = B * 4;
  std::vector<double> values(n, 1.0), gradients(n * d, 0.0), hessians(n * d * d, 0.0), short_values(n - 1);
  std::vector<float> values32(n);
  for (std::size_t p = 0; p < n; ++p) hessians[p * d * d] = hessians[p * d * d + 3] = 1.0;
  EXPECT_ERROR(ngvi_optimizer_tell(o, in(short_values), in(gradients), in(hessians)), NGVI_ERROR_SIZE,
               {"`values`", "11 elements", "(count, S) = (3, 4)"});
  EXPECT_ERROR(ngvi_optimizer_tell(o, in(values32), in(gradients), in(hessians)), NGVI_ERROR_DTYPE,
               {"`values`", "float32", "float64"});
  EXPECT_ERROR(ngvi_optimizer_tell(o, in(values), kAbsentInput, in(hessians)), NGVI_ERROR_NULL_POINTER,
               {"`gradients`", "(count, S, d) = (3, 4, 2)"});
  EXPECT_ERROR(ngvi_optimizer_tell(o, in(values), in(gradients), ngvi_in_f64(nullptr, n * d * d)),
               NGVI_ERROR_NULL_POINTER, {"`hessians`", "data = NULL"});
  EXPECT_ERROR(ngvi_optimizer_tell(o, in(values), in(gradients), in(gradients)), NGVI_ERROR_SIZE,
               {"`hessians`", "(count, S, d, d) = (3, 4, 2, 2)"});
  ngvi_input_array device = in(values);
  device.memory = NGVI_MEMORY_DEVICE;
  EXPECT_ERROR(ngvi_optimizer_tell(o, device, in(gradients), in(hessians)), NGVI_ERROR_UNAVAILABLE,
               {"`values`", "device array"});
  // None of the refused tells consumed the request.
  ASSERT_OK(ngvi_optimizer_tell(o, in(values), in(gradients), in(hessians)));
  EXPECT_ERROR(ngvi_optimizer_tell(o, in(values), in(gradients), in(hessians)), NGVI_ERROR_INVALID_OPERATION,
               {"no request is pending"});

  // Run to the end; then asking is refused and the optimizer says it is done.
  // (The final request has options.final_samples points per distribution.)
  for (int32_t done = 0; ngvi_optimizer_done(o, &done) == NGVI_OK && !done;) {
    const ngvi_ask a = ask_of(o);
    std::vector<double> final_values(a.count * a.samples, 1.0);
    ASSERT_OK(ngvi_optimizer_tell(o, in(a.final ? final_values : values), a.final ? kAbsentInput : in(gradients),
                                  a.final ? kAbsentInput : in(hessians)));
  }
  ask.struct_size = sizeof ask;
  EXPECT_ERROR(ngvi_optimizer_ask(o, &ask), NGVI_ERROR_INVALID_OPERATION, {"the optimizer is done"});
  EXPECT_ERROR(ngvi_optimizer_done(o, nullptr), NGVI_ERROR_NULL_POINTER, {"`done`"});
  EXPECT_ERROR(ngvi_optimizer_summary(o, nullptr), NGVI_ERROR_NULL_POINTER, {"`summary`"});
  EXPECT_ERROR(ngvi_optimizer_summary(nullptr, nullptr), NGVI_ERROR_INVALID_HANDLE, {"ngvi_optimizer_summary"});
  EXPECT_EQ(ngvi_optimizer_destroy(nullptr), NGVI_OK);
}

TEST_F(CapiOptimizerMisuse, TheDiagonalFamilyTakesHessianDiagonals) {
  Batch diagonal = make_batch(B, d, NGVI_FLOAT64, NGVI_FAMILY_DIAGONAL);
  Optimizer optimizer = create(diagonal.get());
  ask_of(optimizer.get());
  const std::size_t n = B * 4;
  std::vector<double> values(n, 1.0), gradients(n * d, 0.0), full(n * d * d, 1.0), diagonals(n * d, 1.0);
  EXPECT_ERROR(ngvi_optimizer_tell(optimizer.get(), in(values), in(gradients), in(full)), NGVI_ERROR_SIZE,
               {"`hessians`", "(count, S, d) = (3, 4, 2)"});
  ASSERT_OK(ngvi_optimizer_tell(optimizer.get(), in(values), in(gradients), in(diagonals)));
}

TEST_F(CapiOptimizerMisuse, ABatchBeingFittedCanBeReadButNotChanged) {
  Optimizer optimizer = create(batch.get());
  std::vector<double> mean(B * d), covariance(B * d * d);
  ASSERT_OK(ngvi_batch_get(batch.get(), NGVI_MOMENTS, out(mean), out(covariance)));
  EXPECT_ERROR(ngvi_batch_set(batch.get(), NGVI_MOMENTS, in(mean), in(covariance), kAbsentOutput),
               NGVI_ERROR_INVALID_OPERATION, {"ngvi_batch_set", "`batch`", "ngvi_optimizer"});
  EXPECT_ERROR(ngvi_batch_destroy(batch.get()), NGVI_ERROR_INVALID_OPERATION, {"ngvi_batch_destroy"});
  ngvi_optimizer* second = nullptr;
  EXPECT_ERROR(ngvi_optimizer_create(&second, batch.get(), &options, NGVI_DERIVATIVES_HESSIAN, nullptr),
               NGVI_ERROR_INVALID_OPERATION, {"ngvi_optimizer_create"});
  const std::vector<double> centers(B * d), curvature = {1, 0, 0, 1};
  ngvi_model* m = nullptr;
  ASSERT_OK(ngvi_model_create_quadratic(&m, B, d, in(centers), in(curvature), nullptr));
  Model model(m);
  EXPECT_ERROR(ngvi_fit(model.get(), batch.get(), nullptr, nullptr), NGVI_ERROR_INVALID_OPERATION, {"ngvi_fit"});
  EXPECT_ERROR(ngvi_resume(model.get(), batch.get(), "unused.ckpt", nullptr, nullptr), NGVI_ERROR_INVALID_OPERATION,
               {"ngvi_resume"});
  optimizer.reset();
  ASSERT_OK(ngvi_fit(model.get(), batch.get(), nullptr, nullptr));  // released with the optimizer
}

TEST(CapiOptimizer, AnEmptyBatchGivesOneEmptyRequestThatNeedsNoArrays) {
  Batch empty = make_batch(0, 2, NGVI_FLOAT64);
  ngvi_optimizer* o = nullptr;
  ASSERT_OK(ngvi_optimizer_create(&o, empty.get(), nullptr, NGVI_DERIVATIVES_VALUE, nullptr));
  Optimizer optimizer(o);
  ngvi_ask ask;
  ask.struct_size = sizeof ask;
  ASSERT_OK(ngvi_optimizer_ask(o, &ask));
  EXPECT_EQ(ask.count, 0u);
  EXPECT_EQ(ask.final, 1);
  ASSERT_OK(ngvi_optimizer_tell(o, kAbsentInput, kAbsentInput, kAbsentInput));
  int32_t done = 0;
  ASSERT_OK(ngvi_optimizer_done(o, &done));
  EXPECT_EQ(done, 1);
}

}  // namespace
