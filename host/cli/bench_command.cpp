// `ngvi bench`: per-step throughput of the library on the standard workload (B logistic regressions
// with N rows each, from N(0, I)), swept over dimension, batch size, samples, family, estimator, rule
// and backend. Prints a table, writes JSON, and with --plot an SVG of throughput.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "io/atomic_output.hpp"
#include "io/svg_plot.hpp"

namespace ngvi::cli {
namespace {

struct BenchArgs {
  std::vector<int> dims = {4, 16};
  std::vector<std::size_t> batch_sizes = {2000};
  std::vector<int> samples = {16};
  std::size_t rows = 256;
  std::vector<Family> families = {Family::Full, Family::Diagonal};
  std::vector<Estimator> estimators = {Estimator::Stein, Estimator::Quadrature};
  std::vector<Rule> rules = {Rule::IBLR};
  std::vector<Backend> backends = {Backend::Cpu};
  Precision precision = Precision::Float32;
  int steps = 10;
  int repeats = 2;
  int threads = 0;
  std::uint64_t seed = 1;
  std::string json = "ngvi-bench.json";
  std::string plot;
};

struct Config {
  int d;
  std::size_t B;
  int S;
  Family family;
  Estimator estimator;
  Rule rule;
  Backend backend;
};

struct Measurement {
  Config config;
  std::string error;  // why it did not run (empty when it did)
  std::string device;
  double step_seconds = 0;            // best over the repeats, per step
  double median_step_seconds = 0;
  double distribution_steps_per_second = 0;  // from the best repeat
};

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

// Seconds per step and distribution-steps per step of one timed fit, from the progress callback:
// steps 2 .. K, so that neither setup, the first step nor the final ELBO is counted.
struct Timing {
  double seconds = 0, distribution_steps = 0;
  std::string device;
};

template <class T>
Timing time_fit(const Model<T>& model, const Config& c, const BenchArgs& a, int steps) {
  GaussianBatch<T> q(c.B, c.d, c.family);
  Options options;
  options.estimator = c.estimator;
  options.rule = c.rule;
  options.backend = c.backend;
  options.samples = c.S;
  options.max_steps = steps;
  options.tolerance = 0;  // every distribution takes every step
  options.seed = a.seed;
  options.num_threads = a.threads;
  if (c.rule == Rule::Adam) options.step_size = 0.1;  // its learning rate (only the cost is measured)
  double first = -1, last = 0, counted = 0;
  std::size_t active_before = c.B;
  options.progress = [&](const Progress& p) {
    if (p.iteration == 1) first = p.seconds;
    else counted += static_cast<double>(active_before);
    last = p.seconds;
    active_before = p.active;
    return true;
  };
  const Summary summary = fit(model, q, options);
  return {last - first, counted, summary.device};
}

template <class T>
std::vector<Measurement> sweep(const BenchArgs& a) {
  std::vector<Measurement> results;
  for (int d : a.dims)
    for (std::size_t B : a.batch_sizes) {
      const auto problems = SyntheticProblems<T>::generate(Likelihood::Logistic, B, d, a.rows, a.rows, a.seed);
      const LogisticRegression<T> model(problems.data());
      for (Backend backend : a.backends)
        for (Family family : a.families)
          for (Estimator estimator : a.estimators)
            for (Rule rule : a.rules)
              for (int S : a.samples) {
                // Quadrature draws no samples: one entry, whatever --samples says.
                if (estimator == Estimator::Quadrature && S != a.samples.front()) continue;
                Measurement m;
                m.config = {d, B, S, family, estimator, rule, backend};
                try {
                  time_fit(model, m.config, a, 2);  // warm-up: first touch of memory, thread start
                  std::vector<Timing> runs;
                  for (int r = 0; r < a.repeats; ++r) runs.push_back(time_fit(model, m.config, a, a.steps));
                  std::sort(runs.begin(), runs.end(),
                            [](const Timing& x, const Timing& y) { return x.seconds < y.seconds; });
                  const double steps = static_cast<double>(a.steps - 1);
                  m.step_seconds = runs.front().seconds / steps;
                  m.median_step_seconds = runs[runs.size() / 2].seconds / steps;
                  m.distribution_steps_per_second = runs.front().distribution_steps / runs.front().seconds;
                  m.device = runs.front().device;
                } catch (const Error& e) {
                  m.error = e.what();
                }
                results.push_back(std::move(m));
              }
    }
  return results;
}

std::string label(const Config& c) {
  return fmt::format("{} {} {} {}", backend_name(c.backend), family_name(c.family), estimator_name(c.estimator),
                     rule_name(c.rule));
}

void print_table(const std::vector<Measurement>& results, const BenchArgs& a) {
  fmt::print("{:<7} {:<8} {:<10} {:<8} {:>4} {:>7} {:>4} {:>12} {:>14}\n", "backend", "family", "estimator", "rule", "d",
             "B", "S", "ms/step", "dist-steps/s");
  for (const Measurement& m : results) {
    const Config& c = m.config;
    const std::string S = c.estimator == Estimator::Quadrature ? "-" : std::to_string(c.S);
    std::string head = fmt::format("{:<7} {:<8} {:<10} {:<8} {:>4} {:>7} {:>4}", backend_name(c.backend),
                                   family_name(c.family), estimator_name(c.estimator), rule_name(c.rule), c.d, c.B, S);
    if (!m.error.empty()) fmt::print("{} {:>12}  {}\n", head, "-", m.error);
    else
      fmt::print("{} {:>12.3f} {:>14.4g}\n", head, 1e3 * m.step_seconds, m.distribution_steps_per_second);
  }
  fmt::print("logistic, N = {} rows per problem, {}, {} timed steps (best of {}), {}\n", a.rows,
             precision_name(a.precision), a.steps - 1, a.repeats, cpu_model());
}

nlohmann::ordered_json to_json(const std::vector<Measurement>& results, const BenchArgs& a) {
  using json = nlohmann::ordered_json;
  json j;
  j["ngvi_version"] = NGVI_VERSION_STRING;
  j["command"] = command_line();
  j["cpu_model"] = cpu_model();
  j["hardware_threads"] = std::thread::hardware_concurrency();
  // Timings on a shared machine are only as good as its load while they ran.
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) == 3) j["load_average_1_5_15_min"] = {load[0], load[1], load[2]};
  j["workload"] = {{"model", "logistic"}, {"rows", a.rows},       {"precision", precision_name(a.precision)},
                   {"data_seed", a.seed}, {"steps", a.steps},     {"timed_steps", a.steps - 1},
                   {"repeats", a.repeats}, {"threads", a.threads}, {"start", "N(0, I)"}};
  json rows = json::array();
  for (const Measurement& m : results) {
    const Config& c = m.config;
    json r = {{"backend", backend_name(c.backend)}, {"family", family_name(c.family)},
              {"estimator", estimator_name(c.estimator)}, {"rule", rule_name(c.rule)},
              {"d", c.d}, {"B", c.B}, {"S", c.estimator == Estimator::Quadrature ? json(nullptr) : json(c.S)}};
    if (!m.error.empty()) {
      r["error"] = m.error;
    } else {
      r["device"] = m.device;
      r["seconds_per_step"] = m.step_seconds;
      r["median_seconds_per_step"] = m.median_step_seconds;
      r["distribution_steps_per_second"] = m.distribution_steps_per_second;
    }
    rows.push_back(std::move(r));
  }
  j["results"] = std::move(rows);
  return j;
}

