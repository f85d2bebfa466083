// The C ABI of pooling and online rounds: ngvi_pooling_options_defaults, ngvi_fit_pooled and
// ngvi_fit_online_round over ngvi::fit_pooled and ngvi::fit_online_round.
#include <algorithm>
#include <limits>

#include "arguments.hpp"
#include "guard.hpp"
#include "handles.hpp"
#include "ngvi/ngvi.h"
#include "ngvi/online.hpp"
#include "ngvi/pooling.hpp"
#include "run_fit.hpp"

using namespace ngvi::capi;

namespace {

ngvi::PoolingOptions to_pooling_options(const ngvi_pooling_options* c) {
  ngvi::PoolingOptions pooling;
  if (!c) return pooling;
  require_struct_size(c->struct_size, sizeof(ngvi_pooling_options), "pooling->struct_size", "ngvi_pooling_options");
  pooling.diagonal_precision = to_bool(c->diagonal_precision, "pooling->diagonal_precision");
  pooling.max_rounds = c->max_rounds;
  pooling.tolerance = c->tolerance;
  pooling.initial_precision = c->initial_precision;
  pooling.hyperprior_scale = c->hyperprior_scale;
  pooling.hyperprior_dof = c->hyperprior_dof;
  return pooling;
}

}  // namespace

extern "C" {

ngvi_status ngvi_pooling_options_defaults(ngvi_pooling_options* pooling, size_t struct_size) {
  return guarded("ngvi_pooling_options_defaults", [&](const char*) {
    require_pointer(pooling, "pooling");
    require_struct_size(struct_size, sizeof(ngvi_pooling_options), "struct_size", "ngvi_pooling_options");
    const ngvi::PoolingOptions defaults;
    *pooling = ngvi_pooling_options{};
    pooling->struct_size = struct_size;
    pooling->diagonal_precision = defaults.diagonal_precision;
    pooling->max_rounds = defaults.max_rounds;
    pooling->tolerance = defaults.tolerance;
    pooling->initial_precision = defaults.initial_precision;
    pooling->hyperprior_scale = defaults.hyperprior_scale;
    pooling->hyperprior_dof = defaults.hyperprior_dof;
  });
}

ngvi_status ngvi_fit_pooled(const ngvi_model* model, ngvi_batch* batch, const ngvi_options* options,
                            const ngvi_pooling_options* pooling, ngvi_output_array prior_mean,
                            ngvi_output_array prior_precision, ngvi_output_array elbo, int32_t* rounds,
                            int32_t* converged, ngvi_summary** summary) {
  return guarded("ngvi_fit_pooled", [&](const char*) {
    run_fit({model, "model", "the model"}, batch, options, summary,
            [&](const auto& target, auto& gaussians, const ngvi::Options& o) {
              using T = scalar_t<decltype(gaussians)>;
              const ngvi::PoolingOptions p = to_pooling_options(pooling);
              const std::size_t d = static_cast<std::size_t>(gaussians.dimension());
              // Check every output before the work, so that a bad argument costs nothing.
              T* mean_out = output<T>(prior_mean, "prior_mean", Shape("(d)", {d}), true);
              T* precision_out = output<T>(prior_precision, "prior_precision", Shape("(d, d)", {d, d}), true);
              double* elbo_out =
                  p.max_rounds > 0
                      ? output<double>(elbo, "elbo", Shape("(max_rounds)", {std::size_t(p.max_rounds)}), true)
                      : nullptr;
              const ngvi::PooledFit<T> fitted = ngvi::fit_pooled(target, gaussians, o, p);
              if (mean_out) std::copy(fitted.prior_mean.begin(), fitted.prior_mean.end(), mean_out);
              if (precision_out)
                std::copy(fitted.prior_precision.begin(), fitted.prior_precision.end(), precision_out);
              if (elbo_out) {
                std::fill(elbo_out, elbo_out + p.max_rounds, std::numeric_limits<double>::quiet_NaN());
                std::copy(fitted.elbo.begin(), fitted.elbo.end(), elbo_out);
              }
              if (rounds) *rounds = static_cast<std::int32_t>(fitted.elbo.size());
              if (converged) *converged = fitted.converged ? 1 : 0;
              return fitted.last_fit;
            });
  });
}

ngvi_status ngvi_fit_online_round(const ngvi_model* new_rows, ngvi_batch* batch, const ngvi_options* options,
                                  double forgetting, ngvi_summary** summary) {
  return guarded("ngvi_fit_online_round", [&](const char*) {
    run_fit({new_rows, "new_rows", "new_rows"}, batch, options, summary,
            [&](const auto& target, auto& gaussians, const ngvi::Options& o) {
              return ngvi::fit_online_round(target, gaussians, o, forgetting);
            });
  });
}

}  // extern "C"
