// The standard throughput workload of the CUDA backend (issue 5), on whichever backend is asked for:
// B logistic regressions with N = 256 rows each, S = 16 samples, the iBLR rule with the Stein and the
// Price estimators, full and diagonal covariance, d in {4, 16, 64, 256}, B as large as fits on the
// device. For every configuration it measures steady-state distribution-steps per second, counts the
// bytes and flops one distribution-step needs (the model is in step_cost below), and reports the
// achieved GB/s and GFLOP/s and the fraction of the roofline of the stated peak figures, as JSON.
//
//   cuda_throughput --backend cuda --output results.json            # the whole standard workload
//   cuda_throughput --backend cpu --dims 4,16 --batch 2000 --steps 3  # a quick run anywhere
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "ngvi/ngvi.hpp"

#if defined(NGVI_BENCH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace {

/// Peak figures of an NVIDIA H200 SXM (HBM3e; its arithmetic is the H100's): the roofline the
/// fractions refer to.
struct Peaks {
  double bandwidth_gbs = 4800.0;
  double fp32_gflops = 67000.0;  // without tensor cores
  double fp64_gflops = 34000.0;
};

/// Bytes and flops of one distribution-step of the workload, counted from the algorithm:
///  bytes: the problem's rows read once (N (d + 1) scalars), its state read and written (d + m scalars
///         each way), its bookkeeping read and written and its entries of the active lists;
///  flops (a fused multiply-add counts 2): sampling z = mu + L^-T eps (S d^2); the linear predictors
///         X z and the gradients X^T r (2 S N d each); the row terms (kRowFlops per row and sample);
///         the Price Hessian X^T diag(w) X (N d (d + 1), its lower triangle) or Stein's
///         mean(eps grad^T) (2 S d^2) and L times it (d^3); the iBLR step: L L^T (d^3 / 3), W = L^-1 G
///         (d^3), W W^T (d^3), the Cholesky factorization (d^3 / 3) and the mean (4 d^2); the KL
///         (tr(Lambda Sigma_new): d^3). The diagonal family needs O(S d + N d) of these.
struct StepCost {
  double bytes = 0, flops = 0;
};
constexpr double kRowFlops = 10;  // a logistic row term: exp, log1p, a division and a few products

StepCost step_cost(int d_, int N_, int S_, ngvi::Family family, ngvi::Estimator estimator, std::size_t scalar) {
  const double d = d_, N = N_, S = S_;
  const bool full = family == ngvi::Family::Full;
  const double m = full ? d * d : d;
  StepCost c;
  c.bytes = (N * (d + 1) + 2 * (d + m)) * scalar + 2 * (4 * 4 + 8 + scalar) + 16;
  const double model = 4 * S * N * d + kRowFlops * S * N;
  if (full) {
    const double estimate = estimator == ngvi::Estimator::Price ? N * d * (d + 1) + S * N : 2 * S * d * d + d * d * d;
    const double rule = (1.0 / 3 + 1 + 1 + 1.0 / 3) * d * d * d + 4 * d * d;
    const double kl = d * d * d + 2 * d * d;
    c.flops = S * d * d + model + estimate + rule + kl;
  } else {
    const double estimate = estimator == ngvi::Estimator::Price ? 3 * N * d + S * N : 3 * S * d;
    c.flops = 2 * S * d + model + estimate + 8 * d + 10 * d;
  }
  return c;
}

struct Args {
  std::string backend = "cuda";
  std::vector<int> dims = {4, 16, 64, 256};
  std::vector<std::string> families = {"full", "diagonal"};
  std::vector<std::string> estimators = {"stein", "price"};
  std::string precision = "float";
  std::size_t batch = 0;         // 0: as large as fits (CUDA), 4096 elsewhere
  std::size_t max_batch = 1 << 20;
  int rows = 256;
  int samples = 16;
  int warmup = 2;
  int steps = 10;
  double memory_fraction = 0.6;  // of the device's free memory for the batch, when sizing it
  double max_data_gb = 2.0;      // cap on the problems' rows when sizing B: the host makes them, once per d
  std::uint64_t seed = 2026;
  std::string output;
  Peaks peaks;
  bool peaks_given = false;
};

/// The largest batch whose rows and state take memory_fraction of the device's free memory and whose
/// rows take at most max_data_gb. A few hundred thousand warps' worth of work saturates the device
/// long before its memory is full, and the rows are generated on the host and uploaded for each fit.
std::size_t fitting_batch(const Args& args, int d, ngvi::Family family, std::size_t scalar) {
  const StepCost cost = step_cost(d, args.rows, args.samples, family, ngvi::Estimator::Price, scalar);
  std::size_t free = 0;
#if defined(NGVI_BENCH_CUDA)
  std::size_t total = 0;
  if (args.backend != "cpu" && cudaMemGetInfo(&free, &total) != cudaSuccess) free = 0;
#endif
  if (free == 0) return 4096;
  const double per_distribution = cost.bytes + 64;  // rows, state in and out (counted twice), bookkeeping
  const double rows_bytes = static_cast<double>(args.rows) * (d + 1) * static_cast<double>(scalar);
  const double by_memory = args.memory_fraction * static_cast<double>(free) / per_distribution;
  const double by_data = args.max_data_gb * 1e9 / rows_bytes;
  return std::max<std::size_t>(1, std::min<std::size_t>(args.max_batch,
                                                        static_cast<std::size_t>(std::min(by_memory, by_data))));
}

