// A Gaussian prior N(m, P^-1) of one problem, added analytically (docs/math.md section 3.3): it contributes
// P (mu - m) to g and P to H exactly, and its normalised cross-entropy to the ELBO in closed form.
#pragma once

#include "config.cuh"
#include "dense.cuh"

namespace ngvi::math {

enum class PriorKind : int { None = 0, Isotropic = 1, Full = 2 };

/// One problem's prior, as pointers into host or device memory.
template <class T>
struct PriorTerms {
  PriorKind kind = PriorKind::None;
  const T* precision = nullptr;  ///< Isotropic: one scalar; Full: (d, d)
  const T* factor = nullptr;     ///< Full: lower Cholesky factor of the precision
  const T* mean = nullptr;       ///< (d), or nullptr for zero
  T log_det_precision = T(0);
};

template <class T>
NGVI_HD T prior_offset(const PriorTerms<T>& p, const T* mu, int i) {
  return p.mean ? mu[i] - p.mean[i] : mu[i];
}

/// g += P (mu - m); H += P. `diagonal`: H is the (d) diagonal only.
template <class T>
NGVI_HD void add_prior(const PriorTerms<T>& p, const T* mu, T* g, T* H, bool diagonal, int d) {
  if (p.kind == PriorKind::Isotropic) {
    const T delta = p.precision[0];
    for (int i = 0; i < d; ++i) {
      g[i] += delta * prior_offset(p, mu, i);
      H[diagonal ? i : i * d + i] += delta;
    }
  } else if (p.kind == PriorKind::Full) {
    for (int i = 0; i < d; ++i) {
      T s = T(0);
      for (int j = 0; j < d; ++j) s += p.precision[i * d + j] * prior_offset(p, mu, j);
      g[i] += s;
      if (diagonal) {
        H[i] += p.precision[i * d + i];
      } else {
        for (int j = 0; j < d; ++j) H[i * d + j] += p.precision[i * d + j];
      }
    }
  }
}

/// log N(z; m, P^-1) up to its normalising constant: -(z - m)^T P (z - m) / 2 (0 without a prior).
template <class T>
NGVI_HD T prior_log_kernel(const PriorTerms<T>& p, const T* z, int d) {
  T quadratic = T(0);
  if (p.kind == PriorKind::Isotropic) {
    for (int i = 0; i < d; ++i) quadratic += prior_offset(p, z, i) * prior_offset(p, z, i);
    quadratic *= p.precision[0];
  } else if (p.kind == PriorKind::Full) {
    for (int i = 0; i < d; ++i)
      for (int j = 0; j < d; ++j) quadratic += prior_offset(p, z, i) * p.precision[i * d + j] * prior_offset(p, z, j);
  }
  return T(-0.5) * quadratic;
}

/// E_q[-log N(z; m, P^-1)] = 1/2 [tr(P Sigma) + (mu - m)^T P (mu - m) - log det P + d log 2 pi]
/// for a full-family q with precision factor L: tr(P Sigma) = ||L^-1 C||_F^2 with P = C C^T
/// (isotropic: delta ||L^-1||_F^2). `work` is 2*d entries.
template <class T>
NGVI_HD T prior_cross_entropy_full(const PriorTerms<T>& p, const T* mu, const T* L, T* work, int d) {
  if (p.kind == PriorKind::None) return T(0);
  T* column = work;
  T* offset = work + d;
  for (int i = 0; i < d; ++i) offset[i] = prior_offset(p, mu, i);
  T trace = T(0);
  T quadratic = T(0);
  if (p.kind == PriorKind::Isotropic) {
    for (int j = 0; j < d; ++j) {
      for (int i = 0; i < d; ++i) column[i] = T(i == j);
      solve_lower(L, column, d);
      trace += dot(column, column, d);
    }
    trace *= p.precision[0];
    quadratic = p.precision[0] * dot(offset, offset, d);
  } else {
    for (int j = 0; j < d; ++j) {
      for (int i = 0; i < d; ++i) column[i] = p.factor[i * d + j];
      solve_lower(L, column, d);
      trace += dot(column, column, d);
    }
    multiply_lower_transpose(p.factor, offset, column, d);
    quadratic = dot(column, column, d);
  }
  return T(0.5) * (trace + quadratic - p.log_det_precision + T(d) * T(kLog2Pi));
}

/// The same for a diagonal q with precision square roots l: tr(P Sigma) = sum_i P_ii / l_i^2.
template <class T>
NGVI_HD T prior_cross_entropy_diagonal(const PriorTerms<T>& p, const T* mu, const T* l, int d) {
  if (p.kind == PriorKind::None) return T(0);
  T trace = T(0);
  T quadratic = T(0);
  for (int i = 0; i < d; ++i) {
    const T pii = p.kind == PriorKind::Isotropic ? p.precision[0] : p.precision[i * d + i];
    trace += pii / (l[i] * l[i]);
    if (p.kind == PriorKind::Isotropic) {
      quadratic += pii * square(prior_offset(p, mu, i));
    } else {
      T s = T(0);
      for (int j = 0; j < d; ++j) s += p.precision[i * d + j] * prior_offset(p, mu, j);
      quadratic += prior_offset(p, mu, i) * s;
    }
  }
  return T(0.5) * (trace + quadratic - p.log_det_precision + T(d) * T(kLog2Pi));
}

}  // namespace ngvi::math
