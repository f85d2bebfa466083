// Small dense linear algebra on one distribution's d x d matrices.
//
// Storage is row-major with leading dimension d: element (i, j) of A is A[i * d + j]. Symmetric
// inputs are read from their lower triangle only. Triangular factors are lower triangular with a
// zero strict upper triangle, so that they can also be read as full matrices.
#pragma once

#include "config.cuh"

namespace ngvi::math {

/// In-place Cholesky factorization A = L L^T of the lower triangle of A.
/// On success A holds L (strict upper triangle zeroed) and the result is true. On failure (a pivot
/// that is not positive or not finite) the result is false and A is left partially overwritten.
template <class T>
NGVI_HD bool cholesky_in_place(T* NGVI_RESTRICT A, int d) {
  for (int j = 0; j < d; ++j) {
    T* row_j = A + j * d;
    T pivot = row_j[j];
    for (int k = 0; k < j; ++k) pivot -= row_j[k] * row_j[k];
    if (!(pivot > T(0)) || !is_finite(pivot)) return false;
    const T diag = std::sqrt(pivot);
    row_j[j] = diag;
    const T inv_diag = T(1) / diag;
    for (int i = j + 1; i < d; ++i) {
      T* row_i = A + i * d;
      T s = row_i[j];
      for (int k = 0; k < j; ++k) s -= row_i[k] * row_j[k];
      row_i[j] = s * inv_diag;
    }
    for (int k = j + 1; k < d; ++k) row_j[k] = T(0);
  }
  return true;
}

/// x <- L^-1 x (forward substitution).
template <class T>
NGVI_HD void solve_lower(const T* NGVI_RESTRICT L, T* NGVI_RESTRICT x, int d) {
  for (int i = 0; i < d; ++i) {
    const T* row = L + i * d;
    T s = x[i];
    for (int k = 0; k < i; ++k) s -= row[k] * x[k];
    x[i] = s / row[i];
  }
}

/// x <- L^-T x (back substitution with the transpose, reading L by columns).
template <class T>
NGVI_HD void solve_lower_transpose(const T* NGVI_RESTRICT L, T* NGVI_RESTRICT x, int d) {
  for (int i = d - 1; i >= 0; --i) {
    const T xi = x[i] / L[i * d + i];
    x[i] = xi;
    const T* row = L + i * d;
    for (int k = 0; k < i; ++k) x[k] -= row[k] * xi;
  }
}

/// y <- L x.
template <class T>
NGVI_HD void multiply_lower(const T* NGVI_RESTRICT L, const T* NGVI_RESTRICT x, T* NGVI_RESTRICT y,
                            int d) {
  for (int i = 0; i < d; ++i) {
    const T* row = L + i * d;
    T s = T(0);
    for (int k = 0; k <= i; ++k) s += row[k] * x[k];
    y[i] = s;
  }
}

/// y <- L^T x.
template <class T>
NGVI_HD void multiply_lower_transpose(const T* NGVI_RESTRICT L, const T* NGVI_RESTRICT x,
                                      T* NGVI_RESTRICT y, int d) {
  for (int i = 0; i < d; ++i) y[i] = T(0);
  for (int k = 0; k < d; ++k) {
    const T* row = L + k * d;
    const T xk = x[k];
    for (int i = 0; i <= k; ++i) y[i] += row[i] * xk;
  }
}

/// A <- L L^T, both triangles written.
template <class T>
NGVI_HD void gram_lower(const T* NGVI_RESTRICT L, T* NGVI_RESTRICT A, int d) {
  for (int i = 0; i < d; ++i) {
    const T* row_i = L + i * d;
    for (int j = 0; j <= i; ++j) {
      const T* row_j = L + j * d;
      T s = T(0);
      for (int k = 0; k <= j; ++k) s += row_i[k] * row_j[k];
      A[i * d + j] = s;
      A[j * d + i] = s;
    }
  }
}

/// Copies the lower triangle of A onto its upper triangle.
template <class T>
NGVI_HD void symmetrize_from_lower(T* A, int d) {
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < i; ++j) A[j * d + i] = A[i * d + j];
}

/// Inverse of a lower-triangular factor's Gram matrix: A <- (L L^T)^-1 = L^-T L^-1, both triangles.
/// Uses `column` (d entries) as scratch.
template <class T>
NGVI_HD void inverse_gram_lower(const T* NGVI_RESTRICT L, T* NGVI_RESTRICT A, T* NGVI_RESTRICT column,
                                int d) {
  for (int j = 0; j < d; ++j) {
    for (int i = 0; i < d; ++i) column[i] = T(i == j);
    solve_lower(L, column, d);
    solve_lower_transpose(L, column, d);
    for (int i = 0; i < d; ++i) A[i * d + j] = column[i];
  }
  // Average the two triangles so that the result is exactly symmetric.
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < i; ++j) {
      const T s = T(0.5) * (A[i * d + j] + A[j * d + i]);
      A[i * d + j] = s;
      A[j * d + i] = s;
    }
}

/// sum_i log L_ii: half the log-determinant of L L^T.
template <class T>
NGVI_HD T log_diagonal_sum(const T* L, int d) {
  T s = T(0);
  for (int i = 0; i < d; ++i) s += std::log(L[i * d + i]);
  return s;
}

/// True when every entry of the d x d lower-triangular factor is finite and its diagonal is positive.
template <class T>
NGVI_HD bool is_valid_factor(const T* L, int d) {
  for (int i = 0; i < d; ++i) {
    const T* row = L + i * d;
    for (int k = 0; k < i; ++k)
      if (!is_finite(row[k])) return false;
    if (!(row[i] > T(0)) || !is_finite(row[i])) return false;
  }
  return true;
}

template <class T>
NGVI_HD bool all_finite(const T* x, int n) {
  bool ok = true;
  for (int i = 0; i < n; ++i) ok &= is_finite(x[i]);
  return ok;
}

template <class T>
NGVI_HD T dot(const T* NGVI_RESTRICT x, const T* NGVI_RESTRICT y, int n) {
  T s = T(0);
  for (int i = 0; i < n; ++i) s += x[i] * y[i];
  return s;
}

}  // namespace ngvi::math
