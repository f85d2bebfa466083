// Helpers shared by the tests: random well-conditioned matrices and Eigen views of batch arrays.
#pragma once

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ngvi/fit.hpp"
#include "ngvi/gaussian.hpp"
#include "ngvi/models.hpp"

namespace ngvi::testing {

template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

/// A custom Model (not one of the built-in types) that forwards everything to another model; tests
/// derive from it to change what evaluate returns.
template <class T>
class ForwardingModel : public Model<T> {
 public:
  explicit ForwardingModel(const Model<T>& inner) : inner_(inner) {}
  std::size_t num_problems() const override { return inner_.num_problems(); }
  int dimension() const override { return inner_.dimension(); }
  Derivatives derivatives() const override { return inner_.derivatives(); }
  std::size_t scratch_size(int n) const override { return inner_.scratch_size(n); }
  void evaluate(std::size_t problem, const T* points, int n, const Evaluation<T>& out, T* scratch,
                const EvaluationContext& context) const override {
    inner_.evaluate(problem, points, n, out, scratch, context);
  }

 private:
  const Model<T>& inner_;
};

/// A random symmetric positive-definite matrix with eigenvalues in [lo, hi] (Q diag Q^T).
inline Matrix<double> random_spd(int d, std::mt19937& rng, double lo = 0.5, double hi = 2.0) {
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(lo, hi);
  Matrix<double> G(d, d);
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) G(i, j) = normal(rng);
  const Eigen::HouseholderQR<Matrix<double>> qr(G);
  const Matrix<double> Q = qr.householderQ();
  Vector<double> eig(d);
  for (int i = 0; i < d; ++i) eig(i) = uniform(rng);
  Matrix<double> A = Q * eig.asDiagonal() * Q.transpose();
  return (A + A.transpose()) / 2;
}

inline Vector<double> random_vector(int d, std::mt19937& rng, double scale = 1.0) {
  std::normal_distribution<double> normal(0.0, scale);
  Vector<double> v(d);
  for (int i = 0; i < d; ++i) v(i) = normal(rng);
  return v;
}

/// Appends the entries of a matrix or vector, converted to T, to a flat batch array.
template <class T, class Derived>
void append(std::vector<T>& out, const Eigen::MatrixBase<Derived>& m) {
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) out.push_back(static_cast<T>(m(i, j)));
}

/// Distribution b's (d, d) block of a flat batch array, as a double matrix.
template <class T>
Matrix<double> block(const std::vector<T>& flat, std::size_t b, int d) {
  Matrix<double> m(d, d);
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) m(i, j) = static_cast<double>(flat[b * d * d + i * d + j]);
  return m;
}

template <class T>
Vector<double> segment(const T* flat, std::size_t b, int d) {
  Vector<double> v(d);
  for (int i = 0; i < d; ++i) v(i) = static_cast<double>(flat[b * d + i]);
  return v;
}

/// B random quadratic targets in dimension d, stored as flat arrays of precision T.
template <class T>
struct Quadratics {
  int d;
  std::size_t B;
  std::vector<T> centers, curvatures;
  Quadratics(std::size_t B_, int d_, std::uint32_t seed) : d(d_), B(B_) {
    std::mt19937 rng(seed);
    for (std::size_t b = 0; b < B; ++b) {
      append(centers, random_vector(d, rng, 2.0));
      append(curvatures, random_spd(d, rng, 0.5, 4.0));
    }
  }
  QuadraticModel<T> model(Prior<T> prior = Prior<T>::none()) const {
    return QuadraticModel<T>(B, d, centers.data(), curvatures.data(), false, std::move(prior));
  }
  Matrix<double> A(std::size_t b) const { return block(curvatures, b, d); }
  Vector<double> a(std::size_t b) const { return segment(centers.data(), b, d); }
};

