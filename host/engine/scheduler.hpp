// The scheduler: the only place that knows which backends exist. It resolves Backend::Auto and
// runs a planned fit on the chosen backend.
#pragma once

#include <string>

#include "engine/engine.hpp"

namespace ngvi::detail {

/// The backend a fit will run on; throws ngvi::Error when the requested one cannot run this model.
template <class T>
Backend select_backend(const Model<T>& model, const Options& options);

/// Runs the fit on plan.options.backend (already selected) and returns a description of the device.
template <class T>
std::string run_backend(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state);

}  // namespace ngvi::detail
