// libFuzzer target: the C ABI's array arguments. The input decides shapes, dtypes, declared element
// counts (right or off by a little), values (NaN, Inf, huge, raw bits), offsets, enum values and
// options; the target then creates a model and a batch, sets the batch, fits a few steps, reads the
// results and converts, as a caller would. Every buffer really holds the elements it is declared to
// have: the ABI must answer any such call with a status, never a crash or a sanitizer report.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "ngvi/ngvi.h"

namespace {

// A caller's array: a buffer of exactly `size` elements of `dtype` (8 bytes each at most).
struct Array {
  std::vector<std::uint64_t> storage;
  std::size_t size = 0;
  ngvi_dtype dtype = NGVI_FLOAT64;
  ngvi_input_array in() const { return ngvi_in_array(size ? storage.data() : nullptr, size, dtype); }
  ngvi_output_array out() { return ngvi_out_array(size ? storage.data() : nullptr, size, dtype); }
};

double value(FuzzedDataProvider& f) {
  static const double kSpecial[] = {0.0, 1.0, -1.0, 0.5, 2.0, 3.0, 1e300, -1e300, 1e-300,
                                    std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                                    -std::numeric_limits<double>::infinity()};
  if (f.ConsumeBool()) return f.PickValueInArray(kSpecial);
  return f.ConsumeFloatingPoint<double>();
}

// Mostly the dtype the call wants; sometimes another one, or no valid dtype at all.
ngvi_dtype dtype(FuzzedDataProvider& f, ngvi_dtype wanted) {
  if (f.ConsumeIntegralInRange(0, 7) != 0) return wanted;
  return static_cast<ngvi_dtype>(f.ConsumeIntegralInRange(0, 5));
}

// An array meant to hold `wanted` elements of `wanted_dtype`: the count is sometimes off by one or two.
Array array(FuzzedDataProvider& f, std::size_t wanted, ngvi_dtype wanted_dtype, bool integers = false) {
  Array a;
  a.dtype = dtype(f, wanted_dtype);
  const int delta = f.ConsumeIntegralInRange(0, 9) == 0 ? f.ConsumeIntegralInRange(-2, 2) : 0;
  a.size = static_cast<std::size_t>(std::max<long long>(0, static_cast<long long>(wanted) + delta));
  a.storage.assign(a.size, 0);
  for (std::size_t i = 0; i < a.size && f.remaining_bytes() > 0; ++i) {
    const double v = integers ? f.ConsumeIntegralInRange(-2, 24) : value(f);
    const double whole = std::isnan(v) ? 0.0 : v;  // for the integer dtypes
    switch (a.dtype) {
      case NGVI_FLOAT32: { const float x = static_cast<float>(v); std::memcpy(&a.storage[i], &x, sizeof x); break; }
      case NGVI_INT32: { const std::int32_t x = static_cast<std::int32_t>(std::clamp(whole, -1e9, 1e9)); std::memcpy(&a.storage[i], &x, sizeof x); break; }
      case NGVI_INT64: { const std::int64_t x = static_cast<std::int64_t>(std::clamp(whole, -1e18, 1e18)); std::memcpy(&a.storage[i], &x, sizeof x); break; }
      default: std::memcpy(&a.storage[i], &v, sizeof v); break;
    }
  }
  return a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider f(data, size);
  const std::size_t B = f.ConsumeIntegralInRange<std::size_t>(0, 5);
  const std::int32_t d = f.ConsumeIntegralInRange<std::int32_t>(-1, 4);
  const std::size_t dd = static_cast<std::size_t>(std::max(d, 0));
  const bool ragged = f.ConsumeBool();
  const std::size_t N = f.ConsumeIntegralInRange<std::size_t>(0, 4);
  const ngvi_dtype real = f.ConsumeBool() ? NGVI_FLOAT32 : NGVI_FLOAT64;
  const auto family = static_cast<ngvi_family>(f.ConsumeIntegralInRange(-1, 2));
  const std::size_t M = family == NGVI_FAMILY_DIAGONAL ? dd : dd * dd;

  // The model: dense (B, N, d) or ragged rows with fuzzed offsets, and an optional prior.
  Array offsets;
  std::size_t rows = B * N;
  if (ragged) {
    offsets = array(f, B + 1, NGVI_INT64, true);
    if (offsets.dtype == NGVI_INT64 && offsets.size > 0) {
      std::int64_t last;
      std::memcpy(&last, &offsets.storage[offsets.size - 1], sizeof last);
      rows = static_cast<std::size_t>(std::clamp<std::int64_t>(last, 0, 24));
    }
  }
  const Array x = array(f, rows * dd, real), y = array(f, rows, real);
  ngvi_prior prior;
  ngvi_prior_init(&prior);
  prior.kind = static_cast<ngvi_prior_kind>(f.ConsumeIntegralInRange(0, 3));
  const Array prior_precision = array(f, prior.kind == NGVI_PRIOR_FULL ? dd * dd : 1, real);
  const Array prior_mean = array(f, dd, real);
  if (f.ConsumeBool()) prior.precision = prior_precision.in();
  if (f.ConsumeBool()) prior.mean = prior_mean.in();
  ngvi_model* model = nullptr;
  ngvi_model_create_glm(&model, static_cast<ngvi_likelihood>(f.ConsumeIntegralInRange(-1, 4)), B, d,
                        ragged ? 0 : N, x.in(), y.in(), ragged ? offsets.in() : ngvi_input_array{},
                        f.ConsumeBool() ? &prior : nullptr, value(f));

  // The batch, set from fuzzed parameters.
  ngvi_batch* batch = nullptr;
  ngvi_batch_create(&batch, f.ConsumeBool() ? B : f.ConsumeIntegralInRange<std::size_t>(0, 5), d, family,
                    dtype(f, real));
  const auto which = static_cast<ngvi_parameters>(f.ConsumeIntegralInRange(-1, 5));
  const Array first = array(f, B * dd, real), second = array(f, B * M, real);
  Array conversion = array(f, B, NGVI_INT32);
  ngvi_batch_set(batch, which, first.in(), second.in(), f.ConsumeBool() ? conversion.out() : ngvi_output_array{});

  // A short fit, and its results read into fuzzed outputs.
  ngvi_options options;
  ngvi_options_init(&options);
  options.max_steps = f.ConsumeIntegralInRange(0, 3);
  options.samples = f.ConsumeIntegralInRange(0, 4);
  options.estimator = static_cast<ngvi_estimator>(f.ConsumeIntegralInRange(-1, 5));
  options.rule = static_cast<ngvi_rule>(f.ConsumeIntegralInRange(-1, 4));
  options.step_size = f.ConsumeBool() ? 0.5 : value(f);
  options.num_threads = 1;
  ngvi_summary* summary = nullptr;
  if (ngvi_fit(model, batch, &options, &summary) == NGVI_OK) {
    Array status = array(f, B, NGVI_INT32), elbo = array(f, B, NGVI_FLOAT64);
    ngvi_summary_get(summary, NGVI_SUMMARY_STATUS, status.out());
    ngvi_summary_get(summary, static_cast<ngvi_summary_field>(f.ConsumeIntegralInRange(-1, 6)), elbo.out());
    char report[256];
    std::size_t length = 0;
    ngvi_summary_report(summary, 1, report, f.ConsumeIntegralInRange<std::size_t>(0, sizeof report), &length);
  }
  Array mean = array(f, B * dd, real), matrix = array(f, B * M, real);
  ngvi_batch_get(batch, static_cast<ngvi_parameters>(f.ConsumeIntegralInRange(-1, 5)), mean.out(), matrix.out());

  // Conversion on its own.
  Array to_first = array(f, B * dd, real), to_second = array(f, B * M, real);
  ngvi_convert(family, B, d, which, first.in(), second.in(),
               static_cast<ngvi_parameters>(f.ConsumeIntegralInRange(-1, 5)), to_first.out(), to_second.out(),
               conversion.out());

  ngvi_summary_destroy(summary);
  ngvi_batch_destroy(batch);
  ngvi_model_destroy(model);
  return 0;
}
