// Checkpoints and the newer options through the C ABI: a fit stopped by its progress callback and
// continued by ngvi_resume ends bit for bit as the uninterrupted fit; damaged or mismatched checkpoints
// are refused with the library's message; an ngvi_options of the first or third layout is still accepted,
// and problem_offset reaches the fit.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "capi_test_util.hpp"
#include "ngvi/ngvi.h"
#include "ngvi/synthetic.hpp"

namespace {

using namespace ngvi::capi_test;
namespace fs = std::filesystem;

class CapiCheckpoint : public ::testing::Test {
 protected:
  static constexpr std::size_t B = 30;
  static constexpr int d = 3;

  void SetUp() override {
    directory_ = fs::temp_directory_path() / ("ngvi_capi_checkpoint_" + std::to_string(::getpid()));
    fs::create_directories(directory_);
    problems_ = ngvi::SyntheticProblems<double>::generate(ngvi::Likelihood::Logistic, B, d, 20, 50, 3);
    ngvi_model* m = nullptr;
    ASSERT_OK(ngvi_model_create_glm(&m, NGVI_LOGISTIC, B, d, 0, in(problems_.x), in(problems_.y),
                                    in(problems_.offsets), nullptr, 1.0));
    model_.reset(m);
    ASSERT_OK(ngvi_options_init(&options_));
    options_.estimator = NGVI_ESTIMATOR_STEIN;
    options_.rule = NGVI_RULE_ADAM;  // a rule with state of its own (its moments), which must survive too
    options_.adam_beta2 = 0.99;
    options_.step_size = 0.05;
    options_.samples = 8;
    options_.max_steps = 60;
    options_.trace_elbo = 1;
    options_.seed = 9;
  }
  void TearDown() override { fs::remove_all(directory_); }
  std::string path(const char* name) const { return (directory_ / name).string(); }

  // Fits a fresh batch through `call` and returns the batch; the summary's arrays go to *arrays.
  template <class Call>
  Batch run(Call&& call, SummaryArrays* arrays, std::string* checkpoint_error = nullptr) {
    Batch batch = make_batch(B, d, NGVI_FLOAT64);
    ngvi_summary* s = nullptr;
    EXPECT_EQ(call(batch.get(), &s), NGVI_OK) << ngvi_last_error();
    Summary summary(s);
    *arrays = arrays_of(s);
    if (checkpoint_error) {
      size_t length = 0;
      EXPECT_EQ(ngvi_summary_checkpoint_error(s, nullptr, 0, &length), NGVI_OK);
      checkpoint_error->assign(length, '\0');
      EXPECT_EQ(ngvi_summary_checkpoint_error(s, checkpoint_error->data(), length + 1, nullptr), NGVI_OK);
    }
    return batch;
  }

