// Natural-gradient update rules (MATH.md section 3): from the state (mu, L), the estimates g and H
// and a step size rho, a candidate new state (mu', L'). A rule returns false when the candidate
// is not a valid Gaussian (factorization failed or entries not finite); the caller then keeps the
// old state. H is read in full (both triangles) for the full family.
#pragma once

#include "config.cuh"
#include "dense.cuh"

namespace ngvi::math {

/// mu' = mu - rho Lambda'^-1 g with Lambda' = L' L'^T. `work` is d entries.
template <class T>
NGVI_HD bool natural_mean_step_full(const T* mu, const T* L_new, const T* g, T rho, T* mu_new, T* work, int d) {
  for (int i = 0; i < d; ++i) work[i] = g[i];
  solve_lower(L_new, work, d);
  solve_lower_transpose(L_new, work, d);
  for (int i = 0; i < d; ++i) mu_new[i] = mu[i] - rho * work[i];
  return all_finite(mu_new, d);
}

/// BLR / variational online Newton: Lambda' = (1 - rho) Lambda + rho H.
/// May leave the positive-definite cone when H is indefinite (then returns false). `work`: d.
template <class T>
NGVI_HD bool blr_full(const T* mu, const T* L, const T* g, const T* H, T rho, T* mu_new, T* L_new, T* work, int d) {
  gram_lower(L, L_new, d);
  for (int i = 0; i < d * d; ++i) L_new[i] = (T(1) - rho) * L_new[i] + rho * H[i];
  if (!cholesky_in_place(L_new, d)) return false;
  return natural_mean_step_full(mu, L_new, g, rho, mu_new, work, d);
}

/// Improved BLR (Lin, Schmidt & Khan 2020): with G = H - Lambda,
/// Lambda' = Lambda + rho G + rho^2/2 G Lambda^-1 G, positive definite for any symmetric G.
/// G Lambda^-1 G = W W^T with the rows of W being L^-1 applied to the rows of G (G is symmetric).
/// In terms of H: Lambda' = H - (1 - rho) G + rho^2/2 W W^T. `work`: 2*d*d entries.
template <class T>
NGVI_HD bool iblr_full(const T* mu, const T* L, const T* g, const T* H, T rho, T* mu_new, T* L_new, T* work,
                       int d) {
  T* G = work;
  T* W = work + d * d;
  gram_lower(L, G, d);
  for (int i = 0; i < d * d; ++i) G[i] = H[i] - G[i];
  for (int r = 0; r < d; ++r) {
    for (int j = 0; j < d; ++j) W[r * d + j] = G[r * d + j];
    solve_lower(L, W + r * d, d);
  }
  const T half_rho2 = T(0.5) * rho * rho;
  for (int i = 0; i < d; ++i)
    for (int j = 0; j <= i; ++j)
      L_new[i * d + j] = H[i * d + j] - (T(1) - rho) * G[i * d + j] + half_rho2 * dot(W + i * d, W + j * d, d);
  if (!cholesky_in_place(L_new, d)) return false;
  return natural_mean_step_full(mu, L_new, g, rho, mu_new, G, d);
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

}  // namespace ngvi::math
