/// @file online.hpp
/// @brief Online rounds: the current posteriors become the priors of the next rows (Bayesian
/// filtering with Gaussian posteriors), with optional forgetting, and Thompson-sampling draws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ngvi/export.hpp"
#include "ngvi/fit.hpp"
#include "ngvi/gaussian.hpp"
#include "ngvi/model.hpp"
#include "ngvi/options.hpp"
#include "ngvi/prior.hpp"

namespace ngvi {

/// @brief The per-problem full prior N(mu_b, (forgetting * Lambda_b)^-1) from the current state of
/// `batch` (a Diagonal batch gives diagonal precision matrices). forgetting in (0, 1] widens the
/// posteriors so that old rows count less (exponential forgetting, e.g. Kulhavy and Zarrop (1993),
/// "On a general concept of forgetting"). Throws ngvi::Error naming `forgetting` if it is outside
/// (0, 1], or if a precision is not positive definite.
template <class T>
NGVI_API Prior<T> posterior_prior(const GaussianBatch<T>& batch, double forgetting = 1.0);

/// @brief One online round: fits `batch` in place to `new_rows` (a model of only the rows that arrived
/// since the last round) under the priors posterior_prior(batch, forgetting), which replace the model's
/// own. Start the first round from the prior of the first rows: e.g. a fresh GaussianBatch is N(0, I),
/// the default prior of the GLMs.
///
/// For linear-Gaussian models with exact fits (Estimator::Quadrature, Rule::BLR with step 1), k
/// rounds give the one-shot posterior of all the rows (with forgetting = 1), to the fit's tolerance;
/// for other likelihoods each round keeps a Gaussian posterior (assumed density filtering), close to
/// but not equal to the one-shot fit. Runs on the backend options.backend selects, as fit() does (the
/// model is seen through a ModelWithPrior, which the CUDA backend runs when the wrapped model is a
/// built-in one); throws as fit() does.
template <class T>
NGVI_API Summary fit_online_round(const Model<T>& new_rows, GaussianBatch<T>& batch,
                                  const Options& options = Options(), double forgetting = 1.0);

/// @brief Thompson sampling: one draw z_b ~ q_b per problem (B, d) for decision round `round`,
/// keyed by (seed, b, round) with the counter RNG of fit(), so the same arguments give the same draws
/// on any machine and thread count (GaussianBatch::sample with one sample, not antithetic).
template <class T>
std::vector<T> thompson_draws(const GaussianBatch<T>& batch, std::uint64_t seed, std::uint32_t round) {
  std::vector<T> draws(batch.size() * static_cast<std::size_t>(batch.dimension()));
  batch.sample(seed, round, 1, draws.data(), /*antithetic=*/false);
  return draws;
}

extern template NGVI_API Prior<float> posterior_prior<float>(const GaussianBatch<float>&, double);
extern template NGVI_API Prior<double> posterior_prior<double>(const GaussianBatch<double>&, double);
extern template NGVI_API Summary fit_online_round<float>(const Model<float>&, GaussianBatch<float>&, const Options&,
                                                         double);
extern template NGVI_API Summary fit_online_round<double>(const Model<double>&, GaussianBatch<double>&,
                                                          const Options&, double);

}  // namespace ngvi
