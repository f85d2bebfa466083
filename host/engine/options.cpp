#include "ngvi/options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace ngvi {

std::string Options::check() const {
  auto bad = [](const char* field, auto value, const char* why) {
    return fmt::format("options.{} = {} is invalid: {}", field, value, why);
  };
  if (estimator < Estimator::Auto || estimator > Estimator::Quadrature)
    return bad("estimator", static_cast<int>(estimator), "not an Estimator");
  if (rule < Rule::IBLR || rule > Rule::Adam) return bad("rule", static_cast<int>(rule), "not a Rule");
  if (schedule < Schedule::Constant || schedule > Schedule::Adaptive)
    return bad("schedule", static_cast<int>(schedule), "not a Schedule");
  if (backend < Backend::Auto || backend > Backend::Cuda) return bad("backend", static_cast<int>(backend), "not a Backend");
  if (samples < 0) return bad("samples", samples, "must be at least 1, or 0 for automatic");
  if (!(std::isfinite(step_size) && step_size > 0.0)) return bad("step_size", step_size, "must be positive");
  if (rule != Rule::Adam && step_size > 1.0) return bad("step_size", step_size, "natural-gradient rules need rho in (0, 1]");
  if (schedule != Schedule::Constant) {
    if (!(std::isfinite(decay_steps) && decay_steps > 0.0)) return bad("decay_steps", decay_steps, "must be positive");
    if (!(std::isfinite(decay_power) && decay_power > 0.0)) return bad("decay_power", decay_power, "must be positive");
  }
  if (rule == Rule::Adam) {
    if (!(adam_beta1 >= 0.0 && adam_beta1 < 1.0)) return bad("adam_beta1", adam_beta1, "must be in [0, 1)");
    if (!(adam_beta2 >= 0.0 && adam_beta2 < 1.0)) return bad("adam_beta2", adam_beta2, "must be in [0, 1)");
    if (!(adam_epsilon > 0.0 && std::isfinite(adam_epsilon))) return bad("adam_epsilon", adam_epsilon, "must be positive");
  }
  if (max_steps < 1) return bad("max_steps", max_steps, "must be at least 1");
  if (!(tolerance >= 0.0) || std::isnan(tolerance)) return bad("tolerance", tolerance, "must be non-negative");
  if (patience < 1) return bad("patience", patience, "must be at least 1");
  if (!(tolerance_sd > 0.0 && std::isfinite(tolerance_sd))) return bad("tolerance_sd", tolerance_sd, "must be positive");
  if (!(max_step_kl >= 0.0 && std::isfinite(max_step_kl))) return bad("max_step_kl", max_step_kl, "must be non-negative");
  if (final_samples < 2) return bad("final_samples", final_samples, "must be at least 2");
  if (num_threads < 0 || num_threads > kMaxThreads)
    return bad("num_threads", num_threads, fmt::format("must be 0 (all) or in [1, {}]", kMaxThreads).c_str());
  if (problem_offset > std::numeric_limits<std::uint32_t>::max())
    return bad("problem_offset", problem_offset, "must be below 2^32 (problem indices are 32-bit)");
  if (checkpoint_every < 0) return bad("checkpoint_every", checkpoint_every, "must be 0 (only when stopped) or positive");
  return {};
}

// Price averages the model's own Hessians; Stein and Score build the Hessian from S outer products.
int default_samples(Estimator estimator, int dimension) {
  constexpr int kSamples = 16;
  const bool outer_products = estimator == Estimator::Stein || estimator == Estimator::Score;
  return outer_products ? std::max(kSamples, 2 * dimension) : kSamples;
}

const char* estimator_name(Estimator estimator) {
  switch (estimator) {
    case Estimator::Auto: return "auto";
    case Estimator::Price: return "price";
    case Estimator::Stein: return "stein";
    case Estimator::Score: return "score";
    case Estimator::Quadrature: return "quadrature";
  }
  return "unknown";
}

const char* rule_name(Rule rule) {
  switch (rule) {
    case Rule::IBLR: return "iblr";
    case Rule::BLR: return "blr";
    case Rule::CholeskyFactor: return "cholesky";
    case Rule::Adam: return "adam";
  }
  return "unknown";
}

const char* schedule_name(Schedule schedule) {
  switch (schedule) {
    case Schedule::Constant: return "constant";
    case Schedule::RobbinsMonro: return "robbins_monro";
    case Schedule::Adaptive: return "adaptive";
  }
  return "unknown";
}

const char* backend_name(Backend backend) {
  switch (backend) {
    case Backend::Auto: return "auto";
    case Backend::Cpu: return "cpu";
    case Backend::Cuda: return "cuda";
  }
  return "unknown";
}

}  // namespace ngvi