ngvi::Backend parse_backend(const std::string& name) {
  if (name == "cpu") return ngvi::Backend::Cpu;
  if (name == "cuda") return ngvi::Backend::Cuda;
  return ngvi::Backend::Auto;
}

template <class T>
nlohmann::json run_dimension(const Args& args, int d) {
  nlohmann::json runs = nlohmann::json::array();
  std::size_t B = args.batch;
  if (B == 0) {
    // Size for the full family (the larger state): the diagonal runs use the same data.
    B = fitting_batch(args, d, ngvi::Family::Full, sizeof(T));
  }
  const auto data_start = std::chrono::steady_clock::now();
  const auto problems = ngvi::SyntheticProblems<T>::generate(ngvi::Likelihood::Logistic, B, d, args.rows, args.rows,
                                                             args.seed + static_cast<std::uint64_t>(d));
  const ngvi::LogisticRegression<T> model(problems.data());
  const double data_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - data_start).count();

  for (const std::string& family_name : args.families)
    for (const std::string& estimator_name : args.estimators) {
      const ngvi::Family family = family_name == "diagonal" ? ngvi::Family::Diagonal : ngvi::Family::Full;
      const ngvi::Estimator estimator = estimator_name == "price" ? ngvi::Estimator::Price : ngvi::Estimator::Stein;
      ngvi::Options options;
      options.estimator = estimator;
      options.rule = ngvi::Rule::IBLR;
      options.samples = args.samples;
      options.max_steps = args.warmup + args.steps;
      options.tolerance = 0.0;  // every distribution takes every step
      // The final phase (the average, the ELBO and k-hat from fresh draws, on the host for Monte Carlo
      // fits on either backend) is not what this measures: the fewest draws it takes.
      options.final_samples = 2;
      options.seed = args.seed;
      options.backend = parse_backend(args.backend);
      struct Tick {
        int iteration;
        std::size_t active;
        double seconds;
      };
      std::vector<Tick> ticks;
      options.progress = [&](const ngvi::Progress& p) {
        ticks.push_back({p.iteration, p.active, p.seconds});
        return true;
      };
      ngvi::GaussianBatch<T> batch(B, d, family);
      const ngvi::Summary summary = ngvi::fit(model, batch, options);

      // Steady state: from the end of step `first` (ticks[first - 1]) to the end of the last step; each
      // step in between moves the distributions that were active after the step before it.
      const std::size_t first = std::clamp<std::size_t>(static_cast<std::size_t>(std::max(args.warmup, 1)), 1,
                                                        std::max<std::size_t>(ticks.size(), 2) - 1);
      double moved = 0, window = 0;
      if (ticks.size() > first) {
        for (std::size_t t = first; t < ticks.size(); ++t) moved += static_cast<double>(ticks[t - 1].active);
        window = ticks.back().seconds - ticks[first - 1].seconds;
      }
      const double rate = window > 0 ? moved / window : 0.0;

      const StepCost cost = step_cost(d, args.rows, args.samples, family, estimator, sizeof(T));
      const bool device_peaks = summary.backend == ngvi::Backend::Cuda || args.peaks_given;
      const double peak_flops = (sizeof(T) == 4 ? args.peaks.fp32_gflops : args.peaks.fp64_gflops) * 1e9;
      const double memory_limit = args.peaks.bandwidth_gbs * 1e9 / cost.bytes;
      const double compute_limit = peak_flops / cost.flops;
      const double roofline = std::min(memory_limit, compute_limit);
      nlohmann::json run = {
          {"d", d},
          {"family", family_name},
          {"estimator", estimator_name},
          {"rule", "iblr"},
          {"precision", sizeof(T) == 4 ? "float" : "double"},
          {"batch_size", B},
          {"rows_per_problem", args.rows},
          {"samples", args.samples},
          {"steps_timed", ticks.size() > first ? ticks.size() - first : 0},
          {"backend", ngvi::backend_name(summary.backend)},
          {"device", summary.device},
          {"distribution_steps_per_second", rate},
          {"bytes_per_distribution_step", cost.bytes},
          {"flops_per_distribution_step", cost.flops},
          {"achieved_gb_per_s", rate * cost.bytes / 1e9},
          {"achieved_gflop_per_s", rate * cost.flops / 1e9},
          {"fit_seconds", summary.seconds},
          {"data_generation_seconds", data_seconds},
          {"data_bytes", static_cast<double>(problems.x.size() + problems.y.size()) * sizeof(T)},
          {"failures", summary.failures()},
          {"mean_elbo", summary.mean_elbo},
      };
      if (device_peaks) {
        run["memory_bound_distribution_steps_per_second"] = memory_limit;
        run["compute_bound_distribution_steps_per_second"] = compute_limit;
        run["roofline_distribution_steps_per_second"] = roofline;
        run["roofline_fraction"] = rate / roofline;
        run["bound"] = memory_limit < compute_limit ? "memory" : "compute";
      }
      std::cout << fmt::format("d = {:3} {:8} {:5} {}  B = {:8}  {:.3e} distribution-steps/s  {:7.1f} GB/s  "
                               "{:8.1f} GFLOP/s{}   [{}]\n",
                               d, family_name, estimator_name, sizeof(T) == 4 ? "float " : "double", B, rate,
                               rate * cost.bytes / 1e9, rate * cost.flops / 1e9,
                               device_peaks ? fmt::format("  {:5.1f}% of roofline", 100 * rate / roofline) : "",
                               summary.device)
                << std::flush;
      runs.push_back(run);
    }
  return runs;
}

