// The bad-input corpus (tests/bad_inputs/manifest.json) through the C++ API: GeneralizedLinearModel on
// RegressionData views of the corpus's arrays, GaussianBatch::set_precision for initial states, fit().
#include <gtest/gtest.h>

#include "bad_inputs.hpp"
#include "ngvi/ngvi.hpp"

namespace ngvi::bad_inputs {
namespace {

Likelihood likelihood_of(const std::string& name) {
  for (Likelihood l : {Likelihood::Linear, Likelihood::Logistic, Likelihood::Poisson, Likelihood::Probit})
    if (name == likelihood_name(l)) return l;
  throw std::runtime_error("unknown model " + name);
}

Outcome run(const Case& c) {
  Outcome o;
  try {
    // The C++ API's arrays are double by type: the cases that reach it hold float64 data.
    if (c.x.dtype != io::DType::Float64 || c.y.dtype != io::DType::Float64)
      throw std::runtime_error("the corpus's data for the C++ API must be float64");
    const std::vector<double> x = c.x.to_double(), y = c.y.to_double();
    std::vector<std::int64_t> offsets;
    if (c.ragged()) offsets = c.offsets->to_int64();
    const std::size_t B = c.num_problems();
    const auto data = c.ragged() ? RegressionData<double>::ragged(x.data(), y.data(), offsets.data(), B, c.dimension())
                                 : RegressionData<double>::dense(x.data(), y.data(), B, c.rows_per_problem(),
                                                                 c.dimension());
    const GeneralizedLinearModel<double> model(likelihood_of(c.model), data);
    GaussianBatch<double> batch(B, c.dimension());
    if (c.initial_precision) {
      const std::vector<double> mean(B * static_cast<std::size_t>(c.dimension()), 0.0);
      for (ConversionStatus s : batch.set_precision(mean.data(), c.initial_precision->to_double().data()))
        o.conversion.push_back(conversion_status_name(s));
    }
    Options options;
    options.max_steps = c.max_steps;
    options.seed = c.seed;
    const Summary s = fit(model, batch, options);
    for (Status status : s.status) o.status.push_back(status_name(status));
    o.steps.assign(s.steps.begin(), s.steps.end());
    o.elbo = s.elbo;
    o.mean.assign(batch.mean(), batch.mean() + B * c.dimension());
    o.factor.assign(batch.precision_cholesky(), batch.precision_cholesky() + B * batch.matrix_size());
  } catch (const Error& e) {
    o.error = e.what();
  }
  return o;
}

class BadInputs : public testing::TestWithParam<std::string> {};

TEST_P(BadInputs, CppApi) {
  const Case c = load_case(GetParam(), "cpp");
  const Outcome got = run(c);
  const Outcome twin = c.expected.value("twin", false) ? run(twin_of(c, "cpp")) : Outcome();
  check_outcome(c, got, &twin);
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadInputs, testing::ValuesIn(case_names("cpp")),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace ngvi::bad_inputs