  fs::path directory_;
  ngvi::SyntheticProblems<double> problems_;
  Model model_;
  ngvi_options options_;
};

int32_t stop_at_25(const ngvi_progress* progress, void*) { return progress->iteration < 25; }

TEST_F(CapiCheckpoint, AResumedFitIsBitIdenticalToAnUninterruptedOne) {
  SummaryArrays whole, stopped, resumed;
  const Batch uninterrupted =
      run([&](ngvi_batch* b, ngvi_summary** s) { return ngvi_fit(model_.get(), b, &options_, s); }, &whole);

  const std::string file = path("fit.ckpt");
  ngvi_options stopping = options_;
  stopping.checkpoint_path = file.c_str();
  stopping.checkpoint_every = 10;
  stopping.progress = stop_at_25;  // as SIGINT would
  std::string error = "unset";
  run([&](ngvi_batch* b, ngvi_summary** s) { return ngvi_fit(model_.get(), b, &stopping, s); }, &stopped, &error);
  EXPECT_EQ(stopped.iterations, 25);
  EXPECT_EQ(stopped.status, std::vector<std::int32_t>(B, NGVI_FIT_RUNNING));
  EXPECT_EQ(error, "");

  ngvi_checkpoint_info info;
  info.struct_size = sizeof info;
  ngvi_options saved;
  ASSERT_OK(ngvi_options_init(&saved));
  ASSERT_OK(ngvi_read_checkpoint_info(file.c_str(), &info, &saved));
  EXPECT_EQ(info.format_version, 4u);
  EXPECT_EQ(info.dtype, NGVI_FLOAT64);
  EXPECT_EQ(info.batch_size, B);
  EXPECT_EQ(info.dimension, d);
  EXPECT_EQ(info.family, NGVI_FAMILY_FULL);
  EXPECT_EQ(info.iteration, 25);
  EXPECT_EQ(saved.rule, NGVI_RULE_ADAM);
  EXPECT_EQ(saved.estimator, NGVI_ESTIMATOR_STEIN);
  EXPECT_EQ(saved.adam_beta2, 0.99);
  EXPECT_EQ(saved.seed, 9u);
  EXPECT_EQ(saved.max_steps, 60);
  EXPECT_EQ(saved.trace_elbo, 1);
  EXPECT_EQ(saved.checkpoint_path, nullptr);  // execution settings are not saved
  EXPECT_EQ(saved.progress, nullptr);

  // Resumed into a batch of any contents, with other execution settings (which change nothing).
  ngvi_options execution;
  ASSERT_OK(ngvi_options_init(&execution));
  execution.num_threads = 1;
  execution.seed = 12345;  // not an execution setting: the saved seed decides
  const Batch continued =
      run([&](ngvi_batch* b, ngvi_summary** s) { return ngvi_resume(model_.get(), b, file.c_str(), &execution, s); },
          &resumed);
  EXPECT_EQ(state_of<double>(continued.get()), state_of<double>(uninterrupted.get()));
  expect_same(resumed, whole);
  EXPECT_EQ(std::distance(fs::directory_iterator(directory_), fs::directory_iterator()), 1);  // no temporary left
}

TEST_F(CapiCheckpoint, DamagedOrMismatchedCheckpointsAreRefusedWithTheLibrarysMessage) {
  const std::string good = path("good.ckpt");
  ngvi_options stopping = options_;
  stopping.checkpoint_path = good.c_str();
  stopping.progress = [](const ngvi_progress* p, void*) -> int32_t { return p->iteration < 3; };
  SummaryArrays ignored;
  run([&](ngvi_batch* b, ngvi_summary** s) { return ngvi_fit(model_.get(), b, &stopping, s); }, &ignored);
  std::ifstream in_file(good, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in_file)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 200u);

  auto write = [&](const char* name, const std::vector<char>& content) {
    std::ofstream(path(name), std::ios::binary).write(content.data(), static_cast<std::streamsize>(content.size()));
    return path(name);
  };
  Batch batch = make_batch(B, d, NGVI_FLOAT64);
  auto resume = [&](const std::string& file) { return ngvi_resume(model_.get(), batch.get(), file.c_str(), nullptr, nullptr); };
  std::vector<char> flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  EXPECT_ERROR(resume(write("flipped.ckpt", flipped)), NGVI_ERROR_FILE,
               {"ngvi_resume", "flipped.ckpt", "checksum mismatch"});
  EXPECT_ERROR(resume(write("truncated.ckpt", std::vector<char>(bytes.begin(), bytes.end() - 100))), NGVI_ERROR_FILE,
               {"corrupted or truncated"});
  EXPECT_ERROR(resume(write("tiny.ckpt", std::vector<char>(bytes.begin(), bytes.begin() + 5))), NGVI_ERROR_FILE,
               {"truncated (5 bytes)"});
  EXPECT_ERROR(resume(write("text.ckpt", std::vector<char>(300, 'x'))), NGVI_ERROR_FILE, {"not an ngvi checkpoint"});
  EXPECT_ERROR(resume(path("missing.ckpt")), NGVI_ERROR_FILE, {"cannot open"});
  EXPECT_ERROR(ngvi_resume(model_.get(), batch.get(), nullptr, nullptr, nullptr), NGVI_ERROR_NULL_POINTER, {"`path`"});
  ngvi_checkpoint_info info;
  info.struct_size = sizeof info;
  EXPECT_ERROR(ngvi_read_checkpoint_info(path("flipped.ckpt").c_str(), &info, nullptr), NGVI_ERROR_FILE,
               {"ngvi_read_checkpoint_info", "checksum mismatch"});
  info.struct_size = 4;
  EXPECT_ERROR(ngvi_read_checkpoint_info(good.c_str(), &info, nullptr), NGVI_ERROR_STRUCT_SIZE,
               {"info->struct_size = 4"});
  EXPECT_ERROR(ngvi_read_checkpoint_info(good.c_str(), nullptr, nullptr), NGVI_ERROR_NULL_POINTER, {"`info`"});

