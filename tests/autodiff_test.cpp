// Forward-mode automatic differentiation (ngvi/autodiff.hpp) and make_model functors with a generic
// value() only: derivatives against closed forms and hand-written functors, and a fit against the
// closed-form posterior of a Gaussian target.
#include <gtest/gtest.h>

#include <ngvi/ngvi.hpp>

#include <cmath>
#include <random>
#include <vector>

namespace ngvi {
namespace {

// g(x, y) = log1p(exp(x y)) / sqrt(1 + x^2) + y^3 / (2 + sin x) + tanh(x - y) + cosh(y) - expm1(x) and
// its derivatives, by the product and quotient rules by hand.
template <class S>
S composite(const S* z) {
  using std::cos, std::cosh, std::exp, std::expm1, std::log1p, std::pow, std::sin, std::sqrt, std::tanh;
  const S x = z[0], y = z[1];
  return log1p(exp(x * y)) / sqrt(1.0 + x * x) + pow(y, 3) / (2 + sin(x)) + tanh(x - y) + cosh(y) - expm1(x);
}

struct Composite {
  template <class S>
  S value(std::size_t, const S* z) const { return composite(z); }
};

TEST(HyperDual, DerivativesOfACompositeAreExact) {
  const double x = 0.7, y = -1.3, point[2] = {x, y};
  // Closed forms, term by term.
  const double u = x * y, s = 1 / (1 + std::exp(-u)), r = std::sqrt(1 + x * x), L = std::log1p(std::exp(u));
  const double A = L / r;  // A = L r^-1
  const double Ax = s * y / r - L * x / (r * r * r), Ay = s * x / r;
  const double Axx =
      s * (1 - s) * y * y / r - 2 * s * y * x / (r * r * r) - L * (1 - 3 * x * x / (r * r)) / (r * r * r);
  const double Axy = (s * (1 - s) * u + s) / r - s * x * x / (r * r * r), Ayy = s * (1 - s) * x * x / r;
  const double D = 2 + std::sin(x), Bv = y * y * y / D;
  const double Bx = -y * y * y * std::cos(x) / (D * D), By = 3 * y * y / D;
  const double Bxx = y * y * y * (std::sin(x) / (D * D) + 2 * std::cos(x) * std::cos(x) / (D * D * D));
  const double Bxy = -3 * y * y * std::cos(x) / (D * D), Byy = 6 * y / D;
  const double t = std::tanh(x - y), sech2 = 1 - t * t;
  const double value = A + Bv + t + std::cosh(y) - std::expm1(x);
  const double gradient[2] = {Ax + Bx + sech2 - std::exp(x), Ay + By - sech2 + std::sinh(y)};
  const double hessian[4] = {Axx + Bxx - 2 * t * sech2 - std::exp(x), Axy + Bxy + 2 * t * sech2,
                             Axy + Bxy + 2 * t * sech2, Ayy + Byy - 2 * t * sech2 + std::cosh(y)};
  double g[2], h[4];
  HyperDual<double> seeds[2];
  EXPECT_NEAR(detail::value_and_derivatives(Composite{}, 0, point, 2, g, h, seeds), value, 1e-14);
  for (int i = 0; i < 2; ++i) EXPECT_NEAR(g[i], gradient[i], 1e-13) << i;
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(h[k], hessian[k], 1e-12) << k;
}

// f_b(w) = sum_n softplus(x_n^T w) - y_n x_n^T w: written once, generically, and by hand.
struct LogisticRows {
  const std::vector<double>* x;  // (B, N, d)
  const std::vector<double>* y;  // (B, N)
  int N, d;

