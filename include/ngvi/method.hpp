/// @file method.hpp
/// @brief How a step is taken: the estimator of the expected gradient and Hessian, the update rule,
/// and the step-size schedule (docs/math.md, sections 4 to 6).
#pragma once

#include <cstdint>

namespace ngvi {

/// @brief How E_q[grad f] and E_q[hess f] are estimated.
enum class Estimator : std::int32_t {
  Auto = 0,        ///< Quadrature if the model has exact expectations, else Price with a Hessian, else Stein, else Score
  Price = 1,       ///< Monte Carlo, mean of the model's gradients and Hessians (second order)
  Stein = 2,       ///< Monte Carlo, gradients only: H = mean sym(L eps grad^T) (first order)
  Score = 3,       ///< Monte Carlo, values only, with a baseline (zeroth order, evolution strategy)
  Quadrature = 4,  ///< exact expectations from the model (GLMs by Gauss-Hermite quadrature), no noise
};

/// @brief How the distribution moves given the estimates.
enum class Rule : std::int32_t {
  IBLR = 0,            ///< improved Bayesian learning rule: stays positive definite for any Hessian
  BLR = 1,             ///< Bayesian learning rule / variational online Newton
  CholeskyFactor = 2,  ///< natural step on the precision's Cholesky factor (local parameterization)
  Adam = 3,            ///< Euclidean baseline: reparameterization ADVI with Adam
};

/// @brief How the step size rho changes with the step number t.
enum class Schedule : std::int32_t {
  Constant = 0,      ///< rho_t = step_size
  RobbinsMonro = 1,  ///< rho_t = step_size / (1 + t / decay_steps)^decay_power
};

}  // namespace ngvi
