#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "ngvi/fit.hpp"

namespace ngvi {

void Summary::recount() {
  status_counts.fill(0);
  distribution_steps = 0;
  for (std::size_t b = 0; b < status.size(); ++b) {
    ++status_counts[static_cast<int>(status[b])];
    distribution_steps += static_cast<std::size_t>(steps[b]);
  }
  mean_elbo = detail::mean_elbo(status, elbo);
  distribution_steps_per_second = seconds > 0 ? static_cast<double>(distribution_steps) / seconds : 0.0;
}

std::size_t Summary::failures() const {
  std::size_t n = 0;
  for (int s = 0; s < kStatusCount; ++s)
    if (is_failure(static_cast<Status>(s))) n += status_counts[s];
  return n;
}

std::string Summary::brief_report() const {
  return fmt::format(
      "ngvi: {} distributions, d = {}: {} converged, {} at the step budget, {} failed; {} steps in {:.3f} s "
      "({:.3g} distribution-steps/s); mean ELBO {:.6g}",
      batch_size, dimension, count(Status::Converged), count(Status::StepBudget), failures(), iterations, seconds,
      distribution_steps_per_second, mean_elbo);
}

namespace {

// The largest finite entry (NaN if none) and how many finite entries exceed `threshold`.
std::pair<double, std::size_t> largest(const std::vector<double>& values, double threshold) {
  double top = std::nan("");
  std::size_t above = 0;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    top = std::isnan(top) ? v : std::max(top, v);
    above += v > threshold;
  }
  return {top, above};
}

}  // namespace

std::string Summary::full_report() const {
  std::string r = fmt::format("ngvi fit summary\n");
  r += fmt::format("  batch              {} distributions, d = {}, {} covariance\n", batch_size, dimension,
                   family == Family::Full ? "full" : "diagonal");
  r += fmt::format("  method             estimator {}, rule {}\n", estimator_name(estimator), rule_name(rule));
  r += fmt::format("  backend            {} ({})\n", backend_name(backend), device);
  r += fmt::format("  iterations         {}\n", iterations);
  r += fmt::format("  distribution-steps {}\n", distribution_steps);
  r += fmt::format("  time               {:.4f} s\n", seconds);
  r += fmt::format("  throughput         {:.4g} distribution-steps/s\n", distribution_steps_per_second);
  r += fmt::format("  mean ELBO          {:.8g} (over distributions that did not fail)\n", mean_elbo);
  const auto [k_max, k_poor] = largest(pareto_k, 0.7);
  const auto [mcse_max, mcse_above] = largest(mean_mcse_sd, 0.05);
  r += fmt::format("  Pareto k-hat       largest {:.3g}; {} above 0.7 (q misses the posterior's shape there)\n", k_max,
                   k_poor);
  r += fmt::format("  mean MCSE          largest {:.3g} posterior sd; {} above 0.05\n", mcse_max, mcse_above);
  r += "  status\n";
  for (int s = 0; s < kStatusCount; ++s)
    if (status_counts[s] > 0)
      r += fmt::format("    {:>3} {:<22} {:>10}  {}\n", s, status_name(static_cast<Status>(s)), status_counts[s],
                       status_message(static_cast<Status>(s)));
  return r;
}

}  // namespace ngvi
