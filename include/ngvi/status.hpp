/// @file status.hpp
/// @brief Per-distribution outcomes of a fit and of a conversion.
#pragma once

#include <cstdint>

#include "ngvi/export.hpp"

namespace ngvi {

/// @brief What became of one distribution in a fit. Values are stable: they are the codes written by
/// the command line (status.npy) and returned through the C ABI.
enum class Status : std::int32_t {
  Converged = 0,            ///< Monte Carlo: stationary and the MCSE of the average below tolerance_sd;
                            ///< exact estimates: KL(q_new || q_old) below the tolerance for `patience` steps
  StepBudget = 1,           ///< reached Options::max_steps without converging
  Running = 2,              ///< still active (only seen mid-fit, through ask/tell or a checkpoint)
  InvalidData = 3,          ///< this problem's data is unusable (not finite, labels out of range, ...)
  InvalidState = 4,         ///< the initial mean or precision factor is not finite or not positive definite
  NonFiniteValue = 5,       ///< the target returned NaN or Inf
  NonFiniteGradient = 6,    ///< the expected gradient was not finite
  NonFiniteHessian = 7,     ///< the expected Hessian was not finite
  NotPositiveDefinite = 8,  ///< the updated precision failed its Cholesky factorization, even after 20 net halvings
  ModelError = 9,           ///< the model threw an exception while evaluating this problem
};

/// Number of Status values (they are 0 .. kStatusCount - 1).
inline constexpr int kStatusCount = 10;

/// @brief Outcome of setting one distribution from other parameters.
enum class ConversionStatus : std::int32_t {
  Ok = 0,                   ///< converted
  NonFinite = 1,            ///< an input entry was NaN or Inf; the distribution was left unchanged
  NotPositiveDefinite = 2,  ///< a matrix that must be positive definite was not; left unchanged
};

/// @brief True for the statuses that mean the fit of a distribution failed.
constexpr bool is_failure(Status s) {
  return s != Status::Converged && s != Status::StepBudget && s != Status::Running;
}

/// @brief A short stable identifier, e.g. "converged", "not_positive_definite".
NGVI_API const char* status_name(Status status);
/// @brief A one-line explanation for a user.
NGVI_API const char* status_message(Status status);
/// @brief A short stable identifier for a conversion outcome.
NGVI_API const char* conversion_status_name(ConversionStatus status);

}  // namespace ngvi
