// The C ABI of fitting: ngvi_options_*, ngvi_fit and ngvi_summary_* over ngvi::fit and ngvi::Summary.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "arguments.hpp"
#include "guard.hpp"
#include "handles.hpp"
#include "ngvi/fit.hpp"
#include "ngvi/ngvi.h"
#include "scheduler.hpp"

using namespace ngvi::capi;

namespace {

void require_struct_size(std::size_t struct_size, std::size_t expected, const char* name, const char* type) {
  if (struct_size != expected)
    throw CallError(NGVI_ERROR_STRUCT_SIZE, fmt::format("{} = {}, but this library's {} has {} bytes", name,
                                                        struct_size, type, expected));
}

// The C++ options described by the C ones (nullptr: the defaults). Enum values and ranges are
// checked by ngvi::Options::check when the fit starts; the flags here.
ngvi::Options to_options(const ngvi_options* c) {
  ngvi::Options o;
  if (c == nullptr) return o;
  require_struct_size(c->struct_size, sizeof(ngvi_options), "options->struct_size", "ngvi_options");
  o.estimator = static_cast<ngvi::Estimator>(c->estimator);
  o.rule = static_cast<ngvi::Rule>(c->rule);
  o.samples = c->samples;
  o.antithetic = to_bool(c->antithetic, "options->antithetic");
  o.step_size = c->step_size;
  o.schedule = static_cast<ngvi::Schedule>(c->schedule);
  o.decay_steps = c->decay_steps;
  o.decay_power = c->decay_power;
  o.max_steps = c->max_steps;
  o.tolerance = c->tolerance;
  o.patience = c->patience;
  o.seed = c->seed;
  o.num_threads = c->num_threads;
  o.backend = static_cast<ngvi::Backend>(c->backend);
  o.minibatch_rows = c->minibatch_rows;
  o.trace_elbo = to_bool(c->trace_elbo, "options->trace_elbo");
  if (c->progress) {
    const ngvi_progress_callback callback = c->progress;
    void* user_data = c->progress_user_data;
    o.progress = [callback, user_data](const ngvi::Progress& p) {
      ngvi_progress progress{sizeof(ngvi_progress), p.iteration, p.active, p.mean_elbo, p.seconds};
      return callback(&progress, user_data) != 0;
    };
  }
  return o;
}

}  // namespace