// Throughput against the swept quantity with the most values (B, else d, else S), one line for each
// combination of the others.
io::PlotPanel throughput_panel(const std::vector<Measurement>& results, const BenchArgs& a) {
  enum class X { B, d, S } x = a.batch_sizes.size() > 1 ? X::B : a.dims.size() > 1 ? X::d : X::S;
  io::PlotPanel panel;
  panel.title = fmt::format("logistic, N = {}, {}", a.rows, precision_name(a.precision));
  panel.x_label = x == X::B ? "batch size B" : x == X::d ? "dimension d" : "samples S";
  panel.y_label = "distribution-steps per second";
  panel.log_x = panel.log_y = true;
  std::map<std::string, io::PlotSeries> series;
  for (const Measurement& m : results) {
    if (!m.error.empty()) continue;
    const Config& c = m.config;
    std::string name = label(c);
    if (x != X::B) name += fmt::format(" B={}", c.B);
    if (x != X::d) name += fmt::format(" d={}", c.d);
    if (x != X::S && c.estimator != Estimator::Quadrature) name += fmt::format(" S={}", c.S);
    io::PlotSeries& s = series[name];
    s.label = name;
    s.markers = true;
    s.x.push_back(x == X::B ? static_cast<double>(c.B) : x == X::d ? c.d : c.S);
    s.y.push_back(m.distribution_steps_per_second);
  }
  for (auto& [name, s] : series) panel.series.push_back(std::move(s));
  return panel;
}

