// What the subcommands of the `ngvi` command line share: exit codes, option helpers that spell the
// library's enums as the README does, and the compute precision.
#pragma once

#include <CLI/CLI.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "ngvi/ngvi.hpp"

namespace ngvi::cli {

/// Exit codes of every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailedDistributions = 1;  ///< ngvi demo: some distributions failed
inline constexpr int kExitError = 2;                 ///< bad input, bad option, or an error before any output
inline constexpr int kExitInterrupted = 128;         ///< plus the signal: stopped by SIGINT (130) or SIGTERM (143)

/// A problem with the user's input found by the command line itself; main() prints its message as the
/// one error line.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

/// Thrown when SIGINT or SIGTERM stopped a fit (see ProgressDisplay); the message says what was saved.
class Interrupted : public std::runtime_error {
 public:
  Interrupted(int signal, const std::string& message) : std::runtime_error(message), signal(signal) {}
  int signal;
};

/// The command line as typed (recorded in summary.json and the bench JSON); set once by main().
void set_command_line(int argc, char** argv);
const std::string& command_line();

/// The scalar type fits compute in.
enum class Precision { Float32, Float64 };
const char* precision_name(Precision precision);

inline const std::vector<Estimator> kEstimators = {Estimator::Auto, Estimator::Price, Estimator::Stein,
                                                   Estimator::Score, Estimator::Quadrature};
inline const std::vector<Rule> kRules = {Rule::IBLR, Rule::BLR, Rule::CholeskyFactor, Rule::Adam};
inline const std::vector<Backend> kBackends = {Backend::Auto, Backend::Cpu, Backend::Cuda};
inline const std::vector<Family> kFamilies = {Family::Full, Family::Diagonal};
inline const std::vector<Likelihood> kLikelihoods = {Likelihood::Logistic, Likelihood::Poisson, Likelihood::Linear,
                                                     Likelihood::Probit};
inline const std::vector<Precision> kPrecisions = {Precision::Float32, Precision::Float64};

const char* family_name(Family family);

/// "a|b|c": the names of `values`, for help texts.
template <class Enum>
std::string choices(const std::vector<Enum>& values, const char* (*name)(Enum)) {
  std::string s;
  for (Enum v : values) s += (s.empty() ? "" : "|") + std::string(name(v));
  return s;
}

/// Looks `text` up among the names of `values`; throws CLI::ValidationError naming `flag` otherwise.
template <class Enum>
Enum parse_name(const std::string& flag, const std::string& text, const std::vector<Enum>& values,
                const char* (*name)(Enum)) {
  for (Enum v : values)
    if (text == name(v)) return v;
  throw CLI::ValidationError(flag, "'" + text + "' is not one of " + choices(values, name));
}

/// An option taking one of the names of `values` (e.g. --rule iblr).
template <class Enum>
CLI::Option* add_enum_option(CLI::App* app, const std::string& flag, Enum& target, const std::vector<Enum>& values,
                             const char* (*name)(Enum), const std::string& help) {
  return app
      ->add_option_function<std::string>(
          flag, [&target, flag, values, name](const std::string& text) { target = parse_name(flag, text, values, name); },
          help + " (" + choices(values, name) + ")")
      ->default_str(name(target));
}

/// An option taking a comma-separated list of names of `values` (e.g. --estimators stein,quadrature).
template <class Enum>
CLI::Option* add_enum_list_option(CLI::App* app, const std::string& flag, std::vector<Enum>& target,
                                  const std::vector<Enum>& values, const char* (*name)(Enum), const std::string& help) {
  std::string defaults;
  for (Enum v : target) defaults += (defaults.empty() ? "" : ",") + std::string(name(v));
  return app
      ->add_option_function<std::vector<std::string>>(
          flag,
          [&target, flag, values, name](const std::vector<std::string>& texts) {
            target.clear();
            for (const std::string& t : texts) target.push_back(parse_name(flag, t, values, name));
          },
          help + " (comma-separated: " + choices(values, name) + ")")
      ->delimiter(',')
      ->default_str(defaults);
}

/// Validators that, unlike CLI11's PositiveNumber, also refuse NaN and infinity.
extern const CLI::Validator kPositive;     ///< a finite number > 0
extern const CLI::Validator kNonNegative;  ///< a finite number >= 0
extern const CLI::Validator kUnsigned64;   ///< an integer in [0, 2^64 - 1], written in decimal digits
/// An integer in [lo, hi], with a message that says so.
CLI::Validator integer_in(long long lo, long long hi);

/// Adds the options of how a fit runs, shared by `fit` and `demo`: --family, --estimator, --rule,
/// --samples, --step-size, --max-steps, --tol, --seed, --threads, --backend.
void add_method_options(CLI::App* app, Options& options, Family& family);

/// Checks `options` as fit() would, and the step size against the rule, with the flags' names.
/// Throws InputError.
void check_method_options(const Options& options);

}  // namespace ngvi::cli
