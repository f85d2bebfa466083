// `ngvi demo`: the README's first run. Fits a synthetic batch of logistic regressions and a real one
// (pairwise digit classifiers on the shipped digits data), prints a report, and writes a convergence
// plot comparing the update rules (the natural-gradient rules against the Euclidean Adam baseline).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "io/atomic_output.hpp"
#include "io/csv.hpp"
#include "io/error.hpp"
#include "io/svg_plot.hpp"

namespace ngvi::cli {
namespace {

struct DemoArgs {
  std::size_t problems = 10000;
  int dimension = 8;
  std::size_t min_rows = 150, max_rows = 250;
  std::uint64_t seed = 2026;
  Options options;
  Family family = Family::Full;
  std::string data_dir;  // "": default_data_dir()
  std::string plot = "ngvi-demo.svg";
  std::size_t curve_problems = 100;
  int curve_steps = 50;
  double adam_learning_rate = 0.1;
};

// The labelled rows of B problems, ragged.
struct Problems {
  std::vector<double> x, y;
  std::vector<std::int64_t> offsets;
  int dimension = 0;
  std::size_t size() const { return offsets.size() - 1; }
  RegressionData<double> data() const {
    return RegressionData<double>::ragged(x.data(), y.data(), offsets.data(), size(), dimension);
  }
  /// The first `count` problems.
  Problems first(std::size_t count) const {
    Problems p;
    p.dimension = dimension;
    p.offsets.assign(offsets.begin(), offsets.begin() + static_cast<std::ptrdiff_t>(count) + 1);
    const auto rows = static_cast<std::ptrdiff_t>(p.offsets.back());
    p.x.assign(x.begin(), x.begin() + rows * dimension);
    p.y.assign(y.begin(), y.begin() + rows);
    return p;
  }
};

// The shipped digits data as 45 pairwise problems (i vs j, i < j; y = 1 for digit j): intercept and
// 64 pixels / 16. Every third image is held out for testing.
struct DigitPairs {
  Problems train, test;
  std::vector<std::pair<int, int>> pairs;
  std::size_t images = 0;
};

// Where the demo's data is: the sources' examples/data for the program in its build tree, else
// share/ngvi of the prefix the program is installed in (<prefix>/bin/ngvi), wherever that was moved.
std::string default_data_dir() {
  std::error_code error, no_build_folder;
  const std::filesystem::path folder = std::filesystem::read_symlink("/proc/self/exe", error).parent_path();
  if (error || std::filesystem::equivalent(folder, NGVI_BUILD_BINARY_DIR, no_build_folder)) return NGVI_EXAMPLES_DIR;
  return (folder / NGVI_DATA_DIR_FROM_BINARY).lexically_normal().string();
}

DigitPairs load_digit_pairs(const std::string& data_dir) {
  const std::string path = (std::filesystem::path(data_dir) / "digits.csv").string();
  io::CsvTable table;
  try {
    table = io::read_csv(path);
  } catch (const io::IoError& e) {
    throw InputError(fmt::format("the demo's real dataset cannot be read ({}); pass --data-dir, a folder "
                                 "holding digits.csv (share/ngvi of the install, or examples/data of the sources)",
                                 e.what()));
  }
  const int label = table.numeric_index("digit");
  const std::size_t columns = table.numeric_columns.size();
  if (label < 0 || columns != 65) throw InputError(fmt::format("{}: 64 pixel columns and 'digit' expected", path));
  DigitPairs d;
  d.images = table.rows;
  d.train.dimension = d.test.dimension = 65;
  d.train.offsets = d.test.offsets = {0};
  for (int i = 0; i < 10; ++i)
    for (int j = i + 1; j < 10; ++j) {
      d.pairs.emplace_back(i, j);
      for (std::size_t r = 0; r < table.rows; ++r) {
        const double* row = table.values.data() + r * columns;
        const int digit = static_cast<int>(row[label]);
        if (digit != i && digit != j) continue;
        Problems& set = r % 3 == 0 ? d.test : d.train;
        set.x.push_back(1.0);
        for (std::size_t c = 0; c < columns; ++c)
          if (static_cast<int>(c) != label) set.x.push_back(row[c] / 16.0);
        set.y.push_back(digit == j ? 1.0 : 0.0);
      }
      d.train.offsets.push_back(static_cast<std::int64_t>(d.train.y.size()));
      d.test.offsets.push_back(static_cast<std::int64_t>(d.test.y.size()));
    }
  return d;
}

Problems synthetic_problems(const DemoArgs& a, std::vector<double>* truth) {
  auto s = SyntheticProblems<double>::generate(Likelihood::Logistic, a.problems, a.dimension, a.min_rows, a.max_rows,
                                               a.seed);
  *truth = std::move(s.truth);
  Problems p;
  p.x = std::move(s.x);
  p.y = std::move(s.y);
  p.offsets = std::move(s.offsets);
  p.dimension = a.dimension;
  return p;
}

// Share of the true parameters within two posterior standard deviations of the posterior mean.
double calibration(const GaussianBatch<double>& q, const std::vector<double>& truth) {
  const std::size_t d = static_cast<std::size_t>(q.dimension()), m = q.matrix_size();
  std::vector<double> covariance(q.size() * m);
  q.covariance(covariance.data());
  const bool full = q.family() == Family::Full;
  double within = 0;
  for (std::size_t b = 0; b < q.size(); ++b)
    for (std::size_t i = 0; i < d; ++i) {
      const double sd = std::sqrt(covariance[b * m + (full ? i * d + i : i)]);
      within += std::abs(q.mean()[b * d + i] - truth[b * d + i]) < 2 * sd;
    }
  return within / static_cast<double>(q.size() * d);
}

// Held-out accuracy and mean log predictive probability of each problem, the predictive probability
// being the logistic-normal integral in MacKay's probit approximation, sigmoid(m / sqrt(1 + pi s^2 / 8)).
struct Scores {
  std::vector<double> accuracy, log_predictive;
};

Scores score(const GaussianBatch<double>& q, const Problems& test) {
  const std::size_t d = static_cast<std::size_t>(q.dimension()), m = q.matrix_size();
  const bool full = q.family() == Family::Full;
  std::vector<double> covariance(q.size() * m);
  q.covariance(covariance.data());
  Scores s;
  for (std::size_t b = 0; b < q.size(); ++b) {
    const double* mu = q.mean() + b * d;
    const double* sigma = covariance.data() + b * m;
    double correct = 0, log_p = 0;
    const auto begin = static_cast<std::size_t>(test.offsets[b]), end = static_cast<std::size_t>(test.offsets[b + 1]);
    for (std::size_t r = begin; r < end; ++r) {
      const double* x = test.x.data() + r * d;
      double mean = 0, variance = 0;
      for (std::size_t i = 0; i < d; ++i) {
        mean += x[i] * mu[i];
        if (!full) variance += x[i] * x[i] * sigma[i];
        else
          for (std::size_t k = 0; k < d; ++k) variance += x[i] * sigma[i * d + k] * x[k];
      }
      const double p = 1 / (1 + std::exp(-mean / std::sqrt(1 + M_PI * variance / 8)));
      const bool one = test.y[r] > 0.5;
      correct += (p > 0.5) == one;
      log_p += std::log(one ? p : 1 - p);
    }
    const double n = static_cast<double>(end - begin);
    s.accuracy.push_back(correct / n);
    s.log_predictive.push_back(log_p / n);
  }
  return s;
}

// The mean-ELBO trace of every rule on the same problems, each run for exactly `steps` steps, and the
// optimum they approach.
struct Curves {
  std::vector<std::pair<Rule, std::vector<double>>> traces;
  std::vector<std::string> unavailable;  // "rule: why"
  double optimum = 0;                    // mean ELBO of the exact estimator's fit, run to convergence
};

// The mean ELBO at the Gaussian VI optimum: the exact (quadrature) estimator with iBLR converges to it
// to rounding.
double optimum_elbo(const LogisticRegression<double>& model, const Problems& problems, const DemoArgs& a) {
  Options options;
  options.estimator = Estimator::Quadrature;
  options.max_steps = 10000;
  options.num_threads = a.options.num_threads;
  GaussianBatch<double> q(problems.size(), problems.dimension, a.family);
  const std::vector<double> elbo = fit(model, q, options).elbo;
  double sum = 0;
  for (double e : elbo) sum += e;
  return sum / static_cast<double>(elbo.size());
}

Curves rule_curves(const Problems& problems, const DemoArgs& a) {
  const LogisticRegression<double> model(problems.data());
  Curves c;
  c.optimum = optimum_elbo(model, problems, a);
  for (Rule rule : kRules) {
    Options options = a.options;
    options.rule = rule;
    options.tolerance = 0;  // no early stop: every curve has every step
    options.max_steps = a.curve_steps;
    options.trace_elbo = true;
    if (rule == Rule::Adam) options.step_size = a.adam_learning_rate;
    GaussianBatch<double> q(problems.size(), problems.dimension, a.family);
    try {
      std::vector<double> trace = fit(model, q, options).elbo_trace;
      // A fit ends early only when every distribution has converged (a step can change the state by a
      // KL that rounds below zero); its mean ELBO stays where it is.
      if (!trace.empty()) trace.resize(static_cast<std::size_t>(a.curve_steps), trace.back());
      c.traces.emplace_back(rule, std::move(trace));
    } catch (const Error& e) {
      c.unavailable.push_back(fmt::format("{}: {}", rule_name(rule), e.what()));
    }
  }
  return c;
}

// The ELBO gap to the optimum on a log scale: every rule's curve stays readable from the first step
// (gaps of hundreds of nats) to convergence (gaps at rounding level). Gaps at or below zero (a rule
// within rounding, or Monte Carlo noise, of the optimum) have no place on it and are counted instead.
io::PlotPanel curve_panel(const std::string& title, const Curves& curves) {
  io::PlotPanel panel;
  panel.title = title;
  panel.x_label = "step";
  panel.y_label = "ELBO gap to the optimum (nats, mean over problems)";
  panel.log_x = panel.log_y = true;
  std::size_t hidden = 0;
  for (const auto& [rule, trace] : curves.traces) {
    io::PlotSeries s;
    s.label = rule == Rule::Adam ? "adam (Euclidean baseline)" : std::string(rule_name(rule)) + " (natural gradient)";
    for (std::size_t k = 0; k < trace.size(); ++k) {
      const double gap = curves.optimum - trace[k];
      hidden += gap > 0 ? 0 : 1;
      s.x.push_back(static_cast<double>(k + 1));
      s.y.push_back(gap > 0 ? gap : std::nan(""));
    }
    panel.series.push_back(std::move(s));
  }
  std::vector<std::string> notes;
  if (hidden > 0) notes.push_back(fmt::format("{} points at or above the optimum not shown", hidden));
  std::vector<std::string> missing;
  for (const std::string& u : curves.unavailable) missing.push_back(u.substr(0, u.find(':')));
  if (!missing.empty()) notes.push_back(fmt::format("not available in this build: {}", fmt::join(missing, ", ")));
  panel.note = fmt::format("{}", fmt::join(notes, "; "));
  return panel;
}

void print_curves(const std::string& name, const Curves& curves, int steps) {
  std::vector<int> marks;
  for (int k : {1, 5, 10, 20, 50, 100, 200, 500, 1000})
    if (k <= steps) marks.push_back(k);
  if (marks.back() != steps) marks.push_back(steps);
  std::string header = fmt::format("    {:<10}", name);
  for (int k : marks) header += fmt::format(" {:>10}", fmt::format("step {}", k));
  fmt::print("{}\n", header);
  for (const auto& [rule, trace] : curves.traces) {
    std::string line = fmt::format("    {:<10}", rule_name(rule));
    for (int k : marks)
      line += fmt::format(" {:>10.3f}", k <= static_cast<int>(trace.size()) ? trace[k - 1] : std::nan(""));
    fmt::print("{}\n", line);
  }
  for (const std::string& u : curves.unavailable) fmt::print("    {:<10} (not run: {})\n", u.substr(0, u.find(':')), u.substr(u.find(':') + 2));
  fmt::print("    {:<10} {:>10.3f} (exact estimator, run to convergence)\n", "optimum", curves.optimum);
}

int run_demo(const DemoArgs& a) {
  check_method_options(a.options);
  if (a.min_rows > a.max_rows) throw InputError(fmt::format("--min-rows {} exceeds --max-rows {}", a.min_rows, a.max_rows));
  const DigitPairs digits = load_digit_pairs(a.data_dir.empty() ? default_data_dir() : a.data_dir);  // first: a missing file fails before any work
  bool failures = false;

  fmt::print("ngvi {} demo\n\n", NGVI_VERSION_STRING);
  fmt::print("1. Synthetic batch: {} logistic regressions, d = {}, {}-{} rows each, data seed {}\n", a.problems,
             a.dimension, a.min_rows, a.max_rows, a.seed);
  std::vector<double> truth;
  const Problems synthetic = synthetic_problems(a, &truth);
  {
    const LogisticRegression<double> model(synthetic.data());
    GaussianBatch<double> q(synthetic.size(), a.dimension, a.family);
    const Summary summary = fit(model, q, a.options);
    failures = failures || summary.failures() > 0;
    fmt::print("{}", summary.full_report());
    fmt::print("  calibration        {:.1f}% of the true parameters lie within 2 posterior sd (95.4% expected)\n\n",
               100 * calibration(q, truth));
  }

  fmt::print("2. Real data: handwritten digits ({} images of 8x8 pixels, UCI via scikit-learn), one logistic\n"
             "   regression per pair of digits: {} problems, d = 65, {} training images each on average\n",
             digits.images, digits.pairs.size(), digits.train.y.size() / digits.pairs.size());
  {
    const LogisticRegression<double> model(digits.train.data());
    GaussianBatch<double> q(digits.train.size(), digits.train.dimension, a.family);
    const Summary summary = fit(model, q, a.options);
    failures = failures || summary.failures() > 0;
    fmt::print("{}", summary.full_report());
    const Scores s = score(q, digits.test);
    const auto worst = std::min_element(s.accuracy.begin(), s.accuracy.end()) - s.accuracy.begin();
    double accuracy = 0, log_predictive = 0;
    for (std::size_t b = 0; b < s.accuracy.size(); ++b) accuracy += s.accuracy[b], log_predictive += s.log_predictive[b];
    const double n = static_cast<double>(s.accuracy.size());
    fmt::print("  held-out images    {} per pair on average (every third image)\n",
               digits.test.y.size() / digits.pairs.size());
    fmt::print("  held-out accuracy  mean {:.1f}%, lowest {:.1f}% ({} vs {})\n", 100 * accuracy / n,
               100 * s.accuracy[worst], digits.pairs[worst].first, digits.pairs[worst].second);
    fmt::print("  log predictive     {:.4f} per held-out image (posterior predictive)\n\n", log_predictive / n);
  }

  const std::size_t curve_problems = std::min(a.curve_problems, synthetic.size());
  fmt::print("3. Convergence: mean ELBO after each step, every rule from N(0, I) with estimator {}\n",
             estimator_name(a.options.estimator));
  const Curves synthetic_curves = rule_curves(synthetic.first(curve_problems), a);
  const Curves digit_curves = rule_curves(digits.train, a);
  print_curves("synthetic", synthetic_curves, a.curve_steps);
  print_curves("digits", digit_curves, a.curve_steps);
  if (!a.plot.empty()) {
    const std::string svg = io::render_svg(
        "ngvi: natural-gradient rules against the Euclidean Adam baseline",
        {curve_panel(fmt::format("synthetic logistic, first {} problems, d = {}", curve_problems, a.dimension),
                     synthetic_curves),
         curve_panel(fmt::format("digit pairs, {} problems, d = 65", digits.train.size()), digit_curves)});
    io::write_file_atomically(a.plot, svg);
    fmt::print("  plot               {}\n", a.plot);
  }
  return failures ? kExitFailedDistributions : kExitOk;
}

}  // namespace

Subcommand add_demo_command(CLI::App& parent) {
  auto a = std::make_shared<DemoArgs>();
  a->options.seed = a->seed;
  CLI::App* app = parent.add_subcommand(
      "demo", "Fit a synthetic batch and a real one (digit pairs), print a report, plot the rules' convergence");
  app->add_option("--problems", a->problems, "synthetic problems B")->capture_default_str()->check(integer_in(1, 1LL << 40));
  app->add_option("--dimension", a->dimension, "dimension d of the synthetic problems")
      ->capture_default_str()
      ->check(integer_in(1, 4096));
  app->add_option("--min-rows", a->min_rows, "fewest rows of a synthetic problem")->capture_default_str()->check(integer_in(0, 1LL << 40));
  app->add_option("--max-rows", a->max_rows, "most rows of a synthetic problem")->capture_default_str()->check(integer_in(0, 1LL << 40));
  app->add_option("--data-seed", a->seed, "seed of the synthetic data")->capture_default_str()->check(kUnsigned64);
  add_method_options(app, a->options, a->family);
  app->add_option("--data-dir", a->data_dir,
                  "folder holding digits.csv (default: share/ngvi beside the installed program, else the sources' "
                  "examples/data)");
  app->add_option("--plot", a->plot, "SVG file for the convergence plot (\"\" for none)")->capture_default_str();
  app->add_option("--curve-problems", a->curve_problems, "synthetic problems in the convergence curves")
      ->capture_default_str()
      ->check(integer_in(1, 1LL << 40));
  app->add_option("--curve-steps", a->curve_steps, "steps of every convergence curve")
      ->capture_default_str()
      ->check(integer_in(1, 1 << 20));
  app->add_option("--adam-lr", a->adam_learning_rate, "learning rate of the Adam baseline")
      ->capture_default_str()
      ->check(kPositive);
  return {app, [a] { return run_demo(*a); }};
}

}  // namespace ngvi::cli