int run_bench(const BenchArgs& a) {
  if (a.steps < 2) throw InputError("--steps must be at least 2 (the first step is not timed)");
  const std::vector<Measurement> results =
      a.precision == Precision::Float32 ? sweep<float>(a) : sweep<double>(a);
  print_table(results, a);
  const bool any = std::any_of(results.begin(), results.end(), [](const Measurement& m) { return m.error.empty(); });
  if (!a.json.empty()) {
    io::write_file_atomically(a.json, to_json(results, a).dump(2) + "\n");
    fmt::print("results: {}\n", a.json);
  }
  if (!a.plot.empty()) {
    io::write_file_atomically(a.plot, io::render_svg("ngvi bench: throughput", {throughput_panel(results, a)}));
    fmt::print("plot: {}\n", a.plot);
  }
  if (!any) throw InputError("no configuration of the sweep could run");
  return kExitOk;
}

}  // namespace

Subcommand add_bench_command(CLI::App& parent) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* app = parent.add_subcommand("bench", "Throughput sweep on the standard workload (logistic regressions)");
  app->add_option("--dims", a->dims, "dimensions d (comma-separated)")->delimiter(',')->capture_default_str()->check(integer_in(1, 4096));
  app->add_option("--batch-sizes", a->batch_sizes, "batch sizes B (comma-separated)")
      ->delimiter(',')
      ->capture_default_str()
      ->check(integer_in(1, 1LL << 40));
  app->add_option("--samples", a->samples, "Monte Carlo samples S (comma-separated)")
      ->delimiter(',')
      ->capture_default_str()
      ->check(integer_in(1, 1 << 20));
  app->add_option("--rows", a->rows, "rows N of every problem")->capture_default_str()->check(integer_in(1, 1LL << 40));
  add_enum_list_option(app, "--families", a->families, kFamilies, family_name, "families");
  add_enum_list_option(app, "--estimators", a->estimators, kEstimators, estimator_name, "estimators");
  add_enum_list_option(app, "--rules", a->rules, kRules, rule_name, "rules");
  add_enum_list_option(app, "--backends", a->backends, kBackends, backend_name, "backends");
  add_enum_option(app, "--precision", a->precision, kPrecisions, precision_name, "scalar type");
  app->add_option("--steps", a->steps, "steps of each timed fit (the first is not timed)")
      ->capture_default_str()
      ->check(integer_in(2, 1 << 20));
  app->add_option("--repeats", a->repeats, "timed fits per configuration (the best is reported)")
      ->capture_default_str()
      ->check(integer_in(1, 1000));
  app->add_option("--threads", a->threads, "CPU threads (0: all)")->capture_default_str()->check(integer_in(0, kMaxThreads));
  app->add_option("--seed", a->seed, "seed of the data and the fits")->capture_default_str()->check(kUnsigned64);
  app->add_option("--json", a->json, "JSON results file (\"\" for none)")->capture_default_str();
  app->add_option("--plot", a->plot, "SVG throughput plot");
  return {app, [a] { return run_bench(*a); }};
}

}  // namespace ngvi::cli
