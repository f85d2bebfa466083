// The `ngvi` command line. `ngvi demo` fits a built-in synthetic example and prints a report.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <string>

#include "ngvi/ngvi.hpp"

namespace {

struct DemoArgs {
  std::size_t problems = 10000;
  int dimension = 8;
  std::size_t min_rows = 150, max_rows = 250;
  std::uint64_t seed = 2026;
  ngvi::Options options;
};

int run_demo(const DemoArgs& args) {
  fmt::print("ngvi {} demo: {} synthetic logistic regressions, d = {}, {}-{} rows each (seed {})\n",
             NGVI_VERSION_STRING, args.problems, args.dimension, args.min_rows, args.max_rows, args.seed);
  const auto problems = ngvi::SyntheticProblems<double>::generate(ngvi::Likelihood::Logistic, args.problems,
                                                                  args.dimension, args.min_rows, args.max_rows,
                                                                  args.seed);
  const ngvi::LogisticRegression<double> model(problems.data());
  ngvi::GaussianBatch<double> batch(args.problems, args.dimension);
  const ngvi::Summary summary = ngvi::fit(model, batch, args.options);
  fmt::print("{}", summary.full_report());
  // How close the posterior means are to the parameters the data were drawn from.
  double within = 0;
  std::vector<double> cov(batch.size() * batch.matrix_size());
  batch.covariance(cov.data());
  const int d = args.dimension;
  for (std::size_t b = 0; b < batch.size(); ++b)
    for (int i = 0; i < d; ++i) {
      const double sd = std::sqrt(cov[b * d * d + i * d + i]);
      within += std::abs(batch.mean()[b * d + i] - problems.truth[b * d + i]) < 2 * sd;
    }
  fmt::print("  calibration        {:.1f}% of true parameters lie within 2 posterior sd (95.4% expected)\n",
             100.0 * within / (static_cast<double>(batch.size()) * d));
  return summary.failures() == 0 ? 0 : 1;
}

template <class Enum>
std::map<std::string, Enum> names(std::initializer_list<Enum> values, const char* (*name)(Enum)) {
  std::map<std::string, Enum> map;
  for (Enum v : values) map.emplace(name(v), v);
  return map;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ngvi: natural-gradient variational inference on batches of Gaussians"};
  app.set_version_flag("--version", std::string("ngvi ") + NGVI_VERSION_STRING);
  app.require_subcommand(1);

  DemoArgs demo;
  CLI::App* demo_cmd = app.add_subcommand("demo", "Fit a built-in synthetic logistic-regression batch and report");
  demo_cmd->add_option("--problems", demo.problems, "number of problems B")->capture_default_str();
  demo_cmd->add_option("--dimension", demo.dimension, "dimension d")->capture_default_str()->check(CLI::PositiveNumber);
  demo_cmd->add_option("--seed", demo.seed, "seed of the data and of the fit")->capture_default_str();
  demo_cmd->add_option("--estimator", demo.options.estimator, "auto|price|stein|score|quadrature")
      ->transform(CLI::CheckedTransformer(names({ngvi::Estimator::Auto, ngvi::Estimator::Price, ngvi::Estimator::Stein,
                                                 ngvi::Estimator::Score, ngvi::Estimator::Quadrature},
                                                ngvi::estimator_name)));
  demo_cmd->add_option("--rule", demo.options.rule, "iblr|blr")
      ->transform(CLI::CheckedTransformer(names({ngvi::Rule::IBLR, ngvi::Rule::BLR}, ngvi::rule_name)));
  demo_cmd->add_option("--samples", demo.options.samples, "Monte Carlo samples per step")->capture_default_str();
  demo_cmd->add_option("--step-size", demo.options.step_size, "step size rho")->capture_default_str();
  demo_cmd->add_option("--max-steps", demo.options.max_steps, "step budget")->capture_default_str();
  demo_cmd->add_option("--tol", demo.options.tolerance, "KL tolerance")->capture_default_str();
  demo_cmd->add_option("--threads", demo.options.num_threads, "CPU threads (0: all)")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    demo.options.seed = demo.seed;
    if (demo_cmd->parsed()) return run_demo(demo);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ngvi: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