std::vector<int> parse_dims(const std::string& text) {
  std::vector<int> dims;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) dims.push_back(std::stoi(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return dims;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ngvi throughput benchmark: the standard workload of the CUDA backend on any backend"};
  Args args;
  std::string dims = "4,16,64,256";
  app.add_option("--backend", args.backend, "cuda|cpu|auto")->capture_default_str();
  app.add_option("--dims", dims, "dimensions, comma-separated")->capture_default_str();
  app.add_option("--families", args.families, "full and/or diagonal")->delimiter(',')->capture_default_str();
  app.add_option("--estimators", args.estimators, "stein and/or price")->delimiter(',')->capture_default_str();
  app.add_option("--precision", args.precision, "float|double")->capture_default_str();
  app.add_option("--batch", args.batch, "problems B (0: as many as fit in device memory, 4096 on the CPU)");
  app.add_option("--max-batch", args.max_batch, "cap on B when sizing it")->capture_default_str();
  app.add_option("--memory-fraction", args.memory_fraction, "fraction of free device memory for the batch")
      ->capture_default_str();
  app.add_option("--max-data-gb", args.max_data_gb, "cap on the rows' size (GB) when sizing the batch")
      ->capture_default_str();
  app.add_option("--rows", args.rows, "rows per problem N")->capture_default_str();
  app.add_option("--samples", args.samples, "Monte Carlo samples S")->capture_default_str();
  app.add_option("--warmup", args.warmup, "steps before timing")->capture_default_str();
  app.add_option("--steps", args.steps, "timed steps")->capture_default_str();
  app.add_option("--seed", args.seed)->capture_default_str();
  app.add_option("--output", args.output, "JSON file to write (default: stdout only)");
  CLI::Option* bandwidth = app.add_option("--peak-bandwidth", args.peaks.bandwidth_gbs, "peak GB/s")->capture_default_str();
  CLI::Option* fp32 = app.add_option("--peak-fp32", args.peaks.fp32_gflops, "peak fp32 GFLOP/s")->capture_default_str();
  CLI::Option* fp64 = app.add_option("--peak-fp64", args.peaks.fp64_gflops, "peak fp64 GFLOP/s")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  args.dims = parse_dims(dims);
  args.peaks_given = bandwidth->count() > 0 || fp32->count() > 0 || fp64->count() > 0;

  nlohmann::json report = {
      {"benchmark", "ngvi standard workload: logistic regression, iBLR"},
      {"ngvi_version", NGVI_VERSION_STRING},
      {"peaks",
       {{"bandwidth_gb_per_s", args.peaks.bandwidth_gbs},
        {"fp32_gflop_per_s", args.peaks.fp32_gflops},
        {"fp64_gflop_per_s", args.peaks.fp64_gflops},
        {"source", args.peaks_given ? "given on the command line"
                                    : "NVIDIA H200 SXM: 4.8 TB/s HBM3e, 67 TFLOP/s fp32 and 34 TFLOP/s fp64 "
                                      "without tensor cores; fractions are reported for CUDA runs only"}}},
      {"runs", nlohmann::json::array()}};
  try {
    for (const int d : args.dims) {
      const nlohmann::json runs = args.precision == "double" ? run_dimension<double>(args, d) : run_dimension<float>(args, d);
      for (const auto& run : runs) report["runs"].push_back(run);
      if (!args.output.empty()) std::ofstream(args.output) << report.dump(2) << "\n";  // after every dimension
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cuda_throughput: error: %s\n", e.what());
    if (!args.output.empty()) std::ofstream(args.output) << report.dump(2) << "\n";
    return 2;
  }
  if (args.output.empty()) std::cout << report.dump(2) << "\n";
  return 0;
}
