// A custom model: per-problem robust regression with Student-t noise, fitted with natural gradients.
//
// Each of B problems has rows (x_n, y_n), y_n = x_n^T w_b + noise, where a tenth of the rows are gross
// outliers. The Student-t likelihood (nu = 4) discounts them; its log-density is not concave, so the
// Hessian can be indefinite at samples far out, which iBLR handles without leaving the positive-
// definite cone. The model is a plain functor with value, gradient and Hessian: ngvi::make_model turns
// it into a Model usable with every estimator (Price here, using the Hessian).
//
// Run: build/examples/robust_regression. Prints how far the robust and the Gaussian posterior means
// are from the true weights, and exits non-zero if the robust fit is not the better one.
#include <ngvi/ngvi.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

namespace {

constexpr int kDimension = 3;
constexpr int kRows = 60;
constexpr double kNu = 4.0;     // degrees of freedom
constexpr double kScale = 0.5;  // noise scale

// f_b(w) = sum_n (nu + 1)/2 log(1 + r_n^2 / (nu s^2)), r_n = y_n - x_n^T w (constants dropped).
struct StudentTRegression {
  const std::vector<double>* x;  // (B, kRows, d)
  const std::vector<double>* y;  // (B, kRows)

  // Value, and derivatives in the residual: d f / d r and d^2 f / d r^2 for one row.
  static void row(double r, double* value, double* d1, double* d2) {
    const double c = kNu * kScale * kScale, q = 1 + r * r / c;
    *value = 0.5 * (kNu + 1) * std::log(q);
    *d1 = (kNu + 1) * r / (c * q);
    *d2 = (kNu + 1) * (c - r * r) / (c * c * q * q);  // negative for |r| > sqrt(c): not convex
  }

  template <class Visit>
  double rows(std::size_t b, const double* w, Visit&& visit) const {
    double f = 0;
    for (int n = 0; n < kRows; ++n) {
      const double* xn = x->data() + (b * kRows + n) * kDimension;
      double prediction = 0;
      for (int i = 0; i < kDimension; ++i) prediction += xn[i] * w[i];
      double value, d1, d2;
      row((*y)[b * kRows + n] - prediction, &value, &d1, &d2);
      f += value;
      visit(xn, d1, d2);
    }
    return f;
  }

  double value(std::size_t b, const double* w) const {
    return rows(b, w, [](const double*, double, double) {});
  }
  double gradient(std::size_t b, const double* w, double* g) const {
    for (int i = 0; i < kDimension; ++i) g[i] = 0;
    return rows(b, w, [&](const double* xn, double d1, double) {
      for (int i = 0; i < kDimension; ++i) g[i] -= d1 * xn[i];  // dr/dw = -x
    });
  }
  void hessian(std::size_t b, const double* w, double* h) const {
    for (int k = 0; k < kDimension * kDimension; ++k) h[k] = 0;
    rows(b, w, [&](const double* xn, double, double d2) {
      for (int i = 0; i < kDimension; ++i)
        for (int j = 0; j < kDimension; ++j) h[i * kDimension + j] += d2 * xn[i] * xn[j];
    });
  }
};

}  // namespace

int main() {
  const std::size_t B = 100;
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  std::vector<double> x, y, truth;
  for (std::size_t b = 0; b < B; ++b) {
    double w[kDimension];
    for (double& v : w) truth.push_back(v = normal(rng));
    for (int n = 0; n < kRows; ++n) {
      double prediction = 0;
      for (int i = 0; i < kDimension; ++i) {
        x.push_back(normal(rng));
        prediction += x.back() * w[i];
      }
      const bool outlier = n % 10 == 0;
      y.push_back(prediction + (outlier ? 15.0 * normal(rng) : kScale * normal(rng)));
    }
  }

  // The robust fit: a custom model, the Price estimator (it has a Hessian), iBLR.
  const auto robust = ngvi::make_model<double>(B, kDimension, StudentTRegression{&x, &y},
                                               ngvi::Prior<double>::isotropic(0.1));
  ngvi::GaussianBatch<double> q_robust(B, kDimension);
  ngvi::Options options;
  options.estimator = ngvi::Estimator::Price;
  options.samples = 32;
  options.schedule = ngvi::Schedule::RobbinsMonro;
  options.max_steps = 150;
  options.tolerance = 1e-7;
  const ngvi::Summary s = ngvi::fit(robust, q_robust, options);
  std::printf("Student-t model: %s\n", s.brief_report().c_str());

  // The same data under a Gaussian likelihood (the built-in linear regression), for comparison.
  const auto data = ngvi::RegressionData<double>::dense(x.data(), y.data(), B, kRows, kDimension);
  const ngvi::LinearRegression<double> gaussian(data, kScale, ngvi::Prior<double>::isotropic(0.1));
  ngvi::GaussianBatch<double> q_gaussian(B, kDimension);
  ngvi::fit(gaussian, q_gaussian, ngvi::Options());

  double error_robust = 0, error_gaussian = 0;
  for (std::size_t k = 0; k < B * kDimension; ++k) {
    error_robust += std::pow(q_robust.mean()[k] - truth[k], 2);
    error_gaussian += std::pow(q_gaussian.mean()[k] - truth[k], 2);
  }
  error_robust = std::sqrt(error_robust / (B * kDimension));
  error_gaussian = std::sqrt(error_gaussian / (B * kDimension));
  std::printf("RMS error of the posterior means: Student-t %.4f, Gaussian %.4f\n", error_robust, error_gaussian);
  return s.failures() == 0 && error_robust < error_gaussian ? 0 : 1;
}
