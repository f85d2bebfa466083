// One Gaussian q = N(mu, Lambda^-1): conversions between parameterizations, log-determinants,
// entropy, KL divergence and sampling (docs/math.md section 2).
//
// The state of a full-covariance distribution is (mu, L) with Lambda = L L^T, L lower triangular
// (d x d, row-major). The state of a diagonal distribution is (mu, l) with Lambda = diag(l)^2, l > 0.
// Functions that factor a matrix return false on failure and leave their outputs unspecified; the
// caller keeps the old state, so a failure never reaches another distribution.
#pragma once

#include "config.cuh"
#include "dense.cuh"

namespace ngvi::math {

// ---------------------------------------------------------------- full covariance

/// Sigma = L^-T L^-1.
template <class T>
NGVI_HD void covariance_full(const T* L, T* Sigma, int d) {
  inverse_gram_lower(L, Sigma, d);
}

/// eta1 = Lambda mu, eta2 = -Lambda / 2.
template <class T>
NGVI_HD void natural_full(const T* mu, const T* L, T* eta1, T* eta2, T* column, int d) {
  multiply_lower_transpose(L, mu, column, d);
  multiply_lower(L, column, eta1, d);
  gram_lower(L, eta2, d);
  for (int i = 0; i < d * d; ++i) eta2[i] *= T(-0.5);
}

/// m1 = mu, m2 = Sigma + mu mu^T.
template <class T>
NGVI_HD void expectation_full(const T* mu, const T* L, T* m1, T* m2, int d) {
  covariance_full(L, m2, d);
  for (int i = 0; i < d; ++i) {
    m1[i] = mu[i];
    for (int j = 0; j < d; ++j) m2[i * d + j] += mu[i] * mu[j];
  }
}

/// (mu, L) from a precision matrix (lower triangle read) and a mean.
template <class T>
NGVI_HD bool factor_from_precision_full(const T* mean, const T* precision, T* mu, T* L, int d) {
  for (int i = 0; i < d * d; ++i) L[i] = precision[i];
  if (!cholesky_in_place(L, d)) return false;
  for (int i = 0; i < d; ++i) mu[i] = mean[i];
  return all_finite(mu, d);
}

/// (mu, L) from natural parameters: Lambda = -2 eta2, mu = Lambda^-1 eta1.
template <class T>
NGVI_HD bool factor_from_natural_full(const T* eta1, const T* eta2, T* mu, T* L, int d) {
  for (int i = 0; i < d * d; ++i) L[i] = T(-2) * eta2[i];
  if (!cholesky_in_place(L, d)) return false;
  for (int i = 0; i < d; ++i) mu[i] = eta1[i];
  solve_lower(L, mu, d);
  solve_lower_transpose(L, mu, d);
  return all_finite(mu, d);
}

/// (mu, L) from a mean and covariance: C = chol(Sigma), Lambda = (C C^T)^-1, L = chol(Lambda).
/// `work` is d*d scratch entries.
template <class T>
NGVI_HD bool factor_from_moments_full(const T* mean, const T* Sigma, T* mu, T* L, T* work, int d) {
  T* C = work;
  for (int i = 0; i < d * d; ++i) C[i] = Sigma[i];
  if (!cholesky_in_place(C, d)) return false;
  inverse_gram_lower(C, L, d);
  if (!cholesky_in_place(L, d)) return false;
  for (int i = 0; i < d; ++i) mu[i] = mean[i];
  return all_finite(mu, d);
}

/// (mu, L) from expectation parameters: Sigma = m2 - m1 m1^T must be positive definite.
/// `work` is 2*d*d scratch entries.
template <class T>
NGVI_HD bool factor_from_expectation_full(const T* m1, const T* m2, T* mu, T* L, T* work, int d) {
  T* Sigma = work;
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) Sigma[i * d + j] = m2[i * d + j] - m1[i] * m1[j];
  return factor_from_moments_full(m1, Sigma, mu, L, work + d * d, d);
}

/// log det Sigma = -2 sum_i log L_ii.
template <class T>
NGVI_HD T log_det_covariance_full(const T* L, int d) {
  return T(-2) * log_diagonal_sum(L, d);
}

