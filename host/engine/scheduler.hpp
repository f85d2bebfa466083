// The scheduler: the only place that knows which backends exist. It resolves Backend::Auto and
// Options::devices, and runs a planned fit on the chosen backend's devices.
#pragma once

#include <string>

#include "engine/engine.hpp"

namespace ngvi::detail {

/// The backend a fit will run on; throws ngvi::Error when the requested one cannot run this model.
template <class T>
Backend select_backend(const Model<T>& model, const Options& options);

/// Runs the fit on plan.options.backend (already selected), sharded across the devices of
/// plan.options.devices, and returns a description of the devices.
template <class T>
std::string run_backend(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state);

}  // namespace ngvi::detail
