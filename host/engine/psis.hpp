// The Pareto k-hat diagnostic of importance weights (Pareto smoothed importance sampling): how heavy
// the right tail of p(z, data) / q(z) is under z ~ q, i.e. whether q is an adequate approximation.
#pragma once

#include <vector>

namespace ngvi::detail {

/// k-hat of the generalized Pareto distribution fitted to the M = ceil(min(S / 5, 3 sqrt(S))) largest
/// of S importance weights, given as log weights (any additive constant). Vehtari, Simpson, Gelman,
/// Yao & Gabry (2024), "Pareto smoothed importance sampling", JMLR, with the profile-likelihood
/// estimator of Zhang & Stephens (2009) and its weakly informative prior on k (as in loo and ArviZ).
/// Below 0.5: the weights have finite variance, q is good; 0.5 to 0.7: usable with care; above 0.7:
/// importance sampling (and q's moments) unreliable (Yao, Vehtari, Simpson & Gelman 2018). NaN for
/// fewer than 10 weights, or non-finite ones. `log_weights` is reordered.
double pareto_k_hat(std::vector<double>& log_weights);

}  // namespace ngvi::detail
