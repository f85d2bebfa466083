// Helpers of the C ABI tests: status and message checks, RAII for handles, array descriptors of
// std::vectors, random distributions.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ngvi/ngvi.h"

namespace ngvi::capi_test {

// Checks the status of a call and that ngvi_last_error() contains every word (the function, the
// argument, the value).
inline void expect_error(ngvi_status got, ngvi_status want, std::initializer_list<const char*> words) {
  EXPECT_EQ(got, want) << "got " << ngvi_status_name(got) << ": " << ngvi_last_error();
  const std::string message = ngvi_last_error();
  for (const char* w : words)
    EXPECT_NE(message.find(w), std::string::npos) << "\"" << message << "\" lacks \"" << w << "\"";
}
#define EXPECT_ERROR(call, status, ...)      \
  do {                                       \
    SCOPED_TRACE(#call);                     \
    expect_error(call, status, __VA_ARGS__); \
  } while (0)
#define ASSERT_OK(call) ASSERT_EQ(call, NGVI_OK) << ngvi_last_error()

struct BatchDeleter {
  void operator()(ngvi_batch* b) const { ngvi_batch_destroy(b); }
};
struct ModelDeleter {
  void operator()(ngvi_model* m) const { ngvi_model_destroy(m); }
};
struct SummaryDeleter {
  void operator()(ngvi_summary* s) const { ngvi_summary_destroy(s); }
};
struct OptimizerDeleter {
  void operator()(ngvi_optimizer* o) const { ngvi_optimizer_destroy(o); }
};
using Batch = std::unique_ptr<ngvi_batch, BatchDeleter>;
using Model = std::unique_ptr<ngvi_model, ModelDeleter>;
using Summary = std::unique_ptr<ngvi_summary, SummaryDeleter>;
using Optimizer = std::unique_ptr<ngvi_optimizer, OptimizerDeleter>;

template <class T>
constexpr ngvi_dtype dtype_of() {
  return sizeof(T) == 4 ? NGVI_FLOAT32 : NGVI_FLOAT64;
}
template <class T>
ngvi_input_array in(const std::vector<T>& v) {
  return ngvi_in_array(v.data(), v.size(), dtype_of<T>());
}
template <class T>
ngvi_output_array out(std::vector<T>& v) {
  return ngvi_out_array(v.data(), v.size(), dtype_of<T>());
}
inline ngvi_output_array out(std::vector<std::int32_t>& v) { return ngvi_out_i32(v.data(), v.size()); }
inline ngvi_input_array in(const std::vector<std::int64_t>& v) { return ngvi_in_i64(v.data(), v.size()); }
constexpr ngvi_input_array kAbsentInput{};
constexpr ngvi_output_array kAbsentOutput{};

inline Batch make_batch(std::size_t B, int d, ngvi_dtype dtype, ngvi_family family = NGVI_FAMILY_FULL) {
  ngvi_batch* b = nullptr;
  EXPECT_EQ(ngvi_batch_create(&b, B, d, family, dtype), NGVI_OK) << ngvi_last_error();
  return Batch(b);
}

// B random distributions: means (B, d) and SPD covariances (B, d, d) A A^T / d + I / 2.
template <class T>
void random_moments(std::size_t B, int d, std::uint32_t seed, std::vector<T>& mean, std::vector<T>& covariance) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  mean.assign(B * d, T(0));
  covariance.assign(B * d * d, T(0));
  for (auto& m : mean) m = static_cast<T>(normal(rng));
  for (std::size_t b = 0; b < B; ++b) {
    std::vector<double> A(d * d);
    for (auto& a : A) a = normal(rng);
    for (int i = 0; i < d; ++i)
      for (int j = 0; j < d; ++j) {
        double s = i == j ? 0.5 : 0.0;
        for (int k = 0; k < d; ++k) s += A[i * d + k] * A[j * d + k] / d;
        covariance[b * d * d + i * d + j] = static_cast<T>(s);
      }
  }
}

// The state of a batch (means, then precision factors), for bit-for-bit comparisons.
template <class T>
std::vector<T> state_of(const ngvi_batch* batch) {
  size_t B = 0;
  int32_t d = 0;
  ngvi_family family = NGVI_FAMILY_FULL;
  EXPECT_EQ(ngvi_batch_shape(batch, &B, &d, &family, nullptr), NGVI_OK) << ngvi_last_error();
  const std::size_t M = family == NGVI_FAMILY_FULL ? std::size_t(d) * d : std::size_t(d);
  std::vector<T> mean(B * d), factor(B * M);
  EXPECT_EQ(ngvi_batch_get(batch, NGVI_PRECISION_CHOLESKY, out(mean), out(factor)), NGVI_OK) << ngvi_last_error();
  mean.insert(mean.end(), factor.begin(), factor.end());
  return mean;
}

// The per-distribution results of a summary and its iterations, for bit-for-bit comparisons.
struct SummaryArrays {
  std::vector<std::int32_t> status, steps, rejected;
  std::vector<double> elbo, last_kl, trace;
  int iterations = 0;
};

inline SummaryArrays arrays_of(const ngvi_summary* summary) {
  ngvi_summary_info info;
  info.struct_size = sizeof info;
  EXPECT_EQ(ngvi_summary_get_info(summary, &info), NGVI_OK) << ngvi_last_error();
  SummaryArrays a;
  const std::size_t B = info.batch_size;
  a.status.resize(B);
  a.steps.resize(B);
  a.rejected.resize(B);
  a.elbo.resize(B);
  a.last_kl.resize(B);
  a.trace.resize(info.elbo_trace_length);
  a.iterations = info.iterations;
  EXPECT_EQ(ngvi_summary_get(summary, NGVI_SUMMARY_STATUS, out(a.status)), NGVI_OK);
  EXPECT_EQ(ngvi_summary_get(summary, NGVI_SUMMARY_STEPS, out(a.steps)), NGVI_OK);
  EXPECT_EQ(ngvi_summary_get(summary, NGVI_SUMMARY_REJECTED_STEPS, out(a.rejected)), NGVI_OK);
  EXPECT_EQ(ngvi_summary_get(summary, NGVI_SUMMARY_ELBO, out(a.elbo)), NGVI_OK);
  EXPECT_EQ(ngvi_summary_get(summary, NGVI_SUMMARY_LAST_KL, out(a.last_kl)), NGVI_OK);
  EXPECT_EQ(ngvi_summary_get(summary, NGVI_SUMMARY_ELBO_TRACE, out(a.trace)), NGVI_OK);
  return a;
}

// Bitwise equality of doubles that may be NaN (EXPECT_EQ on vectors says NaN != NaN).
inline bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

inline void expect_same(const SummaryArrays& a, const SummaryArrays& b) {
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.rejected, b.rejected);
  EXPECT_TRUE(same_bits(a.elbo, b.elbo));
  EXPECT_TRUE(same_bits(a.last_kl, b.last_kl));
  EXPECT_TRUE(same_bits(a.trace, b.trace));
  EXPECT_EQ(a.iterations, b.iterations);
}

}  // namespace ngvi::capi_test
