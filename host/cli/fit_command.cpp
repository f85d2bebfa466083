// `ngvi fit`: fits a built-in GLM to every problem of a dataset read from .npy or CSV files and
// writes the posteriors, ELBOs, statuses and a JSON summary to a directory, all or nothing; with
// --pooled, under a prior shared by all problems and learned from them (fit_pooled).
#include <fmt/format.h>

#include <cmath>
#include <csignal>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/dataset.hpp"
#include "cli/progress.hpp"
#include "io/atomic_output.hpp"
#include "io/error.hpp"
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
  // --pooled: empirical Bayes (fit_pooled); --prior-precision is the first round's prior.
  bool pooled = false;
  PoolingOptions pooling;
  // Set by CLI11 when the option was given.
  CLI::App* app = nullptr;
  CLI::Option* noise_sd_option = nullptr;
  CLI::Option* problem_column_option = nullptr;
  CLI::Option* y_column_option = nullptr;
  CLI::Option* family_option = nullptr;
  CLI::Option* precision_option = nullptr;
};

const char* pooled_precision_name(bool diagonal) { return diagonal ? "diagonal" : "full"; }

// The options of --pooled: only with it, and not with the ones that continue or trace a single fit.
void check_pooled_arguments(const FitArgs& a) {
  const char* pooled_only[] = {"--pooled-precision", "--pooled-tol", "--pooled-max-rounds", "--hyperprior-scale",
                               "--hyperprior-dof"};
  if (!a.pooled) {
    for (const char* flag : pooled_only)
      if (a.app->count(flag) > 0) throw InputError(fmt::format("{} applies only with --pooled", flag));
    return;
  }
  for (const char* flag : {"--resume", "--checkpoint", "--trace"})
    if (a.app->count(flag) > 0)
      throw InputError(fmt::format("{} cannot be combined with --pooled (a pooled fit is a sequence of fits, each "
                                   "under a new prior)",
                                   flag));
  const PoolingOptions& p = a.pooling;
  if (p.hyperprior_dof != 0.0 && p.hyperprior_scale == 0.0)
    throw InputError(fmt::format("--hyperprior-dof {} needs --hyperprior-scale (the inverse-Wishart's scale)",
                                 p.hyperprior_dof));
}

// The inverse-Wishart's degrees of freedom depend on the dimension, known once the data is read.
void check_hyperprior_dof(const FitArgs& a, int dimension) {
  const PoolingOptions& p = a.pooling;
  if (p.hyperprior_scale == 0.0) return;
  const double min_dof = p.diagonal_precision ? 0.0 : dimension - 1.0;
  if (!(p.hyperprior_dof > min_dof))
    throw InputError(fmt::format("--hyperprior-dof {} is invalid: a proper inverse-Wishart on the {} prior covariance "
                                 "of dimension d = {} needs more than {} (set it with --hyperprior-scale)",
                                 p.hyperprior_dof, pooled_precision_name(p.diagonal_precision), dimension, min_dof));
}

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
  if (!f.csv.empty() && f.problem_column.empty())
    throw InputError("--problem-column is empty: name the CSV column that says each row's problem");
  if (!f.csv.empty() && f.y_column.empty()) throw InputError("--y-column is empty: name the CSV column of the response");
  if (a.checkpoint_every > 0 && a.checkpoint.empty())
    throw InputError(fmt::format("--checkpoint-every {} needs --checkpoint FILE", a.checkpoint_every));
  if (a.app->count("--checkpoint") > 0 && a.checkpoint.empty()) throw InputError("--checkpoint is empty: name a file");
  if (a.app->count("--resume") > 0 && a.resume.empty()) throw InputError("--resume is empty: name a checkpoint file");
  check_method_options(a.options);
  check_pooled_arguments(a);
}

// Without --out a fit only prints its summary (which says so); an empty --out is a mistake.
void check_out(const FitArgs& a) {
  if (a.app->count("--out") > 0 && a.out.empty())
    throw InputError("--out is empty: name the directory the results are written to");
  if (a.out.empty()) return;
  try {
    io::StagedDirectory::check(a.out, a.overwrite);
  } catch (const io::IoError& e) {
    throw InputError(std::string("--out ") + e.what());
  }
}

