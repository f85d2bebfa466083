// The body shared by the C ABI's fitting calls (ngvi_fit, ngvi_resume, ngvi_fit_pooled,
// ngvi_fit_online_round), so that they check their handles and options and report an unavailable
// backend alike.
#pragma once

#include <memory>
#include <utility>
#include <variant>

#include "engine/scheduler.hpp"
#include "guard.hpp"
#include "handles.hpp"
#include "ngvi/ngvi.h"
#include "options.hpp"

namespace ngvi::capi {

/// The model argument of a fitting call: its handle, the argument's name (for a dead handle) and how
/// messages about its dtype and shape call it ("the model", "new_rows").
struct ModelArgument {
  const ngvi_model* handle;
  const char* name;
  const char* described_as;
};

/// Runs `run(target, gaussians, options)` -> ngvi::Summary for a model and a batch of the same dtype
/// and shape, and hands out the summary (*summary is NULL until then, and after a failure). A CUDA
/// backend that cannot run the model is NGVI_ERROR_UNAVAILABLE, found before `run` starts.
template <class Run>
void run_fit(const ModelArgument& model, ngvi_batch* batch, const ngvi_options* options, ngvi_summary** summary,
             Run&& run) {
  if (summary) *summary = nullptr;
  const auto& m = live(model.handle, model.name);
  auto& q = changeable(batch, "batch");
  const Options o = to_options(options);
  require_same_dtype(m, q, model.described_as);
  auto result = std::make_unique<ngvi_summary>();
  std::visit(
      [&](auto& gaussians) {
        using T = scalar_t<decltype(gaussians)>;
        const Model<T>& target = *std::get<OwnedModel<T>>(m.model).model;
        require_same_shape(target, gaussians, model.described_as);
        if (o.backend == Backend::Cuda) {
          try {
            detail::select_backend(target, o);
          } catch (const Error& e) {
            throw CallError(NGVI_ERROR_UNAVAILABLE, e.what());
          }
        }
        result->summary = run(target, gaussians, o);
      },
      q.batch);
  if (summary) *summary = hand_out(std::move(result));
}

}  // namespace ngvi::capi