  template <class S>
  S value(std::size_t b, const S* w) const {
    using std::exp, std::log1p;
    S f = 0.0;
    for (int n = 0; n < N; ++n) {
      S a = 0.0;
      for (int i = 0; i < d; ++i) a += (*x)[(b * N + n) * d + i] * w[i];
      f += (a > 0 ? a + log1p(exp(-a)) : log1p(exp(a))) - (*y)[b * N + n] * a;
    }
    return f;
  }
};

struct LogisticByHand : LogisticRows {
  double gradient(std::size_t b, const double* w, double* g) const {
    for (int i = 0; i < d; ++i) g[i] = 0;
    for (int n = 0; n < N; ++n) {
      const double* xn = x->data() + (b * N + n) * d;
      double a = 0;
      for (int i = 0; i < d; ++i) a += xn[i] * w[i];
      for (int i = 0; i < d; ++i) g[i] += (1 / (1 + std::exp(-a)) - (*y)[b * N + n]) * xn[i];
    }
    return value(b, w);
  }
  void hessian(std::size_t b, const double* w, double* h) const {
    for (int k = 0; k < d * d; ++k) h[k] = 0;
    for (int n = 0; n < N; ++n) {
      const double* xn = x->data() + (b * N + n) * d;
      double a = 0;
      for (int i = 0; i < d; ++i) a += xn[i] * w[i];
      const double s = 1 / (1 + std::exp(-a));
      for (int i = 0; i < d; ++i)
        for (int j = 0; j < d; ++j) h[i * d + j] += s * (1 - s) * xn[i] * xn[j];
    }
  }
};

TEST(Autodiff, AGenericValueOnlyFunctorGetsTheDerivativesOfTheHandWrittenOne) {
  const int B = 4, N = 25, d = 3, S = 5;
  std::mt19937 rng(11);
  std::normal_distribution<double> normal;
  std::vector<double> x(B * N * d), y(B * N), points(S * d);
  for (double& v : x) v = normal(rng);
  for (double& v : y) v = normal(rng) > 0 ? 1.0 : 0.0;
  for (double& v : points) v = normal(rng);
  const auto automatic = make_model<double>(B, d, LogisticRows{&x, &y, N, d});
  const auto by_hand = make_model<double>(B, d, LogisticByHand{{&x, &y, N, d}});
  static_assert(decltype(automatic)::kAutodiff && !decltype(by_hand)::kAutodiff);
  EXPECT_EQ(automatic.derivatives(), Derivatives::Hessian);
  for (bool diagonal : {false, true}) {
    const int m = diagonal ? d : d * d;
    std::vector<double> values[2], gradients[2], hessians[2], scratch(automatic.scratch_size(S));
    int k = 0;
    for (const Model<double>* model : {static_cast<const Model<double>*>(&automatic),
                                       static_cast<const Model<double>*>(&by_hand)}) {
      values[k].resize(S), gradients[k].resize(S * d), hessians[k].resize(m);
      Evaluation<double> out{values[k].data(), gradients[k].data(), hessians[k].data(), diagonal};
      model->evaluate(2, points.data(), S, out, scratch.data(), EvaluationContext{});
      ++k;
    }
    for (int s = 0; s < S; ++s) EXPECT_NEAR(values[0][s], values[1][s], 1e-12);
    for (int i = 0; i < S * d; ++i) EXPECT_NEAR(gradients[0][i], gradients[1][i], 1e-12);
    for (int i = 0; i < m; ++i) EXPECT_NEAR(hessians[0][i], hessians[1][i], 1e-12);
  }
}

// f_b(z) = 1/2 (z - c_b)^T A (z - c_b), A = [[2, 0.5], [0.5, 1]]: with the prior N(0, I) the posterior
// is N((A + I)^-1 A c_b, (A + I)^-1), matched exactly by a Gaussian fit.
struct Quadratic {
  template <class S>
  S value(std::size_t b, const S* z) const {
    const S u = z[0] - double(b), v = z[1] + 0.5 * double(b);
    return 0.5 * (2 * u * u + u * v + v * v);
  }
};

TEST(Autodiff, APriceFitOfAValueOnlyFunctorReachesTheClosedFormPosterior) {
  const std::size_t B = 3;
  const auto model = make_model<double>(B, 2, Quadratic{}, Prior<double>::isotropic(1.0));
  GaussianBatch<double> q(B, 2);
  Options options;
  options.estimator = Estimator::Price;
  options.seed = 5;
  const Summary summary = fit(model, q, options);
  EXPECT_EQ(summary.failures(), 0u);
  EXPECT_EQ(summary.estimator, Estimator::Price);
  // (A + I) = [[3, 0.5], [0.5, 2]], determinant 5.75.
  const double precision[4] = {3, 0.5, 0.5, 2};
  const double* mean = q.mean();
  std::vector<double> lambda(B * 4);
  q.precision(lambda.data());
  for (std::size_t b = 0; b < B; ++b) {
    const double c0 = double(b), c1 = -0.5 * double(b);
    const double h0 = 2 * c0 + 0.5 * c1, h1 = 0.5 * c0 + c1;  // A c
    // To the fit's convergence: the Price estimates of a quadratic are exact, the steps geometric.
    EXPECT_NEAR(mean[b * 2], (2 * h0 - 0.5 * h1) / 5.75, 1e-4) << b;
    EXPECT_NEAR(mean[b * 2 + 1], (3 * h1 - 0.5 * h0) / 5.75, 1e-4) << b;
    for (int k = 0; k < 4; ++k) EXPECT_NEAR(lambda[b * 4 + k], precision[k], 1e-4) << b;
  }
}

}  // namespace
}  // namespace ngvi
