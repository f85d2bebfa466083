#include "ngvi/pooling.hpp"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <cmath>
#include <limits>

#include "ngvi/error.hpp"
#include "ngvi/model_with_prior.hpp"
#include "ngvi/prior.hpp"

namespace ngvi {

std::string PoolingOptions::check(int dimension) const {
  auto bad = [](const char* field, auto value, const std::string& why) {
    return fmt::format("pooling.{} = {} is invalid: {}", field, value, why);
  };
  if (max_rounds < 1) return bad("max_rounds", max_rounds, "must be at least 1");
  if (!(tolerance >= 0.0) || !std::isfinite(tolerance)) return bad("tolerance", tolerance, "must be non-negative");
  if (!initial_mean.empty() && initial_mean.size() != static_cast<std::size_t>(dimension))
    return bad("initial_mean.size()", initial_mean.size(), fmt::format("must be 0 or the dimension {}", dimension));
  for (double v : initial_mean)
    if (!std::isfinite(v)) return bad("initial_mean", v, "entries must be finite");
  if (!(initial_precision > 0.0) || !std::isfinite(initial_precision))
    return bad("initial_precision", initial_precision, "must be positive and finite");
  if (!(hyperprior_scale >= 0.0) || !std::isfinite(hyperprior_scale))
    return bad("hyperprior_scale", hyperprior_scale, "must be 0 (no hyperprior) or positive");
  // A proper inverse-Wishart needs nu > d - 1; each variance of the diagonal case needs nu > 0.
  const double min_dof = diagonal_precision ? 0.0 : dimension - 1.0;
  if (hyperprior_scale > 0.0 && !(hyperprior_dof > min_dof && std::isfinite(hyperprior_dof)))
    return bad("hyperprior_dof", hyperprior_dof, fmt::format("must exceed {} for a proper inverse-Wishart", min_dof));
  if (hyperprior_scale == 0.0 && hyperprior_dof != 0.0)
    return bad("hyperprior_dof", hyperprior_dof, "is set but hyperprior_scale is 0 (no hyperprior)");
  return {};
}

namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;

struct SharedPrior {
  Vector mean;
  Matrix precision;
};

template <class T>
Prior<T> to_prior(const SharedPrior& shared) {
  const int d = static_cast<int>(shared.mean.size());
  std::vector<T> mean(d), precision(static_cast<std::size_t>(d) * d);
  for (int i = 0; i < d; ++i) {
    mean[i] = static_cast<T>(shared.mean(i));
    for (int j = 0; j < d; ++j) precision[i * d + j] = static_cast<T>(shared.precision(i, j));
  }
  return Prior<T>::full(d, std::move(precision), std::move(mean));
}

// log IW(P^-1; Psi, nu) up to a constant, as a function of P: (nu + d + 1)/2 log det P - tr(Psi P)/2;
// the diagonal case sums the one-dimensional densities (d = 1 in each).
double log_hyperprior(const SharedPrior& shared, const PoolingOptions& pooling) {
  if (pooling.hyperprior_scale == 0.0) return 0.0;
  const int d = static_cast<int>(shared.mean.size());
  const double psi = pooling.hyperprior_scale, nu = pooling.hyperprior_dof;
  if (pooling.diagonal_precision) {
    double sum = 0.0;
    for (int i = 0; i < d; ++i)
      sum += 0.5 * (nu + 2.0) * std::log(shared.precision(i, i)) - 0.5 * psi * shared.precision(i, i);
    return sum;
  }
  const Eigen::LLT<Matrix> llt(shared.precision);
  const double log_det = 2.0 * llt.matrixLLT().diagonal().array().log().sum();
  return 0.5 * (nu + d + 1.0) * log_det - 0.5 * psi * shared.precision.trace();
}

// The M-step: the prior maximising the whole-batch ELBO (plus the log hyperprior) given the
// posteriors of the problems that did not fail. Computed in double whatever T.
template <class T>
SharedPrior maximize_prior(const GaussianBatch<T>& batch, const std::vector<Status>& status,
                           const PoolingOptions& pooling) {
  const std::size_t B = batch.size(), m = batch.matrix_size();
  const int d = batch.dimension();
  const bool diagonal_family = batch.family() == Family::Diagonal;
  std::vector<T> covariance(B * m);
  batch.covariance(covariance.data());

  std::size_t count = 0;
  Vector mean = Vector::Zero(d);
  for (std::size_t b = 0; b < B; ++b) {
    if (is_failure(status[b])) continue;
    ++count;
    for (int i = 0; i < d; ++i) mean(i) += batch.mean()[b * d + i];
  }
  if (count == 0)
    throw Error("ngvi::fit_pooled: every problem failed, so no posterior is left to learn the prior from");
  mean /= static_cast<double>(count);

  Matrix scatter = Matrix::Zero(d, d);  // S = sum_b Sigma_b + (mu_b - m)(mu_b - m)^T
  Vector offset(d);
  for (std::size_t b = 0; b < B; ++b) {
    if (is_failure(status[b])) continue;
    for (int i = 0; i < d; ++i) offset(i) = batch.mean()[b * d + i] - mean(i);
    scatter.noalias() += offset * offset.transpose();
    const T* sigma = covariance.data() + b * m;
    for (int i = 0; i < d; ++i) {
      if (diagonal_family) {
        scatter(i, i) += sigma[i];
      } else {
        for (int j = 0; j < d; ++j) scatter(i, j) += sigma[i * d + j];
      }
    }
  }
  if (pooling.diagonal_precision) scatter = Matrix(scatter.diagonal().asDiagonal());

  Matrix prior_covariance;
  if (pooling.hyperprior_scale > 0.0) {
    // MAP of C = P^-1 under IW(Psi, nu): (Psi + S) / (nu + B + d + 1); d = 1 per variance if diagonal.
    const double extra = pooling.diagonal_precision ? 2.0 : d + 1.0;
    prior_covariance = (scatter + pooling.hyperprior_scale * Matrix::Identity(d, d)) /
                       (pooling.hyperprior_dof + static_cast<double>(count) + extra);
  } else {
    prior_covariance = scatter / static_cast<double>(count);
  }
  Matrix precision = prior_covariance.llt().solve(Matrix::Identity(d, d));
  precision = 0.5 * (precision + precision.transpose()).eval();
  return {mean, precision};
}

double whole_batch_elbo(const Summary& summary) {
  double sum = 0.0;
  for (std::size_t b = 0; b < summary.elbo.size(); ++b)
    if (!is_failure(summary.status[b])) sum += summary.elbo[b];
  return sum;
}

}  // namespace