/// Entropy d/2 (1 + log 2 pi) - sum_i log L_ii.
template <class T>
NGVI_HD T entropy_full(const T* L, int d) {
  return T(0.5) * T(d) * T(1 + kLog2Pi) - log_diagonal_sum(L, d);
}

/// w^2 - 1 - 2 log w >= 0 for w > 0, computed without cancellation near w = 1: with u = w - 1 it is
/// u^2 + 2 (u - log1p(u)). The per-dimension term of a KL divergence.
template <class T>
NGVI_HD T kl_scale_term(T w) {
  const T u = w - T(1);
  return u * u + T(2) * (u - std::log1p(u));
}

/// KL(q1 || q2) = 1/2 [tr(Lambda2 Sigma1) + (mu2-mu1)^T Lambda2 (mu2-mu1) - d + log det Sigma2 - log det Sigma1].
/// With W = L1^-1 L2 (lower triangular): tr(Lambda2 Sigma1) = ||W||_F^2 and the log-determinant ratio is
/// -2 sum_i log W_ii, so KL = 1/2 sum_i [(W_ii^2 - 1 - 2 log W_ii) + sum_{j<i} W_ij^2 + (L2^T (mu2 - mu1))_i^2]:
/// a sum of non-negative terms, accurate even when q1 and q2 differ by rounding (convergence tests
/// compare it with tolerances far below 1e-16; the textbook form loses d * epsilon to cancellation).
/// kl_terms adds the bracket for rows i = first, first + stride, ..., so that threads can share the
/// rows and sum their parts. W's diagonal is not read: W_ii = L2_ii / L1_ii, without the solve's rounding.
template <class T>
NGVI_HD T kl_terms(const T* W, const T* mu1, const T* L1, const T* mu2, const T* L2, int d, int first, int stride) {
  T sum = T(0);
  for (int i = first; i < d; i += stride) {
    T off_diagonal = T(0);
    NGVI_SIMD_SUM(off_diagonal)
    for (int j = 0; j < i; ++j) off_diagonal += W[i * d + j] * W[i * d + j];
    T projected = T(0);  // (L2^T (mu2 - mu1))_i
    for (int l = i; l < d; ++l) projected += L2[l * d + i] * (mu2[l] - mu1[l]);
    sum += kl_scale_term(L2[i * d + i] / L1[i * d + i]) + off_diagonal + projected * projected;
  }
  return sum;
}

/// KL(q1 || q2). `work` is d*d scratch entries. A team shares the solve's columns and the rows'
/// terms; each row's term goes to W's unread diagonal, and every member adds them in row order, so
/// that the sum, and the decisions taken on it, are the serial ones on every member.
template <class T, class Team = SerialTeam>
NGVI_HD T kl_full(const T* mu1, const T* L1, const T* mu2, const T* L2, T* work, int d, const Team& team = {}) {
  T* W = work;  // L1^-1 L2
  for (int i = team.rank(); i < d * d; i += Team::kSize) W[i] = L2[i];
  team.sync();
  solve_lower_rows(L1, W, d, d, team);
  for (int i = team.rank(); i < d; i += Team::kSize) W[i * d + i] = kl_terms(W, mu1, L1, mu2, L2, d, i, d);
  team.sync();
  T sum = T(0);
  for (int i = 0; i < d; ++i) sum += W[i * d + i];
  team.sync();  // W is scratch again
  return T(0.5) * sum;
}

/// z = mu + L^-T eps, one triangular solve, no inverse formed.
template <class T>
NGVI_HD void sample_full(const T* mu, const T* L, const T* eps, T* z, int d) {
  for (int i = 0; i < d; ++i) z[i] = eps[i];
  solve_lower_transpose(L, z, d);
  for (int i = 0; i < d; ++i) z[i] += mu[i];
}

// ---------------------------------------------------------------- diagonal
// l holds sqrt(diag(Lambda)); matrices of the full family become length-d diagonals here.

template <class T>
NGVI_HD void covariance_diagonal(const T* l, T* variance, int d) {
  for (int i = 0; i < d; ++i) variance[i] = T(1) / (l[i] * l[i]);
}

