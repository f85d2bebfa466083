// The CPU backend: the shared per-distribution math of kernels/math in threaded loops.
#pragma once

#include <string>

#include "engine/engine.hpp"

namespace ngvi::detail {

/// Runs steps until every distribution has stopped, the step budget is spent or the progress
/// callback asks to stop; then computes every distribution's final ELBO.
template <class T>
void run_cpu(const Model<T>& model, GaussianBatch<T>& batch, const FitPlan& plan, FitState<T>& state);

/// e.g. "CPU (2 threads)".
std::string cpu_device_name(int threads);

}  // namespace ngvi::detail