/// Calls f(options) for every family, rule and estimator, with a step size each can take.
template <class F>
void for_each_method(F&& f) {
  for (Family family : {Family::Full, Family::Diagonal})
    for (Rule rule : {Rule::IBLR, Rule::BLR, Rule::CholeskyFactor, Rule::Adam})
      for (Estimator estimator : {Estimator::Price, Estimator::Stein, Estimator::Score, Estimator::Quadrature}) {
        Options options;
        options.estimator = estimator;
        options.rule = rule;
        options.step_size = estimator == Estimator::Score || rule == Rule::Adam ? 0.05 : 0.3;
        f(family, options, std::string(estimator_name(estimator)) + " " + rule_name(rule) +
                               (family == Family::Full ? " full" : " diagonal"));
      }
}

/// Exact fits of linear-Gaussian targets: expectations in closed form and BLR with rho = 1, one
/// Newton step on a quadratic, which lands on the posterior.
inline Options exact_options() {
  Options options;
  options.estimator = Estimator::Quadrature;
  options.rule = Rule::BLR;
  options.step_size = 1.0;
  options.num_threads = 1;  // small problems: threads would cost more than they save
  return options;
}

/// Monte Carlo options accurate enough to land on an exact optimum: many samples, and shrinking
/// steps that average the noise out.
inline Options accurate_monte_carlo() {
  Options options;
  options.estimator = Estimator::Price;
  options.samples = 64;
  options.schedule = Schedule::RobbinsMonro;
  options.decay_steps = 20;
  options.decay_power = 1.0;
  options.step_size = 1.0;
  options.max_steps = 400;
  options.tolerance = 1e-10;
  return options;
}

/// Gauss-Hermite rule for E[h(e)], e ~ N(0, 1), by Golub-Welsch: nodes are the eigenvalues of the
/// Jacobi matrix of the probabilists' Hermite polynomials, weights the squared first components of
/// its eigenvectors. An oracle independent of the library's own tables.
struct GaussHermite {
  Vector<double> nodes, weights;
  explicit GaussHermite(int n) {
    Matrix<double> J = Matrix<double>::Zero(n, n);
    for (int k = 1; k < n; ++k) J(k, k - 1) = J(k - 1, k) = std::sqrt(static_cast<double>(k));
    const Eigen::SelfAdjointEigenSolver<Matrix<double>> eig(J);
    nodes = eig.eigenvalues();
    weights = eig.eigenvectors().row(0).transpose().array().square();
  }
  /// E[h(a)] for a ~ N(mean, variance).
  template <class F>
  double expect(double mean, double variance, F&& h) const {
    double sum = 0;
    for (Eigen::Index k = 0; k < nodes.size(); ++k) sum += weights(k) * h(mean + std::sqrt(variance) * nodes(k));
    return sum;
  }
};

/// The same values bit for bit (NaN equal to the same NaN, 0 and -0 different).
template <class T>
::testing::AssertionResult same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << "sizes " << a.size() << " and " << b.size();
  for (std::size_t k = 0; k < a.size(); ++k)
    if (std::memcmp(&a[k], &b[k], sizeof(T)) != 0)
      return ::testing::AssertionFailure() << "entry " << k << ": " << a[k] << " and " << b[k];
  return ::testing::AssertionSuccess();
}

/// Two fits ended in exactly the same place: states, statuses, steps, ELBOs and traces, bit for bit.
template <class T>
void expect_identical(const GaussianBatch<T>& a, const Summary& sa, const GaussianBatch<T>& b, const Summary& sb) {
  EXPECT_EQ(std::vector<T>(a.mean(), a.mean() + a.size() * a.dimension()),
            std::vector<T>(b.mean(), b.mean() + b.size() * b.dimension()));
  EXPECT_EQ(std::vector<T>(a.precision_cholesky(), a.precision_cholesky() + a.size() * a.matrix_size()),
            std::vector<T>(b.precision_cholesky(), b.precision_cholesky() + b.size() * b.matrix_size()));
  EXPECT_EQ(sa.status, sb.status);
  EXPECT_EQ(sa.steps, sb.steps);
  EXPECT_TRUE(same_bits(sa.elbo, sb.elbo));
  EXPECT_TRUE(same_bits(sa.elbo_trace, sb.elbo_trace));
  EXPECT_EQ(sa.iterations, sb.iterations);
}

/// Relative tolerance for round trips in precision T.
template <class T>
constexpr double tight() {
  return sizeof(T) == 4 ? 2e-4 : 1e-11;
}

}  // namespace ngvi::testing
