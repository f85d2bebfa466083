#include "cli/common.hpp"

#include "cli/commands.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace ngvi::cli {

namespace {
std::string g_command_line;
}  // namespace

void set_command_line(int argc, char** argv) {
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) g_command_line += (i ? " " : "") + std::string(i ? argv[i] : "ngvi");
}

const std::string& command_line() { return g_command_line; }

const char* precision_name(Precision precision) {
  return precision == Precision::Float32 ? "float32" : "float64";
}

const char* family_name(Family family) { return family == Family::Full ? "full" : "diagonal"; }

namespace {

CLI::Validator number_check(const char* description, bool allow_zero) {
  return CLI::Validator(
      [allow_zero](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0') return "'" + text + "' is not a number";
        if (!std::isfinite(v) || v < 0 || (v == 0 && !allow_zero))
          return text + " is out of range: " + (allow_zero ? "a finite number >= 0" : "a finite number > 0") +
                 " is expected";
        return {};
      },
      description);
}

}  // namespace

const CLI::Validator kPositive = number_check("POSITIVE", false);

CLI::Validator integer_in(long long lo, long long hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0') return "'" + text + "' is not an integer";
        if (errno == ERANGE || v < lo || v > hi)
          return fmt::format("{} is out of range: an integer in [{}, {}] is expected", text, lo, hi);
        return {};
      },
      fmt::format("INT in [{} - {}]", lo, hi));
}
const CLI::Validator kNonNegative = number_check("NONNEGATIVE", true);

const CLI::Validator kUnsigned64(
    [](std::string& text) -> std::string {
      // strtoull accepts "-1" (and wraps it) and saturates on overflow: both refused here.
      if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
        return "'" + text + "' is not an integer in [0, 2^64 - 1]";
      errno = 0;
      std::strtoull(text.c_str(), nullptr, 10);
      if (errno == ERANGE) return text + " is out of range: an integer in [0, 2^64 - 1] is expected";
      return {};
    },
    "UINT64");

void add_method_options(CLI::App* app, Options& options, Family& family) {
  add_enum_option(app, "--family", family, kFamilies, family_name, "covariance of each distribution");
  add_enum_option(app, "--estimator", options.estimator, kEstimators, estimator_name,
                  "how E[grad f] and E[hess f] are estimated; auto: exact quadrature for the GLMs");
  add_enum_option(app, "--rule", options.rule, kRules, rule_name,
                  "update rule; adam is the Euclidean baseline");
  app->add_option("--samples", options.samples,
                  "Monte Carlo samples per distribution and step (S); 0: 16, and at least 2 d with stein or score")
      ->capture_default_str()
      ->check(integer_in(0, 1 << 20));
  app->add_option("--step-size", options.step_size, "step size rho in (0, 1] (adam: the learning rate)")
      ->capture_default_str()
      ->check(kPositive);
  app->add_option("--max-steps", options.max_steps, "step budget per distribution")
      ->capture_default_str()
      ->check(integer_in(1, 1 << 30));
  app->add_option("--tol", options.tolerance,
                  "exact estimator: converged once KL(q_new || q_old) < tol for `patience` steps")
      ->capture_default_str()
      ->check(kNonNegative);
  app->add_option("--tol-sd", options.tolerance_sd,
                  "Monte Carlo estimators: converged once the averaged fit's MCSE is below this many posterior sd")
      ->capture_default_str()
      ->check(kPositive);
  app->add_option("--final-samples", options.final_samples,
                  "draws per distribution for the final ELBO, its MCSE and the Pareto k-hat")
      ->capture_default_str()
      ->check(integer_in(2, 1 << 24));
  app->add_option("--seed", options.seed, "seed of every random number of the fit")
      ->capture_default_str()
      ->check(kUnsigned64);
  app->add_option("--threads", options.num_threads, "CPU threads (0: all the hardware offers)")
      ->capture_default_str()
      ->check(integer_in(0, kMaxThreads));
  add_enum_option(app, "--backend", options.backend, kBackends, backend_name, "where the work runs");
}

std::vector<Subcommand> add_commands(CLI::App& app) {
  app.set_version_flag("--version", std::string("ngvi ") + NGVI_VERSION_STRING);
  app.require_subcommand(1);
  app.footer("Run `ngvi COMMAND --help` for the options of a command.");
  return {add_fit_command(app), add_demo_command(app), add_bench_command(app)};
}

void check_method_options(const Options& options) {
  if (options.rule != Rule::Adam && options.step_size > 1.0)
    throw InputError(fmt::format("--step-size {} is out of range: rule {} needs a step size in (0, 1]",
                                 options.step_size, rule_name(options.rule)));
  if (const std::string problem = options.check(); !problem.empty()) throw InputError(problem);
}

}  // namespace ngvi::cli
