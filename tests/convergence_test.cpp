// Convergence under Monte Carlo noise (issue 16, docs/convergence.md): the defaults land on the VI
// optimum, `converged` means the averaged fit is accurate, frozen or diverging fits never converge,
// averaging shrinks the noise as 1 / sqrt(steps) with a calibrated MCSE, and k-hat tells a Gaussian
// target from a heavy-tailed one.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <random>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cpu/sampling.hpp"
#include "cpu/stages.hpp"
#include "engine/convergence.hpp"
#include "engine/engine.hpp"
#include "ngvi/fit.hpp"
#include "ngvi/models.hpp"
#include "ngvi/synthetic.hpp"
#include "engine/psis.hpp"
#include "test_util.hpp"

namespace ngvi {
namespace {

using testing::Matrix;
using testing::Vector;

// Errors of a fitted distribution against the optimum N(m, S): the largest |mu_i - m_i| / sqrt(S_ii)
// and the largest |sd_i / sqrt(S_ii) - 1|.
struct Errors {
  double mean_sd = 0, sd_relative = 0;
};
Errors errors(const GaussianBatch<double>& q, std::size_t b, const Vector<double>& m, const Matrix<double>& S) {
  const int d = q.dimension();
  std::vector<double> covariance(q.size() * d * d);
  q.covariance(covariance.data());
  Errors e;
  for (int i = 0; i < d; ++i) {
    const double sd = std::sqrt(S(i, i));
    e.mean_sd = std::max(e.mean_sd, std::abs(q.mean()[b * d + i] - m(i)) / sd);
    e.sd_relative = std::max(e.sd_relative, std::abs(std::sqrt(covariance[(b * d + i) * d + i]) / sd - 1));
  }
  return e;
}

// Quadratic targets of condition number 1e6 (eigenvalues 1e-3 .. 1e3 in random directions), whose
// optimum is N(a, A^-1) exactly.
testing::Quadratics<double> ill_conditioned(std::size_t B, int d, std::uint32_t seed) {
  testing::Quadratics<double> q(B, d, seed);
  std::mt19937 rng(seed + 1);
  q.curvatures.clear();
  for (std::size_t b = 0; b < B; ++b) {
    const Eigen::HouseholderQR<Matrix<double>> qr(Matrix<double>::NullaryExpr(d, d, [&] {
      return std::normal_distribution<double>()(rng);
    }));
    const Matrix<double> Q = qr.householderQ();
    Vector<double> eigenvalues(d);
    for (int i = 0; i < d; ++i) eigenvalues(i) = std::pow(10.0, -3.0 + 6.0 * i / (d - 1));
    testing::append(q.curvatures, Matrix<double>(Q * eigenvalues.asDiagonal() * Q.transpose()));
  }
  return q;
}

TEST(Convergence, DefaultsReachTheOptimumOfIllConditionedQuadraticsWithMonteCarloNoise) {
  const auto targets = ill_conditioned(6, 4, 16);
  const QuadraticModel<double> model = targets.model();
  GaussianBatch<double> q(targets.B, targets.d);  // from N(0, I)
  Options options;
  options.estimator = Estimator::Stein;  // noisy: the quadrature estimator would be exact
  options.seed = 3;
  const Summary summary = fit(model, q, options);
  for (std::size_t b = 0; b < targets.B; ++b) {
    const Errors e = errors(q, b, targets.a(b), targets.A(b).inverse());
    EXPECT_EQ(summary.status[b], Status::Converged) << b << "\n" << summary.full_report();
    EXPECT_LT(e.mean_sd, 0.05) << b;
    EXPECT_LT(e.sd_relative, 0.05) << b;
    EXPECT_LE(summary.mean_mcse_sd[b], options.tolerance_sd);
  }
}

TEST(Convergence, DefaultsReachTheExactOptimumOfLogisticRegressionsWithMonteCarloEstimators) {
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, 8, 4, 60, 120, 5);
  const LogisticRegression<double> model(problems.data());
  GaussianBatch<double> exact(8, 4);
  Options quadrature;
  quadrature.estimator = Estimator::Quadrature;
  quadrature.tolerance = 1e-24;
  ASSERT_EQ(fit(model, exact, quadrature).count(Status::Converged), 8u);
  std::vector<double> optimum_covariance(8 * 16);
  exact.covariance(optimum_covariance.data());
  for (Estimator estimator : {Estimator::Stein, Estimator::Price}) {
    GaussianBatch<double> q(8, 4);
    Options options;
    options.estimator = estimator;
    options.seed = 11;
    const Summary summary = fit(model, q, options);
    for (std::size_t b = 0; b < 8; ++b) {
      const Errors e = errors(q, b, testing::segment(exact.mean(), b, 4), testing::block(optimum_covariance, b, 4));
      EXPECT_EQ(summary.status[b], Status::Converged) << estimator_name(estimator) << " " << b;
      EXPECT_LT(e.mean_sd, 0.05) << estimator_name(estimator) << " " << b;
      EXPECT_LT(e.sd_relative, 0.05) << estimator_name(estimator) << " " << b;
    }
  }
}

// A concave target, f = -5 |z|^2: no optimum. BLR's steps leave the positive-definite cone unless
// they are tiny, so the old rule (halve for good, converge on a small KL) froze and called it
// converged; a diverging or frozen fit must never be reported converged, whatever the tolerance.
struct Concave {
  double value(std::size_t, const double* z) const { return -5 * (z[0] * z[0] + z[1] * z[1]); }
  double gradient(std::size_t b, const double* z, double* g) const {
    g[0] = -10 * z[0];
    g[1] = -10 * z[1];
    return value(b, z);
  }
  void hessian(std::size_t, const double*, double* h) const {
    h[0] = h[3] = -10;
    h[1] = h[2] = 0;
  }
};

TEST(Convergence, AFrozenOrDivergingFitIsNeverConverged) {
  const auto model = make_model<double>(4, 2, Concave());
  for (Rule rule : {Rule::BLR, Rule::IBLR})
    for (Estimator estimator : {Estimator::Price, Estimator::Stein}) {
      GaussianBatch<double> q(4, 2);
      for (std::size_t k = 0; k < 8; ++k) q.mean()[k] = 0.5 - 0.2 * k;  // not on the saddle at 0
      Options options;
      options.rule = rule;
      options.estimator = estimator;
      options.tolerance = 1e-2;  // loose: tiny frozen steps are far below it
      options.tolerance_sd = 0.5;
      options.max_steps = 300;
      const Summary summary = fit(model, q, options);
      EXPECT_EQ(summary.count(Status::Converged), 0u) << rule_name(rule) << " " << estimator_name(estimator) << "\n"
                                                      << summary.full_report();
    }
}

// The BLR on a one-dimensional target of precision 1 with noisy gradients: targets y_t ~ N(0, 1) (the
// natural parameters H mu - g of each step), iterates mu' = 0.7 mu + 0.3 y (rho = 0.3). Fed to the
// monitor, after the stationarity test passes, the averaged mean has error 1 / sqrt(steps averaged),
// and the monitor's MCSE, estimated from the iterates, matches the spread of the averages over
// independent replicates.
struct Replicates {
  double rms_error = 0, mean_mcse = 0;
};
Replicates average_noisy_blr(int steps, int replicates) {
  math::StepPlan plan;
  plan.d = 1;
  plan.samples = 2;
  plan.estimator = Estimator::Stein;
  Options options;
  options.tolerance_sd = 1e-12;  // never converged: every replicate averages `steps` steps
  using Monitor = detail::ConvergenceMonitor<double>;
  const Monitor monitor(plan, options);
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  Replicates r;
  for (int k = 0; k < replicates; ++k) {
    std::vector<double> statistics(monitor.statistics_size(), 0.0);
    std::vector<int> counts(detail::kMonitorCounts, 0);
    const detail::MonitorRecord record{statistics.data(), counts.data()};
    double mu = 0, factor = 1, mcse = std::nan(""), precision = 1, work = 0;
    int streak = 0;
    Status status = Status::Running;
    for (int t = 0; t < 100000 && Monitor::steps_averaged(counts.data()) < steps; ++t) {
      const double y = normal(rng), gradient = mu - y;
      monitor.add_targets(record, &mu, &gradient, &precision);
      mu = 0.7 * mu + 0.3 * y;
      monitor.observe(record, &mu, &factor, true, 0.01, 1.0, &streak, &status, &mcse, &work);
    }
    EXPECT_EQ(Monitor::steps_averaged(counts.data()), steps);
    EXPECT_EQ(status, Status::Running);
    double mean = 0, fitted_factor = 0;
    EXPECT_TRUE(monitor.average(record, &mean, &fitted_factor));
    EXPECT_NEAR(fitted_factor, 1.0, 1e-12);  // every target had precision 1
    r.rms_error += mean * mean / replicates;
    r.mean_mcse += mcse / replicates;
  }
  r.rms_error = std::sqrt(r.rms_error);
  return r;
}

TEST(Convergence, AveragingShrinksTheNoiseAsOneOverTheSquareRootOfTheStepsAveraged) {
  const Replicates short_run = average_noisy_blr(256, 300);
  const Replicates long_run = average_noisy_blr(1024, 300);
  // The average of T independent unit-variance targets: error 1 / sqrt(T) (the rms over 300
  // replicates is known to ~ 4%); four times the steps, half the error.
  EXPECT_NEAR(short_run.rms_error * std::sqrt(256.0), 1.0, 0.15);
  EXPECT_NEAR(long_run.rms_error * std::sqrt(1024.0), 1.0, 0.15);
  EXPECT_NEAR(short_run.rms_error / long_run.rms_error, 2.0, 0.3);
  // The batch-means MCSE is calibrated: it agrees with the spread across replicates.
  EXPECT_NEAR(short_run.mean_mcse / short_run.rms_error, 1.0, 0.25);
  EXPECT_NEAR(long_run.mean_mcse / long_run.rms_error, 1.0, 0.25);
}

// Student-t target with nu = 2 in one dimension: heavier tails than any Gaussian.
struct StudentT {
  double value(std::size_t, const double* z) const { return 1.5 * std::log1p(z[0] * z[0] / 2); }
  double gradient(std::size_t b, const double* z, double* g) const {
    g[0] = 1.5 * z[0] / (1 + z[0] * z[0] / 2);
    return value(b, z);
  }
};

TEST(Convergence, ParetoKIsSmallForAGaussianTargetAndLargeForAHeavyTailedOne) {
  const testing::Quadratics<double> gaussian(8, 3, 5);
  const QuadraticModel<double> gaussian_model = gaussian.model();
  GaussianBatch<double> q(8, 3);
  Options options;
  options.estimator = Estimator::Stein;
  options.seed = 4;
  const Summary good = fit(gaussian_model, q, options);
  const auto heavy_model = make_model<double>(8, 1, StudentT());
  GaussianBatch<double> q_heavy(8, 1);
  const Summary poor = fit(heavy_model, q_heavy, options);
  for (std::size_t b = 0; b < 8; ++b) {
    EXPECT_LT(good.pareto_k[b], 0.5) << b;
    EXPECT_GT(poor.pareto_k[b], 0.7) << b;
    EXPECT_GT(good.elbo_mcse[b], 0.0);
    // The ELBO's MCSE is the sd of f over the final draws / sqrt(n): a Gaussian target at its
    // optimum has f - E f = (chi^2_d - d) / 2, of sd sqrt(d / 2).
    EXPECT_NEAR(good.elbo_mcse[b], std::sqrt(1.5 / options.final_samples), 0.25 * good.elbo_mcse[b]);
  }
}

TEST(Convergence, ParetoKOfKnownTails) {
  // Exact Pareto weights of shape k: log w = k * Exponential(1) draws, i.e. w ~ Pareto(1 / k).
  std::mt19937 rng(1);
  std::exponential_distribution<double> exponential;
  for (double k : {0.2, 0.6, 1.0}) {
    double sum = 0;
    const int repeats = 40;
    for (int r = 0; r < repeats; ++r) {
      std::vector<double> log_weights(2000);
      for (double& x : log_weights) x = k * exponential(rng);
      sum += detail::pareto_k_hat(log_weights) / repeats;
    }
    EXPECT_NEAR(sum, k, 0.08) << k;
  }
}

// The CUDA backend's host half, emulated on the CPU: each step of the batch taken by the host's step
// stages alone (those the CPU backend runs, for the same arithmetic), as the kernels take it (each
// distribution's rho from monitored_step_size; the mean, g and H copied out before the rule moves
// the mean), the monitor run after it by monitor_device_steps, then
// finish_on_cpu. The CPU backend, whose Stepper runs the monitor around the step itself, must give
// the same fit bit for bit, statuses and diagnostics included.
TEST(Convergence, TheMonitorRunAfterEachStepAsOnTheCudaBackendEndsAsTheCpuBackend) {
  const std::size_t B = 4;
  const int d = 3;
  const auto problems = SyntheticProblems<double>::generate(Likelihood::Logistic, B, d, 60, 120, 5);
  const GeneralizedLinearModel<double> model(Likelihood::Logistic, problems.data(), Prior<double>::isotropic(0.1));
  Options options;
  options.backend = Backend::Cpu;
  options.estimator = Estimator::Stein;
  options.seed = 11;
  GaussianBatch<double> expected(B, d);
  const Summary cpu = fit(model, expected, options);
  ASSERT_EQ(cpu.count(Status::Converged), B) << cpu.full_report();

  GaussianBatch<double> q(B, d);
  const detail::FitPlan plan = detail::plan_fit(model, q, options);
  detail::FitState<double> state = detail::initial_state(&model, q, plan);
  const math::StepPlan& p = plan.step;
  const std::size_t m = q.matrix_size(), stride = 2 * d + m;
  std::vector<double> block(math::workspace_size(p)), draw_scratch(detail::draw_scratch_size<double>(p)),
      model_scratch(model.scratch_size(p.samples)), targets(B * stride);
  const math::StepWorkspace<double> w = math::carve_workspace(p, block.data());
  const detail::StepStages<double> stages = detail::step_stages<double>(d);
  for (; state.iteration < options.max_steps && !state.active().empty(); ++state.iteration) {
    const std::vector<std::uint32_t> active = state.active();
    std::vector<int> rejected_before(active.size());
    for (std::size_t k = 0; k < active.size(); ++k) {
      const std::uint32_t b = active[k];
      double* mu = q.mean() + b * d;
      double* factor = q.precision_cholesky() + b * m;
      const double rho = detail::monitored_step_size(plan, state, b, state.iteration);
      const auto step = static_cast<std::uint32_t>(state.iteration);
      stages.draw(p, b, step, mu, factor, w.eps, w.points, draw_scratch.data());
      Evaluation<double> out;
      out.gradients = w.gradients;
      EvaluationContext context;
      context.seed = p.seed;
      context.step = step;
      model.evaluate(b, w.points, p.samples, out, model_scratch.data(), context);
      stages.estimate(p, factor, w);
      math::add_prior(detail::prior_terms(model.prior(), b, d), mu, w.g, w.H, p.diagonal, d);
      ASSERT_EQ(math::check_estimates(p, w), Status::Running) << b;
      double* copied = targets.data() + b * stride;
      std::copy(mu, mu + d, copied);
      std::copy(w.g, w.g + d, copied + d);
      std::copy(w.H, w.H + m, copied + 2 * d);
      rejected_before[k] = state.rejected[b];
      stages.take_step(p, rho, mu, factor, w, state.record(b));
    }
    detail::monitor_device_steps(plan, q, state, 0, active.data(), active.size(), targets.data(), stride,
                                 rejected_before.data());
  }
  detail::finish_on_cpu(model, q, plan, state);
  const Summary emulated = detail::summarize(q, plan, state, 0.0, "emulated");

  EXPECT_EQ(emulated.status, cpu.status);
  EXPECT_EQ(emulated.steps, cpu.steps);
  EXPECT_EQ(emulated.rejected_steps, cpu.rejected_steps);
  EXPECT_EQ(emulated.elbo, cpu.elbo);
  EXPECT_EQ(emulated.elbo_mcse, cpu.elbo_mcse);
  EXPECT_EQ(emulated.mean_mcse_sd, cpu.mean_mcse_sd);
  EXPECT_EQ(emulated.pareto_k, cpu.pareto_k);
  EXPECT_EQ(std::vector<double>(q.mean(), q.mean() + B * d),
            std::vector<double>(expected.mean(), expected.mean() + B * d));
  EXPECT_EQ(std::vector<double>(q.precision_cholesky(), q.precision_cholesky() + B * m),
            std::vector<double>(expected.precision_cholesky(), expected.precision_cholesky() + B * m));
}

}  // namespace
}  // namespace ngvi
