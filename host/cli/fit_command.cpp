// `ngvi fit`: fits a built-in GLM to every problem of a dataset read from .npy or CSV files and
// writes the posteriors, ELBOs, statuses and a JSON summary to a directory, all or nothing.
#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/dataset.hpp"
#include "cli/progress.hpp"
#include "io/atomic_output.hpp"
#include "io/npy.hpp"

namespace ngvi::cli {
namespace {

struct FitArgs {
  Likelihood likelihood = Likelihood::Logistic;
  DataFiles files;
  Options options;
  Family family = Family::Full;
  double prior_precision = 1.0;
  double noise_sd = 1.0;
  Precision precision = Precision::Float64;
  std::string out;
  bool overwrite = false;
  bool trace = false;
  bool quiet = false, verbose = false;
  // Set by CLI11 when the option was given.
  CLI::Option* noise_sd_option = nullptr;
  CLI::Option* problem_column_option = nullptr;
  CLI::Option* y_column_option = nullptr;
};

void check_arguments(const FitArgs& a) {
  const DataFiles& f = a.files;
  if (!f.csv.empty() && (!f.x.empty() || !f.y.empty() || !f.offsets.empty()))
    throw InputError("--csv cannot be combined with --x, --y or --offsets");
  if (f.csv.empty()) {
    if (f.x.empty() && f.y.empty()) throw InputError("no data: give --x X.npy --y y.npy, or --csv FILE");
    if (f.x.empty()) throw InputError("--y is given without --x");
    if (f.y.empty()) throw InputError("--x is given without --y");
    if (a.problem_column_option->count() > 0 || a.y_column_option->count() > 0)
      throw InputError("--problem-column and --y-column apply only to --csv");
  }
  if (a.noise_sd_option->count() > 0 && a.likelihood != Likelihood::Linear)
    throw InputError(fmt::format("--noise-sd applies only to --model linear (the model is {})",
                                 likelihood_name(a.likelihood)));
  check_method_options(a.options);
}

nlohmann::ordered_json summary_json(const FitArgs& a, const Dataset& data, const Summary& s,
                            const std::vector<std::string>& outputs) {
  using json = nlohmann::ordered_json;
  auto number_or_null = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  json j;
  j["ngvi_version"] = NGVI_VERSION_STRING;
  j["command"] = command_line();
  j["model"] = likelihood_name(a.likelihood);
  json& d = j["data"];
  d["layout"] = data.layout;
  d["problems"] = data.num_problems;
  d["dimension"] = data.dimension;
  d["rows"] = data.total_rows();
  if (data.layout == "csv") {
    d["csv"] = a.files.csv;
    d["problem_column"] = a.files.problem_column;
    d["y_column"] = a.files.y_column;
    d["covariates"] = data.covariates;
    d["problem_labels"] = data.labels;
  } else {
    d["x"] = a.files.x;
    d["y"] = a.files.y;
    d["offsets"] = a.files.offsets.empty() ? json(nullptr) : json(a.files.offsets);
  }
  const Options& o = a.options;
  json& opt = j["options"];
  opt["family"] = family_name(a.family);
  opt["estimator"] = estimator_name(o.estimator);
  opt["rule"] = rule_name(o.rule);
  opt["samples"] = o.samples;
  opt["antithetic"] = o.antithetic;
  opt["step_size"] = o.step_size;
  opt["max_steps"] = o.max_steps;
  opt["tolerance"] = o.tolerance;
  opt["patience"] = o.patience;
  opt["seed"] = o.seed;
  opt["threads"] = o.num_threads;
  opt["backend"] = backend_name(o.backend);
  opt["precision"] = precision_name(a.precision);
  opt["prior_precision"] = a.prior_precision;
  opt["noise_sd"] = a.likelihood == Likelihood::Linear ? json(a.noise_sd) : json(nullptr);
  opt["trace_elbo"] = a.trace;
  // What Auto became.
  j["resolved"] = {{"estimator", estimator_name(s.estimator)}, {"rule", rule_name(s.rule)},
                   {"backend", backend_name(s.backend)}};
  j["device"] = s.device;
  j["iterations"] = s.iterations;
  j["distribution_steps"] = s.distribution_steps;
  std::size_t rejected = 0;
  for (int r : s.rejected_steps) rejected += static_cast<std::size_t>(r);
  j["rejected_steps"] = rejected;
  json counts = json::object();
  for (int k = 0; k < kStatusCount; ++k) counts[status_name(static_cast<Status>(k))] = s.status_counts[k];
  j["status_counts"] = counts;
  j["failures"] = s.failures();
  j["mean_elbo"] = number_or_null(s.mean_elbo);
  j["seconds"] = s.seconds;
  j["distribution_steps_per_second"] = number_or_null(s.distribution_steps_per_second);
  j["outputs"] = outputs;
  return j;
}

template <class T>
std::vector<double> to_double(const T* values, std::size_t n) {
  return std::vector<double>(values, values + n);
}

// Writes every output into the staging directory; returns the file names.
template <class T>
std::vector<std::string> write_outputs(const io::StagedDirectory& dir, const GaussianBatch<T>& batch,
                                       const Summary& s, bool trace) {
  const std::size_t B = batch.size(), d = static_cast<std::size_t>(batch.dimension()), m = batch.matrix_size();
  const bool full = batch.family() == Family::Full;
  const std::vector<std::size_t> matrix_shape = full ? std::vector<std::size_t>{B, d, d} : std::vector<std::size_t>{B, d};
  std::vector<std::string> names;
  auto write = [&](const std::string& name, const auto* values, const std::vector<std::size_t>& shape) {
    io::write_npy(dir.file(name), values, shape);
    names.push_back(name);
  };
  write("mean.npy", to_double(batch.mean(), B * d).data(), {B, d});
  std::vector<T> covariance(B * m);
  batch.covariance(covariance.data());
  write(full ? "covariance.npy" : "variance.npy", to_double(covariance.data(), B * m).data(), matrix_shape);
  write("precision_cholesky.npy", to_double(batch.precision_cholesky(), B * m).data(), matrix_shape);
  write("elbo.npy", s.elbo.data(), {B});
  std::vector<std::int32_t> status(B);
  for (std::size_t b = 0; b < B; ++b) status[b] = static_cast<std::int32_t>(s.status[b]);
  write("status.npy", status.data(), {B});
  write("steps.npy", std::vector<std::int32_t>(s.steps.begin(), s.steps.end()).data(), {B});
  if (trace) write("elbo_trace.npy", s.elbo_trace.data(), {s.elbo_trace.size()});
  return names;
}

template <class T>
int fit_typed(const FitArgs& a, const Dataset& data, io::StagedDirectory* out) {
  const std::vector<T> x(data.x.begin(), data.x.end()), y(data.y.begin(), data.y.end());
  const GeneralizedLinearModel<T> model(a.likelihood, data.view(x.data(), y.data()),
                                        Prior<T>::isotropic(static_cast<T>(a.prior_precision)),
                                        static_cast<T>(a.noise_sd));
  // Data the likelihood cannot use (labels outside {0, 1}, negative counts, values that overflow the
  // precision) is an input error here, not a per-distribution status.
  const std::string source = data.layout == "csv" ? "--csv " + a.files.csv : "--y " + a.files.y;
  for (std::size_t b = 0; b < data.num_problems; ++b)
    if (std::string why; !model.check_problem(b, &why))
      throw InputError(fmt::format("{}: {} cannot be fitted with --model {}: {}", source, data.problem_name(b),
                                   likelihood_name(a.likelihood), why));

  GaussianBatch<T> batch(data.num_problems, data.dimension, a.family);
  Options options = a.options;
  ProgressDisplay display(ProgressDisplay::choose(a.quiet, a.verbose), options.max_steps, data.num_problems);
  options.progress = display.callback();
  options.trace_elbo = a.trace || display.mode() != ProgressDisplay::Mode::Off;
  const Summary summary = fit(model, batch, options);
  display.finish();
  if (display.interrupted()) throw Interrupted();

  std::vector<std::string> outputs;
  if (out) {
    outputs = write_outputs(*out, batch, summary, a.trace);
    outputs.push_back("summary.json");
    io::write_file_atomically(out->file("summary.json"), summary_json(a, data, summary, outputs).dump(2) + "\n");
    out->commit();
  }
  if (!a.quiet) {
    const std::string rows = data.ragged() ? fmt::format("{} rows in all", data.total_rows())
                                           : fmt::format("{} rows each", data.rows_per_problem);
    fmt::print("ngvi fit: {} regression, {} problems ({}, {}), d = {}, {} arithmetic\n", likelihood_name(a.likelihood),
               data.num_problems, data.layout, rows, data.dimension, precision_name(a.precision));
    fmt::print("{}", summary.full_report());
    if (out) fmt::print("  outputs            {}/ ({})\n", a.out, fmt::join(outputs, ", "));
    if (summary.failures() > 0)
      fmt::print(stderr, "ngvi: warning: {} of {} distributions failed; status.npy has each one's status code\n",
                 summary.failures(), data.num_problems);
  }
  return kExitOk;
}

int run_fit(const FitArgs& a) {
  check_arguments(a);
  // Created first, so that an output that cannot be written is reported before any work.
  std::optional<io::StagedDirectory> out;
  if (!a.out.empty()) out.emplace(a.out, a.overwrite);
  const Dataset data = load_dataset(a.files);
  return a.precision == Precision::Float32 ? fit_typed<float>(a, data, out ? &*out : nullptr)
                                           : fit_typed<double>(a, data, out ? &*out : nullptr);
}

}  // namespace

Subcommand add_fit_command(CLI::App& parent) {
  auto a = std::make_shared<FitArgs>();
  CLI::App* app = parent.add_subcommand("fit", "Fit a built-in model to every problem of a dataset");
  app->footer(
      "Data: dense --x (B, N, d) and --y (B, N); ragged --x (rows, d), --y (rows,) and --offsets (B + 1,);\n"
      "or --csv with a header, a problem column, a response column and covariate columns.\n"
      "Outputs (float64 .npy): mean (B, d), covariance (B, d, d) or variance (B, d), precision_cholesky,\n"
      "elbo (B,), status (B,) int32, steps (B,) int32, and summary.json.");
  add_enum_option(app, "--model", a->likelihood, kLikelihoods, likelihood_name, "likelihood")->required();
  app->add_option("--x", a->files.x, "covariates, .npy: (B, N, d), or (rows, d) with --offsets");
  app->add_option("--y", a->files.y, "responses, .npy: (B, N), or (rows,) with --offsets");
  app->add_option("--offsets", a->files.offsets, "ragged layout, .npy of B + 1 integers: problem b owns rows "
                                                 "offsets[b] .. offsets[b+1]-1");
  app->add_option("--csv", a->files.csv, "a CSV file instead of --x/--y: one row per observation");
  a->problem_column_option =
      app->add_option("--problem-column", a->files.problem_column, "CSV column naming each row's problem")
          ->capture_default_str();
  a->y_column_option = app->add_option("--y-column", a->files.y_column, "CSV column of the response")->capture_default_str();
  add_method_options(app, a->options, a->family);
  app->add_option("--prior-precision", a->prior_precision, "precision delta of the prior N(0, I / delta)")
      ->capture_default_str()
      ->check(kPositive);
  a->noise_sd_option = app->add_option("--noise-sd", a->noise_sd, "known noise standard deviation (linear model)")
                           ->capture_default_str()
                           ->check(kPositive);
  add_enum_option(app, "--precision", a->precision, kPrecisions, precision_name, "scalar type of the computation");
  app->add_option("--out", a->out, "directory for the results (written completely or not at all)");
  app->add_flag("--overwrite", a->overwrite, "replace --out if it exists");
  app->add_flag("--trace", a->trace, "record the mean ELBO after every step (elbo_trace.npy)");
  CLI::Option* quiet = app->add_flag("-q,--quiet", a->quiet, "print nothing but errors");
  app->add_flag("-v,--verbose", a->verbose, "progress lines on stderr even when it is not a terminal")->excludes(quiet);
  return {app, [a] { return run_fit(*a); }};
}

}  // namespace ngvi::cli
