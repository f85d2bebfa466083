// Draws a batch of logistic regressions, fits it with the C++ API of the installed ngvi and writes
// the problem and the results for the C and Python consumers; then fits it again through the C ABI
// and checks that both paths give bit-identical results.
// Usage: consumer OUTPUT_DIR
#include <ngvi/ngvi.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <ngvi/ngvi.hpp>
#include <string>
#include <vector>

namespace {

// The fit every consumer runs (the C and Python consumers repeat these numbers).
constexpr std::size_t kProblems = 200;
constexpr int kDimension = 5;
constexpr std::size_t kMinRows = 20, kMaxRows = 80;
constexpr std::uint64_t kDataSeed = 2024;
struct FitSettings {
  static constexpr int samples = 8;
  static constexpr int max_steps = 100;
  static constexpr std::uint64_t seed = 7;
};

template <class T>
void write(std::ofstream& out, const std::vector<T>& v) {
  out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
}

// problem.bin: int64 B, d, total_rows; int64 offsets[B + 1]; float64 x[total_rows * d], y[total_rows].
void write_problem(const std::string& path, const ngvi::SyntheticProblems<double>& p) {
  std::ofstream out(path, std::ios::binary);
  write(out, std::vector<std::int64_t>{static_cast<std::int64_t>(p.num_problems), p.dimension,
                                       p.offsets.back()});
  write(out, p.offsets);
  write(out, p.x);
  write(out, p.y);
}

struct Results {
  std::vector<double> mean, covariance, elbo;
  std::vector<std::int32_t> status;
};

// reference.bin: float64 mean[B * d], covariance[B * d * d], elbo[B]; int32 status[B].
void write_results(const std::string& path, const Results& r) {
  std::ofstream out(path, std::ios::binary);
  write(out, r.mean);
  write(out, r.covariance);
  write(out, r.elbo);
  write(out, r.status);
}

Results fit_with_cpp(const ngvi::SyntheticProblems<double>& p) {
  const ngvi::LogisticRegression<double> model(p.data());
  ngvi::GaussianBatch<double> q(p.num_problems, p.dimension);
  ngvi::Options options;
  options.estimator = ngvi::Estimator::Stein;
  options.samples = FitSettings::samples;
  options.max_steps = FitSettings::max_steps;
  options.seed = FitSettings::seed;
  const ngvi::Summary summary = ngvi::fit(model, q, options);
  std::cout << "C++ API: " << summary.brief_report() << "\n";
  Results r;
  r.mean.assign(q.mean(), q.mean() + p.num_problems * p.dimension);
  r.covariance.resize(p.num_problems * p.dimension * p.dimension);
  q.covariance(r.covariance.data());
  r.elbo = summary.elbo;
  for (ngvi::Status s : summary.status) r.status.push_back(static_cast<std::int32_t>(s));
  return r;
}

bool ok(ngvi_status status, const char* call) {
  if (status != NGVI_OK) std::cerr << call << " failed: " << ngvi_last_error() << "\n";
  return status == NGVI_OK;
}
#define CALL(call) \
  if (!ok(call, #call)) return false

bool fit_with_c(const ngvi::SyntheticProblems<double>& p, Results& r) {
  const std::size_t B = p.num_problems, d = static_cast<std::size_t>(p.dimension);
  ngvi_model* model = nullptr;
  ngvi_batch* batch = nullptr;
  ngvi_summary* summary = nullptr;
  CALL(ngvi_model_create_glm(&model, NGVI_LOGISTIC, B, p.dimension, 0, ngvi_in_f64(p.x.data(), p.x.size()),
                             ngvi_in_f64(p.y.data(), p.y.size()), ngvi_in_i64(p.offsets.data(), p.offsets.size()),
                             nullptr, 1.0));
  CALL(ngvi_batch_create(&batch, B, p.dimension, NGVI_FAMILY_FULL, NGVI_FLOAT64));
  ngvi_options options;
  CALL(ngvi_options_init(&options));
  options.estimator = NGVI_ESTIMATOR_STEIN;
  options.samples = FitSettings::samples;
  options.max_steps = FitSettings::max_steps;
  options.seed = FitSettings::seed;
  CALL(ngvi_fit(model, batch, &options, &summary));
  r.mean.resize(B * d);
  r.covariance.resize(B * d * d);
  r.elbo.resize(B);
  r.status.resize(B);
  CALL(ngvi_batch_get(batch, NGVI_MOMENTS, ngvi_out_f64(r.mean.data(), B * d),
                      ngvi_out_f64(r.covariance.data(), B * d * d)));
  CALL(ngvi_summary_get(summary, NGVI_SUMMARY_ELBO, ngvi_out_f64(r.elbo.data(), B)));
  CALL(ngvi_summary_get(summary, NGVI_SUMMARY_STATUS, ngvi_out_i32(r.status.data(), B)));
  CALL(ngvi_summary_destroy(summary));
  CALL(ngvi_batch_destroy(batch));
  CALL(ngvi_model_destroy(model));
  return true;
}

template <class T>
bool identical(const std::vector<T>& a, const std::vector<T>& b, const char* what) {
  const bool same = a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
  if (!same) std::cerr << what << ": the C ABI and the C++ API differ\n";
  return same;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer OUTPUT_DIR\n";
    return 2;
  }
  if (std::string(ngvi_version()) != NGVI_VERSION_STRING) {
    std::cerr << "library " << ngvi_version() << " but headers " << NGVI_VERSION_STRING << "\n";
    return 1;
  }
  const std::string dir = argv[1];
  const auto problems =
      ngvi::SyntheticProblems<double>::generate(ngvi::Likelihood::Logistic, kProblems, kDimension, kMinRows, kMaxRows,
                                                kDataSeed);
  const Results reference = fit_with_cpp(problems);
  write_problem(dir + "/problem.bin", problems);
  write_results(dir + "/reference.bin", reference);

  Results through_c;
  if (!fit_with_c(problems, through_c)) return 1;
  const bool same = identical(through_c.mean, reference.mean, "mean") &
                    identical(through_c.covariance, reference.covariance, "covariance") &
                    identical(through_c.elbo, reference.elbo, "elbo") &
                    identical(through_c.status, reference.status, "status");
  if (!same) return 1;
  std::size_t converged = 0;
  for (std::int32_t s : reference.status) converged += s == NGVI_FIT_CONVERGED;
  std::cout << "C++ consumer: " << kProblems << " logistic fits (" << converged
            << " converged), C ABI bit-identical to the C++ API\n";
  return 0;
}
