/// @file options.hpp
/// @brief Options: how a batch is fitted (estimator, rule, samples, step sizes, stopping, backend).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ngvi/export.hpp"
#include "ngvi/method.hpp"

namespace ngvi {

/// @brief Where the work runs.
enum class Backend : std::int32_t {
  Auto = 0,  ///< CUDA when the CUDA module (libngvi_cuda.so) is found and a device is present, else CPU
  Cpu = 1,   ///< threads over distributions on the host
  Cuda = 2,  ///< the GPU (an error saying which is missing: the CUDA module or a device)
};

/// @brief The most CPU threads a fit may ask for (Options::num_threads); more is refused by
/// Options::check, and a count the system cannot start is refused by the fit.
inline constexpr int kMaxThreads = 1024;

/// @brief Options::devices = {kAllDevices}: every device of the backend (every usable GPU; the CPU
/// is one device).
inline constexpr int kAllDevices = -1;

/// @brief Where a running fit stands, passed to Options::progress after every step.
struct Progress {
  int iteration = 0;        ///< steps taken by the batch
  std::size_t active = 0;   ///< distributions still running
  double mean_elbo = 0.0;   ///< mean latest ELBO estimate (NaN unless Options::trace_elbo)
  double seconds = 0.0;     ///< since the fit started
};

/// @brief How a fit runs. Every field has a default that works for the built-in models; IsValid-style
/// checking is done by check(), which fit() calls first.
/// @brief The samples per step a fit takes when Options::samples is 0: 16, and for the Stein and
/// Score estimators (resolved, not Auto) at least 2 d. Stein's Hessian estimate is an average of S outer products, whose relative
/// noise grows as sqrt(d / S) (docs/convergence.md); with S < d it kept diamonds (d = 26) from ever
/// becoming stationary.
NGVI_API int default_samples(Estimator estimator, int dimension);

struct NGVI_API Options {
  /// How E_q[grad f] and E_q[hess f] are estimated (Auto: the best the model allows).
  Estimator estimator = Estimator::Auto;
  /// The update rule (iBLR keeps the precision positive definite whatever the Hessian estimate).
  Rule rule = Rule::IBLR;
  /// Monte Carlo samples per distribution and step (S). Ignored by Quadrature. 0 (the default):
  /// automatic, default_samples().
  int samples = 0;
  /// Draw samples in antithetic pairs (eps, -eps), which cancels odd-order noise.
  bool antithetic = true;

  /// Step size rho in (0, 1]. For Rule::Adam it is Adam's learning rate (any positive value; 0.05 is a
  /// reasonable start for the built-in models).
  double step_size = 0.5;
  /// Adam's moment decay rates and denominator offset (Rule::Adam only).
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  /// Step-size schedule, with its two constants for RobbinsMonro and Adaptive.
  Schedule schedule = Schedule::Adaptive;
  double decay_steps = 100.0;  ///< tau in rho_t = rho_0 / (1 + t / tau)^kappa
  double decay_power = 1.0;    ///< kappa, in (0.5, 1] for a Robbins-Monro sequence
  /// Trust region of the Monte Carlo estimators: a step that moves a distribution by more than
  /// max_step_kl * d nats (KL(q_new || q_old)) is shortened until it does not; 0 turns it off.
  double max_step_kl = 0.5;

  /// Step budget per distribution.
  int max_steps = 10000;
  /// With exact expectations (Quadrature) a distribution converges once KL(q_new || q_old) < tolerance
  /// for `patience` consecutive steps.
  double tolerance = 1e-8;
  int patience = 3;
  /// With a Monte Carlo estimator a distribution converges once its iterates are stationary and the
  /// Monte Carlo standard error of their average is below tolerance_sd posterior standard deviations,
  /// for every mean and every log standard deviation (docs/convergence.md). The fitted distribution
  /// is then that average.
  double tolerance_sd = 0.01;
  /// Independent draws per distribution at the end, for its ELBO, the ELBO's Monte Carlo standard
  /// error and the Pareto k-hat of PSIS (Summary). k-hat needs many: with 256 draws it is often
  /// below 0.5 for a heavy-tailed target whose k is 1; with 1000 it tells them apart.
  int final_samples = 1000;

  /// Seed of every random number of the fit: results are a function of it, never of threads or chunks.
  std::uint64_t seed = 0;
  /// The global index of this batch's first problem: the random numbers of distribution b are those
  /// of problem problem_offset + b. A batch holding problems k .. k+n-1 of a larger one, fitted with
  /// problem_offset = k, gives bit for bit their results in the whole batch (how MPI ranks and
  /// ngvi.dask fit their shares: docs/scaling.md). problem_offset + B must not exceed 2^32.
  std::uint64_t problem_offset = 0;
  /// CPU threads (0: all the hardware offers), at most kMaxThreads.
  int num_threads = 0;
  /// Where the work runs.
  Backend backend = Backend::Auto;
  /// The devices the batch is sharded across: distinct ordinals (CUDA devices; on the CPU, thread
  /// groups sharing num_threads), {kAllDevices} for all, empty for one (the current GPU, the CPU).
  /// Results are bit for bit the same whatever the devices (docs/scaling.md). On several GPUs the
  /// progress callback is not called and an ELBO trace or checkpoints are refused.
  std::vector<int> devices;
  /// Use M random rows per step instead of all N_b (stochastic VI, gradients rescaled by N_b / M);
  /// 0 uses every row. Only models with rows honour it.
  std::size_t minibatch_rows = 0;

  /// Record the mean ELBO over the batch after every step in Summary::elbo_trace (costs one model
  /// value per sample; the final ELBO of every distribution is always computed).
  bool trace_elbo = false;

  /// Called from the calling thread after every step of the batch; returning false stops the fit
  /// there (distributions still running keep Status::Running). Empty: no calls.
  std::function<bool(const Progress&)> progress;

  /// Where fit() saves its state (see checkpoint.hpp): every `checkpoint_every` steps (0: never
  /// periodically) and when the progress callback stops the fit. Empty: no checkpoints.
  std::string checkpoint_path;
  int checkpoint_every = 0;

  /// @brief Empty if the options are valid, else a message naming the first bad field and its value.
  std::string check() const;
};

NGVI_API const char* estimator_name(Estimator estimator);
NGVI_API const char* rule_name(Rule rule);
NGVI_API const char* schedule_name(Schedule schedule);
NGVI_API const char* backend_name(Backend backend);

/// @brief Whether fit() can run the built-in models on `backend` in this process: Auto and Cpu always;
/// Cuda when the CUDA module (libngvi_cuda.so) is found and a usable device is present. When it cannot and `why`
/// is given, *why says which is missing (otherwise it is emptied). Custom Model subclasses always run
/// on the CPU. Tests use it to say which backend they mean.
NGVI_API bool backend_available(Backend backend, std::string* why = nullptr);

}  // namespace ngvi
