// `ngvi fit`: fits a built-in GLM to every problem of a dataset read from .npy or CSV files and
// writes the posteriors, ELBOs, statuses and a JSON summary to a directory, all or nothing.
#include <fmt/format.h>

#include <cmath>
#include <csignal>
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
  std::string checkpoint, resume;
  int checkpoint_every = 0;
  bool overwrite = false;
  bool trace = false;
  bool quiet = false, verbose = false;
  // Set by CLI11 when the option was given.
  CLI::Option* noise_sd_option = nullptr;
  CLI::Option* problem_column_option = nullptr;
  CLI::Option* y_column_option = nullptr;
  CLI::Option* family_option = nullptr;
  CLI::Option* precision_option = nullptr;
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
  if (a.checkpoint_every > 0 && a.checkpoint.empty())
    throw InputError(fmt::format("--checkpoint-every {} needs --checkpoint FILE", a.checkpoint_every));
  check_method_options(a.options);
}

// With --resume, the options that decide the results are the checkpoint's; the execution settings
// (threads, backend) stay the command line's.
FitArgs resumed_arguments(FitArgs a) {
  const CheckpointInfo info = read_checkpoint_info(a.resume);
  const Precision precision = info.scalar_bytes == 4 ? Precision::Float32 : Precision::Float64;
  if (a.precision_option->count() > 0 && a.precision != precision)
    throw InputError(fmt::format("--resume {}: the checkpoint was written by a {} fit, not --precision {}", a.resume,
                                 precision_name(precision), precision_name(a.precision)));
  if (a.family_option->count() > 0 && a.family != info.family)
    throw InputError(fmt::format("--resume {}: the checkpoint holds the {} family, not --family {}", a.resume,
                                 family_name(info.family), family_name(a.family)));
  Options options = info.options;
  options.num_threads = a.options.num_threads;
  options.backend = a.options.backend;
  a.options = options;
  a.family = info.family;
  a.precision = precision;
  if (a.trace && !info.options.trace_elbo)
    throw InputError(fmt::format("--resume {}: --trace needs a checkpoint of a fit that recorded the ELBO trace "
                                 "(started with --trace)", a.resume));
  return a;
}

// What an interrupted fit left: the line main() prints.
std::string interrupted_message(const FitArgs& a, const Summary& s, int signal) {
  const std::string what = fmt::format("interrupted by {} after step {}", signal == SIGTERM ? "SIGTERM" : "SIGINT",
                                       s.iterations);
  const std::string nothing = a.out.empty() ? "" : fmt::format("; nothing was written to {}", a.out);
  if (a.checkpoint.empty()) return what + nothing;
  if (!s.checkpoint_error.empty())
    return fmt::format("{}; the checkpoint could not be written: {}{}", what, s.checkpoint_error, nothing);
  return fmt::format("{}; its state is saved in {} (continue with --resume {}){}", what, a.checkpoint, a.checkpoint,
                     nothing);
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
  opt["tolerance_sd"] = o.tolerance_sd;
  opt["final_samples"] = o.final_samples;
  opt["seed"] = o.seed;
  opt["threads"] = o.num_threads;
  opt["backend"] = backend_name(o.backend);
  opt["precision"] = precision_name(a.precision);
  opt["prior_precision"] = a.prior_precision;
  opt["noise_sd"] = a.likelihood == Likelihood::Linear ? json(a.noise_sd) : json(nullptr);
  opt["trace_elbo"] = a.trace;
  j["checkpoint"] = a.checkpoint.empty() ? json(nullptr) : json(a.checkpoint);
  j["resumed_from"] = a.resume.empty() ? json(nullptr) : json(a.resume);
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
  std::size_t poor = 0;  // Pareto k-hat above 0.7: the Gaussian misses the posterior's shape
  for (double k : s.pareto_k) poor += k > 0.7;
  j["pareto_k_above_0_7"] = poor;
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
  write("elbo_mcse.npy", s.elbo_mcse.data(), {B});
  write("mean_mcse_sd.npy", s.mean_mcse_sd.data(), {B});
  write("pareto_k.npy", s.pareto_k.data(), {B});
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
  options.checkpoint_path = a.checkpoint;
  options.checkpoint_every = a.checkpoint_every;
  const Summary summary = a.resume.empty() ? fit(model, batch, options) : resume(model, batch, a.resume, options);
  display.finish();
  if (const int signal = display.signal_received()) throw Interrupted(signal, interrupted_message(a, summary, signal));
  if (!summary.checkpoint_error.empty()) fmt::print(stderr, "ngvi: warning: {}\n", summary.checkpoint_error);

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

int run_fit(const FitArgs& given) {
  check_arguments(given);
  const FitArgs a = given.resume.empty() ? given : resumed_arguments(given);
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
      "elbo (B,), status (B,) int32, steps (B,) int32, the diagnostics elbo_mcse, mean_mcse_sd and pareto_k\n"
      "(B,) (README, \"Accuracy and convergence\"), and summary.json.");
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
  a->family_option = app->get_option("--family");
  app->add_option("--prior-precision", a->prior_precision, "precision delta of the prior N(0, I / delta)")
      ->capture_default_str()
      ->check(kPositive);
  a->noise_sd_option = app->add_option("--noise-sd", a->noise_sd, "known noise standard deviation (linear model)")
                           ->capture_default_str()
                           ->check(kPositive);
  a->precision_option =
      add_enum_option(app, "--precision", a->precision, kPrecisions, precision_name, "scalar type of the computation");
  app->add_option("--out", a->out, "directory for the results (written completely or not at all)");
  app->add_flag("--overwrite", a->overwrite, "replace --out if it exists");
  app->add_option("--checkpoint", a->checkpoint,
                  "save the fit's whole state to this file (atomically) every --checkpoint-every steps and when "
                  "SIGINT or SIGTERM stops it");
  app->add_option("--checkpoint-every", a->checkpoint_every, "steps between checkpoints (0: only on a signal)")
      ->capture_default_str()
      ->check(integer_in(0, 1'000'000'000));
  app->add_option("--resume", a->resume,
                  "continue the fit saved in this checkpoint, on the same --model and data; the method options, "
                  "family and precision are the checkpoint's, and the results are those of an uninterrupted run");
  app->add_flag("--trace", a->trace, "record the mean ELBO after every step (elbo_trace.npy)");
  CLI::Option* quiet = app->add_flag("-q,--quiet", a->quiet, "print nothing but errors");
  app->add_flag("-v,--verbose", a->verbose, "progress lines on stderr even when it is not a terminal")->excludes(quiet);
  return {app, [a] { return run_fit(*a); }};
}

}  // namespace ngvi::cli