  // A good checkpoint refused for the batch it is resumed into.
  Batch wider = make_batch(B, d + 1, NGVI_FLOAT64);
  EXPECT_ERROR(ngvi_resume(model_.get(), wider.get(), good.c_str(), nullptr, nullptr), NGVI_ERROR_SIZE,
               {"(B, d, family) = (30, 3, 0)", "(30, 4, 0)"});
  Batch diagonal = make_batch(B, d, NGVI_FLOAT64, NGVI_FAMILY_DIAGONAL);
  EXPECT_ERROR(ngvi_resume(model_.get(), diagonal.get(), good.c_str(), nullptr, nullptr), NGVI_ERROR_SIZE,
               {"(30, 3, 1)"});
  Batch single = make_batch(B, d, NGVI_FLOAT32);
  EXPECT_ERROR(ngvi_resume(model_.get(), single.get(), good.c_str(), nullptr, nullptr), NGVI_ERROR_DTYPE,
               {"float64 numbers but the batch holds float32"});
}

TEST_F(CapiCheckpoint, AnUnwritableCheckpointIsReportedAndTheFitGoesOn) {
  const std::string nowhere = path("no/such/directory/fit.ckpt");
  ngvi_options saving = options_;
  saving.checkpoint_path = nowhere.c_str();
  saving.checkpoint_every = 5;
  SummaryArrays with, without;
  std::string error;
  const Batch a =
      run([&](ngvi_batch* b, ngvi_summary** s) { return ngvi_fit(model_.get(), b, &saving, s); }, &with, &error);
  const Batch b =
      run([&](ngvi_batch* q, ngvi_summary** s) { return ngvi_fit(model_.get(), q, &options_, s); }, &without);
  EXPECT_NE(error.find("cannot create"), std::string::npos) << error;
  EXPECT_EQ(state_of<double>(a.get()), state_of<double>(b.get()));
  expect_same(with, without);
}

// ngvi_options as it was before the Adam and checkpoint fields were added.
struct FirstLayoutOptions {
  size_t struct_size;
  ngvi_estimator estimator;
  ngvi_rule rule;
  int32_t samples, antithetic;
  double step_size;
  ngvi_schedule schedule;
  double decay_steps, decay_power;
  int32_t max_steps;
  double tolerance;
  int32_t patience;
  uint64_t seed;
  int32_t num_threads;
  ngvi_backend backend;
  size_t minibatch_rows;
  int32_t trace_elbo;
  ngvi_progress_callback progress;
  void* progress_user_data;
};
static_assert(sizeof(FirstLayoutOptions) == offsetof(ngvi_options, adam_beta1));

TEST_F(CapiCheckpoint, OptionsOfTheFirstLayoutAreStillAcceptedWithDefaultsForTheNewFields) {
  FirstLayoutOptions old;
  auto* as_options = reinterpret_cast<ngvi_options*>(&old);  // what a program built against the first header passes
  ASSERT_OK(ngvi_options_defaults(as_options, sizeof old));
  EXPECT_EQ(old.struct_size, sizeof old);
  ngvi_options defaults;
  ASSERT_OK(ngvi_options_init(&defaults));
  EXPECT_EQ(old.samples, defaults.samples);
  EXPECT_EQ(old.max_steps, defaults.max_steps);  // the fields both layouts have take the same defaults
  auto set_fields_of_both_layouts = [](auto& options) {
    options.estimator = NGVI_ESTIMATOR_STEIN;
    options.rule = NGVI_RULE_ADAM;
    options.step_size = 0.05;
    options.samples = 8;
    options.max_steps = 20;
    options.seed = 4;
  };
  set_fields_of_both_layouts(old);
  ngvi_options current;
  ASSERT_OK(ngvi_options_init(&current));
  EXPECT_EQ(current.adam_beta1, 0.9);
  EXPECT_EQ(current.adam_beta2, 0.999);
  EXPECT_EQ(current.adam_epsilon, 1e-8);
  EXPECT_EQ(current.checkpoint_path, nullptr);
  EXPECT_EQ(current.checkpoint_every, 0);
  set_fields_of_both_layouts(current);
  SummaryArrays a, b;
  const Batch first = run([&](ngvi_batch* q, ngvi_summary** s) { return ngvi_fit(model_.get(), q, as_options, s); }, &a);
  const Batch second = run([&](ngvi_batch* q, ngvi_summary** s) { return ngvi_fit(model_.get(), q, &current, s); }, &b);
  EXPECT_EQ(state_of<double>(first.get()), state_of<double>(second.get()));
  expect_same(a, b);
  EXPECT_ERROR(ngvi_options_defaults(&current, sizeof old + 8), NGVI_ERROR_STRUCT_SIZE,
               {"struct_size", std::to_string(sizeof(ngvi_options)).c_str(), std::to_string(sizeof old).c_str()});
}

