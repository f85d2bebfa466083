// What the opaque handles of the C ABI hold, and the checks that a handle argument is live.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <type_traits>
#include <variant>
#include <vector>

#include "guard.hpp"
#include "ngvi/fit.hpp"
#include "ngvi/gaussian.hpp"
#include "ngvi/model.hpp"
#include "ngvi/ngvi.h"
#include "ngvi/optimizer.hpp"

namespace ngvi::capi {

/// The first member of every handle: which kind it is, so that a live handle of another kind is
/// refused instead of misread. (Whether a pointer is a live handle at all is the registry's to say.)
enum class HandleKind : std::uint32_t {
  Dead = 0,
  Batch = 0x6e766231,
  Model = 0x6e766d31,
  Summary = 0x6e767331,
  Optimizer = 0x6e766f31
};

/// A built-in model with the copies of the caller's arrays it views.
template <class T>
struct OwnedModel {
  std::vector<T> values;  ///< x then y (GLM), or centers then curvatures (quadratic)
  std::vector<std::int64_t> offsets;
  std::unique_ptr<Model<T>> model;
};

/// An ask/tell optimizer and the request it handed out, until that request is told.
template <class T>
struct OwnedOptimizer {
  std::unique_ptr<Optimizer<T>> optimizer;
  const Ask<T>* pending = nullptr;
};

}  // namespace ngvi::capi

struct ngvi_batch {
  ngvi::capi::HandleKind kind = ngvi::capi::HandleKind::Batch;
  std::variant<ngvi::GaussianBatch<float>, ngvi::GaussianBatch<double>> batch;
  bool in_optimizer = false;  ///< an optimizer is fitting it: it may be read, not changed
};

struct ngvi_model {
  ngvi::capi::HandleKind kind = ngvi::capi::HandleKind::Model;
  std::variant<ngvi::capi::OwnedModel<float>, ngvi::capi::OwnedModel<double>> model;
};

struct ngvi_summary {
  ngvi::capi::HandleKind kind = ngvi::capi::HandleKind::Summary;
  ngvi::Summary summary;
};

struct ngvi_optimizer {
  ngvi::capi::HandleKind kind = ngvi::capi::HandleKind::Optimizer;
  ngvi_batch* batch = nullptr;  ///< the batch it fits, marked in_optimizer while this lives
  std::variant<ngvi::capi::OwnedOptimizer<float>, ngvi::capi::OwnedOptimizer<double>> optimizer;
};

namespace ngvi::capi {

template <class Handle>
constexpr HandleKind kind_of();
template <>
constexpr HandleKind kind_of<ngvi_batch>() { return HandleKind::Batch; }
template <>
constexpr HandleKind kind_of<ngvi_model>() { return HandleKind::Model; }
template <>
constexpr HandleKind kind_of<ngvi_summary>() { return HandleKind::Summary; }
template <>
constexpr HandleKind kind_of<ngvi_optimizer>() { return HandleKind::Optimizer; }

template <class Handle>
constexpr const char* type_name();
template <>
constexpr const char* type_name<ngvi_batch>() { return "ngvi_batch"; }
template <>
constexpr const char* type_name<ngvi_model>() { return "ngvi_model"; }
template <>
constexpr const char* type_name<ngvi_summary>() { return "ngvi_summary"; }
template <>
constexpr const char* type_name<ngvi_optimizer>() { return "ngvi_optimizer"; }

/// The scalar type T of a GaussianBatch<T> or OwnedModel<T> (the alternatives of the handles' variants).
template <class X>
struct ScalarOf;
template <class T>
struct ScalarOf<GaussianBatch<T>> {
  using type = T;
};
template <class T>
struct ScalarOf<OwnedModel<T>> {
  using type = T;
};
template <class T>
struct ScalarOf<OwnedOptimizer<T>> {
  using type = T;
};
template <class X>
using scalar_t = typename ScalarOf<std::decay_t<X>>::type;

/// Refuses a model handle and a batch handle of different scalar types; `model` names the model
/// argument in the message ("the model", "new_rows").
template <class ModelHandle, class BatchHandle>
void require_same_dtype(const ModelHandle& m, const BatchHandle& q, const char* model) {
  auto name = [](std::size_t index) { return index == 0 ? "float32" : "float64"; };
  if (m.model.index() != q.batch.index())
    throw CallError(NGVI_ERROR_DTYPE, fmt::format("{} holds {} but the batch holds {}", model, name(m.model.index()),
                                                  name(q.batch.index())));
}

/// Refuses a model and a batch of different (B, d).
template <class T>
void require_same_shape(const ngvi::Model<T>& target, const ngvi::GaussianBatch<T>& gaussians, const char* model) {
  if (target.num_problems() != gaussians.size() || target.dimension() != gaussians.dimension())
    throw CallError(NGVI_ERROR_SIZE, fmt::format("{} has (B, d) = ({}, {}) but the batch has ({}, {})", model,
                                                 target.num_problems(), target.dimension(), gaussians.size(),
                                                 gaussians.dimension()));
}

/// The registry of the handles handed out and not yet destroyed. Every handle argument is looked up
/// here before it is read, so that a destroyed handle, even one destroyed twice, is refused rather
/// than read, unless the library has since created a new handle at the same address.
void register_handle(const void* h);
/// Removes `h` from the registry; false if it was not there.
bool unregister_handle(const void* h);
bool is_registered(const void* h);

/// Registers a new handle and hands it to the caller.
template <class Handle>
Handle* hand_out(std::unique_ptr<Handle> h) {
  register_handle(h.get());
  return h.release();
}

/// The handle behind `h`; throws CallError(NGVI_ERROR_INVALID_HANDLE) naming `name` if it is null or
/// not a live handle of this kind.
template <class Handle>
Handle& live(Handle* h, const char* name) {
  if (h == nullptr)
    throw CallError(NGVI_ERROR_INVALID_HANDLE, fmt::format("argument `{}` is NULL", name));
  using Kind = std::remove_const_t<Handle>;
  if (!is_registered(h))
    throw CallError(NGVI_ERROR_INVALID_HANDLE,
                    fmt::format("argument `{}` is not a live {} handle (destroyed already, or not made by ngvi)", name,
                                type_name<Kind>()));
  if (h->kind != kind_of<Kind>())
    throw CallError(NGVI_ERROR_INVALID_HANDLE,
                    fmt::format("argument `{}` is not a live {} handle", name, type_name<Kind>()));
  return *h;
}

/// The batch behind `h`, which the call is about to change: refused (NGVI_ERROR_INVALID_OPERATION)
/// while an optimizer is fitting it.
ngvi_batch& changeable(ngvi_batch* h, const char* name);

/// Destroys a handle created by the library: NULL does nothing, another kind is refused.
template <class Handle>
void destroy(Handle* h, const char* name) {
  if (h == nullptr) return;
  live(h, name).kind = HandleKind::Dead;
  unregister_handle(h);
  delete h;
}

}  // namespace ngvi::capi
