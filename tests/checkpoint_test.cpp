// Checkpoints: a fit stopped and resumed ends bit for bit as the uninterrupted one; damaged files are
// refused with a message saying what is wrong.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "ngvi/checkpoint.hpp"
#include "ngvi/error.hpp"
#include "ngvi/models.hpp"
#include "ngvi/synthetic.hpp"
#include "test_util.hpp"

namespace ngvi {
namespace {

namespace fs = std::filesystem;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() / ("ngvi_checkpoint_test_" + std::to_string(::getpid()));
    fs::create_directories(directory_);
  }
  void TearDown() override { fs::remove_all(directory_); }
  std::string path(const char* name) const { return (directory_ / name).string(); }

  static Options options() {
    Options o;
    o.estimator = Estimator::Stein;
    o.rule = Rule::Adam;  // a rule with state of its own (the moments), which must survive too
    o.step_size = 0.05;
    o.max_steps = 60;
    o.trace_elbo = true;
    o.seed = 9;
    return o;
  }

  fs::path directory_;
  SyntheticProblems<double> problems_ = SyntheticProblems<double>::generate(Likelihood::Logistic, 40, 3, 20, 50, 3);
  LogisticRegression<double> model_{problems_.data()};
};

TEST_F(CheckpointTest, AResumedFitIsBitIdenticalToAnUninterruptedOne) {
  GaussianBatch<double> whole(40, 3);
  const Summary uninterrupted = fit(model_, whole, options());

  Options stopping = options();
  stopping.checkpoint_path = path("fit.ckpt");
  stopping.checkpoint_every = 10;
  stopping.progress = [](const Progress& p) { return p.iteration < 25; };  // as SIGINT would
  GaussianBatch<double> first(40, 3);
  const Summary stopped = fit(model_, first, stopping);
  EXPECT_EQ(stopped.iterations, 25);
  EXPECT_EQ(stopped.count(Status::Running), 40u);
  EXPECT_TRUE(stopped.checkpoint_error.empty()) << stopped.checkpoint_error;

  const CheckpointInfo info = read_checkpoint_info(path("fit.ckpt"));
  EXPECT_EQ(info.iteration, 25);
  EXPECT_EQ(info.batch_size, 40u);
  EXPECT_EQ(info.scalar_bytes, 8);
  EXPECT_EQ(info.options.rule, Rule::Adam);

  GaussianBatch<double> resumed(40, 3);  // any contents: the checkpoint replaces them
  const Summary finished = resume(model_, resumed, path("fit.ckpt"));
  testing::expect_identical(whole, uninterrupted, resumed, finished);

  // Only the checkpoint itself is left in the directory: temporary files were renamed.
  EXPECT_EQ(std::distance(fs::directory_iterator(directory_), fs::directory_iterator()), 1);
}

TEST_F(CheckpointTest, DamagedOrMismatchedCheckpointsAreRefusedWithAClearMessage) {
  Options stopping = options();
  stopping.checkpoint_path = path("good.ckpt");
  stopping.progress = [](const Progress& p) { return p.iteration < 3; };
  GaussianBatch<double> batch(40, 3);
  fit(model_, batch, stopping);
  std::ifstream in(path("good.ckpt"), std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  auto write = [&](const char* name, const std::vector<char>& content) {
    std::ofstream(path(name), std::ios::binary).write(content.data(), static_cast<std::streamsize>(content.size()));
    return path(name);
  };
  auto message = [&](const std::string& file, auto&& call) {
    try {
      call(file);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto resume_double = [&](const std::string& file) {
    GaussianBatch<double> q(40, 3);
    resume(model_, q, file);
  };

  std::vector<char> flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  EXPECT_NE(message(write("flipped.ckpt", flipped), resume_double).find("checksum mismatch"), std::string::npos);
  const std::vector<char> truncated(bytes.begin(), bytes.begin() + static_cast<long>(bytes.size()) - 100);
  EXPECT_NE(message(write("truncated.ckpt", truncated), resume_double).find("corrupted or truncated"),
            std::string::npos);
  EXPECT_NE(message(write("tiny.ckpt", std::vector<char>(bytes.begin(), bytes.begin() + 5)), resume_double)
                .find("truncated"),
            std::string::npos);
  EXPECT_NE(message(write("text.ckpt", std::vector<char>(200, 'x')), resume_double).find("not an ngvi checkpoint"),
            std::string::npos);
  EXPECT_NE(message(path("missing.ckpt"), resume_double).find("cannot open"), std::string::npos);

  EXPECT_NE(message(path("good.ckpt"),
                    [&](const std::string& file) {
                      GaussianBatch<double> q(40, 4);
                      resume(model_, q, file);
                    })
                .find("holds 40 distributions of dimension 3"),
            std::string::npos);
  const auto problems32 = SyntheticProblems<float>::generate(Likelihood::Logistic, 40, 3, 20, 50, 3);
  const LogisticRegression<float> model32(problems32.data());
  EXPECT_NE(message(path("good.ckpt"),
                    [&](const std::string& file) {
                      GaussianBatch<float> q(40, 3);
                      resume(model32, q, file);
                    })
                .find("float64 numbers but is being resumed in float32"),
            std::string::npos);
}

TEST_F(CheckpointTest, AnUnwritableCheckpointIsReportedAndTheFitGoesOn) {
  Options o = options();
  o.checkpoint_path = path("no/such/directory/fit.ckpt");
  o.checkpoint_every = 5;
  GaussianBatch<double> a(40, 3), b(40, 3);
  const Summary with = fit(model_, a, o);
  const Summary without = fit(model_, b, options());
  EXPECT_NE(with.checkpoint_error.find("cannot create"), std::string::npos) << with.checkpoint_error;
  testing::expect_identical(a, with, b, without);
}

}  // namespace
}  // namespace ngvi