TEST_F(CapiCheckpoint, ProblemOffsetReachesTheFitAndTheThirdLayoutTakesItsDefault) {
  ngvi_options third = options_;  // as a program built against the third layout's header passes it
  third.struct_size = offsetof(ngvi_options, problem_offset);
  third.problem_offset = 7;       // beyond its struct: never read
  ngvi_options offset = options_;
  offset.problem_offset = 7;
  SummaryArrays a, b, c;
  const Batch old = run([&](ngvi_batch* q, ngvi_summary** s) { return ngvi_fit(model_.get(), q, &third, s); }, &a);
  const Batch zero = run([&](ngvi_batch* q, ngvi_summary** s) { return ngvi_fit(model_.get(), q, &options_, s); }, &b);
  const Batch seven = run([&](ngvi_batch* q, ngvi_summary** s) { return ngvi_fit(model_.get(), q, &offset, s); }, &c);
  EXPECT_EQ(state_of<double>(old.get()), state_of<double>(zero.get()));
  EXPECT_NE(state_of<double>(seven.get()), state_of<double>(zero.get()));
  offset.problem_offset = (uint64_t{1} << 32) - B + 1;  // problem B - 1 would be index 2^32
  ngvi_summary* s = nullptr;
  Batch batch = make_batch(B, d, NGVI_FLOAT64);
  EXPECT_ERROR(ngvi_fit(model_.get(), batch.get(), &offset, &s), NGVI_ERROR_INVALID_ARGUMENT,
               {"options.problem_offset = 4294967267 with 30 problems"});
}

// The fourth layout's fields (issue 20): devices shard a fit without changing it; a struct that ends
// at final_samples (the third layout, what a program built against that header passes) is still
// accepted, with one device.
TEST_F(CapiCheckpoint, DevicesChangeNothingAndTheThirdLayoutIsStillAccepted) {
  ngvi_options defaults;
  ASSERT_OK(ngvi_options_init(&defaults));
  EXPECT_EQ(defaults.devices, nullptr);
  EXPECT_EQ(defaults.num_devices, 0u);
  EXPECT_EQ(defaults.problem_offset, 0u);
  SummaryArrays one, three, third;
  const Batch reference = run([&](ngvi_batch* q, ngvi_summary** s) { return ngvi_fit(model_.get(), q, &options_, s); },
                              &one);
  ngvi_options sharded = options_;
  const int32_t devices[] = {0, 1, 2};
  sharded.devices = devices;
  sharded.num_devices = 3;
  sharded.num_threads = 3;
  const Batch on_three =
      run([&](ngvi_batch* q, ngvi_summary** s) { return ngvi_fit(model_.get(), q, &sharded, s); }, &three);
  EXPECT_EQ(state_of<double>(reference.get()), state_of<double>(on_three.get()));
  expect_same(one, three);

  ngvi_options old = options_;
  old.struct_size = offsetof(ngvi_options, problem_offset);
  old.num_devices = 7;  // past the caller's struct: never read
  const Batch from_old = run([&](ngvi_batch* q, ngvi_summary** s) { return ngvi_fit(model_.get(), q, &old, s); }, &third);
  EXPECT_EQ(state_of<double>(reference.get()), state_of<double>(from_old.get()));
  expect_same(one, third);

  sharded.devices = nullptr;
  Batch batch = make_batch(B, d, NGVI_FLOAT64);
  EXPECT_ERROR(ngvi_fit(model_.get(), batch.get(), &sharded, nullptr), NGVI_ERROR_NULL_POINTER, {"options->devices"});
  const int32_t twice[] = {1, 1};
  sharded.devices = twice;
  sharded.num_devices = 2;
  EXPECT_ERROR(ngvi_fit(model_.get(), batch.get(), &sharded, nullptr), NGVI_ERROR_INVALID_ARGUMENT,
               {"options.devices[1] = 1"});
}

}  // namespace
