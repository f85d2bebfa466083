// docs/math.md section 3.1, the Fisher check: for a Gaussian, the natural gradient F^-1 grad_eta L equals
// the gradient in the expectation parameters grad_m L, with F the covariance of the sufficient
// statistics built explicitly (Isserlis), and the BLR step is mirror descent eta' = eta - rho grad_m L.
// Gradients are finite differences through the library's conversion routines.
#include <gtest/gtest.h>

#include <cmath>

#include "math/rules.cuh"
#include "ngvi/gaussian.hpp"
#include "test_util.hpp"

namespace ngvi {
namespace {

using testing::Matrix;
using testing::Vector;

// Coordinates of symmetric matrices in an orthonormal basis: diagonal entries as they are, each
// off-diagonal pair (i < j) as sqrt(2) S_ij. Natural and expectation parameters are (vector, sym):
// with the statistics T(z) = (z, coords(z z^T)), <eta, T> = eta1^T z + tr(eta2 z z^T).
struct Coordinates {
  int d;
  int size() const { return d + d * (d + 1) / 2; }
  Vector<double> pack(const Vector<double>& v, const Matrix<double>& S) const {
    Vector<double> x(size());
    int k = 0;
    for (int i = 0; i < d; ++i) x(k++) = v(i);
    for (int i = 0; i < d; ++i)
      for (int j = i; j < d; ++j) x(k++) = i == j ? S(i, i) : std::sqrt(2.0) * S(i, j);
    return x;
  }
  void unpack(const Vector<double>& x, Vector<double>& v, Matrix<double>& S) const {
    v.resize(d);
    S.resize(d, d);
    int k = 0;
    for (int i = 0; i < d; ++i) v(i) = x(k++);
    for (int i = 0; i < d; ++i)
      for (int j = i; j < d; ++j) S(i, j) = S(j, i) = i == j ? x(k++) : x(k++) / std::sqrt(2.0);
  }
};

// The negative ELBO of the quadratic target f = 1/2 (z - a)^T A (z - a), in closed form:
// 1/2 [tr(A Sigma) + (mu - a)^T A (mu - a)] - 1/2 log det Sigma (constants dropped).
struct Objective {
  Matrix<double> A;
  Vector<double> a;
  double operator()(const GaussianBatch<double>& q) const {
    const int d = q.dimension();
    Matrix<double> Sigma(d, d);
    q.covariance(Sigma.data());
    const Vector<double> r = testing::segment(q.mean(), 0, d) - a;
    return 0.5 * ((A * Sigma).trace() + r.dot(A * r) - std::log(Sigma.determinant()));
  }
};

enum class Parameters { Natural, Expectation };

// Sets q from coordinates x of natural or expectation parameters.
void set(GaussianBatch<double>& q, const Coordinates& c, Parameters kind, const Vector<double>& x) {
  Vector<double> v;
  Matrix<double> S;
  c.unpack(x, v, S);
  const auto status = kind == Parameters::Natural ? q.set_natural(v.data(), S.data()) : q.set_expectation(v.data(), S.data());
  ASSERT_EQ(status[0], ConversionStatus::Ok);
}

Vector<double> get(const GaussianBatch<double>& q, const Coordinates& c, Parameters kind) {
  Vector<double> v(c.d);
  Matrix<double> S(c.d, c.d);
  if (kind == Parameters::Natural) {
    q.natural(v.data(), S.data());
  } else {
    q.expectation(v.data(), S.data());
  }
  return c.pack(v, S);
}

// Central finite-difference gradient of the objective in the given coordinates.
Vector<double> gradient(const Objective& L, const Coordinates& c, Parameters kind, const Vector<double>& x) {
  const double h = 1e-5;
  Vector<double> g(x.size());
  GaussianBatch<double> q(1, c.d);
  for (Eigen::Index k = 0; k < x.size(); ++k) {
    Vector<double> plus = x, minus = x;
    plus(k) += h;
    minus(k) -= h;
    set(q, c, kind, plus);
    const double up = L(q);
    set(q, c, kind, minus);
    g(k) = (up - L(q)) / (2 * h);
  }
  return g;
}

// Cov_q[T(z)] by Isserlis' theorem, in the same coordinates.
Matrix<double> fisher(const Vector<double>& mu, const Matrix<double>& S, const Coordinates& c) {
  const int d = c.d;
  struct Stat {
    int i, j;  // j < 0: the linear statistic z_i
    double scale;
  };
  std::vector<Stat> stats;
  for (int i = 0; i < d; ++i) stats.push_back({i, -1, 1.0});
  for (int i = 0; i < d; ++i)
    for (int j = i; j < d; ++j) stats.push_back({i, j, i == j ? 1.0 : std::sqrt(2.0)});
  Matrix<double> F(c.size(), c.size());
  for (int p = 0; p < c.size(); ++p)
    for (int r = 0; r < c.size(); ++r) {
      const Stat &u = stats[p], &v = stats[r];
      double cov;
      if (u.j < 0 && v.j < 0) {
        cov = S(u.i, v.i);
      } else if (u.j < 0 || v.j < 0) {
        const Stat& lin = u.j < 0 ? u : v;
        const Stat& quad = u.j < 0 ? v : u;
        cov = mu(quad.j) * S(lin.i, quad.i) + mu(quad.i) * S(lin.i, quad.j);
      } else {
        const int i = u.i, j = u.j, k = v.i, l = v.j;
        cov = S(i, k) * S(j, l) + S(i, l) * S(j, k) + mu(i) * mu(k) * S(j, l) + mu(i) * mu(l) * S(j, k) +
              mu(j) * mu(k) * S(i, l) + mu(j) * mu(l) * S(i, k);
      }
      F(p, r) = u.scale * v.scale * cov;
    }
  return F;
}

TEST(NaturalGradient, FisherCheckAndMirrorDescent) {
  for (int d = 1; d <= 3; ++d) {
    std::mt19937 rng(50 + d);
    const Coordinates c{d};
    const Objective L{testing::random_spd(d, rng, 0.5, 3.0), testing::random_vector(d, rng)};
    const Vector<double> mu = testing::random_vector(d, rng, 0.5);
    const Matrix<double> Sigma = testing::random_spd(d, rng);

    GaussianBatch<double> q(1, d);
    ASSERT_EQ(q.set_moments(mu.data(), Sigma.data())[0], ConversionStatus::Ok);
    const Vector<double> eta = get(q, c, Parameters::Natural), m = get(q, c, Parameters::Expectation);

    // The explicit Fisher is the Jacobian of the conversion natural -> expectation.
    const Matrix<double> F = fisher(mu, Sigma, c);
    Matrix<double> J(c.size(), c.size());
    const double h = 1e-6;
    for (int k = 0; k < c.size(); ++k) {
      Vector<double> plus = eta, minus = eta;
      plus(k) += h;
      minus(k) -= h;
      set(q, c, Parameters::Natural, plus);
      const Vector<double> up = get(q, c, Parameters::Expectation);
      set(q, c, Parameters::Natural, minus);
      J.col(k) = (up - get(q, c, Parameters::Expectation)) / (2 * h);
    }
    EXPECT_LT((J - F).norm(), 1e-6 * F.norm()) << "d = " << d;

    const Vector<double> grad_eta = gradient(L, c, Parameters::Natural, eta);
    const Vector<double> grad_m = gradient(L, c, Parameters::Expectation, m);
    const Vector<double> natural = F.ldlt().solve(grad_eta);
    EXPECT_LT((natural - grad_m).norm(), 1e-6 * (1 + grad_m.norm())) << "d = " << d;

    // The BLR step with exact g = A (mu - a), H = A is eta' = eta - rho grad_m L.
    const double rho = 0.3;
    const Matrix<double> Lfac = Sigma.inverse().llt().matrixL();
    const Vector<double> g = L.A * (mu - L.a);
    Vector<double> mu_new(d);
    Matrix<double> L_new(d, d);
    std::vector<double> work(2 * d * d);
    ASSERT_TRUE(math::blr_full(mu.data(), Lfac.data(), g.data(), L.A.data(), rho, mu_new.data(), L_new.data(),
                               work.data(), d));
    set(q, c, Parameters::Natural, eta - rho * grad_m);
    const Matrix<double> lambda_new = L_new * L_new.transpose();
    Matrix<double> precision(d, d);
    q.precision(precision.data());
    EXPECT_LT((precision - lambda_new).norm(), 1e-6 * lambda_new.norm()) << "d = " << d;
    EXPECT_LT((testing::segment(q.mean(), 0, d) - mu_new).norm(), 1e-6 * (1 + mu_new.norm())) << "d = " << d;
  }
}

}  // namespace
}  // namespace ngvi
