// The bad-input corpus (tests/bad_inputs/manifest.json) through the C ABI: the corpus's arrays passed
// to ngvi_model_create_glm as the .npy files hold them (their own dtype), ngvi_batch_set for initial
// states, ngvi_fit.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

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

// Misuse beyond the corpus (issue 15): sizes that wrap, impossible sizes, thread counts, handles used after
// destroy, and resuming on other data. Each is refused with the status that says whose error it is.
constexpr std::size_t kSizeMax = std::numeric_limits<std::size_t>::max();

TEST(Misuse, ProblemCountsThatWrapOrCannotExistAreSizeErrors) {
  const std::vector<double> x(24, 0.5), y(12, 1.0);
  const std::vector<std::int64_t> no_offsets;
  ngvi_model* model = nullptr;
  // Ragged: B + 1 entries of offsets wraps to 0 for B = SIZE_MAX (offsets[-1] was read).
  EXPECT_ERROR(ngvi_model_create_glm(&model, NGVI_LOGISTIC, kSizeMax, 2, 0, capi_test::in(x), capi_test::in(y),
                                     ngvi_in_i64(no_offsets.data(), 0), nullptr, 1.0),
               NGVI_ERROR_SIZE, {"ngvi_model_create_glm", "num_problems = 18446744073709551615"});
  // Dense and absent offsets: was INTERNAL "cannot create std::vector larger than max_size()".
  EXPECT_ERROR(ngvi_model_create_glm(&model, NGVI_LOGISTIC, kSizeMax, 2, 0, kAbsentInput, kAbsentInput, kAbsentInput,
                                     nullptr, 1.0),
               NGVI_ERROR_SIZE, {"num_problems = 18446744073709551615", "dimension = 2"});
  EXPECT_ERROR(ngvi_model_create_glm(&model, NGVI_LOGISTIC, kSizeMax / 2, 2, 1, capi_test::in(x), capi_test::in(y), kAbsentInput, nullptr, 1.0),
               NGVI_ERROR_SIZE, {"num_problems"});
  EXPECT_EQ(model, nullptr);
  ngvi_batch* batch = nullptr;
  EXPECT_ERROR(ngvi_batch_create(&batch, kSizeMax, 1, NGVI_FAMILY_DIAGONAL, NGVI_FLOAT32), NGVI_ERROR_SIZE,
               {"ngvi_batch_create", "batch_size = 18446744073709551615"});
  EXPECT_ERROR(ngvi_batch_create(&batch, std::size_t{1} << 62, 1 << 20, NGVI_FAMILY_FULL, NGVI_FLOAT64), NGVI_ERROR_SIZE,
               {"batch_size = 4611686018427387904"});
  EXPECT_EQ(batch, nullptr);
  std::vector<double> first(2), second(4);
  EXPECT_ERROR(ngvi_convert(NGVI_FAMILY_FULL, kSizeMax, 2, NGVI_MOMENTS, capi_test::in(first), capi_test::in(second), NGVI_PRECISION,
                            out(first), out(second), kAbsentOutput),
               NGVI_ERROR_SIZE, {"ngvi_convert", "batch_size"});
}

TEST(Misuse, ThreadCountsAreBounded) {
  const std::vector<double> x(24, 0.5), y(12, 1.0);
  ngvi_model* handle = nullptr;
  ASSERT_OK(ngvi_model_create_glm(&handle, NGVI_LOGISTIC, 2, 2, 6, capi_test::in(x), capi_test::in(y), kAbsentInput, nullptr, 1.0));
  const Model model(handle);
  const Batch batch = make_batch(2, 2, NGVI_FLOAT64);
  ngvi_options options;
  ASSERT_OK(ngvi_options_init(&options));
  options.num_threads = 100000;
  EXPECT_ERROR(ngvi_fit(model.get(), batch.get(), &options, nullptr), NGVI_ERROR_INVALID_ARGUMENT,
               {"num_threads = 100000", "[1, 1024]"});
  options.num_threads = 1024;  // the bound itself is allowed, and started
  options.max_steps = 2;
  EXPECT_EQ(ngvi_fit(model.get(), batch.get(), &options, nullptr), NGVI_OK) << ngvi_last_error();
}

