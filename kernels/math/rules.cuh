// Natural-gradient update rules (docs/math.md sections 3.2 and 5): from the state (mu, L), the estimates g and H
// and a step size rho, a candidate new state (mu', L'). A rule returns false when the candidate
// is not a valid Gaussian (factorization failed or entries not finite); the caller then keeps the
// old state. H is read in full (both triangles) for the full family. The full-family rules take a
// team (team.cuh) for their d x d algebra; the O(d) vector work is the leader's.
#pragma once

#include "config.cuh"
#include "dense.cuh"

namespace ngvi::math {

/// mu' = mu - rho Lambda'^-1 g with Lambda' = L' L'^T. `work` is d entries. Two O(d^2) solves: the
/// team's leader runs them, the others wait.
template <class T, class Team = SerialTeam>
NGVI_HD bool natural_mean_step_full(const T* mu, const T* L_new, const T* g, T rho, T* mu_new, T* work, int d,
                                    const Team& team = {}) {
  int finite = 0;
  if (team.leader()) {
    for (int i = 0; i < d; ++i) work[i] = g[i];
    solve_lower(L_new, work, d);
    solve_lower_transpose(L_new, work, d);
    for (int i = 0; i < d; ++i) mu_new[i] = mu[i] - rho * work[i];
    finite = all_finite(mu_new, d);
  }
  finite = team.broadcast(finite);
  team.sync();
  return finite != 0;
}

// The full-family rules work in whitened coordinates: with Lambda = L L^T and K = L^-1 H L^-T,
// every new precision is L M L^T for a symmetric M near the identity, so L' = L chol(M): one small
// well-conditioned factorization, and no product L L^T ever formed.

/// L' = L chol(M) from the M of a rule (in `M`, destroyed); false if M is not positive definite.
template <class T, class Team = SerialTeam>
NGVI_HD bool congruent_factor(const T* L, T* M, T* L_new, int d, const Team& team = {}) {
  if (!cholesky_in_place(M, d, team)) return false;
  multiply_lower_lower(L, M, L_new, d, team);
  return is_valid_factor(L_new, d, team);
}

/// BLR / variational online Newton: Lambda' = (1 - rho) Lambda + rho H, i.e. M = (1 - rho) I + rho K.
/// Leaves the positive-definite cone when H is indefinite enough (then returns false). `work`: 2*d*d.
template <class T, class Team = SerialTeam>
NGVI_HD bool blr_full(const T* mu, const T* L, const T* g, const T* H, T rho, T* mu_new, T* L_new, T* work, int d,
                      const Team& team = {}) {
  T* M = work;
  whiten(L, H, M, d, team);
  for (int i = team.rank(); i < d; i += Team::kSize) {  // rows over the team
    T* row = M + i * d;
    for (int j = 0; j < d; ++j) row[j] *= rho;
    row[i] += T(1) - rho;
  }
  team.sync();
  if (!congruent_factor(L, M, L_new, d, team)) return false;
  return natural_mean_step_full(mu, L_new, g, rho, mu_new, work, d, team);
}

/// Improved BLR (Lin, Schmidt & Khan 2020): with G = H - Lambda,
/// Lambda' = Lambda + rho G + rho^2/2 G Lambda^-1 G, positive definite for any symmetric G.
/// Whitened, G = L E L^T with E = K - I, and M = I + rho E + rho^2/2 E^2 = (I + (I + rho E)^2) / 2,
/// at least I/2. `work`: 2*d*d entries.
template <class T, class Team = SerialTeam>
NGVI_HD bool iblr_full(const T* mu, const T* L, const T* g, const T* H, T rho, T* mu_new, T* L_new, T* work, int d,
                       const Team& team = {}) {
  T* E = work;
  T* M = work + d * d;
  whiten(L, H, E, d, team);
  for (int i = team.rank(); i < d; i += Team::kSize) E[i * d + i] -= T(1);
  team.sync();
  multiply(E, E, M, d, team);
  const T half_rho2 = T(0.5) * rho * rho;
  for (int i = team.rank(); i < d; i += Team::kSize) {  // rows over the team
    for (int j = 0; j < d; ++j) M[i * d + j] = rho * E[i * d + j] + half_rho2 * M[i * d + j];
    M[i * d + i] += T(1);
  }
  team.sync();
  if (!congruent_factor(L, M, L_new, d, team)) return false;
  return natural_mean_step_full(mu, L_new, g, rho, mu_new, work, d, team);
}

// ---------------------------------------------------------------- diagonal (l = sqrt(diag Lambda))

template <class T>
NGVI_HD bool natural_mean_step_diagonal(const T* mu, const T* l_new, const T* g, T rho, T* mu_new, int d) {
  for (int i = 0; i < d; ++i) mu_new[i] = mu[i] - rho * g[i] / (l_new[i] * l_new[i]);
  return all_finite(mu_new, d);
}

template <class T>
NGVI_HD bool blr_diagonal(const T* mu, const T* l, const T* g, const T* h, T rho, T* mu_new, T* l_new, int d) {
  for (int i = 0; i < d; ++i) {
    const T lambda = (T(1) - rho) * l[i] * l[i] + rho * h[i];
    if (!(lambda > T(0)) || !is_finite(lambda)) return false;
    l_new[i] = std::sqrt(lambda);
  }
  return natural_mean_step_diagonal(mu, l_new, g, rho, mu_new, d);
}

template <class T>
NGVI_HD bool iblr_diagonal(const T* mu, const T* l, const T* g, const T* h, T rho, T* mu_new, T* l_new, int d) {
  for (int i = 0; i < d; ++i) {
    const T lambda = l[i] * l[i];
    const T G = h[i] - lambda;
    const T lambda_new = lambda + rho * G + T(0.5) * rho * rho * G * G / lambda;
    if (!(lambda_new > T(0)) || !is_finite(lambda_new)) return false;
    l_new[i] = std::sqrt(lambda_new);
  }
  return natural_mean_step_diagonal(mu, l_new, g, rho, mu_new, d);
}

// ---------------------------------------------------------------- Cholesky-factor rule
// Lin, Nielsen, Khan & Schmidt (ICML 2021): with Lambda = B B^T, step in local coordinates
// B(M) = B h(M), h(M) = I + M + M^2 / 2, M lower triangular. The natural step is
// M = rho (C o tril(K)), K = B^-1 H B^-T - I, C = 1/2 on the diagonal and 1 below it. h(M) has
// diagonal 1 + m + m^2 / 2 > 0, so B stays invertible for any step and any H, and no Cholesky
// factorization is needed. To first order in rho, B(M + M^T)B^T = rho (H - Lambda): the BLR step.

/// `work`: 2*d*d entries.
template <class T, class Team = SerialTeam>
NGVI_HD bool cholesky_factor_full(const T* mu, const T* B, const T* g, const T* H, T rho, T* mu_new, T* B_new,
                                  T* work, int d, const Team& team = {}) {
  T* U = work;          // h(M)
  T* M = work + d * d;  // B^-1 H B^-T, then the local step M
  whiten(B, H, M, d, team);
  // M = rho (C o tril(K - I)): the upper triangle cleared (rows over the team).
  for (int i = team.rank(); i < d; i += Team::kSize) {
    for (int j = 0; j < i; ++j) M[i * d + j] *= rho;
    M[i * d + i] = rho * T(0.5) * (M[i * d + i] - T(1));
    for (int j = i + 1; j < d; ++j) M[i * d + j] = T(0);
  }
  team.sync();
  // h(M) = I + M + M^2 / 2 into U (lower triangular), then B_new = B h(M).
  multiply_lower_lower(M, M, U, d, team);
  for (int i = team.rank(); i < d; i += Team::kSize) {
    for (int j = 0; j < d; ++j) U[i * d + j] = M[i * d + j] + T(0.5) * U[i * d + j];
    U[i * d + i] += T(1);
  }
  team.sync();
  multiply_lower_lower(B, U, B_new, d, team);
  if (!is_valid_factor(B_new, d, team)) return false;  // only overflow can get here
  return natural_mean_step_full(mu, B_new, g, rho, mu_new, U, d, team);
}

template <class T>
NGVI_HD bool cholesky_factor_diagonal(const T* mu, const T* l, const T* g, const T* h, T rho, T* mu_new, T* l_new,
                                      int d) {
  for (int i = 0; i < d; ++i) {
    const T m = rho * T(0.5) * (h[i] / (l[i] * l[i]) - T(1));
    l_new[i] = l[i] * (T(1) + m + T(0.5) * m * m);
    if (!(l_new[i] > T(0)) || !is_finite(l_new[i])) return false;
  }
  return natural_mean_step_diagonal(mu, l_new, g, rho, mu_new, d);
}

// ---------------------------------------------------------------- Euclidean baseline: Adam
// Reparameterization ADVI on theta = (mu, log diag(L), strict lower L), Lambda = L L^T, minimising
// the negative ELBO L(q) = E_q[f] - H(q). With Price's theorem dE[f]/dSigma = H / 2 and
// Sigma = L^-T L^-1: dL/dmu = g, dL/dL = -tril(L^-T L^-1 H L^-T) + diag(1/L_ii); for log L_ii the
// chain rule multiplies by L_ii. Adam (Kingma & Ba 2015) then steps theta with its own moments.

struct AdamSettings {
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
};

/// One Adam update of parameters theta (n) in place, with moments m and v (n each) at step t >= 1.
template <class T>
NGVI_HD void adam_update(T* theta, const T* gradient, T* m, T* v, int n, T learning_rate, int t,
                         const AdamSettings& a) {
  const T correction1 = T(1) / (T(1) - static_cast<T>(std::pow(a.beta1, static_cast<double>(t))));
  const T correction2 = T(1) / (T(1) - static_cast<T>(std::pow(a.beta2, static_cast<double>(t))));
  for (int k = 0; k < n; ++k) {
    m[k] = T(a.beta1) * m[k] + T(1 - a.beta1) * gradient[k];
    v[k] = T(a.beta2) * v[k] + T(1 - a.beta2) * gradient[k] * gradient[k];
    theta[k] -= learning_rate * (m[k] * correction1) / (std::sqrt(v[k] * correction2) + T(a.epsilon));
  }
}

/// Moments per distribution: 2 (d + d*d) for the full family (m and v over mu and L, d*d for L with
/// its upper triangle unused), 4 d for the diagonal one.
NGVI_HD int adam_moment_size(int d, bool diagonal) { return diagonal ? 4 * d : 2 * (d + d * d); }

/// adam_full after its solves: the gradient in theta from Y = L^-T L^-1 H L^-T, then Adam's update.
/// `gradient` is d + d*d entries.
template <class T>
NGVI_HD bool adam_full_update(const T* mu, const T* L, const T* g, const T* Y, T learning_rate, int t, T* moments,
                              const AdamSettings& settings, T* mu_new, T* L_new, T* gradient, int d) {
  T* grad_L = gradient + d;
  for (int i = 0; i < d; ++i) {
    gradient[i] = g[i];
    for (int j = 0; j < d; ++j) grad_L[i * d + j] = j < i ? -Y[i * d + j] : T(0);
    grad_L[i * d + i] = T(1) - L[i * d + i] * Y[i * d + i];  // with respect to log L_ii
  }
  // theta = (mu, L with log diagonal), updated in mu_new and L_new.
  for (int i = 0; i < d; ++i) {
    mu_new[i] = mu[i];
    for (int j = 0; j < d; ++j) L_new[i * d + j] = j == i ? std::log(L[i * d + i]) : (j < i ? L[i * d + j] : T(0));
  }
  const int n = d + d * d;
  adam_update(mu_new, gradient, moments, moments + n, d, learning_rate, t, settings);
  adam_update(L_new, grad_L, moments + d, moments + n + d, d * d, learning_rate, t, settings);
  for (int i = 0; i < d; ++i) {
    L_new[i * d + i] = std::exp(L_new[i * d + i]);
    for (int j = i + 1; j < d; ++j) L_new[i * d + j] = T(0);
  }
  return is_valid_factor(L_new, d) && all_finite(mu_new, d);
}

/// `moments`: adam_moment_size entries; `work`: 2*d*d + d entries; t: this distribution's step (>= 1).
/// A team shares the solves; the O(d^2) update is its leader's.
template <class T, class Team = SerialTeam>
NGVI_HD bool adam_full(const T* mu, const T* L, const T* g, const T* H, T learning_rate, int t, T* moments,
                       const AdamSettings& settings, T* mu_new, T* L_new, T* work, int d, const Team& team = {}) {
  T* Y = work;                 // L^-T L^-1 H L^-T = L^-T K
  whiten(L, H, Y, d, team);
  solve_lower_transpose_rows(L, Y, d, d, team);
  int valid = 0;
  if (team.leader()) valid = adam_full_update(mu, L, g, Y, learning_rate, t, moments, settings, mu_new, L_new,
                                              work + d * d, d);
  valid = team.broadcast(valid);
  team.sync();
  return valid != 0;
}

/// Diagonal: d/d log l_i of the negative ELBO is 1 - h_i / l_i^2.
template <class T>
NGVI_HD bool adam_diagonal(const T* mu, const T* l, const T* g, const T* h, T learning_rate, int t, T* moments,
                           const AdamSettings& settings, T* mu_new, T* l_new, T* work, int d) {
  T* gradient = work;  // (2 d)
  for (int i = 0; i < d; ++i) {
    gradient[i] = g[i];
    gradient[d + i] = T(1) - h[i] / (l[i] * l[i]);
    mu_new[i] = mu[i];
    l_new[i] = std::log(l[i]);
  }
  adam_update(mu_new, gradient, moments, moments + 2 * d, d, learning_rate, t, settings);
  adam_update(l_new, gradient + d, moments + d, moments + 3 * d, d, learning_rate, t, settings);
  for (int i = 0; i < d; ++i) l_new[i] = std::exp(l_new[i]);
  return is_valid_diagonal_factor(l_new, d) && all_finite(mu_new, d);
}

}  // namespace ngvi::math
