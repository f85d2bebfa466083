// One distribution's bookkeeping after its rule has run (MATH.md section 6): the step counter, the
// streak of small moves that converges it, and the halving of rejected steps. Every backend calls
// record_step, so that statuses and counters agree whatever runs the step.
#pragma once

#include "ngvi/status.hpp"

#include "config.cuh"
#include "step.cuh"

namespace ngvi::math {

/// A rejected step halves the step size; after this many halvings the distribution fails.
constexpr int kMaxStepHalvings = 20;

/// When a distribution stops: `patience` steps in a row with KL(q_new || q_old) < tolerance, or
/// `max_steps` steps.
struct StopRule {
  double tolerance = 0.0;
  int patience = 1;
  int max_steps = 1;
};

/// One distribution's counters, wherever a backend keeps them.
template <class T>
struct StepCounters {
  int* steps;
  int* streak;       ///< consecutive accepted steps with KL below the tolerance
  T* step_scale;     ///< multiplier of rho, halved after each rejected step
  int* rejected;     ///< rejected steps
  double* last_kl;   ///< KL(q_new || q_old) of the latest accepted step
};

/// Records a step whose estimates were finite and whose rule ran: counts it; an accepted candidate,
/// which moved the distribution by `kl`, extends or resets the streak; a rejected one keeps the state,
/// halves the step size and fails the distribution after kMaxStepHalvings. Returns the new status.
template <class T>
NGVI_HD Status record_step(const StopRule& stop, bool accepted, double kl, const StepCounters<T>& c) {
  ++*c.steps;
  Status status = Status::Running;
  if (accepted) {
    *c.last_kl = kl;
    status = progress(kl, stop.tolerance, stop.patience, c.streak);
  } else {
    *c.streak = 0;
    *c.step_scale *= T(0.5);
    if (++*c.rejected >= kMaxStepHalvings) status = Status::NotPositiveDefinite;
  }
  if (status == Status::Running && *c.steps >= stop.max_steps) status = Status::StepBudget;
  return status;
}

}  // namespace ngvi::math