TEST(Misuse, DestroyingAHandleTwiceIsRefused) {
  ngvi_batch* batch = nullptr;
  ASSERT_OK(ngvi_batch_create(&batch, 3, 2, NGVI_FAMILY_FULL, NGVI_FLOAT64));
  ASSERT_OK(ngvi_batch_destroy(batch));
  EXPECT_ERROR(ngvi_batch_destroy(batch), NGVI_ERROR_INVALID_HANDLE,
               {"ngvi_batch_destroy", "not a live ngvi_batch handle", "destroyed already"});
  std::size_t B = 0;
  EXPECT_ERROR(ngvi_batch_shape(batch, &B, nullptr, nullptr, nullptr), NGVI_ERROR_INVALID_HANDLE, {"not a live"});
  const std::vector<double> x(24, 0.5), y(12, 1.0);
  ngvi_model* model = nullptr;
  ASSERT_OK(ngvi_model_create_glm(&model, NGVI_LOGISTIC, 2, 2, 6, capi_test::in(x), capi_test::in(y), kAbsentInput, nullptr, 1.0));
  ASSERT_OK(ngvi_model_destroy(model));
  EXPECT_ERROR(ngvi_model_destroy(model), NGVI_ERROR_INVALID_HANDLE, {"not a live ngvi_model handle"});
  int not_a_handle = 0;
  EXPECT_ERROR(ngvi_summary_destroy(reinterpret_cast<ngvi_summary*>(&not_a_handle)), NGVI_ERROR_INVALID_HANDLE,
               {"not a live ngvi_summary handle"});
}

TEST(Misuse, ResumingOnOtherDataOrFromADirectoryIsRefused) {
  const std::string folder = testing::TempDir();
  const std::string path = folder + "/misuse.ckpt";
  std::vector<double> x(48), y(24), other_x;
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.7 * static_cast<double>(i));
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<double>(i % 2);
  other_x = x;
  other_x[5] += 0.25;  // the same shape, one value changed
  auto model_of = [&](const std::vector<double>& xs, ngvi_likelihood likelihood) {
    ngvi_model* m = nullptr;
    EXPECT_EQ(ngvi_model_create_glm(&m, likelihood, 3, 2, 8, capi_test::in(xs), capi_test::in(y), kAbsentInput, nullptr, 1.0), NGVI_OK)
        << ngvi_last_error();
    return Model(m);
  };
  const Model model = model_of(x, NGVI_LOGISTIC);
  ngvi_options options;
  ASSERT_OK(ngvi_options_init(&options));
  options.max_steps = 6;
  options.checkpoint_path = path.c_str();
  options.checkpoint_every = 3;
  {
    const Batch batch = make_batch(3, 2, NGVI_FLOAT64);
    ASSERT_OK(ngvi_fit(model.get(), batch.get(), &options, nullptr));
  }
  options.checkpoint_path = nullptr;
  options.checkpoint_every = 0;
  for (const Model& other : {model_of(other_x, NGVI_LOGISTIC), model_of(x, NGVI_PROBIT)}) {
    const Batch batch = make_batch(3, 2, NGVI_FLOAT64);
    EXPECT_ERROR(ngvi_resume(other.get(), batch.get(), path.c_str(), &options, nullptr), NGVI_ERROR_INVALID_ARGUMENT,
                 {"ngvi_resume", "misuse.ckpt", "other data or another model"});
  }
  const Batch batch = make_batch(3, 2, NGVI_FLOAT64);
  ASSERT_OK(ngvi_resume(model.get(), batch.get(), path.c_str(), &options, nullptr));
  EXPECT_ERROR(ngvi_resume(model.get(), batch.get(), folder.c_str(), &options, nullptr), NGVI_ERROR_FILE,
               {"is a directory"});
  EXPECT_ERROR(ngvi_resume(model.get(), batch.get(), "/dev/zero", &options, nullptr), NGVI_ERROR_FILE,
               {"/dev/zero", "not an ngvi checkpoint"});
}

}  // namespace
}  // namespace ngvi::bad_inputs
