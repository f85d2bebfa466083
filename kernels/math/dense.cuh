// Small dense linear algebra on one distribution's d x d matrices.
//
// Storage is row-major with leading dimension d: element (i, j) of A is A[i * d + j]. Symmetric
// inputs are read from their lower triangle only. Triangular factors are lower triangular with a
// zero strict upper triangle, so that they can also be read as full matrices.
//
// The O(d^3) functions take a team (team.cuh): the CPU calls them whole, a fused kernel's warp with
// its lanes over the columns (solves, products, the Cholesky updates) or the rows (transposes).
#pragma once

#include "config.cuh"
#include "team.cuh"

namespace ngvi::math {

/// Copies the lower triangle of A onto its upper triangle (the team over the upper triangle's columns).
template <class T, class Team = SerialTeam>
NGVI_HD void symmetrize_from_lower(T* A, int d, const Team& team = {}) {
  for (int i = team.rank(); i < d; i += Team::kSize)
    for (int j = 0; j < i; ++j) A[j * d + i] = A[i * d + j];
  team.sync();
}

/// A <- (A + A^T) / 2: exactly symmetric, whatever rounding made the two triangles differ.
template <class T, class Team = SerialTeam>
NGVI_HD void symmetrize_average(T* A, int d, const Team& team = {}) {
  for (int i = team.rank(); i < d; i += Team::kSize)
    for (int j = 0; j < i; ++j) {
      const T s = T(0.5) * (A[i * d + j] + A[j * d + i]);
      A[i * d + j] = s;
      A[j * d + i] = s;
    }
  team.sync();
}

/// In-place Cholesky factorization A = L L^T of the lower triangle of A.
/// On success A holds L (strict upper triangle zeroed) and the result is true. On failure (a pivot
/// that is not positive or not finite) the result is false and A is left partially overwritten.
/// Right-looking on the upper triangle, whose rows are contiguous, so that the trailing updates are
/// row axpys: row k is kept unscaled (it holds pivot_k U_k for U = L^T), so that the chain from one
/// pivot to the next has one division and no square root; the scaling by 1 / sqrt(pivot_k) happens
/// in the final transpose. The axpys run over whole rows: what they write left of the diagonal is
/// never read, and rows of a fixed length d vectorize without remainder loops. A team splits the
/// columns of the axpys and synchronizes once per pivot (the next pivot row is the last one updated).
template <class T, class Team = SerialTeam>
NGVI_HD bool cholesky_in_place(T* NGVI_RESTRICT A, int d, const Team& team = {}) {
  symmetrize_from_lower(A, d, team);
  for (int k = 0; k < d; ++k) {
    const T* row_k = A + k * d;
    const T pivot = row_k[k];
    if (!(pivot > T(0)) || !is_finite(pivot)) return false;  // every member read the same pivot
    const T inv_pivot = T(1) / pivot;
    for (int i = k + 1; i < d; ++i) {
      T* row_i = A + i * d;
      const T u = row_k[i] * inv_pivot;
      NGVI_SIMD
      for (int j = team.rank(); j < d; j += Team::kSize) row_i[j] -= u * row_k[j];
    }
    team.sync();
  }
  for (int k = team.rank(); k < d; k += Team::kSize) {  // column k of L from row k of U: one member each
    const T pivot = A[k * d + k];
    const T diag = std::sqrt(pivot), inv_diag = T(1) / diag;
    A[k * d + k] = diag;
    for (int i = k + 1; i < d; ++i) {
      A[i * d + k] = A[k * d + i] * inv_diag;
      A[k * d + i] = T(0);
    }
  }
  team.sync();
  return true;
}

/// X <- L^-1 X for a (d, n) row-major X: forward substitution by row axpys, all n columns at once
/// (a team's members each take columns: no column depends on another).
template <class T, class Team = SerialTeam>
NGVI_HD void solve_lower_rows(const T* NGVI_RESTRICT L, T* NGVI_RESTRICT X, int d, int n, const Team& team = {}) {
  for (int i = 0; i < d; ++i) {
    T* x_i = X + i * n;
    const T inv = T(1) / L[i * d + i];
    NGVI_SIMD
    for (int c = team.rank(); c < n; c += Team::kSize) x_i[c] *= inv;
    for (int k = i + 1; k < d; ++k) {
      const T l = L[k * d + i];
      T* x_k = X + k * n;
      NGVI_SIMD
      for (int c = team.rank(); c < n; c += Team::kSize) x_k[c] -= l * x_i[c];
    }
  }
  team.sync();
}

/// X <- L^-T X for a (d, n) row-major X: back substitution by row axpys (columns over the team).
template <class T, class Team = SerialTeam>
NGVI_HD void solve_lower_transpose_rows(const T* NGVI_RESTRICT L, T* NGVI_RESTRICT X, int d, int n,
                                        const Team& team = {}) {
  for (int i = d - 1; i >= 0; --i) {
    T* x_i = X + i * n;
    const T* row = L + i * d;
    const T inv = T(1) / row[i];
    NGVI_SIMD
    for (int c = team.rank(); c < n; c += Team::kSize) x_i[c] *= inv;
    for (int k = 0; k < i; ++k) {
      const T l = row[k];
      T* x_k = X + k * n;
      NGVI_SIMD
      for (int c = team.rank(); c < n; c += Team::kSize) x_k[c] -= l * x_i[c];
    }
  }
  team.sync();
}

/// C <- A B for (d, d) row-major matrices, by row axpys (C distinct from A and B; columns over the team).
template <class T, class Team = SerialTeam>
NGVI_HD void multiply(const T* NGVI_RESTRICT A, const T* NGVI_RESTRICT B, T* NGVI_RESTRICT C, int d,
                      const Team& team = {}) {
  for (int i = 0; i < d; ++i) {
    T* c_i = C + i * d;
    for (int j = team.rank(); j < d; j += Team::kSize) c_i[j] = T(0);
    for (int k = 0; k < d; ++k) {
      const T a = A[i * d + k];
      const T* b_k = B + k * d;
      NGVI_SIMD
      for (int j = team.rank(); j < d; j += Team::kSize) c_i[j] += a * b_k[j];
    }
  }
  team.sync();
}

/// C <- L B for lower-triangular L and B (the product is lower triangular; C distinct from both).
/// B's rows are added whole: their zero upper parts keep C's upper triangle zero, and rows of a
/// fixed length d vectorize without remainder loops. Columns over the team.
template <class T, class Team = SerialTeam>
NGVI_HD void multiply_lower_lower(const T* NGVI_RESTRICT L, const T* NGVI_RESTRICT B, T* NGVI_RESTRICT C, int d,
                                  const Team& team = {}) {
  for (int i = 0; i < d; ++i) {
    T* c_i = C + i * d;
    for (int j = team.rank(); j < d; j += Team::kSize) c_i[j] = T(0);
    for (int k = 0; k <= i; ++k) {
      const T l = L[i * d + k];
      const T* b_k = B + k * d;
      NGVI_SIMD
      for (int j = team.rank(); j < d; j += Team::kSize) c_i[j] += l * b_k[j];
    }
  }
  team.sync();
}

/// A <- A^T in place (rows over the team: a pair is swapped by the member of its lower entry's row).
template <class T, class Team = SerialTeam>
NGVI_HD void transpose_in_place(T* A, int d, const Team& team = {}) {
  for (int i = team.rank(); i < d; i += Team::kSize)
    for (int j = 0; j < i; ++j) {
      const T t = A[i * d + j];
      A[i * d + j] = A[j * d + i];
      A[j * d + i] = t;
    }
  team.sync();
}

/// K <- L^-1 H L^-T for symmetric H (both triangles read): H "whitened" by the factor of Lambda.
/// Two solves with d right-hand sides; K comes out symmetrized. K may not alias H or L.
template <class T, class Team = SerialTeam>
NGVI_HD void whiten(const T* NGVI_RESTRICT L, const T* NGVI_RESTRICT H, T* NGVI_RESTRICT K, int d,
                    const Team& team = {}) {
  for (int i = team.rank(); i < d * d; i += Team::kSize) K[i] = H[i];
  team.sync();
  solve_lower_rows(L, K, d, d, team);  // L^-1 H
  transpose_in_place(K, d, team);      // H L^-T
  solve_lower_rows(L, K, d, d, team);  // L^-1 H L^-T
  symmetrize_average(K, d, team);
}

/// x <- L^-1 x (forward substitution). Each solved x_i is subtracted from the entries below it at
/// once (column by column), so that no entry waits on a chain of i dependent multiply-adds.
template <class T>
NGVI_HD void solve_lower(const T* NGVI_RESTRICT L, T* NGVI_RESTRICT x, int d) {
  for (int i = 0; i < d; ++i) {
    const T xi = x[i] * (T(1) / L[i * d + i]);  // the reciprocal does not wait on x
    x[i] = xi;
    for (int k = i + 1; k < d; ++k) x[k] -= L[k * d + i] * xi;
  }
}

/// x <- L^-T x (back substitution with the transpose, reading L by columns).
template <class T>
NGVI_HD void solve_lower_transpose(const T* NGVI_RESTRICT L, T* NGVI_RESTRICT x, int d) {
  for (int i = d - 1; i >= 0; --i) {
    const T xi = x[i] * (T(1) / L[i * d + i]);  // the reciprocal does not wait on x
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

/// Inverse of a lower-triangular factor's Gram matrix: A <- (L L^T)^-1 = L^-T L^-1, both triangles.
template <class T>
NGVI_HD void inverse_gram_lower(const T* NGVI_RESTRICT L, T* NGVI_RESTRICT A, int d) {
  for (int i = 0; i < d * d; ++i) A[i] = T(0);
  for (int i = 0; i < d; ++i) A[i * d + i] = T(1);
  solve_lower_rows(L, A, d, d);            // L^-1
  solve_lower_transpose_rows(L, A, d, d);  // L^-T L^-1
  symmetrize_average(A, d);
}

/// sum_i log L_ii: half the log-determinant of L L^T.
template <class T>
NGVI_HD T log_diagonal_sum(const T* L, int d) {
  T s = T(0);
  for (int i = 0; i < d; ++i) s += std::log(L[i * d + i]);
  return s;
}

/// True when every entry of the d x d lower-triangular factor is finite and its diagonal is positive
/// (rows over the team, the answer on every member).
template <class T, class Team = SerialTeam>
NGVI_HD bool is_valid_factor(const T* L, int d, const Team& team = {}) {
  bool valid = true;
  for (int i = team.rank(); i < d && valid; i += Team::kSize) {
    const T* row = L + i * d;
    for (int k = 0; k < i; ++k)
      if (!is_finite(row[k])) valid = false;
    if (!(row[i] > T(0)) || !is_finite(row[i])) valid = false;
  }
  return team.all(valid);
}

/// True when every x[i] is finite: x * 0 is 0 for a finite x and NaN otherwise, so their sum is 0
/// exactly when all are, in whatever order the vectorized loop adds them.
template <class T>
NGVI_HD bool all_finite(const T* x, int n) {
  T zero = T(0);
  NGVI_SIMD_SUM(zero)
  for (int i = 0; i < n; ++i) zero += x[i] * T(0);
  return zero == T(0);
}

template <class T>
NGVI_HD T dot(const T* NGVI_RESTRICT x, const T* NGVI_RESTRICT y, int n) {
  T s = T(0);
  for (int i = 0; i < n; ++i) s += x[i] * y[i];
  return s;
}

}  // namespace ngvi::math
