#include "engine/psis.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ngvi::detail {
namespace {

// Zhang & Stephens (2009): the posterior mean of theta = -k / sigma over a grid of m = 30 + sqrt(n)
// values weighted by their profile likelihood, then k = mean(log(1 - theta x)); `x` (exceedances
// over the threshold) sorted ascending, all positive.
double generalized_pareto_shape(const std::vector<double>& x) {
  const int n = static_cast<int>(x.size());
  const int m = 30 + static_cast<int>(std::sqrt(static_cast<double>(n)));
  constexpr double kPriorScale = 3.0;  // of the grid, as in loo's gpdfit
  const double quartile = x[static_cast<std::size_t>(std::max(0, static_cast<int>(n / 4.0 + 0.5) - 1))];
  std::vector<double> theta(m), log_likelihood(m);
  for (int j = 0; j < m; ++j) {
    theta[j] = 1.0 / x.back() + (1.0 - std::sqrt(m / (j + 0.5))) / (kPriorScale * quartile);
    double k = 0.0;
    for (double xi : x) k += std::log1p(-theta[j] * xi);
    k /= n;
    log_likelihood[j] = n * (std::log(-theta[j] / k) - k - 1.0);
  }
  double theta_mean = 0.0, total = 0.0;
  for (int j = 0; j < m; ++j) {
    double denominator = 0.0;  // weight_j = 1 / sum_l exp(ll_l - ll_j)
    for (int l = 0; l < m; ++l) denominator += std::exp(log_likelihood[l] - log_likelihood[j]);
    const double weight = 1.0 / denominator;
    if (!(weight >= 10 * std::numeric_limits<double>::epsilon())) continue;
    theta_mean += weight * theta[j];
    total += weight;
  }
  theta_mean /= total;
  double k = 0.0;
  for (double xi : x) k += std::log1p(-theta_mean * xi);
  k /= n;
  // k > 0 for heavy tails; then the weak prior centred on 0.5, worth 10 observations.
  constexpr double kPriorWeight = 10.0;
  return (n * k + kPriorWeight * 0.5) / (n + kPriorWeight);
}

}  // namespace

double pareto_k_hat(std::vector<double>& log_weights) {
  const std::size_t S = log_weights.size();
  if (S < 10) return std::numeric_limits<double>::quiet_NaN();
  for (double r : log_weights)
    if (!std::isfinite(r)) return std::numeric_limits<double>::quiet_NaN();
  const std::size_t M = static_cast<std::size_t>(
      std::ceil(std::min(0.2 * static_cast<double>(S), 3.0 * std::sqrt(static_cast<double>(S)))));
  std::sort(log_weights.begin(), log_weights.end());
  const double largest = log_weights.back();
  const double cutoff = std::exp(log_weights[S - M - 1] - largest);
  std::vector<double> exceedances;
  exceedances.reserve(M);
  for (std::size_t s = S - M; s < S; ++s) {
    const double x = std::exp(log_weights[s] - largest) - cutoff;
    if (x > 0.0) exceedances.push_back(x);
  }
  if (exceedances.size() < 5) return std::numeric_limits<double>::quiet_NaN();  // ties: no tail to fit
  return generalized_pareto_shape(exceedances);
}

}  // namespace ngvi::detail
