#include "ngvi/status.hpp"

namespace ngvi {

const char* status_name(Status status) {
  switch (status) {
    case Status::Converged: return "converged";
    case Status::StepBudget: return "step_budget";
    case Status::Running: return "running";
    case Status::InvalidData: return "invalid_data";
    case Status::InvalidState: return "invalid_state";
    case Status::NonFiniteValue: return "non_finite_value";
    case Status::NonFiniteGradient: return "non_finite_gradient";
    case Status::NonFiniteHessian: return "non_finite_hessian";
    case Status::NotPositiveDefinite: return "not_positive_definite";
    case Status::ModelError: return "model_error";
  }
  return "unknown";
}

const char* status_message(Status status) {
  switch (status) {
    case Status::Converged:
      return "converged: stationary, Monte Carlo error of the average below tolerance_sd (exact: KL below tolerance)";
    case Status::StepBudget: return "reached the step budget without converging";
    case Status::Running: return "still running";
    case Status::InvalidData: return "the problem's data is not usable (not finite, or out of the likelihood's range)";
    case Status::InvalidState: return "the initial mean or precision factor is not finite or not positive definite";
    case Status::NonFiniteValue: return "the target returned NaN or Inf";
    case Status::NonFiniteGradient: return "the expected gradient was not finite";
    case Status::NonFiniteHessian: return "the expected Hessian was not finite";
    case Status::NotPositiveDefinite:
      return "the updated precision was not positive definite, even after 20 net halvings of the step";
    case Status::ModelError: return "the model threw an exception while evaluating this problem";
  }
  return "unknown status";
}

const char* conversion_status_name(ConversionStatus status) {
  switch (status) {
    case ConversionStatus::Ok: return "ok";
    case ConversionStatus::NonFinite: return "non_finite";
    case ConversionStatus::NotPositiveDefinite: return "not_positive_definite";
  }
  return "unknown";
}

}  // namespace ngvi
