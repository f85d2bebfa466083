// The C ABI of options: ngvi_options_defaults, and the conversions every other call uses.
#include "options.hpp"

#include <cstddef>
#include <cstring>

#include "arguments.hpp"
#include "guard.hpp"

namespace ngvi::capi {
namespace {

// The first layout ended at progress_user_data; the Adam and checkpoint fields came in the second,
// the convergence fields (issue 16) in the third, problem_offset (issue 20) in the fourth.
constexpr std::size_t kFirstLayoutSize = offsetof(ngvi_options, adam_beta1);
static_assert(kFirstLayoutSize == offsetof(ngvi_options, progress_user_data) + sizeof(void*));
constexpr std::size_t kSecondLayoutSize = offsetof(ngvi_options, tolerance_sd);
constexpr std::size_t kThirdLayoutSize = offsetof(ngvi_options, problem_offset);  // sizeof the third, padding included

// The layout of a struct of this size (1 to 4, the current); throws for any other size.
int layout(std::size_t struct_size, const char* name) {
  if (struct_size == sizeof(ngvi_options)) return 4;
  if (struct_size == kThirdLayoutSize) return 3;
  if (struct_size == kSecondLayoutSize) return 2;
  if (struct_size == kFirstLayoutSize) return 1;
  throw CallError(NGVI_ERROR_STRUCT_SIZE,
                  fmt::format("{} = {}, but this library's ngvi_options has {} bytes ({}, {} and {} in its earlier "
                              "layouts)",
                              name, struct_size, sizeof(ngvi_options), kFirstLayoutSize, kSecondLayoutSize,
                              kThirdLayoutSize));
}

}  // namespace

Options to_options(const ngvi_options* c) {
  Options o;
  if (c == nullptr) return o;
  const int version = layout(c->struct_size, "options->struct_size");
  o.estimator = static_cast<Estimator>(c->estimator);
  o.rule = static_cast<Rule>(c->rule);
  o.samples = c->samples;
  o.antithetic = to_bool(c->antithetic, "options->antithetic");
  o.step_size = c->step_size;
  o.schedule = static_cast<Schedule>(c->schedule);
  o.decay_steps = c->decay_steps;
  o.decay_power = c->decay_power;
  o.max_steps = c->max_steps;
  o.tolerance = c->tolerance;
  o.patience = c->patience;
  o.seed = c->seed;
  o.num_threads = c->num_threads;
  o.backend = static_cast<Backend>(c->backend);
  o.minibatch_rows = c->minibatch_rows;
  o.trace_elbo = to_bool(c->trace_elbo, "options->trace_elbo");
  if (c->progress) {
    const ngvi_progress_callback callback = c->progress;
    void* user_data = c->progress_user_data;
    o.progress = [callback, user_data](const Progress& p) {
      ngvi_progress progress{sizeof(ngvi_progress), p.iteration, p.active, p.mean_elbo, p.seconds};
      return callback(&progress, user_data) != 0;
    };
  }
  if (version >= 2) {
    o.adam_beta1 = c->adam_beta1;
    o.adam_beta2 = c->adam_beta2;
    o.adam_epsilon = c->adam_epsilon;
    if (c->checkpoint_path) o.checkpoint_path = c->checkpoint_path;
    o.checkpoint_every = c->checkpoint_every;
  }
  if (version >= 3) {
    o.tolerance_sd = c->tolerance_sd;
    o.max_step_kl = c->max_step_kl;
    o.final_samples = c->final_samples;
  }
  if (version >= 4) o.problem_offset = c->problem_offset;
  return o;
}

void write_options(const Options& o, ngvi_options* c, const char* name) {
  const std::size_t struct_size = c->struct_size;
  layout(struct_size, name);
  ngvi_options full{};
  full.struct_size = struct_size;
  full.estimator = static_cast<ngvi_estimator>(o.estimator);
  full.rule = static_cast<ngvi_rule>(o.rule);
  full.samples = o.samples;
  full.antithetic = o.antithetic;
  full.step_size = o.step_size;
  full.schedule = static_cast<ngvi_schedule>(o.schedule);
  full.decay_steps = o.decay_steps;
  full.decay_power = o.decay_power;
  full.max_steps = o.max_steps;
  full.tolerance = o.tolerance;
  full.patience = o.patience;
  full.seed = o.seed;
  full.num_threads = o.num_threads;
  full.backend = static_cast<ngvi_backend>(o.backend);
  full.minibatch_rows = o.minibatch_rows;
  full.trace_elbo = o.trace_elbo;
  full.adam_beta1 = o.adam_beta1;
  full.adam_beta2 = o.adam_beta2;
  full.adam_epsilon = o.adam_epsilon;
  full.checkpoint_every = o.checkpoint_every;
  full.tolerance_sd = o.tolerance_sd;
  full.max_step_kl = o.max_step_kl;
  full.final_samples = o.final_samples;
  full.problem_offset = o.problem_offset;
  std::memcpy(c, &full, struct_size);  // no further than the caller's struct reaches
}

}  // namespace ngvi::capi

extern "C" {

ngvi_status ngvi_options_defaults(ngvi_options* options, size_t struct_size) {
  return ngvi::capi::guarded("ngvi_options_defaults", [&](const char*) {
    ngvi::capi::require_pointer(options, "options");
    ngvi_options sized{};
    sized.struct_size = struct_size;
    ngvi::capi::write_options(ngvi::Options(), &sized, "struct_size");  // the C++ defaults are the only source
    std::memcpy(options, &sized, struct_size);
  });
}

}  // extern "C"
