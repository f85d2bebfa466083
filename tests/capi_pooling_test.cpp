// ngvi_fit_pooled against its oracle, the exported C++ ngvi::fit_pooled on the same data (bit for bit),
// and its argument checks; ngvi_fit_pooled and ngvi_fit_online_round against ngvi_fit on bad options.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "capi_test_util.hpp"
#include "ngvi/models.hpp"
#include "ngvi/pooling.hpp"

namespace ngvi::capi_test {
namespace {

struct Rows {
  std::size_t B = 8, n = 6;
  int d = 2;
  std::vector<double> x, y;
  Rows() {
    std::mt19937 rng(4);
    std::normal_distribution<double> normal;
    const double shift = normal(rng);
    for (std::size_t b = 0; b < B; ++b) {
      const double z0 = 1.0 + normal(rng), z1 = shift + normal(rng);
      for (std::size_t r = 0; r < n; ++r) {
        const double x0 = normal(rng), x1 = normal(rng);
        x.push_back(x0);
        x.push_back(x1);
        y.push_back(x0 * z0 + x1 * z1 + 0.5 * normal(rng));
      }
    }
  }
  // The rows as a linear regression through the C ABI.
  Model linear_model(double noise_sd) const {
    ngvi_model* raw = nullptr;
    EXPECT_EQ(ngvi_model_create_glm(&raw, NGVI_LINEAR, B, d, n, in(x), in(y), kAbsentInput, nullptr, noise_sd), NGVI_OK)
        << ngvi_last_error();
    return Model(raw);
  }
};

// A linear-regression model of the rows (noise sd 0.5) and a standard-normal batch of its shape.
class CapiPooling : public ::testing::Test {
 protected:
  const Rows rows;
  const Model model = rows.linear_model(0.5);
  Batch batch = make_batch(rows.B, rows.d, NGVI_FLOAT64);
};

TEST_F(CapiPooling, MatchesTheCppFitPooled) {
  ngvi_options options;
  ASSERT_OK(ngvi_options_defaults(&options, sizeof options));
  options.backend = NGVI_BACKEND_CPU;
  ngvi_pooling_options pooling;
  ASSERT_OK(ngvi_pooling_options_defaults(&pooling, sizeof pooling));
  pooling.max_rounds = 20;
  pooling.hyperprior_scale = 0.5;
  pooling.hyperprior_dof = 3.0;
  std::vector<double> mean(rows.d), precision(rows.d * rows.d), elbo(pooling.max_rounds);
  std::int32_t rounds = 0, converged = -1;
  ngvi_summary* raw_summary = nullptr;
  ASSERT_OK(ngvi_fit_pooled(model.get(), batch.get(), &options, &pooling, out(mean), out(precision), out(elbo),
                            &rounds, &converged, &raw_summary));
  const Summary summary(raw_summary);

  const LinearRegression<double> cpp_model(RegressionData<double>::dense(rows.x.data(), rows.y.data(), rows.B,
                                                                         rows.n, rows.d),
                                           0.5);
  GaussianBatch<double> cpp_batch(rows.B, rows.d);
  Options cpp_options;
  cpp_options.backend = Backend::Cpu;
  PoolingOptions cpp_pooling;
  cpp_pooling.max_rounds = 20;
  cpp_pooling.hyperprior_scale = 0.5;
  cpp_pooling.hyperprior_dof = 3.0;
  const PooledFit<double> oracle = fit_pooled(cpp_model, cpp_batch, cpp_options, cpp_pooling);

  EXPECT_EQ(mean, oracle.prior_mean);
  EXPECT_EQ(precision, oracle.prior_precision);
  ASSERT_EQ(static_cast<std::size_t>(rounds), oracle.elbo.size());
  EXPECT_EQ(converged, oracle.converged ? 1 : 0);
  for (std::size_t k = 0; k < elbo.size(); ++k) {
    if (k < oracle.elbo.size()) {
      EXPECT_EQ(elbo[k], oracle.elbo[k]);
    } else {
      EXPECT_TRUE(std::isnan(elbo[k])) << "round " << k << " did not run";
    }
  }
  std::vector<double> state(rows.B * rows.d);
  ASSERT_OK(ngvi_batch_get(batch.get(), NGVI_MOMENTS, out(state), kAbsentOutput));
  EXPECT_EQ(state, std::vector<double>(cpp_batch.mean(), cpp_batch.mean() + rows.B * rows.d));
  ngvi_summary_info info{};
  info.struct_size = sizeof info;
  ASSERT_OK(ngvi_summary_get_info(summary.get(), &info));
  EXPECT_EQ(info.batch_size, rows.B);
}

TEST_F(CapiPooling, BadArgumentsAreNamed) {
  ngvi_pooling_options pooling;
  EXPECT_ERROR(ngvi_pooling_options_defaults(&pooling, sizeof pooling + 4), NGVI_ERROR_STRUCT_SIZE, {"struct_size"});
  ASSERT_OK(ngvi_pooling_options_defaults(&pooling, sizeof pooling));
  pooling.max_rounds = 0;
  EXPECT_ERROR(ngvi_fit_pooled(model.get(), batch.get(), nullptr, &pooling, kAbsentOutput, kAbsentOutput,
                               kAbsentOutput, nullptr, nullptr, nullptr),
               NGVI_ERROR_INVALID_ARGUMENT, {"ngvi_fit_pooled", "pooling.max_rounds = 0"});
  pooling.max_rounds = 3;
  std::vector<double> short_mean(1);
  EXPECT_ERROR(ngvi_fit_pooled(model.get(), batch.get(), nullptr, &pooling, out(short_mean), kAbsentOutput,
                               kAbsentOutput, nullptr, nullptr, nullptr),
               NGVI_ERROR_SIZE, {"prior_mean"});
  EXPECT_ERROR(ngvi_fit_pooled(nullptr, batch.get(), nullptr, &pooling, kAbsentOutput, kAbsentOutput, kAbsentOutput,
                               nullptr, nullptr, nullptr),
               NGVI_ERROR_INVALID_HANDLE, {"`model`"});
}


// The status of a call and its message without the "function: " prefix that names the call.
struct Outcome {
  ngvi_status status;
  std::string message;
};
Outcome outcome(ngvi_status status, const std::string& function) {
  const std::string message = ngvi_last_error(), prefix = function + ": ";
  EXPECT_EQ(message.rfind(prefix, 0), 0u) << message;
  return {status, message.substr(std::min(prefix.size(), message.size()))};
}

// Pooled fits and online rounds take their options through ngvi_fit's checks: each bad option is the
// same status and message as ngvi_fit's, an unavailable CUDA backend included, and no summary.
TEST_F(CapiPooling, BadOptionsAreReportedAsNgviFitReportsThem) {
  ngvi_options options;
  ASSERT_OK(ngvi_options_defaults(&options, sizeof options));
  const bool cuda_unavailable = ngvi_backend_available(NGVI_BACKEND_CUDA) == NGVI_ERROR_UNAVAILABLE;
  std::vector<ngvi_options> bad(7, options);
  bad[0].struct_size = sizeof options - 4;
  bad[1].estimator = static_cast<ngvi_estimator>(17);
  bad[2].rule = static_cast<ngvi_rule>(-2);
  bad[3].samples = -1;
  bad[4].antithetic = 3;
  bad[5].backend = static_cast<ngvi_backend>(3);
  bad[6].backend = NGVI_BACKEND_CUDA;
  if (!cuda_unavailable) bad.pop_back();  // a GPU machine would fit: nothing to report
  for (const ngvi_options& o : bad) {
    ngvi_summary* s = reinterpret_cast<ngvi_summary*>(&s);
    const Outcome want = outcome(ngvi_fit(model.get(), batch.get(), &o, &s), "ngvi_fit");
    EXPECT_NE(want.status, NGVI_OK);
    EXPECT_EQ(s, nullptr);
    s = reinterpret_cast<ngvi_summary*>(&s);
    const Outcome pooled = outcome(ngvi_fit_pooled(model.get(), batch.get(), &o, nullptr, kAbsentOutput, kAbsentOutput,
                                                   kAbsentOutput, nullptr, nullptr, &s),
                                   "ngvi_fit_pooled");
    EXPECT_EQ(s, nullptr);
    s = reinterpret_cast<ngvi_summary*>(&s);
    const Outcome online =
        outcome(ngvi_fit_online_round(model.get(), batch.get(), &o, 0.9, &s), "ngvi_fit_online_round");
    EXPECT_EQ(s, nullptr);
    for (const Outcome& got : {pooled, online}) {
      EXPECT_EQ(got.status, want.status) << ngvi_status_name(got.status) << ": " << got.message;
      EXPECT_EQ(got.message, want.message);
    }
  }
  if (cuda_unavailable)
    EXPECT_ERROR(ngvi_fit(model.get(), batch.get(), &bad.back(), nullptr), NGVI_ERROR_UNAVAILABLE, {"CUDA"});
}

}  // namespace
}  // namespace ngvi::capi_test
