// The C ABI of fitting: ngvi_fit, ngvi_resume, ngvi_read_checkpoint_info and ngvi_summary_* over
// ngvi::fit, ngvi::resume and ngvi::Summary.
#include <algorithm>
#include <cstring>
#include <string>

#include "arguments.hpp"
#include "guard.hpp"
#include "handles.hpp"
#include "ngvi/checkpoint.hpp"
#include "ngvi/fit.hpp"
#include "ngvi/ngvi.h"
#include "options.hpp"
#include "run_fit.hpp"

using namespace ngvi::capi;

namespace {

// The checkpoint's header; a file that is not a valid checkpoint is NGVI_ERROR_FILE.
ngvi::CheckpointInfo checkpoint_info(const char* path) {
  require_pointer(path, "path");
  try {
    return ngvi::read_checkpoint_info(path);
  } catch (const ngvi::Error& e) {
    throw CallError(NGVI_ERROR_FILE, e.what());
  }
}

ngvi_dtype checkpoint_dtype(const ngvi::CheckpointInfo& info) {
  return info.scalar_bytes == 4 ? NGVI_FLOAT32 : NGVI_FLOAT64;
}

}  // namespace

extern "C" {

ngvi_status ngvi_fit(const ngvi_model* model, ngvi_batch* batch, const ngvi_options* options, ngvi_summary** summary) {
  return guarded("ngvi_fit", [&](const char*) {
    run_fit({model, "model", "the model"}, batch, options, summary,
            [](const auto& target, auto& gaussians, const ngvi::Options& o) { return ngvi::fit(target, gaussians, o); });
  });
}

ngvi_status ngvi_resume(const ngvi_model* model, ngvi_batch* batch, const char* path, const ngvi_options* options,
                        ngvi_summary** summary) {
  return guarded("ngvi_resume", [&](const char*) {
    if (summary) *summary = nullptr;
    live(model, "model");
    changeable(batch, "batch");
    const ngvi::CheckpointInfo info = checkpoint_info(path);
    std::visit(
        [&](const auto& q) {
          using T = scalar_t<decltype(q)>;
          if (checkpoint_dtype(info) != dtype_of<T>())
            throw CallError(NGVI_ERROR_DTYPE, fmt::format("checkpoint '{}' holds float{} numbers but the batch holds {}",
                                                          path, 8 * info.scalar_bytes, dtype_name(dtype_of<T>())));
          if (info.batch_size != q.size() || info.dimension != q.dimension() || info.family != q.family())
            throw CallError(NGVI_ERROR_SIZE,
                            fmt::format("checkpoint '{}' holds (B, d, family) = ({}, {}, {}) but the batch has "
                                        "({}, {}, {})",
                                        path, info.batch_size, info.dimension, static_cast<int>(info.family), q.size(),
                                        q.dimension(), static_cast<int>(q.family())));
        },
        live(batch, "batch").batch);
    run_fit({model, "model", "the model"}, batch, options, summary,
            [&](const auto& target, auto& gaussians, const ngvi::Options& o) {
              return ngvi::resume(target, gaussians, path, o);
            });
  });
}

ngvi_status ngvi_read_checkpoint_info(const char* path, ngvi_checkpoint_info* info, ngvi_options* options) {
  return guarded("ngvi_read_checkpoint_info", [&](const char*) {
    require_pointer(info, "info");
    require_struct_size(info->struct_size, sizeof(ngvi_checkpoint_info), "info->struct_size", "ngvi_checkpoint_info");
    const ngvi::CheckpointInfo header = checkpoint_info(path);
    if (options) write_options(header.options, options, "options->struct_size");
    *info = ngvi_checkpoint_info{};
    info->struct_size = sizeof(ngvi_checkpoint_info);
    info->format_version = header.format_version;
    info->dtype = checkpoint_dtype(header);
    info->batch_size = header.batch_size;
    info->dimension = header.dimension;
    info->family = static_cast<ngvi_family>(header.family);
    info->iteration = header.iteration;
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
      case NGVI_SUMMARY_ELBO_MCSE: return write(s.elbo_mcse, double(), per_distribution);
      case NGVI_SUMMARY_MEAN_MCSE_SD: return write(s.mean_mcse_sd, double(), per_distribution);
      case NGVI_SUMMARY_PARETO_K: return write(s.pareto_k, double(), per_distribution);
    }
    throw CallError(NGVI_ERROR_INVALID_ARGUMENT,
                    fmt::format("field = {} is not an ngvi_summary_field", static_cast<int>(field)));
  });
}

ngvi_status ngvi_summary_report(const ngvi_summary* summary, int32_t full, char* buffer, size_t buffer_size,
                                size_t* length) {
  return guarded("ngvi_summary_report", [&](const char*) {
    const ngvi::Summary& s = live(summary, "summary").summary;
    copy_text(to_bool(full, "full") ? s.full_report() : s.brief_report(), buffer, buffer_size, length);
  });
}

ngvi_status ngvi_summary_checkpoint_error(const ngvi_summary* summary, char* buffer, size_t buffer_size,
                                          size_t* length) {
  return guarded("ngvi_summary_checkpoint_error", [&](const char*) {
    copy_text(live(summary, "summary").summary.checkpoint_error, buffer, buffer_size, length);
  });
}

}  // extern "C"
