/// @file pooling.hpp
/// @brief fit_pooled(): empirical Bayes across a batch. One prior N(m, P^-1) shared by all problems is
/// learned with the posteriors, by variational EM.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ngvi/export.hpp"
#include "ngvi/fit.hpp"
#include "ngvi/gaussian.hpp"
#include "ngvi/model.hpp"
#include "ngvi/options.hpp"

namespace ngvi {

/// @brief How fit_pooled() learns the shared prior.
///
/// Hyperprior (optional, when hyperprior_scale > 0): an inverse-Wishart IW(Psi, nu) on the prior
/// covariance C = P^-1 with Psi = hyperprior_scale * I and nu = hyperprior_dof; the M-step then takes
/// C's MAP estimate, which stays positive definite for any batch size, even B = 1. With a diagonal
/// precision each variance has the one-dimensional IW(Psi_ii, nu) (an inverse gamma,
/// IG(nu / 2, Psi_ii / 2)).
struct NGVI_API PoolingOptions {
  /// Learn a diagonal precision instead of a full one.
  bool diagonal_precision = false;
  /// Outer (EM) rounds at most; each round is one fit() of the whole batch.
  int max_rounds = 100;
  /// The outer loop converges once the objective (the whole-batch ELBO plus the hyperprior's log
  /// density) changes by less than tolerance * (1 + |objective|) in a round.
  double tolerance = 1e-10;
  /// Prior of the first round: N(initial_mean, initial_precision^-1 I); initial_mean empty means 0.
  std::vector<double> initial_mean;
  double initial_precision = 1.0;
  /// Inverse-Wishart hyperprior on P^-1 (see above); 0 for none.
  double hyperprior_scale = 0.0;
  double hyperprior_dof = 0.0;

  /// @brief Empty if valid for dimension d, else a message naming the first bad field and its value.
  std::string check(int dimension) const;
};

/// @brief What fit_pooled() learned and did.
template <class T>
struct PooledFit {
  /// The shared prior the returned posteriors were fitted under: mean (d) and precision (d, d),
  /// zero off the diagonal with PoolingOptions::diagonal_precision.
  std::vector<T> prior_mean;
  std::vector<T> prior_precision;
  /// Per outer round: the whole-batch ELBO, sum over the problems that did not fail of
  /// ELBO_b = E_q[log p(y_b | z) + log N(z; m, P^-1)] + H(q_b), under that round's prior; and the
  /// objective EM increases, the ELBO plus the hyperprior's log density up to a constant.
  std::vector<double> elbo;
  std::vector<double> objective;
  /// Whether the objective met PoolingOptions::tolerance within max_rounds.
  bool converged = false;
  /// The last round's fit: per-problem statuses, steps and ELBOs.
  Summary last_fit;
};

/// @brief Fits every distribution of `batch` to the matching problem of `model` under a prior
/// N(m, P^-1) shared by all problems, learned from them: empirical Bayes by variational EM.
///
/// Each round fits the batch (warm-started from the previous round's posteriors) under the current
/// prior, which replaces the model's own; then the M-step sets the prior to the one maximising the
/// whole-batch ELBO given the posteriors q_b = N(mu_b, Sigma_b) of the B problems that did not fail:
///   m = mean_b mu_b,   P^-1 = (Psi + S) / (nu + B + d + 1),   S = sum_b Sigma_b + (mu_b - m)(mu_b - m)^T,
/// with Psi = 0, nu = -(d + 1) without a hyperprior, which gives P^-1 = S / B. A diagonal precision
/// keeps the diagonal of S and has 2 in place of d + 1. Sources: the M-step of EM maximises the ELBO in
/// the parameters (Bishop, PRML (2006), section 9.4); the MAP of a covariance under an inverse-Wishart
/// prior (Murphy, MLAPP (2012), section 4.6.3).
///
/// With exact fits (Estimator::Quadrature) each round's ELBO is at least the previous one. Rounds stop
/// when the objective converges (PoolingOptions::tolerance) or after max_rounds; the returned prior is
/// the one of the last fit. The objective is flat at its maximum, so a tolerance eps leaves the prior
/// about sqrt(eps) from it: for a prior accurate to 1e-8, set tolerance 0 and enough max_rounds.
///
/// Works with every estimator and rule. Each round's fit runs on the backend options.backend selects,
/// as fit() does: the CUDA backend for a built-in model (seen through a ModelWithPrior, whose prior
/// the device uploads), the CPU otherwise. Throws ngvi::Error if the options are invalid, the shapes disagree, or every
/// problem failed (no posteriors to learn from).
template <class T>
NGVI_API PooledFit<T> fit_pooled(const Model<T>& model, GaussianBatch<T>& batch, const Options& options = Options(),
                                 const PoolingOptions& pooling = PoolingOptions());

extern template NGVI_API PooledFit<float> fit_pooled<float>(const Model<float>&, GaussianBatch<float>&,
                                                            const Options&, const PoolingOptions&);
extern template NGVI_API PooledFit<double> fit_pooled<double>(const Model<double>&, GaussianBatch<double>&,
                                                              const Options&, const PoolingOptions&);

}  // namespace ngvi
