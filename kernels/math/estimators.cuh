// Monte Carlo estimators of g = E_q[grad f] and H = E_q[hess f] from S samples (docs/math.md section 4).
//
// Samples are z_s = mu + L^-T eps_s; eps is (S, d), gradients (S, d), values (S), all row-major.
// Full-family outputs: g (d) and H (d, d), both triangles written. Diagonal: g (d) and diag(H) (d).
// mean_gradient and the full family's Price and Stein Hessians take a team (team.cuh): its members
// split the entries, each entry summed in the serial order.
#pragma once

#include "config.cuh"
#include "dense.cuh"

namespace ngvi::math {

/// g = mean_s grad f(z_s).
template <class T, class Team = SerialTeam>
NGVI_HD void mean_gradient(const T* NGVI_RESTRICT gradients, int S, T* NGVI_RESTRICT g, int d, const Team& team = {}) {
  for (int i = team.rank(); i < d; i += Team::kSize) g[i] = T(0);
  for (int s = 0; s < S; ++s) {
    NGVI_SIMD
    for (int i = team.rank(); i < d; i += Team::kSize) g[i] += gradients[s * d + i];
  }
  const T inv_s = T(1) / T(S);
  for (int i = team.rank(); i < d; i += Team::kSize) g[i] *= inv_s;
  team.sync();
}

/// Price: H = symmetrized mean Hessian supplied by the model.
template <class T, class Team = SerialTeam>
NGVI_HD void price_hessian_full(const T* hessian_mean, T* H, int d, const Team& team = {}) {
  for (int i = team.rank(); i < d * d; i += Team::kSize) H[i] = hessian_mean[i];
  team.sync();
  symmetrize_average(H, d, team);
}

/// Stein (Bonnet): H = mean_s sym(L eps_s grad_s^T), since Lambda (z_s - mu) = L eps_s.
/// Computed as sym(L M) with M = mean_s eps_s grad_s^T. With antithetic pairs (eps_{2k+1} = -eps_{2k},
/// as draw_eps makes them) a pair adds eps_{2k} (grad_{2k} - grad_{2k+1})^T: half the outer products.
/// `M` is d*d scratch. A team splits the columns of M and of H = L M.
template <class T, class Team = SerialTeam>
NGVI_HD void stein_hessian_full(const T* NGVI_RESTRICT L, const T* NGVI_RESTRICT eps, const T* NGVI_RESTRICT gradients,
                                int S, bool antithetic, T* NGVI_RESTRICT H, T* NGVI_RESTRICT M, int d,
                                const Team& team = {}) {
  for (int i = team.rank(); i < d * d; i += Team::kSize) M[i] = T(0);
  team.sync();
  const int stride = antithetic ? 2 : 1;
  for (int s = 0; s < S; s += stride) {
    const T* e = eps + s * d;
    const T* gr = gradients + s * d;
    const T* partner = antithetic && s + 1 < S ? gr + d : nullptr;
    for (int k = 0; k < d; ++k) {
      const T ek = e[k];
      T* row = M + k * d;
      if (partner) {
        NGVI_SIMD
        for (int j = team.rank(); j < d; j += Team::kSize) row[j] += ek * (gr[j] - partner[j]);
      } else {
        NGVI_SIMD
        for (int j = team.rank(); j < d; j += Team::kSize) row[j] += ek * gr[j];
      }
    }
  }
  const T inv_s = T(1) / T(S);
  // H = L M (L lower: row i of L M sums rows k <= i of M).
  for (int i = 0; i < d; ++i) {
    T* out = H + i * d;
    for (int j = team.rank(); j < d; j += Team::kSize) out[j] = T(0);
    for (int k = 0; k <= i; ++k) {
      const T lik = L[i * d + k] * inv_s;
      const T* row = M + k * d;
      NGVI_SIMD
      for (int j = team.rank(); j < d; j += Team::kSize) out[j] += lik * row[j];
    }
  }
  team.sync();
  symmetrize_average(H, d, team);
}

/// Score function with the sample mean of f as baseline: with c_s = f(z_s) - mean f,
/// g = mean_s c_s L eps_s and H = L (mean_s c_s eps_s eps_s^T) L^T.
/// (The -Lambda term of the identity, docs/math.md section 4.4, drops out because the c_s sum to zero.) `work` is 2*d*d + d.
template <class T>
NGVI_HD void score_full(const T* L, const T* eps, const T* values, int S, T* g, T* H, T* work, int d) {
  T* N = work;
  T* LN = work + d * d;
  T* u = work + 2 * d * d;
  T baseline = T(0);
  for (int s = 0; s < S; ++s) baseline += values[s];
  baseline /= T(S);
  for (int i = 0; i < d; ++i) g[i] = T(0);
  for (int i = 0; i < d * d; ++i) N[i] = T(0);
  const T inv_s = T(1) / T(S);
  for (int s = 0; s < S; ++s) {
    const T* e = eps + s * d;
    const T c = (values[s] - baseline) * inv_s;
    multiply_lower(L, e, u, d);
    for (int i = 0; i < d; ++i) g[i] += c * u[i];
    for (int i = 0; i < d; ++i)
      for (int j = 0; j <= i; ++j) N[i * d + j] += c * e[i] * e[j];
  }
  symmetrize_from_lower(N, d);
  // LN = L N, then H = LN L^T: H_ij = sum_{k <= j} LN_ik L_jk.
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) {
      T s = T(0);
      for (int k = 0; k <= i; ++k) s += L[i * d + k] * N[k * d + j];
      LN[i * d + j] = s;
    }
  for (int i = 0; i < d; ++i)
    for (int j = 0; j <= i; ++j) {
      T s = T(0);
      for (int k = 0; k <= j; ++k) s += LN[i * d + k] * L[j * d + k];
      H[i * d + j] = s;
      H[j * d + i] = s;
    }
}

/// Diagonal Stein: h_i = mean_s l_i eps_si grad_si.
template <class T>
NGVI_HD void stein_hessian_diagonal(const T* l, const T* eps, const T* gradients, int S, T* h, int d) {
  for (int i = 0; i < d; ++i) h[i] = T(0);
  for (int s = 0; s < S; ++s)
    for (int i = 0; i < d; ++i) h[i] += eps[s * d + i] * gradients[s * d + i];
  const T inv_s = T(1) / T(S);
  for (int i = 0; i < d; ++i) h[i] *= l[i] * inv_s;
}

/// Diagonal score function: g_i = mean_s c_s l_i eps_si, h_i = l_i^2 mean_s c_s (eps_si^2 - 1).
template <class T>
NGVI_HD void score_diagonal(const T* l, const T* eps, const T* values, int S, T* g, T* h, int d) {
  T baseline = T(0);
  for (int s = 0; s < S; ++s) baseline += values[s];
  baseline /= T(S);
  for (int i = 0; i < d; ++i) g[i] = h[i] = T(0);
  const T inv_s = T(1) / T(S);
  for (int s = 0; s < S; ++s) {
    const T c = (values[s] - baseline) * inv_s;
    for (int i = 0; i < d; ++i) {
      const T e = eps[s * d + i];
      g[i] += c * e;
      h[i] += c * (e * e - T(1));
    }
  }
  for (int i = 0; i < d; ++i) {
    g[i] *= l[i];
    h[i] *= l[i] * l[i];
  }
}

/// Mean of f over the samples: the Monte Carlo estimate of E_q[f].
template <class T>
NGVI_HD T mean_value(const T* values, int S) {
  T s = T(0);
  for (int k = 0; k < S; ++k) s += values[k];
  return s / T(S);
}

}  // namespace ngvi::math