// Refuses outputs that would destroy an input: --checkpoint onto a data file, or --out (replaced with
// --overwrite, its old contents deleted) holding the data, the checkpoint or the file resumed from.
void check_outputs_spare_inputs(const FitArgs& a) {
  const DataFiles& f = a.files;
  const std::vector<std::pair<const char*, std::string>> inputs = {
      {"--x", f.x}, {"--y", f.y}, {"--offsets", f.offsets}, {"--csv", f.csv}, {"--resume", a.resume}};
  for (const auto& [flag, path] : inputs) {
    if (path.empty()) continue;
    if (!a.checkpoint.empty() && std::string(flag) != "--resume" && io::path_within(a.checkpoint, path))
      throw InputError(fmt::format("--checkpoint {} is the input {} {}: writing checkpoints would overwrite it",
                                   a.checkpoint, flag, path));
    if (!a.out.empty() && io::path_within(path, a.out))
      throw InputError(fmt::format("--out {} holds the input {} {}, which writing the results would delete; choose "
                                   "another --out",
                                   a.out, flag, path));
  }
  if (!a.checkpoint.empty() && !a.out.empty() && io::path_within(a.checkpoint, a.out))
    throw InputError(fmt::format("--checkpoint {} lies inside --out {}, which writing the results replaces; keep it "
                                 "outside",
                                 a.checkpoint, a.out));
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
  // A method option given with --resume must be the checkpoint's: the saved options decide the results.
  const Options& saved = info.options;
  const Options& given = a.options;
  auto require_same = [&](const char* flag, bool same, const std::string& saved_value, const std::string& value) {
    if (a.app->count(flag) > 0 && !same)
      throw InputError(fmt::format("--resume {}: the checkpoint's fit has {} {}, not {}: a resumed fit continues "
                                   "with its own options (drop {})",
                                   a.resume, flag, saved_value, value, flag));
  };
  require_same("--estimator", given.estimator == Estimator::Auto || given.estimator == saved.estimator,
               estimator_name(saved.estimator), estimator_name(given.estimator));
  require_same("--rule", given.rule == saved.rule, rule_name(saved.rule), rule_name(given.rule));
  require_same("--samples", given.samples == saved.samples, std::to_string(saved.samples),
               std::to_string(given.samples));
  require_same("--step-size", given.step_size == saved.step_size, fmt::format("{}", saved.step_size),
               fmt::format("{}", given.step_size));
  require_same("--max-steps", given.max_steps == saved.max_steps, std::to_string(saved.max_steps),
               std::to_string(given.max_steps));
  require_same("--tol", given.tolerance == saved.tolerance, fmt::format("{}", saved.tolerance),
               fmt::format("{}", given.tolerance));
  require_same("--seed", given.seed == saved.seed, std::to_string(saved.seed), std::to_string(given.seed));
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

template <class T>
nlohmann::ordered_json summary_json(const FitArgs& a, const Dataset<T>& data, const Summary& s,
                                    const PooledFit<T>* pooled, const std::vector<std::string>& outputs) {
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
  if (pooled) {
    const PoolingOptions& p = a.pooling;
    json& pool = j["pooling"];
    pool["precision"] = pooled_precision_name(p.diagonal_precision);
    pool["hyperprior_scale"] = p.hyperprior_scale;
    pool["hyperprior_dof"] = p.hyperprior_dof;
    pool["tolerance"] = p.tolerance;
    pool["max_rounds"] = p.max_rounds;
    pool["rounds"] = pooled->elbo.size();
    pool["converged"] = pooled->converged;
    json& elbo = pool["elbo"] = json::array();  // per round, whole batch (also pooled_elbo.npy)
    for (double v : pooled->elbo) elbo.push_back(number_or_null(v));
    json& objective = pool["objective"] = json::array();
    for (double v : pooled->objective) objective.push_back(number_or_null(v));
  }
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

// Writes every output into the staging directory, each whether or not another failed (a finished fit
// is never lost to one output error); returns the file names written and the errors.
template <class T>
std::pair<std::vector<std::string>, std::vector<std::string>> write_outputs(const FitArgs& a, const Dataset<T>& data,
                                                                            const io::StagedDirectory& dir,
                                                                            const GaussianBatch<T>& batch,
                                                                            const Summary& s,
                                                                            const PooledFit<T>* pooled) {
  const std::size_t B = batch.size(), d = static_cast<std::size_t>(batch.dimension()), m = batch.matrix_size();
  const bool full = batch.family() == Family::Full;
  const std::vector<std::size_t> matrix_shape = full ? std::vector<std::size_t>{B, d, d} : std::vector<std::size_t>{B, d};
  std::vector<std::string> names, errors;
  auto attempt = [&](const std::string& name, auto&& write) {
    try {
      write(dir.file(name));
      names.push_back(name);
    } catch (const std::exception& e) {
      errors.push_back(e.what());
    }
  };
  attempt("mean.npy", [&](const std::string& path) { io::write_npy(path, batch.mean(), {B, d}); });
  attempt(full ? "covariance.npy" : "variance.npy", [&](const std::string& path) {
    std::vector<T> covariance(B * m);
    batch.covariance(covariance.data());
    io::write_npy(path, covariance.data(), matrix_shape);
  });
  attempt("precision_cholesky.npy", [&](const std::string& path) {
    io::write_npy(path, batch.precision_cholesky(), matrix_shape);
  });
  attempt("elbo.npy", [&](const std::string& path) { io::write_npy(path, s.elbo.data(), {B}); });
  attempt("status.npy", [&](const std::string& path) {
    std::vector<std::int32_t> status(B);
    for (std::size_t b = 0; b < B; ++b) status[b] = static_cast<std::int32_t>(s.status[b]);
    io::write_npy(path, status.data(), {B});
  });
  attempt("steps.npy", [&](const std::string& path) {
    io::write_npy(path, std::vector<std::int32_t>(s.steps.begin(), s.steps.end()).data(), {B});
  });
  attempt("elbo_mcse.npy", [&](const std::string& path) { io::write_npy(path, s.elbo_mcse.data(), {B}); });
  attempt("mean_mcse_sd.npy", [&](const std::string& path) { io::write_npy(path, s.mean_mcse_sd.data(), {B}); });
  attempt("pareto_k.npy", [&](const std::string& path) { io::write_npy(path, s.pareto_k.data(), {B}); });
  if (a.trace)
    attempt("elbo_trace.npy", [&](const std::string& path) { io::write_npy(path, s.elbo_trace.data(), {s.elbo_trace.size()}); });
  if (pooled) {
    attempt("prior_mean.npy", [&](const std::string& path) { io::write_npy(path, pooled->prior_mean.data(), {d}); });
    attempt("prior_precision.npy",
            [&](const std::string& path) { io::write_npy(path, pooled->prior_precision.data(), {d, d}); });
    attempt("pooled_elbo.npy",
            [&](const std::string& path) { io::write_npy(path, pooled->elbo.data(), {pooled->elbo.size()}); });
  }
  attempt("summary.json", [&](const std::string& path) {
    std::vector<std::string> outputs = names;
    outputs.push_back("summary.json");
    // Labels and paths need not be UTF-8: invalid bytes become U+FFFD instead of failing the dump.
    io::write_file_atomically(
        path, summary_json(a, data, s, pooled, outputs).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
                  "\n");
  });
  return {names, errors};
}

// Writes the outputs and commits them; on any failure keeps what was written under a visible name and
// says where, so that the finished fit is not lost.
template <class T>
std::vector<std::string> save_results(const FitArgs& a, const Dataset<T>& data, io::StagedDirectory& out,
                                      const GaussianBatch<T>& batch, const Summary& summary,
                                      const PooledFit<T>* pooled) {
  auto [outputs, errors] = write_outputs(a, data, out, batch, summary, pooled);
  if (errors.empty()) {
    try {
      out.commit();
      return outputs;
    } catch (const io::IoError& e) {
      errors.push_back(e.what());
    }
  }
  std::string kept;
  try {
    kept = fmt::format("the {} outputs written ({}) are kept in {}", outputs.size(), fmt::join(outputs, ", "), out.keep());
  } catch (const io::IoError& e) {
    kept = fmt::format("nothing could be kept: {}", e.what());
  }
  throw InputError(fmt::format("the fit finished, but --out {} could not be written: {}; {}", a.out,
                               fmt::join(errors, "; "), kept));
}

// The staging directory of --out; null without --out.
std::unique_ptr<io::StagedDirectory> staged_output(const FitArgs& a) {
  if (a.out.empty()) return nullptr;
  try {
    return std::make_unique<io::StagedDirectory>(a.out, a.overwrite);
  } catch (const io::IoError& e) {
    throw InputError(std::string("--out ") + e.what());
  }
}

template <class T>
int fit_typed(const FitArgs& a) {
  Dataset<T> data = load_dataset<T>(a.files);
  if (a.pooled) check_hyperprior_dof(a, data.dimension);
  const GeneralizedLinearModel<T> model(a.likelihood, data.view(), Prior<T>::isotropic(static_cast<T>(a.prior_precision)),
                                        static_cast<T>(a.noise_sd));
  // Data the likelihood cannot use (labels outside {0, 1}, negative counts, values that overflow the
  // precision) is an input error here, not a per-distribution status.
  const std::string source = data.layout == "csv" ? "--csv " + a.files.csv : "--y " + a.files.y;
  for (std::size_t b = 0; b < data.num_problems; ++b)
    if (std::string why; !model.check_problem(b, &why))
      throw InputError(fmt::format("{}: {} cannot be fitted with --model {}: {}", source, data.problem_name(b),
                                   likelihood_name(a.likelihood), why));

  std::optional<GaussianBatch<T>> posterior;
  try {
    posterior.emplace(data.num_problems, data.dimension, a.family);
  } catch (const std::bad_alloc&) {
    throw InputError(fmt::format("{} problems of dimension {}: the {} posteriors need more memory than can be "
                                 "allocated (try --family diagonal or --precision float32)",
                                 data.num_problems, data.dimension, family_name(a.family)));
  }
  GaussianBatch<T>& batch = *posterior;
  Options options = a.options;
  ProgressDisplay display(ProgressDisplay::choose(a.quiet, a.verbose), options.max_steps, data.num_problems);
  options.progress = display.callback();
  options.trace_elbo = a.trace || display.mode() != ProgressDisplay::Mode::Off;
  options.checkpoint_path = a.checkpoint;
  options.checkpoint_every = a.checkpoint_every;
  // Created once the signal handlers are in place, so that no signal leaves it behind.
  const std::unique_ptr<io::StagedDirectory> out = staged_output(a);
  std::optional<PooledFit<T>> pooled;
  if (a.pooled) {
    PoolingOptions pooling = a.pooling;
    pooling.initial_precision = a.prior_precision;
    pooled.emplace(fit_pooled(model, batch, options, pooling));
  }
  const Summary summary = pooled                ? pooled->last_fit
                          : a.resume.empty()    ? fit(model, batch, options)
                                                : resume(model, batch, a.resume, options);
  display.finish();
  if (const int signal = display.signal_received()) throw Interrupted(signal, interrupted_message(a, summary, signal));
  if (!summary.checkpoint_error.empty()) fmt::print(stderr, "ngvi: warning: {}\n", summary.checkpoint_error);

  // The rows are no longer needed: their memory goes before the outputs' buffers are made.
  std::vector<T>().swap(data.x);
  std::vector<T>().swap(data.y);
  const std::vector<std::string> outputs = out ? save_results(a, data, *out, batch, summary, pooled ? &*pooled : nullptr) : std::vector<std::string>();
  if (!a.quiet) {
    const std::string rows = data.ragged() ? fmt::format("{} rows in all", data.total_rows())
                                           : fmt::format("{} rows each", data.rows_per_problem);
    fmt::print("ngvi fit: {} regression, {} problems ({}, {}), d = {}, {} arithmetic\n", likelihood_name(a.likelihood),
               data.num_problems, data.layout, rows, data.dimension, precision_name(a.precision));
    fmt::print("{}", summary.full_report());
    if (pooled)
      fmt::print("  pooled prior       {} precision learned in {} rounds ({}); whole-batch ELBO {:.6g} -> {:.6g}\n",
                 pooled_precision_name(a.pooling.diagonal_precision), pooled->elbo.size(),
                 pooled->converged ? "converged" : "not converged: --pooled-max-rounds reached",
                 pooled->elbo.front(), pooled->elbo.back());
    if (out) fmt::print("  outputs            {}/ ({})\n", a.out, fmt::join(outputs, ", "));
    else fmt::print("  outputs            none: no --out was given, the results were not written\n");
    if (summary.failures() > 0)
      fmt::print(stderr, "ngvi: warning: {} of {} distributions failed; status.npy has each one's status code\n",
                 summary.failures(), data.num_problems);
  }
  return kExitOk;
}

int run_fit(const FitArgs& given) {
  check_arguments(given);
  const FitArgs a = given.resume.empty() ? given : resumed_arguments(given);
  // Checked first, so that an output that cannot be written is reported before any work.
  check_outputs_spare_inputs(a);
  check_out(a);
  return a.precision == Precision::Float32 ? fit_typed<float>(a) : fit_typed<double>(a);
}

}  // namespace

Subcommand add_fit_command(CLI::App& parent) {
  auto a = std::make_shared<FitArgs>();
  CLI::App* app = parent.add_subcommand("fit", "Fit a built-in model to every problem of a dataset");
  a->app = app;
  app->footer(
      "Data: dense --x (B, N, d) and --y (B, N); ragged --x (rows, d), --y (rows,) and --offsets (B + 1,);\n"
      "or --csv with a header, a problem column, a response column and covariate columns.\n"
      "Outputs (float64 .npy): mean (B, d), covariance (B, d, d) or variance (B, d), precision_cholesky,\n"
      "elbo (B,), status (B,) int32, steps (B,) int32, the diagnostics elbo_mcse, mean_mcse_sd and pareto_k\n"
      "(B,) (README, \"Accuracy and convergence\"), and summary.json.\n"
      "--pooled adds prior_mean (d,), prior_precision (d, d) and pooled_elbo (rounds,): the shared prior\n"
      "N(m, P^-1) learned from all problems by variational EM, and each round's whole-batch ELBO.");
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
  app->add_flag("--pooled", a->pooled,
                "learn one prior N(m, P^-1) shared by all problems (empirical Bayes by variational EM), starting "
                "from N(0, I / --prior-precision); the posteriors are those under the learned prior");
  app->add_option_function<std::string>(
         "--pooled-precision",
         [a](const std::string& text) {
           if (text != "full" && text != "diagonal")
             throw CLI::ValidationError("--pooled-precision", "'" + text + "' is not one of full|diagonal");
           a->pooling.diagonal_precision = text == "diagonal";
         },
         "the shared prior's precision P (full|diagonal)")
      ->default_str("full");
  app->add_option("--pooled-tol", a->pooling.tolerance,
                  "outer tolerance: stop once the whole-batch ELBO (plus the log hyperprior) changes by less than "
                  "this times (1 + |ELBO|) in a round")
      ->capture_default_str()
      ->check(kNonNegative);
  app->add_option("--pooled-max-rounds", a->pooling.max_rounds, "outer (EM) rounds at most, each a fit of the batch")
      ->capture_default_str()
      ->check(integer_in(1, 1'000'000));
  app->add_option("--hyperprior-scale", a->pooling.hyperprior_scale,
                  "inverse-Wishart hyperprior IW(s I, nu) on the prior covariance P^-1, so that small batches keep a "
                  "proper prior (0: none)")
      ->capture_default_str()
      ->check(kNonNegative);
  app->add_option("--hyperprior-dof", a->pooling.hyperprior_dof,
                  "the hyperprior's degrees of freedom nu (> d - 1; > 0 with --pooled-precision diagonal)")
      ->capture_default_str()
      ->check(kNonNegative);
  app->add_flag("--trace", a->trace, "record the mean ELBO after every step (elbo_trace.npy)");
  CLI::Option* quiet = app->add_flag("-q,--quiet", a->quiet, "print nothing but errors");
  app->add_flag("-v,--verbose", a->verbose, "progress lines on stderr even when it is not a terminal")->excludes(quiet);
  return {app, [a] { return run_fit(*a); }};
}

}  // namespace ngvi::cli