extern "C" {

ngvi_status ngvi_options_defaults(ngvi_options* options, size_t struct_size) {
  return guarded("ngvi_options_defaults", [&](const char*) {
    require_pointer(options, "options");
    require_struct_size(struct_size, sizeof(ngvi_options), "struct_size", "ngvi_options");
    const ngvi::Options o;  // the C++ defaults are the only source of the defaults
    *options = ngvi_options{};
    options->struct_size = struct_size;
    options->estimator = static_cast<ngvi_estimator>(o.estimator);
    options->rule = static_cast<ngvi_rule>(o.rule);
    options->samples = o.samples;
    options->antithetic = o.antithetic;
    options->step_size = o.step_size;
    options->schedule = static_cast<ngvi_schedule>(o.schedule);
    options->decay_steps = o.decay_steps;
    options->decay_power = o.decay_power;
    options->max_steps = o.max_steps;
    options->tolerance = o.tolerance;
    options->patience = o.patience;
    options->seed = o.seed;
    options->num_threads = o.num_threads;
    options->backend = static_cast<ngvi_backend>(o.backend);
    options->minibatch_rows = o.minibatch_rows;
    options->trace_elbo = o.trace_elbo;
  });
}

ngvi_status ngvi_fit(const ngvi_model* model, ngvi_batch* batch, const ngvi_options* options, ngvi_summary** summary) {
  return guarded("ngvi_fit", [&](const char*) {
    if (summary) *summary = nullptr;
    const auto& m = live(model, "model");
    auto& q = live(batch, "batch");
    const ngvi::Options o = to_options(options);
    if (m.model.index() != q.batch.index())
      throw CallError(NGVI_ERROR_DTYPE, fmt::format("the model holds {} but the batch holds {}",
                                                    m.model.index() == 0 ? "float32" : "float64",
                                                    q.batch.index() == 0 ? "float32" : "float64"));
    auto result = std::make_unique<ngvi_summary>();
    std::visit(
        [&](auto& gaussians) {
          using T = ngvi::capi::scalar_t<decltype(gaussians)>;
          const ngvi::Model<T>& target = *std::get<OwnedModel<T>>(m.model).model;
          if (target.num_problems() != gaussians.size() || target.dimension() != gaussians.dimension())
            throw CallError(NGVI_ERROR_SIZE, fmt::format("the model has (B, d) = ({}, {}) but the batch has ({}, {})",
                                                         target.num_problems(), target.dimension(), gaussians.size(),
                                                         gaussians.dimension()));
          if (o.backend == ngvi::Backend::Cuda) {
            try {
              ngvi::detail::select_backend(target, o);
            } catch (const ngvi::Error& e) {
              throw CallError(NGVI_ERROR_UNAVAILABLE, e.what());
            }
          }
          result->summary = ngvi::fit(target, gaussians, o);
        },
        q.batch);
    if (summary) *summary = result.release();
  });
}

ngvi_status ngvi_summary_destroy(ngvi_summary* summary) {
  return guarded("ngvi_summary_destroy", [&](const char*) { destroy(summary, "summary"); });
}

ngvi_status ngvi_summary_get_info(const ngvi_summary* summary, ngvi_summary_info* info) {
  return guarded("ngvi_summary_get_info", [&](const char*) {
    const ngvi::Summary& s = live(summary, "summary").summary;
    require_pointer(info, "info");
    require_struct_size(info->struct_size, sizeof(ngvi_summary_info), "info->struct_size", "ngvi_summary_info");
    *info = ngvi_summary_info{};
    info->struct_size = sizeof(ngvi_summary_info);
    info->batch_size = s.batch_size;
    info->dimension = s.dimension;
    info->family = static_cast<ngvi_family>(s.family);
    info->estimator = static_cast<ngvi_estimator>(s.estimator);
    info->rule = static_cast<ngvi_rule>(s.rule);
    info->backend = static_cast<ngvi_backend>(s.backend);
    info->iterations = s.iterations;
    info->distribution_steps = s.distribution_steps;
    info->seconds = s.seconds;
    info->distribution_steps_per_second = s.distribution_steps_per_second;
    info->mean_elbo = s.mean_elbo;
    info->failures = s.failures();
    info->elbo_trace_length = s.elbo_trace.size();
    std::copy(s.status_counts.begin(), s.status_counts.end(), info->status_counts);
  });
}

ngvi_status ngvi_summary_get(const ngvi_summary* summary, ngvi_summary_field field, ngvi_output_array out) {
  return guarded("ngvi_summary_get", [&](const char*) {
    const ngvi::Summary& s = live(summary, "summary").summary;
    const Shape per_distribution("(B)", {s.batch_size});
    auto write = [&](const auto& values, auto type, const Shape& shape) {
      using Out = decltype(type);
      Out* o = output<Out>(out, "out", shape);
      std::transform(values.begin(), values.end(), o, [](auto v) { return static_cast<Out>(v); });
    };
    switch (field) {
      case NGVI_SUMMARY_STATUS: return write(s.status, std::int32_t(), per_distribution);
      case NGVI_SUMMARY_STEPS: return write(s.steps, std::int32_t(), per_distribution);
      case NGVI_SUMMARY_REJECTED_STEPS: return write(s.rejected_steps, std::int32_t(), per_distribution);
      case NGVI_SUMMARY_ELBO: return write(s.elbo, double(), per_distribution);
      case NGVI_SUMMARY_LAST_KL: return write(s.last_kl, double(), per_distribution);
      case NGVI_SUMMARY_ELBO_TRACE:
        return write(s.elbo_trace, double(), Shape("(elbo_trace_length)", {s.elbo_trace.size()}));
    }
    throw CallError(NGVI_ERROR_INVALID_ARGUMENT,
                    fmt::format("field = {} is not an ngvi_summary_field", static_cast<int>(field)));
  });
}

ngvi_status ngvi_summary_report(const ngvi_summary* summary, int32_t full, char* buffer, size_t buffer_size,
                                size_t* length) {
  return guarded("ngvi_summary_report", [&](const char*) {
    const ngvi::Summary& s = live(summary, "summary").summary;
    const std::string text = to_bool(full, "full") ? s.full_report() : s.brief_report();
    if (buffer == nullptr && buffer_size > 0)
      throw CallError(NGVI_ERROR_NULL_POINTER,
                      fmt::format("argument `buffer` is NULL but buffer_size = {}", buffer_size));
    if (length) *length = text.size();
    if (buffer_size == 0) return;
    const std::size_t n = std::min(text.size(), buffer_size - 1);
    std::memcpy(buffer, text.data(), n);
    buffer[n] = '\0';
  });
}

}  // extern "C"