template <class T>
NGVI_HD void natural_diagonal(const T* mu, const T* l, T* eta1, T* eta2, int d) {
  for (int i = 0; i < d; ++i) {
    const T lambda = l[i] * l[i];
    eta1[i] = lambda * mu[i];
    eta2[i] = T(-0.5) * lambda;
  }
}

template <class T>
NGVI_HD void expectation_diagonal(const T* mu, const T* l, T* m1, T* m2, int d) {
  for (int i = 0; i < d; ++i) {
    m1[i] = mu[i];
    m2[i] = T(1) / (l[i] * l[i]) + mu[i] * mu[i];
  }
}

/// Shared tail of the diagonal setters: l = sqrt(precision), which must be positive and finite.
template <class T>
NGVI_HD bool factor_from_precision_diagonal(const T* mean, const T* precision, T* mu, T* l, int d) {
  for (int i = 0; i < d; ++i) {
    if (!(precision[i] > T(0)) || !is_finite(precision[i]) || !is_finite(mean[i])) return false;
  }
  for (int i = 0; i < d; ++i) {
    mu[i] = mean[i];
    l[i] = std::sqrt(precision[i]);
  }
  return true;
}

template <class T>
NGVI_HD bool factor_from_natural_diagonal(const T* eta1, const T* eta2, T* mu, T* l, int d) {
  for (int i = 0; i < d; ++i) {
    const T lambda = T(-2) * eta2[i];
    if (!(lambda > T(0)) || !is_finite(lambda) || !is_finite(eta1[i])) return false;
  }
  for (int i = 0; i < d; ++i) {
    const T lambda = T(-2) * eta2[i];
    mu[i] = eta1[i] / lambda;
    l[i] = std::sqrt(lambda);
  }
  return true;
}

template <class T>
NGVI_HD bool factor_from_moments_diagonal(const T* mean, const T* variance, T* mu, T* l, int d) {
  for (int i = 0; i < d; ++i) {
    if (!(variance[i] > T(0)) || !is_finite(variance[i]) || !is_finite(mean[i])) return false;
  }
  for (int i = 0; i < d; ++i) {
    mu[i] = mean[i];
    l[i] = T(1) / std::sqrt(variance[i]);
  }
  return true;
}

template <class T>
NGVI_HD bool factor_from_expectation_diagonal(const T* m1, const T* m2, T* mu, T* l, int d) {
  for (int i = 0; i < d; ++i) {
    const T variance = m2[i] - m1[i] * m1[i];
    if (!(variance > T(0)) || !is_finite(variance)) return false;
  }
  for (int i = 0; i < d; ++i) {
    mu[i] = m1[i];
    l[i] = T(1) / std::sqrt(m2[i] - m1[i] * m1[i]);
  }
  return true;
}

template <class T>
NGVI_HD T log_det_covariance_diagonal(const T* l, int d) {
  T s = T(0);
  for (int i = 0; i < d; ++i) s += std::log(l[i]);
  return T(-2) * s;
}

template <class T>
NGVI_HD T entropy_diagonal(const T* l, int d) {
  return T(0.5) * T(d) * T(1 + kLog2Pi) + T(0.5) * log_det_covariance_diagonal(l, d);
}

/// The diagonal case of kl_full: W = diag(l2 / l1).
template <class T>
NGVI_HD T kl_diagonal(const T* mu1, const T* l1, const T* mu2, const T* l2, int d) {
  T s = T(0);
  for (int i = 0; i < d; ++i) s += kl_scale_term(l2[i] / l1[i]) + square(l2[i] * (mu2[i] - mu1[i]));
  return T(0.5) * s;
}

template <class T>
NGVI_HD void sample_diagonal(const T* mu, const T* l, const T* eps, T* z, int d) {
  for (int i = 0; i < d; ++i) z[i] = mu[i] + eps[i] / l[i];
}

template <class T>
NGVI_HD bool is_valid_diagonal_factor(const T* l, int d) {
  for (int i = 0; i < d; ++i)
    if (!(l[i] > T(0)) || !is_finite(l[i])) return false;
  return true;
}

}  // namespace ngvi::math
