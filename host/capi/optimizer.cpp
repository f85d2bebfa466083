// The C ABI of ask/tell: ngvi_optimizer_* over ngvi::Optimizer. The handle remembers the request it
// handed out, so that a tell is checked against that request's shapes (and refused without one).
#include <memory>

#include "arguments.hpp"
#include "guard.hpp"
#include "handles.hpp"
#include "ngvi/ngvi.h"
#include "ngvi/optimizer.hpp"
#include "options.hpp"
#include "prior.hpp"

using namespace ngvi::capi;

extern "C" {

ngvi_status ngvi_optimizer_create(ngvi_optimizer** optimizer, ngvi_batch* batch, const ngvi_options* options,
                                  ngvi_derivatives provided, const ngvi_prior* prior) {
  return guarded("ngvi_optimizer_create", [&](const char*) {
    require_pointer(optimizer, "optimizer");
    *optimizer = nullptr;
    ngvi_batch& q = changeable(batch, "batch");  // one optimizer per batch
    const ngvi::Options o = to_options(options);
    if (provided < NGVI_DERIVATIVES_VALUE || provided > NGVI_DERIVATIVES_HESSIAN)
      throw CallError(NGVI_ERROR_INVALID_ARGUMENT,
                      fmt::format("provided = {} is not an ngvi_derivatives", static_cast<int>(provided)));
    auto handle = std::make_unique<ngvi_optimizer>();
    handle->batch = batch;
    std::visit(
        [&](auto& gaussians) {
          using T = scalar_t<decltype(gaussians)>;
          ngvi::Prior<T> p = make_prior<T>(prior, gaussians.size(), gaussians.dimension(), ngvi::Prior<T>::none());
          handle->optimizer = OwnedOptimizer<T>{std::make_unique<ngvi::Optimizer<T>>(
              gaussians, o, static_cast<ngvi::Derivatives>(provided), std::move(p))};
        },
        q.batch);
    q.in_optimizer = true;
    *optimizer = hand_out(std::move(handle));
  });
}

ngvi_status ngvi_optimizer_destroy(ngvi_optimizer* optimizer) {
  return guarded("ngvi_optimizer_destroy", [&](const char*) {
    if (optimizer == nullptr) return;
    live(optimizer, "optimizer").batch->in_optimizer = false;  // the batch cannot be destroyed before
    destroy(optimizer, "optimizer");
  });
}

ngvi_status ngvi_optimizer_ask(ngvi_optimizer* optimizer, ngvi_ask* ask) {
  return guarded("ngvi_optimizer_ask", [&](const char*) {
    auto& handle = live(optimizer, "optimizer");
    require_pointer(ask, "ask");
    require_struct_size(ask->struct_size, sizeof(ngvi_ask), "ask->struct_size", "ngvi_ask");
    std::visit(
        [&](auto& owned) {
          using T = scalar_t<decltype(owned)>;
          if (owned.optimizer->done())
            throw CallError(NGVI_ERROR_INVALID_OPERATION,
                            "the optimizer is done: its results are in the batch and ngvi_optimizer_summary");
          const ngvi::Ask<T>& a = owned.optimizer->ask();
          owned.pending = &a;
          *ask = ngvi_ask{};
          ask->struct_size = sizeof(ngvi_ask);
          ask->count = a.count;
          ask->samples = a.samples;
          ask->dimension = a.dimension;
          ask->dtype = dtype_of<T>();
          ask->needs_values = a.needs_values;
          ask->needs_gradients = a.needs_gradients;
          ask->needs_hessians = a.needs_hessians;
          ask->final = a.final;
          ask->distributions = a.distributions;
          ask->points = a.points;
        },
        handle.optimizer);
  });
}

ngvi_status ngvi_optimizer_tell(ngvi_optimizer* optimizer, ngvi_input_array values, ngvi_input_array gradients,
                                ngvi_input_array hessians) {
  return guarded("ngvi_optimizer_tell", [&](const char*) {
    auto& handle = live(optimizer, "optimizer");
    const bool diagonal = std::visit([](const auto& q) { return q.family() == ngvi::Family::Diagonal; },
                                     handle.batch->batch);
    std::visit(
        [&](auto& owned) {
          using T = scalar_t<decltype(owned)>;
          if (owned.pending == nullptr)
            throw CallError(NGVI_ERROR_INVALID_OPERATION, "no request is pending: call ngvi_optimizer_ask first");
          const ngvi::Ask<T>& a = *owned.pending;
          const std::size_t K = a.count, S = static_cast<std::size_t>(a.samples);
          const std::size_t d = static_cast<std::size_t>(a.dimension);
          const T* v = input<T>(values, "values", Shape("(count, S)", {K, S}), !a.needs_values);
          const T* g = input<T>(gradients, "gradients", Shape("(count, S, d)", {K, S, d}), !a.needs_gradients);
          const T* h = diagonal ? input<T>(hessians, "hessians", Shape("(count, S, d)", {K, S, d}), !a.needs_hessians)
                                : input<T>(hessians, "hessians", Shape("(count, S, d, d)", {K, S, d, d}),
                                           !a.needs_hessians);
          owned.optimizer->tell(a.needs_values ? v : nullptr, a.needs_gradients ? g : nullptr,
                                a.needs_hessians ? h : nullptr);
          owned.pending = nullptr;
        },
        handle.optimizer);
  });
}

ngvi_status ngvi_optimizer_done(const ngvi_optimizer* optimizer, int32_t* done) {
  return guarded("ngvi_optimizer_done", [&](const char*) {
    const auto& handle = live(optimizer, "optimizer");
    require_pointer(done, "done");
    *done = std::visit([](const auto& owned) { return owned.optimizer->done(); }, handle.optimizer);
  });
}

ngvi_status ngvi_optimizer_summary(const ngvi_optimizer* optimizer, ngvi_summary** summary) {
  return guarded("ngvi_optimizer_summary", [&](const char*) {
    const auto& handle = live(optimizer, "optimizer");
    require_pointer(summary, "summary");
    *summary = nullptr;
    auto result = std::make_unique<ngvi_summary>();
    result->summary = std::visit([](const auto& owned) { return owned.optimizer->summary(); }, handle.optimizer);
    *summary = hand_out(std::move(result));
  });
}

}  // extern "C"