template <class T>
PooledFit<T> fit_pooled(const Model<T>& model, GaussianBatch<T>& batch, const Options& options,
                        const PoolingOptions& pooling) {
  const int d = model.dimension();
  if (const std::string problem = pooling.check(d); !problem.empty())
    throw Error(fmt::format("ngvi::fit_pooled: {}", problem));

  SharedPrior shared{Vector::Zero(d), pooling.initial_precision * Matrix::Identity(d, d)};
  for (std::size_t i = 0; i < pooling.initial_mean.size(); ++i) shared.mean(i) = pooling.initial_mean[i];

  ModelWithPrior<T> pooled(model, to_prior<T>(shared));
  PooledFit<T> result;
  for (int round = 0; round < pooling.max_rounds; ++round) {
    if (round > 0) {
      shared = maximize_prior(batch, result.last_fit.status, pooling);
      pooled.set_prior(to_prior<T>(shared));
    }
    result.last_fit = fit(pooled, batch, options);
    result.elbo.push_back(whole_batch_elbo(result.last_fit));
    result.objective.push_back(result.elbo.back() + log_hyperprior(shared, pooling));
    if (round > 0) {
      const double now = result.objective.back(), before = result.objective[round - 1];
      if (std::abs(now - before) <= pooling.tolerance * (1.0 + std::abs(now))) {
        result.converged = true;
        break;
      }
    }
  }
  result.prior_mean.assign(d, T(0));
  result.prior_precision.assign(static_cast<std::size_t>(d) * d, T(0));
  for (int i = 0; i < d; ++i) {
    result.prior_mean[i] = static_cast<T>(shared.mean(i));
    for (int j = 0; j < d; ++j) result.prior_precision[i * d + j] = static_cast<T>(shared.precision(i, j));
  }
  return result;
}

template NGVI_API PooledFit<float> fit_pooled<float>(const Model<float>&, GaussianBatch<float>&, const Options&,
                                                     const PoolingOptions&);
template NGVI_API PooledFit<double> fit_pooled<double>(const Model<double>&, GaussianBatch<double>&, const Options&,
                                                       const PoolingOptions&);

}  // namespace ngvi
