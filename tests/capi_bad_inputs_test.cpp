// The bad-input corpus (tests/bad_inputs/manifest.json) through the C ABI: the corpus's arrays passed
// to ngvi_model_create_glm as the .npy files hold them (their own dtype), ngvi_batch_set for initial
// states, ngvi_fit.
#include <gtest/gtest.h>

#include "bad_inputs.hpp"
#include "capi_test_util.hpp"

namespace ngvi::bad_inputs {
namespace {

using namespace ngvi::capi_test;

ngvi_dtype dtype_of(const io::NpyArray& a) {
  switch (a.dtype) {
    case io::DType::Float32: return NGVI_FLOAT32;
    case io::DType::Float64: return NGVI_FLOAT64;
    case io::DType::Int32: return NGVI_INT32;
    case io::DType::Int64: return NGVI_INT64;
    default: throw std::runtime_error("the corpus's arrays for the C ABI have dtypes of ngvi.h");
  }
}

ngvi_input_array in(const io::NpyArray& a) { return ngvi_in_array(a.bytes.data(), a.size(), dtype_of(a)); }

ngvi_likelihood likelihood_of(const std::string& name) {
  if (name == "linear") return NGVI_LINEAR;
  if (name == "logistic") return NGVI_LOGISTIC;
  if (name == "poisson") return NGVI_POISSON;
  if (name == "probit") return NGVI_PROBIT;
  throw std::runtime_error("unknown model " + name);
}

// Runs the calls in order; the first that fails ends the case with its message and status name.
Outcome run(const Case& c) {
  Outcome o;
  auto failed = [&](ngvi_status status) {
    if (status == NGVI_OK) return false;
    o.error = ngvi_last_error();
    o.error_status = ngvi_status_name(status);
    return true;
  };
  const std::size_t B = c.num_problems();
  const std::size_t d = static_cast<std::size_t>(c.dimension());
  ngvi_model* model_handle = nullptr;
  const ngvi_input_array offsets = c.ragged() ? in(*c.offsets) : ngvi_input_array{};
  if (failed(ngvi_model_create_glm(&model_handle, likelihood_of(c.model), B, c.dimension(), c.rows_per_problem(),
                                   in(c.x), in(c.y), offsets, nullptr, 1.0)))
    return o;
  const Model model(model_handle);
  ngvi_batch* batch_handle = nullptr;
  if (failed(ngvi_batch_create(&batch_handle, B, c.dimension(), NGVI_FAMILY_FULL, NGVI_FLOAT64))) return o;
  const Batch batch(batch_handle);
  if (c.initial_precision) {
    const std::vector<double> mean(B * d, 0.0);
    std::vector<std::int32_t> conversion(B);
    if (failed(ngvi_batch_set(batch.get(), NGVI_PRECISION, ngvi_in_array(mean.data(), mean.size(), NGVI_FLOAT64),
                              in(*c.initial_precision), ngvi_out_array(conversion.data(), B, NGVI_INT32))))
      return o;
    for (std::int32_t s : conversion) o.conversion.push_back(ngvi_conversion_status_name(s));
  }
  ngvi_options options;
  if (failed(ngvi_options_init(&options))) return o;
  options.max_steps = c.max_steps;
  options.seed = c.seed;
  ngvi_summary* summary_handle = nullptr;
  if (failed(ngvi_fit(model.get(), batch.get(), &options, &summary_handle))) return o;
  const Summary summary(summary_handle);
  std::vector<std::int32_t> status(B);
  o.steps.resize(B);
  o.elbo.resize(B);
  o.mean.resize(B * d);
  o.factor.resize(B * d * d);
  if (failed(ngvi_summary_get(summary.get(), NGVI_SUMMARY_STATUS, ngvi_out_array(status.data(), B, NGVI_INT32))) ||
      failed(ngvi_summary_get(summary.get(), NGVI_SUMMARY_STEPS, ngvi_out_array(o.steps.data(), B, NGVI_INT32))) ||
      failed(ngvi_summary_get(summary.get(), NGVI_SUMMARY_ELBO, ngvi_out_array(o.elbo.data(), B, NGVI_FLOAT64))) ||
      failed(ngvi_batch_get(batch.get(), NGVI_PRECISION_CHOLESKY, ngvi_out_array(o.mean.data(), B * d, NGVI_FLOAT64),
                            ngvi_out_array(o.factor.data(), B * d * d, NGVI_FLOAT64))))
    return o;
  for (std::int32_t s : status) o.status.push_back(ngvi_fit_status_name(s));
  return o;
}

class BadInputs : public testing::TestWithParam<std::string> {};

TEST_P(BadInputs, CAbi) {
  const Case c = load_case(GetParam(), "capi");
  const Outcome got = run(c);
  const Outcome twin = c.expected.value("twin", false) ? run(twin_of(c, "capi")) : Outcome();
  check_outcome(c, got, &twin);
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadInputs, testing::ValuesIn(case_names("capi")),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace ngvi::bad_inputs
