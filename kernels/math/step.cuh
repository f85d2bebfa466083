// One distribution's natural-gradient step, as the stages both backends run (DESIGN.md, "the flow
// of one step"): draw samples, [the model evaluates them], estimate g and H, add the prior, apply the
// rule, measure the move. Each stage is a function of this distribution's state and workspace only.
#pragma once

#include "ngvi/method.hpp"
#include "ngvi/status.hpp"

#include "config.cuh"
#include "dense.cuh"
#include "estimators.cuh"
#include "gaussian.cuh"
#include "philox.cuh"
#include "prior.cuh"
#include "rules.cuh"

namespace ngvi::math {

/// What is fixed for a whole fit.
struct StepPlan {
  int d = 0;
  int samples = 0;
  bool antithetic = true;
  bool diagonal = false;
  Estimator estimator = Estimator::Price;
  Rule rule = Rule::IBLR;
  std::uint64_t seed = 0;
  std::uint32_t first_problem = 0;  // random numbers of distribution b are those of problem first_problem + b
  AdamSettings adam;
  // Stopping.
  double tolerance = 0.0;
  int patience = 1;
  int max_steps = 1;
  bool kl_convergence = true;  // converge on KL(q_new || q_old) < tolerance (exact estimates); else the host decides
  double max_step_kl = 0.0;    // trust region: a longer step is shortened (0: none)
};

/// A rejected step halves the distribution's step scale and an accepted one multiplies it by
/// kStepRecovery (up to 1), so that one bad sample never freezes a fit; the distribution fails once
/// the scale is down to 2^-kMaxStepHalvings (that many net halvings).
constexpr int kMaxStepHalvings = 20;
constexpr double kStepRecovery = 1.5;
/// The trust region halves rho at most this many times; the step is then taken as it is.
constexpr int kMaxTrustRegionHalvings = 30;

/// Where one distribution's bookkeeping lives (entries of host or device arrays).
template <class T>
struct StepRecord {
  Status* status;
  int* steps;
  int* streak;       // consecutive steps with KL below the tolerance
  T* step_scale;     // multiplier of rho: halved by a rejected step, recovering by accepted ones
  int* rejected;
  double* last_kl;
  T* rule_state;     // rule_state_size entries
};

NGVI_HD int factor_size(const StepPlan& p) { return p.diagonal ? p.d : p.d * p.d; }
NGVI_HD bool needs_samples(const StepPlan& p) { return p.estimator != Estimator::Quadrature; }
NGVI_HD bool needs_gradients(const StepPlan& p) {
  return p.estimator == Estimator::Price || p.estimator == Estimator::Stein;
}
NGVI_HD bool needs_hessians(const StepPlan& p) { return p.estimator == Estimator::Price; }

/// One distribution's scratch, carved from a single block of workspace_size(plan) entries.
template <class T>
struct StepWorkspace {
  T* eps;           // (S, d)
  T* points;        // (S, d)
  T* values;        // (S)
  T* gradients;     // (S, d)
  T* hessian_mean;  // (d, d) or (d)
  T* g;             // (d)
  T* H;             // (d, d) or (d)
  T* mu_new;        // (d)
  T* factor_new;    // (d, d) or (d)
  T* work;          // work_size(p)
};

/// Scratch of the stages: 2 d^2 + d for the full family (score_full, the rules); the diagonal
/// family's stages need 2 d (adam_diagonal) at most.
NGVI_HD std::size_t work_size(const StepPlan& p) {
  const std::size_t d = static_cast<std::size_t>(p.d);
  return p.diagonal ? 2 * d : 2 * d * d + d;
}

NGVI_HD std::size_t workspace_size(const StepPlan& p) {
  const std::size_t S = static_cast<std::size_t>(p.samples), d = static_cast<std::size_t>(p.d);
  const std::size_t m = static_cast<std::size_t>(factor_size(p));
  return 3 * S * d + S + 3 * m + 2 * d + work_size(p);
}

template <class T>
NGVI_HD StepWorkspace<T> carve_workspace(const StepPlan& p, T* block) {
  const int S = p.samples, d = p.d, m = factor_size(p);
  StepWorkspace<T> w;
  w.eps = block;
  w.points = w.eps + S * d;
  w.values = w.points + S * d;
  w.gradients = w.values + S;
  w.hessian_mean = w.gradients + S * d;
  w.g = w.hessian_mean + m;
  w.H = w.g + d;
  w.mu_new = w.H + m;
  w.factor_new = w.mu_new + d;
  w.work = w.factor_new + m;
  return w;
}

/// Row s of the eps (S, d) of distribution b at `step`: with antithetic pairs, samples 2k and 2k+1 are
/// eps_k and -eps_k. Each row depends on its own address only, so samples can be drawn in parallel.
template <class T>
NGVI_HD void draw_eps_sample(const StepPlan& p, std::uint32_t b, std::uint32_t step, int s, T* e) {
  const std::uint32_t index = static_cast<std::uint32_t>(p.antithetic ? s / 2 : s);
  standard_normals(p.seed, RandomStream::kSamples, p.first_problem + b, step, index, e, p.d);
  if (p.antithetic && (s & 1))
    for (int i = 0; i < p.d; ++i) e[i] = -e[i];
}

/// eps (S, d) for distribution b at `step`.
template <class T>
NGVI_HD void draw_eps(const StepPlan& p, std::uint32_t b, std::uint32_t step, T* eps) {
  for (int s = 0; s < p.samples; ++s) draw_eps_sample(p, b, step, s, eps + s * p.d);
}

/// z = mu + L^-T e (full) or mu + e / l (diagonal) for one sample.
template <class T>
NGVI_HD void draw_point(const StepPlan& p, const T* mu, const T* factor, const T* e, T* z) {
  if (p.diagonal) {
    sample_diagonal(mu, factor, e, z, p.d);
  } else {
    sample_full(mu, factor, e, z, p.d);
  }
}

/// z_s = mu + L^-T eps_s for every sample.
template <class T>
NGVI_HD void draw_points(const StepPlan& p, const T* mu, const T* factor, const T* eps, T* points) {
  for (int s = 0; s < p.samples; ++s) draw_point(p, mu, factor, eps + s * p.d, points + s * p.d);
}

/// g and H from the model's outputs at the samples (Monte Carlo estimators). A team shares the
/// gradient's mean and the full family's Price and Stein Hessians; the rest is its leader's.
template <class T, class Team = SerialTeam>
NGVI_HD_OUTLINED void estimate(const StepPlan& p, const T* factor, const StepWorkspace<T>& w, const Team& team = {}) {
  const int S = p.samples, d = p.d;
  switch (p.estimator) {
    case Estimator::Score:
      if (team.leader()) {
        if (p.diagonal) {
          score_diagonal(factor, w.eps, w.values, S, w.g, w.H, d);
        } else {
          score_full(factor, w.eps, w.values, S, w.g, w.H, w.work, d);
        }
      }
      break;
    case Estimator::Stein:
      mean_gradient(w.gradients, S, w.g, d, team);
      if (!p.diagonal) {
        stein_hessian_full(factor, w.eps, w.gradients, S, p.antithetic, w.H, w.work, d, team);
      } else if (team.leader()) {
        stein_hessian_diagonal(factor, w.eps, w.gradients, S, w.H, d);
      }
      break;
    default:  // Price
      mean_gradient(w.gradients, S, w.g, d, team);
      if (!p.diagonal) {
        price_hessian_full(w.hessian_mean, w.H, d, team);
      } else {
        for (int i = team.rank(); i < d; i += Team::kSize) w.H[i] = w.hessian_mean[i];
      }
      break;
  }
  team.sync();
}

/// The status a step must stop with if g or H are not finite, else Status::Running.
template <class T>
NGVI_HD Status check_estimates(const StepPlan& p, const StepWorkspace<T>& w) {
  if (!all_finite(w.g, p.d)) return Status::NonFiniteGradient;
  if (!all_finite(w.H, factor_size(p))) return Status::NonFiniteHessian;
  return Status::Running;
}

/// Adam's moments per distribution (zero for the natural-gradient rules, which keep no state).
NGVI_HD int rule_state_size(const StepPlan& p) { return p.rule == Rule::Adam ? adam_moment_size(p.d, p.diagonal) : 0; }

/// The diagonal family's rules: O(d), one thread's.
template <class T>
NGVI_HD bool apply_rule_diagonal(const StepPlan& p, const T* mu, const T* factor, T rho, const StepWorkspace<T>& w,
                                 T* rule_state, int step) {
  const int d = p.d;
  switch (p.rule) {
    case Rule::BLR: return blr_diagonal(mu, factor, w.g, w.H, rho, w.mu_new, w.factor_new, d);
    case Rule::CholeskyFactor: return cholesky_factor_diagonal(mu, factor, w.g, w.H, rho, w.mu_new, w.factor_new, d);
    case Rule::Adam:
      return adam_diagonal(mu, factor, w.g, w.H, rho, step, rule_state, p.adam, w.mu_new, w.factor_new, w.work, d);
    default: return iblr_diagonal(mu, factor, w.g, w.H, rho, w.mu_new, w.factor_new, d);
  }
}

/// Candidate (mu_new, factor_new) by the plan's rule; false when it is not a valid Gaussian.
/// `rule_state` (rule_state_size entries) and `step` (this distribution's step, from 1) serve Adam.
/// A team shares the full family's algebra; the diagonal family's is its leader's.
template <class T, class Team = SerialTeam>
NGVI_HD_OUTLINED bool apply_rule(const StepPlan& p, const T* mu, const T* factor, T rho, const StepWorkspace<T>& w,
                        T* rule_state, int step, const Team& team = {}) {
  const int d = p.d;
  if (p.diagonal) {
    int valid = 0;
    if (team.leader()) valid = apply_rule_diagonal(p, mu, factor, rho, w, rule_state, step);
    valid = team.broadcast(valid);
    team.sync();
    return valid != 0;
  }
  switch (p.rule) {
    case Rule::BLR: return blr_full(mu, factor, w.g, w.H, rho, w.mu_new, w.factor_new, w.work, d, team);
    case Rule::CholeskyFactor:
      return cholesky_factor_full(mu, factor, w.g, w.H, rho, w.mu_new, w.factor_new, w.work, d, team);
    case Rule::Adam:
      return adam_full(mu, factor, w.g, w.H, rho, step, rule_state, p.adam, w.mu_new, w.factor_new, w.work, d, team);
    default: return iblr_full(mu, factor, w.g, w.H, rho, w.mu_new, w.factor_new, w.work, d, team);
  }
}

/// KL(q_new || q_old), the per-distribution convergence measure, on every member of the team.
template <class T, class Team = SerialTeam>
NGVI_HD T step_kl(const StepPlan& p, const T* mu, const T* factor, const StepWorkspace<T>& w, const Team& team = {}) {
  if (p.diagonal) return team.broadcast(team.leader() ? kl_diagonal(w.mu_new, w.factor_new, mu, factor, p.d) : T(0));
  return kl_full(w.mu_new, w.factor_new, mu, factor, w.work, p.d, team);
}

/// ELBO = -E_q[f] - E_q[-log prior] + H(q), given an estimate (or the exact value) of E_q[f].
template <class T>
NGVI_HD T elbo(const StepPlan& p, const PriorTerms<T>& prior, const T* mu, const T* factor, T expected_f, T* work) {
  if (p.diagonal) {
    return -expected_f - prior_cross_entropy_diagonal(prior, mu, factor, p.d) + entropy_diagonal(factor, p.d);
  }
  return -expected_f - prior_cross_entropy_full(prior, mu, factor, work, p.d) + entropy_full(factor, p.d);
}

/// Stopping bookkeeping after an accepted step: converged after `patience` steps with KL < tolerance.
NGVI_HD Status progress(double kl, double tolerance, int patience, int* streak) {
  *streak = kl < tolerance ? *streak + 1 : 0;
  return *streak >= patience ? Status::Converged : Status::Running;
}

/// The bookkeeping after a step's rule has run (the rule saw step number *r.steps + 1): counts the
/// step; an accepted candidate, which moved the distribution by `kl`, lets the step scale recover and
/// may converge it (with p.kl_convergence); a rejected one (it left the positive-definite cone, or
/// overflowed) halves the step scale, and fails the distribution once the scale is down to
/// 2^-kMaxStepHalvings. take_step calls it, and so does every backend that runs the rule its own
/// way, so that statuses and counters agree whatever ran the step.
template <class T>
NGVI_HD void record_step(const StepPlan& p, bool accepted, double kl, const StepRecord<T>& r) {
  ++*r.steps;
  if (accepted) {
    *r.last_kl = kl;
    const T recovered = *r.step_scale * T(kStepRecovery);
    *r.step_scale = recovered < T(1) ? recovered : T(1);
    if (p.kl_convergence) *r.status = progress(kl, p.tolerance, p.patience, r.streak);
  } else {
    *r.streak = 0;
    *r.step_scale *= T(0.5);
    ++*r.rejected;
    if (*r.step_scale <= T(1.0 / (1 << kMaxStepHalvings))) *r.status = Status::NotPositiveDefinite;
  }
  if (*r.status == Status::Running && *r.steps >= p.max_steps) *r.status = Status::StepBudget;
}

/// The rule with the trust region: an accepted candidate that moved the distribution by more than
/// p.max_step_kl is recomputed at half the step, until it fits (Adam, whose rule updates its own
/// moments, has no trust region). Returns whether the candidate is valid, its KL in *kl and the
/// number of halvings in *halvings (a team's members: each its own kl and halvings, all the same).
template <class T, class Team = SerialTeam>
NGVI_HD bool apply_rule_in_trust_region(const StepPlan& p, T rho, const T* mu, const T* factor,
                                        const StepWorkspace<T>& w, T* rule_state, int step, T* kl, int* halvings,
                                        const Team& team = {}) {
  for (*halvings = 0;; ++*halvings, rho *= T(0.5)) {
    if (!apply_rule(p, mu, factor, rho, w, rule_state, step, team)) return false;
    *kl = step_kl(p, mu, factor, w, team);
    const bool fits = p.max_step_kl <= 0.0 || p.rule == Rule::Adam || !(*kl > T(p.max_step_kl));
    if (fits || *halvings == kMaxTrustRegionHalvings) return true;
  }
}

/// The rule and the bookkeeping of one step, once g and H (prior included) are in w and known to be
/// finite: an accepted candidate replaces (mu, factor). A step the trust region shortened lowers the
/// step scale to what fitted, to recover as after a rejection. Returns whether it was accepted, on
/// every member of the team; the record is the leader's to write.
template <class T, class Team = SerialTeam>
NGVI_HD bool take_step(const StepPlan& p, T rho, T* mu, T* factor, const StepWorkspace<T>& w, const StepRecord<T>& r,
                       const Team& team = {}) {
  T kl = T(0);
  int halvings = 0;
  const bool accepted = apply_rule_in_trust_region(p, rho * *r.step_scale, mu, factor, w, r.rule_state, *r.steps + 1,
                                                   &kl, &halvings, team);
  if (accepted) {
    for (int i = team.rank(); i < p.d; i += Team::kSize) mu[i] = w.mu_new[i];
    for (int i = team.rank(); i < factor_size(p); i += Team::kSize) factor[i] = w.factor_new[i];
  }
  team.sync();  // every member has read the record's step scale and step
  if (team.leader()) {
    if (accepted)
      for (int h = 0; h < halvings; ++h) *r.step_scale *= T(0.5);
    record_step(p, accepted, kl, r);
  }
  return accepted;
}

}  // namespace ngvi::math
